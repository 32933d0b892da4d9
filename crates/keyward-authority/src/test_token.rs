//! Test tokens: access tokens minted on an administrator's request, without a credential, for
//! testing APIs that validate Entra tokens (`keyward token mint`, `POST /admin/api/test-tokens`).
//!
//! A minted token is an app-only access token as [`crate::token::client_credentials`] makes them
//! (the tenant's issuer and active signing key, `kid` and `x5t`, `azp`, `oid`, `sub`, `tid`,
//! `idtyp: app`, `ver: 2.0`), with the `aud` and `roles` asked for, the caller's extra claims,
//! and [`MINTED_CLAIM`] set to `true` so that it can always be told from an issued one. The
//! server mints only when started with test tokens allowed ([`crate::Config::allow_test_tokens`],
//! `keyward serve --allow-test-tokens`); every mint is written to the audit log.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_jose::{Algorithm, Header};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::directory::{AppEntry, Snapshot, TenantEntry};

/// The claim every minted token carries, `true`: an API under test (or a log) can tell a
/// minted token from one the token endpoint issued.
pub const MINTED_CLAIM: &str = "keyward_minted";

/// The longest lifetime a minted token may have.
pub const MAX_LIFETIME: Duration = Duration::hours(24);

/// The claims `--claim` may not set: the ones that make the token this authority's (issuer,
/// times, key, tenant, the marker) and the ones that have their own flag (`aud`, `roles`,
/// the client).
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "exp",
    "nbf",
    "iat",
    "kid",
    "tid",
    "ver",
    "uti",
    MINTED_CLAIM,
    "aud",
    "roles",
    "azp",
    "appid",
];

/// Why a test token was not minted.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    /// The server was not started with test tokens allowed.
    #[error("test tokens are off on this server: start it with `keyward serve --allow-test-tokens` to mint them")]
    Disabled,
    /// No application of the tenant has this client id or display name.
    #[error(
        "no application {app:?} in tenant {tenant}: give a registered app's client id or display name (`keyward app list`)"
    )]
    UnknownApp {
        /// The application as given.
        app: String,
        /// The tenant's name.
        tenant: String,
    },
    /// More than one application has this display name.
    #[error("{0:?} names more than one application: give its client id")]
    AmbiguousApp(String),
    /// No audience was given.
    #[error("the audience is empty: give the API's appId or identifier URI (e.g. api://tasks)")]
    NoAudience,
    /// An extra claim would replace one the authority sets.
    #[error(
        "the claim {0:?} is reserved (the authority sets iss, exp, nbf, iat, kid, tid, ver, uti and {MINTED_CLAIM}; aud, roles and azp/appid have their own options): leave it out"
    )]
    ReservedClaim(String),
    /// The lifetime is zero, negative or longer than [`MAX_LIFETIME`].
    #[error("the lifetime must be between 1 second and 24 hours, not {0} seconds")]
    Lifetime(i64),
    /// The tenant asked for is not the caller's.
    #[error("the caller administers tenant {caller}, not {asked}: mint with an administrator of {asked}")]
    OtherTenant {
        /// The tenant asked for.
        asked: String,
        /// The caller's tenant.
        caller: String,
    },
    /// Signing failed, or no randomness for the token id.
    #[error("the token could not be signed: {0}")]
    NotIssued(String),
}

/// What to mint.
#[derive(Debug, Clone)]
pub struct MintRequest {
    /// The client: an application's client id or display name.
    pub app: String,
    /// The `aud`: the API's appId or identifier URI, as given.
    pub audience: String,
    /// The `roles` claim (left out when empty).
    pub roles: Vec<String>,
    /// Extra claims, none of them [`RESERVED_CLAIMS`].
    pub claims: Map<String, Value>,
    /// How long the token is valid.
    pub lifetime: Duration,
}

/// A minted token.
#[derive(Clone)]
pub struct MintedToken {
    /// The signed token.
    pub access_token: String,
    /// Its claims, as signed.
    pub claims: Map<String, Value>,
    /// The client application.
    pub app: std::sync::Arc<AppEntry>,
    /// When it expires.
    pub expires_on: OffsetDateTime,
}

impl std::fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a bearer credential: not printed.
        f.debug_struct("MintedToken")
            .field("claims", &self.claims)
            .field("app", &self.app.app.app_id)
            .field("expires_on", &self.expires_on)
            .finish_non_exhaustive()
    }
}

/// Checks `request` and signs the token with `tenant`'s active key, as issued by `issuer`.
pub fn mint(
    snapshot: &Snapshot,
    tenant: &TenantEntry,
    issuer: &str,
    request: &MintRequest,
    now: OffsetDateTime,
) -> Result<MintedToken, MintError> {
    let lifetime = request.lifetime.whole_seconds();
    if lifetime < 1 || request.lifetime > MAX_LIFETIME {
        return Err(MintError::Lifetime(lifetime));
    }
    let audience = request.audience.trim();
    if audience.is_empty() {
        return Err(MintError::NoAudience);
    }
    if let Some(reserved) = request.claims.keys().find(|k| RESERVED_CLAIMS.contains(&k.as_str())) {
        return Err(MintError::ReservedClaim(reserved.clone()));
    }
    let app = find_app(snapshot, tenant, &request.app)?;
    let mut uti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut uti).map_err(|_| MintError::NotIssued("no randomness".into()))?;
    let iat = now.unix_timestamp();
    let exp = iat + lifetime;
    let client_id = app.app.app_id.to_string();
    let oid = app.app.service_principal_id.to_string();
    // The claims of an issued app-only token, in its order; then the marker and the extras.
    let mut claims = Map::new();
    let mut set = |name: &str, value: Value| {
        claims.insert(name.to_owned(), value);
    };
    set("aud", json!(audience));
    set("iss", json!(issuer));
    set("iat", json!(iat));
    set("nbf", json!(iat));
    set("exp", json!(exp));
    set("azp", json!(client_id));
    set("appid", json!(client_id));
    set("azpacr", json!("0"));
    set("idtyp", json!("app"));
    set("oid", json!(oid));
    if !request.roles.is_empty() {
        set("roles", json!(request.roles));
    }
    set("sub", json!(oid));
    set("tid", json!(tenant.tenant.id.to_string()));
    set("uti", json!(URL_SAFE_NO_PAD.encode(uti)));
    set("ver", json!("2.0"));
    set(MINTED_CLAIM, json!(true));
    for (name, value) in &request.claims {
        set(name, value.clone());
    }
    let keys = &tenant.keys;
    let header = Header::new(Algorithm::Rs256)
        .with_typ("JWT")
        .with_kid(keys.kid())
        .with_x5t(keys.kid());
    let access_token = keys
        .signer()
        .sign(&header, &claims)
        .map_err(|e| MintError::NotIssued(e.to_string()))?;
    Ok(MintedToken {
        access_token,
        claims,
        app: std::sync::Arc::clone(app),
        expires_on: now + request.lifetime,
    })
}

/// The tenant's application with this client id, or else this display name (one only).
fn find_app<'a>(
    snapshot: &'a Snapshot,
    tenant: &TenantEntry,
    app: &str,
) -> Result<&'a std::sync::Arc<AppEntry>, MintError> {
    let tenant_id = tenant.tenant.id;
    if let Ok(id) = Uuid::parse_str(app.trim())
        && let Some(entry) = snapshot.app_in_tenant(tenant_id, id)
    {
        return Ok(entry);
    }
    let named: Vec<_> = snapshot
        .apps_of(tenant_id)
        .into_iter()
        .filter(|a| a.app.display_name == app.trim())
        .collect();
    match named.as_slice() {
        [one] => Ok(*one),
        [] => Err(MintError::UnknownApp {
            app: app.to_owned(),
            tenant: tenant.tenant.name.clone(),
        }),
        _ => Err(MintError::AmbiguousApp(app.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_and_the_times_are_reserved() {
        for name in ["iss", "exp", "nbf", "iat", "kid", MINTED_CLAIM] {
            assert!(RESERVED_CLAIMS.contains(&name), "{name}");
        }
    }
}
