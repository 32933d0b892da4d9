//! What a signed-in user is handed, and its redemption: the sign-in (SSO) session behind a
//! cookie, authorization codes (single use, ten minutes, bound to the client, the redirect URI
//! and the PKCE challenge) and refresh tokens (single use, rotated at every refresh).
//!
//! Every handle is 256 random bits; the store keeps only its SHA-256 (hex), so a copy of the
//! database hands out nothing. A code and the refresh tokens that descend from it share a
//! family: a replayed code or a reused refresh token revokes the whole family, so that a thief
//! and the rightful holder both lose it (OAuth 2.0 Security BCP, §4.13 and §4.14).

use std::sync::atomic::Ordering;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_store::{Grant, GrantKind, Redemption, User};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::authority::Authority;
use crate::authorize::PendingRequest;
use crate::client_auth::{AuthenticatedClient, ClientAuthMethod};
use crate::directory::TenantEntry;
use crate::error::{Error, Result};
use crate::oauth_error::{OAuthError, OAuthErrorKind};
use crate::pkce;
use crate::scopes::{self, ScopeError, ScopeGrant};
use crate::token::{TokenError, TokenResponse};
use crate::user_token::{self, UserTokenRequest};

/// How long an authorization code can be redeemed.
pub const CODE_LIFETIME: Duration = Duration::minutes(10);
/// How often expired grants are swept from the store.
const SWEEP_EVERY_SECONDS: i64 = 600;

/// A new random handle: 32 bytes, base64url (43 characters).
pub fn new_handle() -> Result<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::NoRandomness)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the store keeps of a handle: its SHA-256, lowercase hex.
pub fn handle_hash(handle: &str) -> String {
    let digest = digest::digest(&digest::SHA256, handle.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Serialize, Deserialize)]
struct SessionDocument {
    /// The application whose sign-in started it (where a logout without `client_id` may
    /// return to).
    client_id: Uuid,
    auth_time: i64,
}

#[derive(Serialize, Deserialize)]
struct CodeDocument {
    /// Named so for the store, which redeems a code only for this client.
    client_id: Uuid,
    redirect_uri: String,
    code_challenge: Option<String>,
    nonce: Option<String>,
    scopes: ScopeGrant,
    sid: Uuid,
    auth_time: i64,
}

/// What a refresh token's grant holds.
#[derive(Serialize, Deserialize)]
pub(crate) struct RefreshDocument {
    /// Named so for the store, which redeems a refresh token only for this client.
    pub(crate) client_id: Uuid,
    pub(crate) scopes: ScopeGrant,
    pub(crate) sid: Option<Uuid>,
    pub(crate) auth_time: i64,
}

/// A live sign-in session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session id: the `sid` claim.
    pub sid: Uuid,
    /// The signed-in user (enabled).
    pub user: User,
    /// The application whose sign-in started the session.
    pub client_id: Uuid,
    /// When the user entered their password (Unix seconds).
    pub auth_time: i64,
}

/// Why an authorization code or a refresh token was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// A code redemption without `redirect_uri` (AADSTS900144).
    #[error("The request body must contain the following parameter: 'redirect_uri'")]
    MissingRedirectUri,
    /// The code was redeemed before: its tokens are revoked (AADSTS54005).
    #[error(
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token. \
         The tokens issued for it are revoked"
    )]
    CodeReplayed,
    /// The code is unknown, expired or revoked (AADSTS70008).
    #[error(
        "The provided authorization code has expired, was revoked or is not valid. Send a new interactive authorization request"
    )]
    CodeUnusable,
    /// The code was issued in another tenant (AADSTS700005).
    #[error("Provided Authorization Code is intended to use against other tenant")]
    CodeOfAnotherTenant,
    /// The code was issued to another client (AADSTS700005).
    #[error(
        "Provided Authorization Code is intended to use against another client: the code was issued to a different application"
    )]
    CodeOfAnotherClient,
    /// The redirect URI is not the authorization request's (AADSTS70000).
    #[error("The redirect_uri does not match the one of the authorization request")]
    RedirectUriMismatch,
    /// The authorization request had a challenge and no verifier came (AADSTS501481).
    #[error("The code_verifier is missing: the authorization request had a code_challenge")]
    MissingVerifier,
    /// The verifier is not the challenge's (AADSTS501481).
    #[error("The Code_Verifier does not match the code_challenge supplied in the authorization request")]
    VerifierMismatch,
    /// A public client's code without PKCE (AADSTS9002325).
    #[error("Proof Key for Code Exchange is required for public clients")]
    PkceRequired,
    /// The user was deleted (AADSTS50034).
    #[error("The user account does not exist in the directory. Sign in again")]
    UserGone,
    /// The user is disabled (AADSTS50057).
    #[error("The user account is disabled. Ask an administrator to enable it")]
    UserDisabled,
    /// The refresh token was used before: its family is revoked (AADSTS70000).
    #[error(
        "The provided refresh token was already used. Refresh tokens are single use: each refresh returns a new one. \
         Every refresh token of this sign-in is now revoked; sign in again"
    )]
    RefreshTokenReused,
    /// The refresh token is unknown, expired or revoked (AADSTS70008).
    #[error("The provided refresh token has expired, was revoked or is not valid. Sign in again")]
    RefreshTokenUnusable,
    /// The refresh token was issued in another tenant (AADSTS70000).
    #[error("The refresh token was issued by another tenant")]
    RefreshTokenOfAnotherTenant,
    /// The refresh token was issued to another client (AADSTS70000).
    #[error("The refresh token was issued to a different application")]
    RefreshTokenOfAnotherClient,
    /// The `scope` of a refresh was refused.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The tokens could not be issued.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The grant store failed or holds an unreadable grant (AADSTS90000, a server error).
    #[error("The token could not be issued: {0}")]
    Storage(&'static str),
    /// The grant store is unavailable for now, a database outage (AADSTS90033, 503 with
    /// `Retry-After`): nothing was redeemed; the same request may succeed later.
    #[error("The token could not be issued: the grant store is temporarily unavailable")]
    StorageUnavailable,
}

impl From<GrantError> for OAuthError {
    fn from(e: GrantError) -> Self {
        let (kind, code) = match e {
            GrantError::Scope(e) => return e.into(),
            GrantError::Token(e) => return e.into(),
            GrantError::StorageUnavailable => return OAuthError::unavailable(),
            GrantError::MissingRedirectUri => (OAuthErrorKind::InvalidRequest, 900144),
            GrantError::CodeReplayed => (OAuthErrorKind::InvalidGrant, 54005),
            GrantError::CodeUnusable | GrantError::RefreshTokenUnusable => (OAuthErrorKind::InvalidGrant, 70008),
            GrantError::CodeOfAnotherTenant | GrantError::CodeOfAnotherClient => (OAuthErrorKind::InvalidGrant, 700005),
            GrantError::RedirectUriMismatch
            | GrantError::RefreshTokenReused
            | GrantError::RefreshTokenOfAnotherTenant
            | GrantError::RefreshTokenOfAnotherClient => (OAuthErrorKind::InvalidGrant, 70000),
            GrantError::MissingVerifier | GrantError::VerifierMismatch => (OAuthErrorKind::InvalidGrant, 501481),
            GrantError::PkceRequired => (OAuthErrorKind::InvalidGrant, 9002325),
            GrantError::UserGone => (OAuthErrorKind::InvalidGrant, 50034),
            GrantError::UserDisabled => (OAuthErrorKind::InvalidGrant, 50057),
            GrantError::Storage(_) => (OAuthErrorKind::ServerError, 90000),
        };
        OAuthError::new(kind, code, e.to_string())
    }
}

fn store_error(e: keyward_store::Error) -> GrantError {
    if e.is_unavailable() {
        tracing::warn!(error = %e, "grant storage unavailable");
        return GrantError::StorageUnavailable;
    }
    tracing::error!(error = %e, "grant storage failed");
    GrantError::Storage("the grant store failed")
}

fn document<T: serde::de::DeserializeOwned>(grant: &Grant) -> Result<T, GrantError> {
    serde_json::from_value(grant.document.clone()).map_err(|e| {
        tracing::error!(error = %e, kind = ?grant.kind, "unreadable grant document");
        GrantError::Storage("a stored grant is unreadable")
    })
}

fn to_document(value: &impl Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::Encoding {
        what: "a grant",
        reason: e.to_string(),
    })
}

/// A grant to store; its id is set from its handle when it is inserted.
fn new_grant(
    kind: GrantKind,
    (tenant_id, family, user_id): (Uuid, Uuid, Uuid),
    document: serde_json::Value,
    now: OffsetDateTime,
    lifetime: Duration,
) -> Grant {
    Grant {
        kind,
        id: String::new(),
        tenant_id,
        family,
        user_id,
        document,
        created: now,
        expires: now + lifetime,
    }
}

/// A code redemption's form fields.
#[derive(Debug, Clone, Copy)]
pub struct CodeRedemption<'a> {
    /// `code`.
    pub code: &'a str,
    /// `redirect_uri`: must be the authorization request's.
    pub redirect_uri: Option<&'a str>,
    /// `code_verifier`: required when the request had a challenge.
    pub code_verifier: Option<&'a str>,
}

impl Authority {
    /// Removes grants that expired a day ago or earlier (and, on a shared database, sign-in
    /// failures that are forgotten), at most every ten minutes, in the background.
    fn sweep_expired_grants(&self, now: OffsetDateTime) {
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.unix_timestamp() - last < SWEEP_EVERY_SECONDS
            || self
                .last_sweep
                .compare_exchange(last, now.unix_timestamp(), Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let store = std::sync::Arc::clone(&self.store);
        let shared_throttle = self.cluster.clone().map(|c| (c, self.config.throttle.clone()));
        tokio::spawn(async move {
            match store.delete_expired_grants(now - Duration::days(1)).await {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "expired grants removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "expired grants could not be removed"),
            }
            if let Some((cluster, throttle)) = shared_throttle {
                if let Err(e) = cluster.forget_attempts(throttle.forget_after).await {
                    tracing::warn!(error = %e, "forgotten sign-in failures could not be removed");
                }
                // Device codes live minutes: an hour-old poll is of a code long gone.
                if let Err(e) = cluster
                    .forget_sources_and_polls(throttle.familiar_for, std::time::Duration::from_secs(3600))
                    .await
                {
                    tracing::warn!(error = %e, "forgotten familiar networks and device polls could not be removed");
                }
            }
        });
    }

    /// Stores `grant` under a new handle's hash; returns the handle.
    async fn insert_grant(&self, mut grant: Grant) -> Result<String> {
        let handle = new_handle()?;
        grant.id = handle_hash(&handle);
        let now = grant.created;
        self.store.insert_grant(&grant).await?;
        self.sweep_expired_grants(now);
        Ok(handle)
    }

    /// Starts a sign-in session for `user`; returns the cookie's handle and the session.
    pub(crate) async fn start_session(
        &self,
        user: &User,
        client_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<(String, Session)> {
        let sid = Uuid::new_v4();
        let auth_time = now.unix_timestamp();
        let document = to_document(&SessionDocument { client_id, auth_time })?;
        let handle = self
            .insert_grant(new_grant(
                GrantKind::Session,
                (user.tenant_id, sid, user.id),
                document,
                now,
                self.config.session_lifetime,
            ))
            .await?;
        let session = Session {
            sid,
            user: user.clone(),
            client_id,
            auth_time,
        };
        Ok((handle, session))
    }

    /// The live session of the tenant behind a cookie's handle, if its user still exists and
    /// is enabled.
    pub(crate) async fn session(&self, tenant_id: Uuid, handle: &str, now: OffsetDateTime) -> Result<Option<Session>> {
        let Some(grant) = self
            .store
            .live_grant(GrantKind::Session, &handle_hash(handle), now)
            .await?
        else {
            return Ok(None);
        };
        if grant.tenant_id != tenant_id {
            return Ok(None);
        }
        let Some(user) = self.store.user(tenant_id, grant.user_id).await? else {
            return Ok(None);
        };
        if !user.enabled {
            return Ok(None);
        }
        let Ok(document) = serde_json::from_value::<SessionDocument>(grant.document) else {
            return Ok(None);
        };
        Ok(Some(Session {
            sid: grant.family,
            user,
            client_id: document.client_id,
            auth_time: document.auth_time,
        }))
    }

    /// Ends the session behind a cookie's handle; returns it if it was live.
    pub(crate) async fn end_session(
        &self,
        tenant_id: Uuid,
        handle: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>> {
        let session = self.session(tenant_id, handle, now).await?;
        if session.is_some() {
            self.store
                .redeem_grant(GrantKind::Session, &handle_hash(handle), now)
                .await?;
        }
        Ok(session)
    }

    /// Issues an authorization code for a checked request and a session.
    pub(crate) async fn issue_code(
        &self,
        pending: &PendingRequest,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<String> {
        let document = to_document(&CodeDocument {
            client_id: pending.client_id,
            redirect_uri: pending.target.uri.clone(),
            code_challenge: pending.code_challenge.clone(),
            nonce: pending.nonce.clone(),
            scopes: pending.scopes.clone(),
            sid: session.sid,
            auth_time: session.auth_time,
        })?;
        self.insert_grant(new_grant(
            GrantKind::AuthorizationCode,
            (pending.tenant_id, Uuid::new_v4(), session.user.id),
            document,
            now,
            CODE_LIFETIME,
        ))
        .await
    }

    /// The user of a grant being redeemed, refused if gone or disabled.
    pub(crate) async fn grant_user(&self, grant: &Grant) -> Result<User, GrantError> {
        let user = self
            .store
            .user(grant.tenant_id, grant.user_id)
            .await
            .map_err(store_error)?
            .filter(|u| !u.password_hash.is_empty())
            .ok_or(GrantError::UserGone)?;
        if !user.enabled {
            return Err(GrantError::UserDisabled);
        }
        Ok(user)
    }

    /// Adds a new refresh token of `family` to `response`.
    pub(crate) async fn add_refresh_token(
        &self,
        response: &mut TokenResponse,
        tenant_id: Uuid,
        family: Uuid,
        user_id: Uuid,
        document: RefreshDocument,
        now: OffsetDateTime,
    ) -> Result<(), GrantError> {
        let not_issued = |e: Error| GrantError::Token(TokenError::NotIssued(e.to_string()));
        let document = to_document(&document).map_err(not_issued)?;
        let handle = self
            .insert_grant(new_grant(
                GrantKind::RefreshToken,
                (tenant_id, family, user_id),
                document,
                now,
                self.config.refresh_token_lifetime,
            ))
            .await
            .map_err(not_issued)?;
        response.refresh_token = Some(handle);
        Ok(())
    }

    /// The `authorization_code` grant: redeems the code once, checks its bindings, and issues
    /// the user's tokens (with a refresh token of the code's family for `offline_access`).
    pub(crate) async fn redeem_code(
        &self,
        tenant: &TenantEntry,
        issuer: &str,
        client: &AuthenticatedClient,
        form: CodeRedemption<'_>,
        now: OffsetDateTime,
    ) -> Result<TokenResponse, GrantError> {
        let (grant, code, user) = self
            .take_code(tenant, client.app.app.app_id, client.method, form, now)
            .await?;
        let mut response = user_token::issue(&UserTokenRequest {
            tenant,
            issuer,
            client_id: code.client_id,
            azpacr: client.method.azpacr(),
            user: &user,
            scopes: &code.scopes,
            nonce: code.nonce.as_deref(),
            sid: Some(code.sid),
            lifetime: self.config.token_lifetime,
            now,
        })?;
        if code.scopes.has("offline_access") {
            let document = RefreshDocument {
                client_id: code.client_id,
                scopes: code.scopes.clone(),
                sid: Some(code.sid),
                auth_time: code.auth_time,
            };
            self.add_refresh_token(&mut response, tenant.tenant.id, grant.family, user.id, document, now)
                .await?;
        }
        Ok(response)
    }

    /// Signs a user in to one of Keyward's own public clients (the admin center): redeems the
    /// code exactly as the token endpoint does for that client (single use, redirect URI, PKCE
    /// required) and returns the user, issuing no token: the caller keeps its own session.
    pub async fn redeem_first_party_code(
        &self,
        tenant: &TenantEntry,
        client_app_id: Uuid,
        form: CodeRedemption<'_>,
        now: OffsetDateTime,
    ) -> Result<User, GrantError> {
        let (_, _, user) = self
            .take_code(tenant, client_app_id, ClientAuthMethod::Public, form, now)
            .await?;
        Ok(user)
    }

    /// Redeems an authorization code for `client_app_id` and checks every binding of it: the
    /// tenant, the client, the redirect URI and PKCE. Returns the grant, its document and its
    /// (enabled) user.
    async fn take_code(
        &self,
        tenant: &TenantEntry,
        client_app_id: Uuid,
        method: ClientAuthMethod,
        form: CodeRedemption<'_>,
        now: OffsetDateTime,
    ) -> Result<(Grant, CodeDocument, User), GrantError> {
        let Some(redirect_uri) = form.redirect_uri else {
            return Err(GrantError::MissingRedirectUri);
        };
        // Redeemed only by the client it was issued to: another one cannot use it up.
        let client_id = Some(client_app_id);
        let grant = match self
            .store
            .redeem_grant_of(GrantKind::AuthorizationCode, &handle_hash(form.code), client_id, now)
            .await
            .map_err(store_error)?
        {
            Redemption::Redeemed(grant) => grant,
            Redemption::OtherClient => return Err(GrantError::CodeOfAnotherClient),
            Redemption::Replayed(grant) => {
                let revoked = self.store.revoke_family(grant.family).await.map_err(store_error)?;
                tracing::warn!(family = %grant.family, revoked, "authorization code replayed: its tokens are revoked");
                return Err(GrantError::CodeReplayed);
            }
            Redemption::Unusable => {
                return Err(GrantError::CodeUnusable);
            }
        };
        if grant.tenant_id != tenant.tenant.id {
            return Err(GrantError::CodeOfAnotherTenant);
        }
        let code: CodeDocument = document(&grant)?;
        if code.client_id != client_app_id {
            return Err(GrantError::CodeOfAnotherClient);
        }
        if code.redirect_uri != redirect_uri {
            return Err(GrantError::RedirectUriMismatch);
        }
        match (&code.code_challenge, form.code_verifier) {
            (Some(_), None) => {
                return Err(GrantError::MissingVerifier);
            }
            (Some(challenge), Some(verifier)) if !pkce::verify(challenge, verifier) => {
                return Err(GrantError::VerifierMismatch);
            }
            (None, _) if method == ClientAuthMethod::Public => {
                return Err(GrantError::PkceRequired);
            }
            _ => {}
        }
        let user = self.grant_user(&grant).await?;
        Ok((grant, code, user))
    }

    /// Revokes a family whose refresh token was presented wrongly (by another client, for a
    /// disabled user), and refuses.
    async fn refuse_family(&self, family: Uuid, e: GrantError) -> Result<TokenResponse, GrantError> {
        self.store.revoke_family(family).await.map_err(store_error)?;
        Err(e)
    }

    /// The `refresh_token` grant: redeems the refresh token once and returns a new one of the
    /// same family with the tokens. `scope`, when given, may name another resource (MSAL uses
    /// one refresh token for every resource).
    pub(crate) async fn redeem_refresh_token(
        &self,
        tenant: &TenantEntry,
        issuer: &str,
        client: &AuthenticatedClient,
        refresh_token: &str,
        scope: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<TokenResponse, GrantError> {
        // Read the scope before the token is used up: a typo must not cost the user their
        // sign-in.
        let requested = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            Some(scope) => Some(scopes::parse(&self.snapshot(), tenant.tenant.id, scope, false)?),
            None => None,
        };
        // Redeemed only by the client it was issued to: another one can neither use it up nor
        // revoke its family.
        let client_id = Some(client.app.app.app_id);
        let grant = match self
            .store
            .redeem_grant_of(GrantKind::RefreshToken, &handle_hash(refresh_token), client_id, now)
            .await
            .map_err(store_error)?
        {
            Redemption::Redeemed(grant) => grant,
            Redemption::OtherClient => return Err(GrantError::RefreshTokenOfAnotherClient),
            Redemption::Replayed(grant) => {
                let revoked = self.store.revoke_family(grant.family).await.map_err(store_error)?;
                tracing::warn!(family = %grant.family, revoked, "refresh token reused: its family is revoked");
                return Err(GrantError::RefreshTokenReused);
            }
            Redemption::Unusable => {
                return Err(GrantError::RefreshTokenUnusable);
            }
        };
        if grant.tenant_id != tenant.tenant.id {
            return self
                .refuse_family(grant.family, GrantError::RefreshTokenOfAnotherTenant)
                .await;
        }
        let stored: RefreshDocument = document(&grant)?;
        if stored.client_id != client.app.app.app_id {
            let e = GrantError::RefreshTokenOfAnotherClient;
            return self.refuse_family(grant.family, e).await;
        }
        let user = match self.grant_user(&grant).await {
            Ok(user) => user,
            Err(e) => return self.refuse_family(grant.family, e).await,
        };
        let scopes = requested.as_ref().unwrap_or(&stored.scopes);
        let mut response = user_token::issue(&UserTokenRequest {
            tenant,
            issuer,
            client_id: stored.client_id,
            azpacr: client.method.azpacr(),
            user: &user,
            scopes,
            nonce: None,
            sid: stored.sid,
            lifetime: self.config.token_lifetime,
            now,
        })?;
        self.add_refresh_token(&mut response, tenant.tenant.id, grant.family, user.id, stored, now)
            .await?;
        Ok(response)
    }
}

#[cfg(test)]
mod tests;
