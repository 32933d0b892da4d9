//! Client authentication at the token endpoint: an RFC 7523 client assertion signed with a
//! registered certificate's key (every rule of the wire contract, §1), or a client secret.
//!
//! The assertion is identified by its `x5t`, `x5t#S256` or `kid` header and checked against the
//! certificates registered on the application named by `iss`/`sub`/`client_id`. A certificate
//! in `x5c` is never trusted by itself: when present, its first entry must be the registered
//! certificate.

use aws_lc_rs::constant_time;
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_jose::{Algorithm, Error as JoseError, Jws, NumericDate};
use keyward_pki::{Thumbprint, ThumbprintHash};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::directory::{AppEntry, Snapshot, TenantEntry};
use crate::oauth_error::{OAuthError, OAuthErrorKind};
use std::sync::Arc;

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
}

impl ClientAuthMethod {
    /// The `azpacr` value.
    pub fn azpacr(self) -> &'static str {
        match self {
            Self::Public => "0",
            Self::Secret => "1",
            Self::Certificate => "2",
        }
    }
}

/// A client that has proved its identity.
pub struct AuthenticatedClient {
    /// Its application.
    pub app: Arc<AppEntry>,
    /// How it proved it.
    pub method: ClientAuthMethod,
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

/// Checks a client assertion for `tenant`. `form_client_id` is the `client_id` form field, if
/// sent; `audiences` are the token endpoint URLs the assertion may name.
pub fn authenticate_assertion(
    snapshot: &Snapshot,
    tenant: &TenantEntry,
    form_client_id: Option<&str>,
    assertion: &str,
    audiences: &[String],
    policy: &AssertionPolicy,
    now: OffsetDateTime,
) -> Result<AuthenticatedClient, OAuthError> {
    let jws = Jws::parse(assertion).map_err(|e| match e {
        // An algorithm or extension we refuse is a failed authentication, not a typo.
        JoseError::UnsupportedAlgorithm(_) | JoseError::UnsupportedCritical(_) | JoseError::MissingAlgorithm => {
            OAuthError::bad_signature(format!("The client assertion is not acceptable: {e}"))
        }
        other => OAuthError::malformed_jwt(format!("The client assertion is not a valid JWT: {other}")),
    })?;
    let header = jws.header();
    let allowed: &[Algorithm] = if policy.allow_es256 {
        &[Algorithm::Rs256, Algorithm::Ps256, Algorithm::Es256]
    } else {
        &[Algorithm::Rs256, Algorithm::Ps256]
    };
    let claims: AssertionClaims = serde_json::from_slice(jws.payload())
        .map_err(|e| OAuthError::malformed_jwt(format!("The client assertion's claims cannot be read: {e}")))?;

    // Who claims to be calling: iss, sub and the form's client_id must agree.
    let (Some(iss), Some(sub)) = (claims.iss.as_deref(), claims.sub.as_deref()) else {
        return Err(mismatch(
            "The client assertion must carry both 'iss' and 'sub', equal to the client id",
        ));
    };
    if iss != sub {
        return Err(mismatch(&format!(
            "The client assertion's 'iss' ({}) and 'sub' ({}) differ",
            truncate(iss),
            truncate(sub)
        )));
    }
    if let Some(form) = form_client_id
        && !form.eq_ignore_ascii_case(iss)
    {
        return Err(mismatch(&format!(
            "The client_id ({}) differs from the client assertion's 'iss' and 'sub' ({})",
            truncate(form),
            truncate(iss)
        )));
    }
    let app = find_client(snapshot, tenant, iss)?;

    // Which registered certificate signed it.
    let identifier = header
        .x5t_s256
        .as_deref()
        .map(|v| ("x5t#S256", v))
        .or(header.x5t.as_deref().map(|v| ("x5t", v)))
        .or(header.kid.as_deref().map(|v| ("kid", v)))
        .ok_or_else(|| {
            OAuthError::malformed_jwt(
                "The client assertion has no 'x5t', 'x5t#S256' or 'kid' header naming the certificate",
            )
        })?;
    let thumbprint = Thumbprint::parse(identifier.1).map_err(|_| {
        OAuthError::bad_signature(format!(
            "The '{}' header ({:?}) is not a certificate thumbprint",
            identifier.0,
            truncate(identifier.1)
        ))
    })?;
    let expected = match identifier.0 {
        "x5t" => Some(ThumbprintHash::Sha1),
        "x5t#S256" => Some(ThumbprintHash::Sha256),
        _ => None,
    };
    if let Some(expected) = expected
        && thumbprint.hash() != expected
    {
        let matching = app
            .certificate(&thumbprint)
            .map(|c| {
                let sha1 = c.certificate.thumbprints().sha1_hex();
                format!(
                    " It is the {} thumbprint of the registered certificate {sha1}.",
                    thumbprint.hash()
                )
            })
            .unwrap_or_default();
        return Err(OAuthError::bad_signature(format!(
            "The '{}' header carries a {} thumbprint ({}); '{}' must be the {expected} thumbprint.{matching} \
             Use 'x5t' for SHA-1 and 'x5t#S256' for SHA-256 (in MSAL Node: thumbprint or thumbprintSha256)",
            identifier.0,
            thumbprint.hash(),
            thumbprint.to_hex(),
            identifier.0
        )));
    }
    let Some(registered) = app.certificate(&thumbprint) else {
        let registered: Vec<String> = app
            .certificates
            .iter()
            .map(|c| {
                let t = c.certificate.thumbprints();
                format!("{} (SHA-256 {})", t.sha1_hex(), t.sha256_hex())
            })
            .collect();
        let listing = if registered.is_empty() {
            "none".to_owned()
        } else {
            registered.join(", ")
        };
        return Err(OAuthError::bad_signature(format!(
            "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{}' \
             ({} thumbprint, from the '{}' header). Registered certificates of application {}: {listing}. \
             Upload the certificate with `keyward app cert add`, or check that the client uses the right one]",
            thumbprint.to_hex(),
            thumbprint.hash(),
            identifier.0,
            app.app.app_id,
        )));
    };
    let credential = &registered.credential;
    if now < credential.start || now > credential.end {
        return Err(OAuthError::bad_signature(format!(
            "The certificate with thumbprint '{}' used to sign the client assertion is not valid now: it is registered from {} to {}",
            thumbprint.to_hex(),
            credential.start,
            credential.end
        )));
    }
    if let Some(chain) = &header.x5c {
        let leaf = chain.first().map(|c| c.split_whitespace().collect::<String>());
        let leaf = leaf.and_then(|c| STANDARD.decode(c).ok());
        if leaf.as_deref() != Some(registered.certificate.der()) {
            return Err(OAuthError::bad_signature(
                "The client assertion's 'x5c' header does not start with the registered certificate it names",
            ));
        }
    }
    jws.verify(&registered.verifier, allowed).map_err(|e| {
        OAuthError::bad_signature(format!(
            "Client assertion contains an invalid signature. [Reason - {e}, Thumbprint of key used by client: '{}']",
            thumbprint.to_hex()
        ))
    })?;

    // Now that it is authentic: is it for us, and is it current?
    let audience_ok = claims
        .aud
        .as_ref()
        .is_some_and(|aud| aud.contains(|a| audiences.iter().any(|ok| same_endpoint(a, ok))));
    if !audience_ok {
        return Err(OAuthError::new(
            OAuthErrorKind::InvalidClient,
            700023,
            format!(
                "The client assertion's audience must be this tenant's token endpoint, {}",
                audiences.first().map(String::as_str).unwrap_or("")
            ),
        ));
    }
    check_window(claims.exp, claims.nbf, policy, now)?;
    Ok(AuthenticatedClient {
        app: Arc::clone(app),
        method: ClientAuthMethod::Certificate,
    })
}

fn check_window(
    exp: Option<NumericDate>,
    nbf: Option<NumericDate>,
    policy: &AssertionPolicy,
    now: OffsetDateTime,
) -> Result<(), OAuthError> {
    let now_s = now.unix_timestamp();
    let skew = policy.clock_skew.whole_seconds();
    let window = |what: String| {
        OAuthError::new(
            OAuthErrorKind::InvalidClient,
            700024,
            format!(
                "Client assertion is not within its valid time range: {what}. Current time: {now_s}, assertion nbf: {}, exp: {}. \
                 Check the client machine's clock",
                nbf.map(|n| n.as_unix().to_string()).unwrap_or_else(|| "(none)".into()),
                exp.map(|e| e.as_unix().to_string()).unwrap_or_else(|| "(none)".into())
            ),
        )
    };
    let Some(exp) = exp else {
        return Err(window("it has no 'exp'".into()));
    };
    if exp.as_unix() + skew < now_s {
        return Err(window("it has expired".into()));
    }
    if exp.as_unix() - now_s > policy.max_lifetime.whole_seconds() + skew {
        return Err(window(format!(
            "its 'exp' is more than {} seconds away",
            policy.max_lifetime.whole_seconds()
        )));
    }
    if let Some(nbf) = nbf
        && nbf.as_unix() > now_s + skew
    {
        return Err(window("its 'nbf' is in the future".into()));
    }
    Ok(())
}

/// Whether an `aud` names the token endpoint `expected`: same URL, query string ignored.
fn same_endpoint(aud: &str, expected: &str) -> bool {
    let aud = aud.split(['?', '#']).next().unwrap_or(aud).trim_end_matches('/');
    aud.eq_ignore_ascii_case(expected.trim_end_matches('/'))
}

fn mismatch(message: &str) -> OAuthError {
    OAuthError::new(OAuthErrorKind::InvalidClient, 700021, message)
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The application named by `client_id` in this tenant.
pub fn find_client<'a>(
    snapshot: &'a Snapshot,
    tenant: &TenantEntry,
    client_id: &str,
) -> Result<&'a Arc<AppEntry>, OAuthError> {
    let unknown = || {
        OAuthError::new(
            OAuthErrorKind::UnauthorizedClient,
            700016,
            format!(
                "Application with identifier '{}' was not found in the directory '{}'. Check the client id and the tenant in the authority URL",
                truncate(client_id),
                tenant.tenant.name
            ),
        )
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
) -> Result<AuthenticatedClient, OAuthError> {
    let app = find_client(snapshot, tenant, client_id)?;
    let presented = hash_secret(secret);
    let mut matched = false;
    for credential in app.secrets_valid_at(now) {
        matched |=
            constant_time::verify_slices_are_equal(presented.as_bytes(), credential.secret_hash.as_bytes()).is_ok();
    }
    if !matched {
        return Err(OAuthError::new(
            OAuthErrorKind::InvalidClient,
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'",
                app.app.app_id
            ),
        ));
    }
    Ok(AuthenticatedClient {
        app: Arc::clone(app),
        method: ClientAuthMethod::Secret,
    })
}

/// How secrets are stored: SHA-256, hex. Secrets are 40 random characters (over 230 bits), so
/// a fast hash is enough, and keeps the token endpoint fast.
pub fn hash_secret(secret: &str) -> String {
    let digest = digest::digest(&digest::SHA256, secret.as_bytes());
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}
