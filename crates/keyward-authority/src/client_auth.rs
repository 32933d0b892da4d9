//! Client authentication at the token endpoint: an RFC 7523 client assertion signed with a
//! registered certificate's key (every rule of the wire contract, §1), or a client secret.
//!
//! The assertion is identified by its `x5t`, `x5t#S256` or `kid` header and checked against the
//! certificates registered on the application named by `iss`/`sub`/`client_id`. A certificate
//! in `x5c` is never trusted by itself: when present, its first entry must be the registered
//! certificate.
//!
//! Refusals are typed ([`ClientAuthError`], with the [`AssertionError`] family); they become
//! Entra's AADSTS errors in one place, `From<ClientAuthError> for OAuthError`.

use aws_lc_rs::constant_time;
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_jose::{Algorithm, Error as JoseError, Jws, NumericDate};
use keyward_pki::{Thumbprint, ThumbprintHash};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use std::sync::Arc;

use crate::clock::Now;
use crate::directory::{AppEntry, Snapshot, TenantEntry};
use crate::oauth_error::{OAuthError, OAuthErrorKind};

/// The assertion type RFC 7523 defines.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Limits on assertions.
#[derive(Debug, Clone)]
pub struct AssertionPolicy {
    /// Allowed clock difference between client and server.
    pub clock_skew: Duration,
    /// The longest `exp - now` accepted.
    pub max_lifetime: Duration,
    /// Accept ES256 assertions from EC certificates (Entra accepts RSA only).
    pub allow_es256: bool,
}

impl Default for AssertionPolicy {
    fn default() -> Self {
        Self {
            clock_skew: Duration::seconds(300),
            max_lifetime: Duration::seconds(3600),
            allow_es256: false,
        }
    }
}

/// How a client proved who it is; becomes the `azpacr` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// None: a public client (no certificate, no secret), `azpacr` "0". Only for grants that
    /// PKCE or a refresh token protects.
    Public,
    /// A client secret: `azpacr` "1".
    Secret,
    /// A certificate: `azpacr` "2".
    Certificate,
    /// A managed identity: the platform vouched for the caller (no credential in its
    /// environment); `azpacr` "2", as Entra's managed identity tokens say.
    ManagedIdentity,
}

impl ClientAuthMethod {
    /// The `azpacr` value.
    pub fn azpacr(self) -> &'static str {
        match self {
            Self::Public => "0",
            Self::Secret => "1",
            Self::Certificate | Self::ManagedIdentity => "2",
        }
    }
}

/// A client that has proved its identity.
pub struct AuthenticatedClient {
    /// Its application.
    pub app: Arc<AppEntry>,
    /// How it proved it.
    pub method: ClientAuthMethod,
    /// The `keyId` of the certificate or secret it presented (`None` for a public client or a
    /// managed identity): whose last use the token endpoint notes.
    pub credential: Option<Uuid>,
}

/// The claims of an assertion we read. Numbers may be floats (MSAL Python).
#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<NumericDate>,
    nbf: Option<NumericDate>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, accepted: impl Fn(&str) -> bool) -> bool {
        match self {
            Self::One(a) => accepted(a),
            Self::Many(all) => all.iter().any(|a| accepted(a)),
        }
    }
}

/// Why a client could not be authenticated.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientAuthError {
    /// The client id names no application of the tenant (AADSTS700016).
    #[error(
        "Application with identifier '{client_id}' was not found in the directory '{tenant}'. Check the client id and the tenant in the authority URL"
    )]
    UnknownClient {
        /// The client id as sent, cut to 80 characters.
        client_id: String,
        /// The tenant's name.
        tenant: String,
    },
    /// No current secret of the application matches (AADSTS7000215).
    #[error(
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app_id}'"
    )]
    WrongSecret {
        /// The application's appId.
        app_id: Uuid,
    },
    /// The client assertion was refused.
    #[error(transparent)]
    Assertion(#[from] AssertionError),
}

/// Why a client assertion was refused. Values quoted from the assertion are cut to 80
/// characters.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// Not a compact JWS (AADSTS50027).
    #[error("The client assertion is not a valid JWT: {0}")]
    NotAJwt(String),
    /// A JWS with an algorithm or critical extension we refuse (AADSTS700027).
    #[error("The client assertion is not acceptable: {0}")]
    UnacceptableHeader(String),
    /// The claims are not a JSON object of the expected types (AADSTS50027).
    #[error("The client assertion's claims cannot be read: {0}")]
    UnreadableClaims(String),
    /// `iss` or `sub` is absent (AADSTS700021).
    #[error("The client assertion must carry both 'iss' and 'sub', equal to the client id")]
    MissingIssuerOrSubject,
    /// `iss` and `sub` differ (AADSTS700021).
    #[error("The client assertion's 'iss' ({iss}) and 'sub' ({sub}) differ")]
    IssuerSubjectDiffer {
        /// `iss`.
        iss: String,
        /// `sub`.
        sub: String,
    },
    /// The form's `client_id` is not the assertion's `iss` (AADSTS700021).
    #[error("The client_id ({client_id}) differs from the client assertion's 'iss' and 'sub' ({iss})")]
    ClientIdMismatch {
        /// The form's `client_id`.
        client_id: String,
        /// The assertion's `iss`.
        iss: String,
    },
    /// No `x5t`, `x5t#S256` or `kid` header names the certificate (AADSTS50027).
    #[error("The client assertion has no 'x5t', 'x5t#S256' or 'kid' header naming the certificate")]
    NoCertificateHeader,
    /// The header naming the certificate holds no thumbprint (AADSTS700027).
    #[error("The '{header}' header ({value:?}) is not a certificate thumbprint")]
    NotAThumbprint {
        /// `x5t`, `x5t#S256` or `kid`.
        header: &'static str,
        /// Its value.
        value: String,
    },
    /// `x5t` carries a SHA-256 thumbprint or `x5t#S256` a SHA-1 one (AADSTS700027).
    #[error(
        "The '{header}' header carries a {found} thumbprint ({thumbprint}); '{header}' must be the {expected} thumbprint.{} \
         Use 'x5t' for SHA-1 and 'x5t#S256' for SHA-256 (in MSAL Node: thumbprint or thumbprintSha256)",
        registered_as.as_ref().map(|sha1| format!(" It is the {found} thumbprint of the registered certificate {sha1}.")).unwrap_or_default()
    )]
    WrongThumbprintHash {
        /// `x5t` or `x5t#S256`.
        header: &'static str,
        /// The hash the thumbprint is.
        found: ThumbprintHash,
        /// The hash the header must carry.
        expected: ThumbprintHash,
        /// The thumbprint, hex.
        thumbprint: String,
        /// The SHA-1 thumbprint of the registered certificate it is of, if any.
        registered_as: Option<String>,
    },
    /// No registered certificate of the application has the thumbprint (AADSTS700027).
    #[error(
        "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}' \
         ({hash} thumbprint, from the '{header}' header). Registered certificates of application {app_id}: {}. \
         Upload the certificate with `keyward app cert add`, or check that the client uses the right one]",
        if registered.is_empty() { "none".to_owned() } else { registered.join(", ") }
    )]
    UnknownCertificate {
        /// The thumbprint, hex.
        thumbprint: String,
        /// Its hash.
        hash: ThumbprintHash,
        /// The header that carried it.
        header: &'static str,
        /// The application.
        app_id: Uuid,
        /// Its registered certificates: `SHA1 (SHA-256 SHA256)`.
        registered: Vec<String>,
    },
    /// The certificate's credential is not valid now (AADSTS700027): expired, or not yet valid.
    #[error(
        "The certificate with thumbprint '{thumbprint}' used to sign the client assertion {}: it is registered from {start} to {end}, \
         and the server's time is {now}. {}",
        if now > end { "has expired" } else { "is not valid yet" },
        if now > end { "Upload a new certificate with `keyward app cert add` and sign with it" } else { "Wait for its start date, or sign with another registered certificate" }
    )]
    CertificateNotCurrent {
        /// The thumbprint, hex.
        thumbprint: String,
        /// The credential's start.
        start: OffsetDateTime,
        /// The credential's end.
        end: OffsetDateTime,
        /// The server's time it was checked at.
        now: OffsetDateTime,
    },
    /// `x5c` does not start with the registered certificate (AADSTS700027).
    #[error("The client assertion's 'x5c' header does not start with the registered certificate it names")]
    ChainMismatch,
    /// The signature does not verify with the certificate's key (AADSTS700027).
    #[error(
        "Client assertion contains an invalid signature. [Reason - {reason}, Thumbprint of key used by client: '{thumbprint}']"
    )]
    BadSignature {
        /// Why the signature failed.
        reason: String,
        /// The thumbprint, hex.
        thumbprint: String,
    },
    /// `aud` is not this tenant's token endpoint (AADSTS700023).
    #[error("The client assertion's audience must be this tenant's token endpoint, {expected}")]
    WrongAudience {
        /// The endpoint it must name.
        expected: String,
    },
    /// `exp` and `nbf` do not hold `now` (AADSTS700024).
    #[error(
        "Client assertion is not within its valid time range: {problem}. Current time: {now}, assertion nbf: {}, exp: {}. \
         Check the client machine's clock",
        nbf.map(|n| n.to_string()).unwrap_or_else(|| "(none)".into()),
        exp.map(|e| e.to_string()).unwrap_or_else(|| "(none)".into())
    )]
    OutsideWindow {
        /// What is wrong.
        problem: WindowProblem,
        /// Now, Unix seconds.
        now: i64,
        /// `nbf`, Unix seconds.
        nbf: Option<i64>,
        /// `exp`, Unix seconds.
        exp: Option<i64>,
    },
}

/// What is wrong with an assertion's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowProblem {
    /// No `exp`.
    NoExpiry,
    /// `exp` has passed (beyond the clock skew).
    Expired,
    /// `exp` is further away than the policy's longest lifetime.
    TooLong(i64),
    /// `nbf` is in the future (beyond the clock skew).
    NotYetValid,
}

impl std::fmt::Display for WindowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoExpiry => f.write_str("it has no 'exp'"),
            Self::Expired => f.write_str("it has expired"),
            Self::TooLong(seconds) => write!(f, "its 'exp' is more than {seconds} seconds away"),
            Self::NotYetValid => f.write_str("its 'nbf' is in the future"),
        }
    }
}

impl AssertionError {
    /// The OAuth error and AADSTS code Entra answers this refusal with.
    fn code(&self) -> (OAuthErrorKind, u32) {
        match self {
            Self::NotAJwt(_) | Self::UnreadableClaims(_) | Self::NoCertificateHeader => {
                (OAuthErrorKind::InvalidRequest, 50027)
            }
            Self::MissingIssuerOrSubject | Self::IssuerSubjectDiffer { .. } | Self::ClientIdMismatch { .. } => {
                (OAuthErrorKind::InvalidClient, 700021)
            }
            Self::UnacceptableHeader(_)
            | Self::NotAThumbprint { .. }
            | Self::WrongThumbprintHash { .. }
            | Self::UnknownCertificate { .. }
            | Self::CertificateNotCurrent { .. }
            | Self::ChainMismatch
            | Self::BadSignature { .. } => (OAuthErrorKind::InvalidClient, 700027),
            Self::WrongAudience { .. } => (OAuthErrorKind::InvalidClient, 700023),
            Self::OutsideWindow { .. } => (OAuthErrorKind::InvalidClient, 700024),
        }
    }
}

/// The one place client authentication refusals become Entra's AADSTS errors.
impl From<ClientAuthError> for OAuthError {
    fn from(e: ClientAuthError) -> Self {
        let (kind, code) = match &e {
            ClientAuthError::UnknownClient { .. } => (OAuthErrorKind::UnauthorizedClient, 700016),
            ClientAuthError::WrongSecret { .. } => (OAuthErrorKind::InvalidClient, 7000215),
            ClientAuthError::Assertion(assertion) => assertion.code(),
        };
        OAuthError::new(kind, code, e.to_string())
    }
}

/// Checks a client assertion for `tenant`. `form_client_id` is the `client_id` form field, if
/// sent; `audiences` are the token endpoint URLs the assertion may name.
pub fn authenticate_assertion(
    snapshot: &Snapshot,
    tenant: &TenantEntry,
    form_client_id: Option<&str>,
    assertion: &str,
    audiences: &[String],
    policy: &AssertionPolicy,
    now: impl Into<Now>,
) -> Result<AuthenticatedClient, ClientAuthError> {
    // The certificate against the server's time, the assertion's exp and nbf against the real
    // time: see [`Now`].
    let Now { server: now, real } = now.into();
    let jws = Jws::parse(assertion).map_err(|e| match e {
        // An algorithm or extension we refuse is a failed authentication, not a typo.
        JoseError::UnsupportedAlgorithm(_) | JoseError::UnsupportedCritical(_) | JoseError::MissingAlgorithm => {
            AssertionError::UnacceptableHeader(e.to_string())
        }
        other => AssertionError::NotAJwt(other.to_string()),
    })?;
    let header = jws.header();
    let allowed: &[Algorithm] = if policy.allow_es256 {
        &[Algorithm::Rs256, Algorithm::Ps256, Algorithm::Es256]
    } else {
        &[Algorithm::Rs256, Algorithm::Ps256]
    };
    let claims: AssertionClaims =
        serde_json::from_slice(jws.payload()).map_err(|e| AssertionError::UnreadableClaims(e.to_string()))?;

    // Who claims to be calling: iss, sub and the form's client_id must agree.
    let (Some(iss), Some(sub)) = (claims.iss.as_deref(), claims.sub.as_deref()) else {
        return Err(AssertionError::MissingIssuerOrSubject.into());
    };
    if iss != sub {
        return Err(AssertionError::IssuerSubjectDiffer {
            iss: truncate(iss),
            sub: truncate(sub),
        }
        .into());
    }
    if let Some(form) = form_client_id
        && !form.eq_ignore_ascii_case(iss)
    {
        return Err(AssertionError::ClientIdMismatch {
            client_id: truncate(form),
            iss: truncate(iss),
        }
        .into());
    }
    let app = find_client(snapshot, tenant, iss)?;

    // Which registered certificate signed it.
    let (header_name, value) = header
        .x5t_s256
        .as_deref()
        .map(|v| ("x5t#S256", v))
        .or(header.x5t.as_deref().map(|v| ("x5t", v)))
        .or(header.kid.as_deref().map(|v| ("kid", v)))
        .ok_or(AssertionError::NoCertificateHeader)?;
    let thumbprint = Thumbprint::parse(value).map_err(|_| AssertionError::NotAThumbprint {
        header: header_name,
        value: truncate(value),
    })?;
    let expected = match header_name {
        "x5t" => Some(ThumbprintHash::Sha1),
        "x5t#S256" => Some(ThumbprintHash::Sha256),
        _ => None,
    };
    if let Some(expected) = expected
        && thumbprint.hash() != expected
    {
        return Err(AssertionError::WrongThumbprintHash {
            header: header_name,
            found: thumbprint.hash(),
            expected,
            thumbprint: thumbprint.to_hex(),
            registered_as: app.certificate(&thumbprint).map(|c| c.thumbprints.sha1_hex()),
        }
        .into());
    }
    let Some(registered) = app.certificate(&thumbprint) else {
        return Err(AssertionError::UnknownCertificate {
            thumbprint: thumbprint.to_hex(),
            hash: thumbprint.hash(),
            header: header_name,
            app_id: app.app.app_id,
            registered: app
                .certificates()
                .iter()
                .map(|c| {
                    let t = &c.thumbprints;
                    format!("{} (SHA-256 {})", t.sha1_hex(), t.sha256_hex())
                })
                .collect(),
        }
        .into());
    };
    if !registered.is_current(now) {
        return Err(AssertionError::CertificateNotCurrent {
            thumbprint: thumbprint.to_hex(),
            start: registered.start,
            end: registered.end,
            now,
        }
        .into());
    }
    if let Some(chain) = &header.x5c {
        let leaf = chain.first().map(|c| c.split_whitespace().collect::<String>());
        let leaf = leaf.and_then(|c| STANDARD.decode(c).ok());
        // The registered certificate is not kept in memory; its SHA-256 thumbprint names it.
        let leaf = leaf.map(|der| keyward_pki::Thumbprints::of(&der));
        if leaf.is_none_or(|leaf| leaf != registered.thumbprints) {
            return Err(AssertionError::ChainMismatch.into());
        }
    }
    let verifier = registered.verifier().map_err(|reason| AssertionError::BadSignature {
        reason: reason.to_owned(),
        thumbprint: thumbprint.to_hex(),
    })?;
    jws.verify(verifier, allowed)
        .map_err(|e| AssertionError::BadSignature {
            reason: e.to_string(),
            thumbprint: thumbprint.to_hex(),
        })?;

    // Now that it is authentic: is it for us, and is it current?
    let audience_ok = claims
        .aud
        .as_ref()
        .is_some_and(|aud| aud.contains(|a| audiences.iter().any(|ok| same_endpoint(a, ok))));
    if !audience_ok {
        return Err(AssertionError::WrongAudience {
            expected: audiences.first().cloned().unwrap_or_default(),
        }
        .into());
    }
    check_window(claims.exp, claims.nbf, policy, real)?;
    Ok(AuthenticatedClient {
        app: Arc::clone(app),
        method: ClientAuthMethod::Certificate,
        credential: Some(registered.key_id),
    })
}

/// Checks an assertion's `exp` and `nbf` against `now`, the clock skew and the longest lifetime.
fn check_window(
    exp: Option<NumericDate>,
    nbf: Option<NumericDate>,
    policy: &AssertionPolicy,
    now: OffsetDateTime,
) -> Result<(), AssertionError> {
    let now_s = now.unix_timestamp();
    let skew = policy.clock_skew.whole_seconds();
    let window = |problem| AssertionError::OutsideWindow {
        problem,
        now: now_s,
        nbf: nbf.map(|n| n.as_unix()),
        exp: exp.map(|e| e.as_unix()),
    };
    let Some(exp) = exp else {
        return Err(window(WindowProblem::NoExpiry));
    };
    if exp.as_unix() + skew < now_s {
        return Err(window(WindowProblem::Expired));
    }
    if exp.as_unix() - now_s > policy.max_lifetime.whole_seconds() + skew {
        return Err(window(WindowProblem::TooLong(policy.max_lifetime.whole_seconds())));
    }
    if let Some(nbf) = nbf
        && nbf.as_unix() > now_s + skew
    {
        return Err(window(WindowProblem::NotYetValid));
    }
    Ok(())
}

/// Whether an `aud` names the token endpoint `expected`: same URL, query string ignored.
fn same_endpoint(aud: &str, expected: &str) -> bool {
    let aud = aud.split(['?', '#']).next().unwrap_or(aud).trim_end_matches('/');
    aud.eq_ignore_ascii_case(expected.trim_end_matches('/'))
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The application named by `client_id` in this tenant.
pub fn find_client<'a>(
    snapshot: &'a Snapshot,
    tenant: &TenantEntry,
    client_id: &str,
) -> Result<&'a Arc<AppEntry>, ClientAuthError> {
    let unknown = || ClientAuthError::UnknownClient {
        client_id: truncate(client_id),
        tenant: tenant.tenant.name.clone(),
    };
    let id = Uuid::parse_str(client_id).map_err(|_| unknown())?;
    snapshot.app_in_tenant(tenant.tenant.id, id).ok_or_else(unknown)
}

/// Checks a client secret against the application's secrets, in constant time per candidate.
pub fn authenticate_secret(
    snapshot: &Snapshot,
    tenant: &TenantEntry,
    client_id: &str,
    secret: &str,
    now: OffsetDateTime,
) -> Result<AuthenticatedClient, ClientAuthError> {
    let app = find_client(snapshot, tenant, client_id)?;
    let presented = hash_secret(secret);
    let mut matched = None;
    for credential in app.secrets_valid_at(now) {
        if constant_time::verify_slices_are_equal(presented.as_bytes(), credential.secret_hash.as_bytes()).is_ok() {
            matched = Some(credential.key_id);
        }
    }
    let Some(key_id) = matched else {
        return Err(ClientAuthError::WrongSecret { app_id: app.app.app_id });
    };
    Ok(AuthenticatedClient {
        app: Arc::clone(app),
        method: ClientAuthMethod::Secret,
        credential: Some(key_id),
    })
}

/// How secrets are stored: SHA-256, hex. Secrets are 40 random characters (over 230 bits), so
/// a fast hash is enough, and keeps the token endpoint fast.
pub fn hash_secret(secret: &str) -> String {
    let digest = digest::digest(&digest::SHA256, secret.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests;
