//! The device authorization grant (RFC 8628), as Entra runs it for `az login --use-device-code`
//! and MSAL's `initiate_device_flow`: a client with no browser asks for a device code and a
//! user code, the user enters the user code on our verification page (signed in there) and
//! approves or denies, while the client polls the token endpoint with the device code.
//!
//! Everything lives in the grants table, so that several servers sharing a database answer
//! alike, and every handle is kept only as its SHA-256:
//!
//! | kind | id | what |
//! |---|---|---|
//! | [`GrantKind::DeviceCode`] | hash of the device code | client, scopes, when it expires; redeemed once for the tokens |
//! | [`GrantKind::UserCode`] | hash of the normalized user code | the device code's hash; "redeemed" when the user answers |
//! | [`GrantKind::DeviceApproval`] | hash of the device code | the answer: the user, the session, or denied; inserted once |
//!
//! The device code's grant outlives its `expires_in` by [`EXPIRED_ANSWER_FOR`], so that a late
//! poll is told `expired_token` rather than that the code is unknown; the lifetime that counts
//! is the one in its document. Polls closer together than the interval (less a second for the
//! network) get `slow_down`, counted in memory by one server (SQLite) and in the database by
//! servers that share one (PostgreSQL), so that a client polling each in turn is slowed too.
//!
//! User codes are 8 characters from an alphabet without 0, O, 1 and I, read without regard to
//! case, spaces or dashes. They can be guessed, so every wrong one costs the client address an
//! attempt in the sign-in throttle ([`crate::throttle`]). Once entered, the code becomes a
//! [`DeviceTicket`] sealed under the master key, which the next forms carry: the decision
//! cannot be reached without passing the throttled step.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_pki::sealing::MasterKey;
use keyward_store::{Grant, GrantKind, Redemption};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::authority::Authority;
use crate::client_auth::AuthenticatedClient;
use crate::directory::TenantEntry;
use crate::error::Error;
use crate::grants::{GrantError, RefreshDocument, Session, handle_hash, new_handle};
use crate::oauth_error::{OAuthError, OAuthErrorKind};
use crate::scopes::ScopeGrant;
use crate::throttle::Attempt;
use crate::throttle::shared::{self, Refused};
use crate::token::TokenResponse;
use crate::user_token::{self, UserTokenRequest};

/// How long a device code and its user code can be used, unless configured otherwise
/// (Entra's `expires_in`).
pub const DEVICE_CODE_LIFETIME: Duration = Duration::minutes(15);
/// The seconds a client waits between polls (`interval`).
pub const POLL_INTERVAL_SECONDS: u64 = 5;
/// How long after its expiry a device code is still known, to be answered `expired_token`.
pub const EXPIRED_ANSWER_FOR: Duration = Duration::hours(1);
/// The characters of a user code: no 0, O, 1 or I, which read alike.
const USER_CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// The length of a user code.
pub const USER_CODE_LEN: usize = 8;
/// The longest user code input read.
const MAX_USER_CODE_INPUT: usize = 64;
/// The most device codes whose last poll is remembered.
const MAX_REMEMBERED_POLLS: usize = 100_000;

/// Why a device authorization request, a user code or a poll was refused.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The user has not answered yet (AADSTS70016, `authorization_pending`).
    #[error("OAuth 2.0 device flow error. Authorization is pending. Continue polling")]
    Pending,
    /// Polled sooner than the interval (AADSTS70016, `slow_down`).
    #[error("OAuth 2.0 device flow error. Polled too soon: wait the interval between polls, plus five seconds")]
    SlowDown,
    /// The user denied the request (AADSTS65004, `authorization_declined`).
    #[error("The user declined to authorize the request")]
    Declined,
    /// The device code's lifetime has passed (AADSTS70019, `expired_token`).
    #[error("Verification code expired. Start the device code flow again")]
    Expired,
    /// The device code was never issued, or is long gone (AADSTS70018, `bad_verification_code`).
    #[error("The device code is not valid. Start the device code flow again")]
    UnknownDeviceCode,
    /// The device code was redeemed before; its tokens are revoked (AADSTS54005).
    #[error("The device code was already redeemed. The tokens issued for it are revoked")]
    AlreadyRedeemed,
    /// The device code was issued in another tenant (AADSTS700005).
    #[error("The device code is intended to use against another tenant")]
    OfAnotherTenant,
    /// The device code was issued to another client (AADSTS700005).
    #[error("The device code is intended to use against another client")]
    OfAnotherClient,
    /// The user code entered is wrong, expired or used (shown on the page).
    #[error(
        "That code is not valid. It may have expired or been used already: check it, or ask the application for a new one."
    )]
    WrongUserCode,
    /// Too many wrong user codes (or passwords) from the address (shown on the page).
    #[error("Too many attempts. Wait {} minute(s), then try again.", .0.as_secs().div_ceil(60).max(1))]
    Throttled(std::time::Duration),
    /// The user answered this code before (shown on the page).
    #[error("This code was already used. Ask the application for a new one.")]
    AlreadyAnswered,
    /// The user or the tokens were refused.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// Something failed on the server.
    #[error(transparent)]
    Server(#[from] Error),
}

impl From<DeviceError> for OAuthError {
    fn from(e: DeviceError) -> Self {
        let (kind, code) = match e {
            DeviceError::Grant(e) => return e.into(),
            DeviceError::Server(Error::Store(ref store)) if store.is_unavailable() => {
                tracing::warn!(error = %store, "device code flow: the store is unavailable");
                return OAuthError::unavailable();
            }
            DeviceError::Pending => (OAuthErrorKind::AuthorizationPending, 70016),
            DeviceError::SlowDown => (OAuthErrorKind::SlowDown, 70016),
            DeviceError::Declined => (OAuthErrorKind::AuthorizationDeclined, 65004),
            DeviceError::Expired => (OAuthErrorKind::ExpiredToken, 70019),
            DeviceError::UnknownDeviceCode => (OAuthErrorKind::BadVerificationCode, 70018),
            DeviceError::AlreadyRedeemed => (OAuthErrorKind::InvalidGrant, 54005),
            DeviceError::OfAnotherTenant | DeviceError::OfAnotherClient => (OAuthErrorKind::InvalidGrant, 700005),
            DeviceError::WrongUserCode | DeviceError::Throttled(_) | DeviceError::AlreadyAnswered => {
                (OAuthErrorKind::InvalidRequest, 70018)
            }
            DeviceError::Server(ref inner) => {
                tracing::error!(error = %inner, "device code flow failed on the server");
                (OAuthErrorKind::ServerError, 90000)
            }
        };
        OAuthError::new(kind, code, e.to_string())
    }
}

#[derive(Serialize, Deserialize)]
struct DeviceCodeDocument {
    /// Named so for the store, which redeems a device code only for this client.
    client_id: Uuid,
    scopes: ScopeGrant,
    /// When the code stops being usable (Unix seconds); the grant itself lives longer.
    expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct UserCodeDocument {
    client_id: Uuid,
    /// The hash of the device code.
    device: String,
    /// The device code's family.
    family: Uuid,
    expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct ApprovalDocument {
    client_id: Uuid,
    approved: bool,
    sid: Option<Uuid>,
    auth_time: i64,
}

/// What the device authorization endpoint answers.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceAuthorization {
    /// What the client polls with.
    pub device_code: String,
    /// What the user enters.
    pub user_code: String,
    /// Seconds until both expire.
    pub expires_in: i64,
    /// Seconds between polls.
    pub interval: u64,
}

/// A user code entered on the verification page, sealed into the page's forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceTicket {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The application that asked.
    pub client_id: Uuid,
    /// The hash of the user code (its grant's id).
    user_code: String,
    /// The hash of the device code.
    device: String,
    /// The device code's family.
    family: Uuid,
    /// When the codes expire (Unix seconds).
    pub expires_at: i64,
}

fn seal_owner(tenant_id: Uuid) -> String {
    format!("keyward/device-ticket/v1/{tenant_id}")
}

impl DeviceTicket {
    /// Seals the ticket for a hidden form field, bound to the tenant.
    pub fn seal(&self, master: &MasterKey) -> Result<String, Error> {
        let json = serde_json::to_vec(self).map_err(|e| Error::Encoding {
            what: "a device ticket",
            reason: e.to_string(),
        })?;
        Ok(URL_SAFE_NO_PAD.encode(master.seal(&seal_owner(self.tenant_id), &json)?))
    }

    /// Opens what [`DeviceTicket::seal`] made for this tenant; `None` if it is damaged, forged,
    /// of another tenant or expired.
    pub fn open(master: &MasterKey, tenant_id: Uuid, sealed: &str, now: OffsetDateTime) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
        let json = master.open(&seal_owner(tenant_id), &bytes).ok()?;
        let ticket: Self = serde_json::from_slice(&json).ok()?;
        (ticket.tenant_id == tenant_id && ticket.expires_at > now.unix_timestamp()).then_some(ticket)
    }
}

/// A new user code: [`USER_CODE_LEN`] characters of the alphabet, uniformly (32 divides 256).
fn new_user_code() -> Result<String, Error> {
    let mut bytes = [0u8; USER_CODE_LEN];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::NoRandomness)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(USER_CODE_ALPHABET[usize::from(b % 32)]))
        .collect())
}

/// A user code as typed, as it is stored: without spaces and dashes, in capitals; `None` when
/// it cannot be one.
pub fn normalize_user_code(input: &str) -> Option<String> {
    if input.len() > MAX_USER_CODE_INPUT {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b))).then_some(code)
}

/// When each device code was last polled, in memory.
#[derive(Debug, Default)]
pub(crate) struct DevicePolls {
    last: Mutex<HashMap<String, Instant>>,
}

impl DevicePolls {
    /// Records a poll of `device` at `now`; `Err` when the one before was less than `gap` ago.
    fn poll(&self, device: &str, gap: std::time::Duration, now: Instant) -> Result<(), DeviceError> {
        let mut last = match self.last.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if last.len() >= MAX_REMEMBERED_POLLS {
            last.retain(|_, at| now.duration_since(*at) < gap);
            if last.len() >= MAX_REMEMBERED_POLLS {
                last.clear();
            }
        }
        match last.insert(device.to_owned(), now) {
            Some(before) if now.duration_since(before) < gap => Err(DeviceError::SlowDown),
            _ => Ok(()),
        }
    }
}

fn stored_document<T: serde::de::DeserializeOwned>(grant: &Grant) -> Result<T, DeviceError> {
    serde_json::from_value(grant.document.clone()).map_err(|e| {
        tracing::error!(error = %e, kind = ?grant.kind, "unreadable grant document");
        DeviceError::Grant(GrantError::Storage("a stored grant is unreadable"))
    })
}

fn to_document(value: &impl Serialize) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::Encoding {
        what: "a grant",
        reason: e.to_string(),
    })
}

impl Authority {
    /// The device authorization endpoint's work: a device code and a user code for `client_id`
    /// of the tenant, for `scopes` (already read).
    pub async fn start_device_authorization(
        &self,
        tenant: &TenantEntry,
        client_id: Uuid,
        scopes: ScopeGrant,
        now: OffsetDateTime,
    ) -> Result<DeviceAuthorization, Error> {
        let lifetime = self.config.device_code_lifetime;
        let expires_at = (now + lifetime).unix_timestamp();
        let family = Uuid::new_v4();
        let device_code = new_handle()?;
        let device = handle_hash(&device_code);
        let grant = |kind, id: String, document, expires| Grant {
            kind,
            id,
            tenant_id: tenant.tenant.id,
            family,
            user_id: Uuid::nil(),
            document,
            created: now,
            expires,
        };
        let document = to_document(&DeviceCodeDocument {
            client_id,
            scopes,
            expires_at,
        })?;
        self.store
            .insert_grant(&grant(
                GrantKind::DeviceCode,
                device.clone(),
                document,
                now + lifetime + EXPIRED_ANSWER_FOR,
            ))
            .await?;
        let document = to_document(&UserCodeDocument {
            client_id,
            device,
            family,
            expires_at,
        })?;
        // A user code is 40 bits: one still in the table (live or not yet swept) is drawn again.
        let mut tries = 0;
        let user_code = loop {
            let user_code = new_user_code()?;
            let row = grant(
                GrantKind::UserCode,
                handle_hash(&user_code),
                document.clone(),
                now + lifetime,
            );
            match self.store.insert_grant(&row).await {
                Ok(()) => break user_code,
                Err(keyward_store::Error::Conflict(_)) if tries < 5 => tries += 1,
                Err(e) => return Err(e.into()),
            }
        };
        Ok(DeviceAuthorization {
            device_code,
            user_code,
            expires_in: lifetime.whole_seconds(),
            interval: POLL_INTERVAL_SECONDS,
        })
    }

    /// A user code typed on the verification page of the tenant, from `address`: its ticket
    /// if it is live. A wrong one counts against the address in the sign-in throttle.
    pub async fn enter_user_code(
        &self,
        tenant_id: Uuid,
        input: &str,
        address: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Result<DeviceTicket, DeviceError> {
        let reservation = shared::begin(&self.throttle, self.cluster.as_ref(), &Attempt::from_address(address))
            .await
            .map_err(|refused| match refused {
                Refused::Throttled(wait) => DeviceError::Throttled(wait),
                Refused::Server(e) => DeviceError::Server(e),
            })?;
        let Some(code) = normalize_user_code(input) else {
            reservation.failed();
            return Err(DeviceError::WrongUserCode);
        };
        let id = handle_hash(&code);
        let grant = match self.store.live_grant(GrantKind::UserCode, &id, now).await {
            Ok(grant) => grant,
            Err(e) => {
                reservation.release().await;
                return Err(DeviceError::Server(e.into()));
            }
        };
        let Some(grant) = grant.filter(|g| g.tenant_id == tenant_id) else {
            reservation.failed();
            tracing::info!(tenant = %tenant_id, "wrong user code entered");
            return Err(DeviceError::WrongUserCode);
        };
        reservation.release().await;
        let document: UserCodeDocument = stored_document(&grant)?;
        Ok(DeviceTicket {
            tenant_id,
            client_id: document.client_id,
            user_code: id,
            device: document.device,
            family: document.family,
            expires_at: document.expires_at,
        })
    }

    /// Records the answer of the signed-in user of `session` to a ticket: approved or denied.
    /// Only the first answer counts: the user code is used up by it.
    pub async fn answer_device_code(
        &self,
        ticket: &DeviceTicket,
        session: &Session,
        approved: bool,
        now: OffsetDateTime,
    ) -> Result<(), DeviceError> {
        match self
            .store
            .redeem_grant(GrantKind::UserCode, &ticket.user_code, now)
            .await
            .map_err(Error::from)?
        {
            Redemption::Redeemed(_) => {}
            Redemption::Replayed(_) => return Err(DeviceError::AlreadyAnswered),
            Redemption::Unusable | Redemption::OtherClient => return Err(DeviceError::WrongUserCode),
        }
        let document = to_document(&ApprovalDocument {
            client_id: ticket.client_id,
            approved,
            sid: Some(session.sid),
            auth_time: session.auth_time,
        })?;
        let expires = OffsetDateTime::from_unix_timestamp(ticket.expires_at).unwrap_or(now) + EXPIRED_ANSWER_FOR;
        let approval = Grant {
            kind: GrantKind::DeviceApproval,
            id: ticket.device.clone(),
            tenant_id: ticket.tenant_id,
            family: ticket.family,
            user_id: session.user.id,
            document,
            created: now,
            expires,
        };
        match self.store.insert_grant(&approval).await {
            Ok(()) => {}
            Err(keyward_store::Error::Conflict(_)) => return Err(DeviceError::AlreadyAnswered),
            Err(e) => return Err(DeviceError::Server(e.into())),
        }
        tracing::info!(tenant = %ticket.tenant_id, client = %ticket.client_id, approved, "device code answered");
        Ok(())
    }

    /// The device code grant, polled by `client`: pending until the user answers, then the
    /// user's tokens once (with a refresh token of the device code's family for
    /// `offline_access`), or the refusal.
    pub(crate) async fn redeem_device_code(
        &self,
        tenant: &TenantEntry,
        issuer: &str,
        client: &AuthenticatedClient,
        device_code: &str,
        now: OffsetDateTime,
    ) -> Result<TokenResponse, DeviceError> {
        let client_id = client.app.app.app_id;
        let device = handle_hash(device_code);
        let store_error = |e: keyward_store::Error| DeviceError::Server(e.into());
        let Some(grant) = self
            .store
            .live_grant(GrantKind::DeviceCode, &device, now)
            .await
            .map_err(store_error)?
        else {
            // Not live: redeemed before (a replay), another client's, or unknown. Nothing that
            // is not live can be redeemed here.
            return Err(
                match self
                    .store
                    .redeem_grant_of(GrantKind::DeviceCode, &device, Some(client_id), now)
                    .await
                    .map_err(store_error)?
                {
                    Redemption::Replayed(grant) | Redemption::Redeemed(grant) => {
                        let revoked = self.store.revoke_family(grant.family).await.map_err(store_error)?;
                        tracing::warn!(family = %grant.family, revoked, "device code replayed: its tokens are revoked");
                        DeviceError::AlreadyRedeemed
                    }
                    Redemption::OtherClient => DeviceError::OfAnotherClient,
                    Redemption::Unusable => DeviceError::UnknownDeviceCode,
                },
            );
        };
        if grant.tenant_id != tenant.tenant.id {
            return Err(DeviceError::OfAnotherTenant);
        }
        let document: DeviceCodeDocument = stored_document(&grant)?;
        if document.client_id != client_id {
            return Err(DeviceError::OfAnotherClient);
        }
        if now.unix_timestamp() >= document.expires_at {
            return Err(DeviceError::Expired);
        }
        // A second of leeway for the network: a client that waits the interval is not refused.
        let gap = std::time::Duration::from_secs(POLL_INTERVAL_SECONDS.saturating_sub(1));
        match &self.cluster {
            Some(cluster) => {
                if cluster
                    .note_device_poll(&device)
                    .await
                    .map_err(store_error)?
                    .is_some_and(|since| since < gap)
                {
                    return Err(DeviceError::SlowDown);
                }
            }
            None => self.device_polls.poll(&device, gap, Instant::now())?,
        }
        let Some(approval) = self
            .store
            .live_grant(GrantKind::DeviceApproval, &device, now)
            .await
            .map_err(store_error)?
        else {
            return Err(DeviceError::Pending);
        };
        let answer: ApprovalDocument = stored_document(&approval)?;
        if !answer.approved {
            return Err(DeviceError::Declined);
        }
        let grant = match self
            .store
            .redeem_grant_of(GrantKind::DeviceCode, &device, Some(client_id), now)
            .await
            .map_err(store_error)?
        {
            Redemption::Redeemed(grant) => grant,
            Redemption::Replayed(_) => return Err(DeviceError::AlreadyRedeemed),
            Redemption::OtherClient => return Err(DeviceError::OfAnotherClient),
            Redemption::Unusable => return Err(DeviceError::Expired),
        };
        let user = self.grant_user(&approval).await?;
        let mut response = user_token::issue(&UserTokenRequest {
            tenant,
            issuer,
            client_id,
            azpacr: client.method.azpacr(),
            user: &user,
            scopes: &document.scopes,
            nonce: None,
            sid: answer.sid,
            lifetime: self.config.token_lifetime,
            now,
        })
        .map_err(GrantError::from)?;
        if document.scopes.has("offline_access") {
            let refresh = RefreshDocument {
                client_id,
                scopes: document.scopes,
                sid: answer.sid,
                auth_time: answer.auth_time,
            };
            self.add_refresh_token(&mut response, tenant.tenant.id, grant.family, user.id, refresh, now)
                .await?;
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests;
