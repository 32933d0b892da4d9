//! Access tokens for the client credentials grant, with the claims of the wire contract §4,
//! and the token response of every grant.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_jose::{Algorithm, Header};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::client_auth::AuthenticatedClient;
use crate::directory::{Snapshot, TenantEntry};
use crate::oauth_error::{OAuthError, OAuthErrorKind};

/// Why a token could not be issued.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The client credentials grant without `scope` (AADSTS900144).
    #[error("The request body must contain the following parameter: 'scope'")]
    MissingScope,
    /// The client credentials grant takes exactly one scope (AADSTS70011).
    #[error(
        "The provided value for the input parameter 'scope' is not valid: the client credentials grant takes exactly one '<resource>/.default' scope, not {0:?}"
    )]
    NotOneScope(String),
    /// The client credentials grant's scope must end in `/.default` (AADSTS1002012).
    #[error(
        "The provided value for scope {0} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)"
    )]
    NotDefaultScope(String),
    /// No resource of the tenant has this identifier URI or appId (AADSTS500011).
    #[error(
        "The resource principal named {resource} was not found in the tenant named {tenant}. Register the resource application, or check the scope's identifier URI or appId"
    )]
    UnknownResource {
        /// The identifier as asked for.
        resource: String,
        /// The tenant's name.
        tenant: String,
    },
    /// Signing failed, or no randomness for the token id (AADSTS90000, a server error).
    #[error("The token could not be issued: {0}")]
    NotIssued(String),
}

impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> Self {
        let (kind, code) = match e {
            TokenError::MissingScope => (OAuthErrorKind::InvalidRequest, 900144),
            TokenError::NotOneScope(_) => (OAuthErrorKind::InvalidScope, 70011),
            TokenError::NotDefaultScope(_) => (OAuthErrorKind::InvalidScope, 1002012),
            TokenError::UnknownResource { .. } => (OAuthErrorKind::InvalidResource, 500011),
            TokenError::NotIssued(_) => (OAuthErrorKind::ServerError, 90000),
        };
        OAuthError::new(kind, code, e.to_string())
    }
}

/// The successful token response.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// The scopes granted (user flows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Seconds until the token expires (MSAL needs it to cache).
    pub expires_in: i64,
    /// Same as `expires_in`, as Entra sends.
    pub ext_expires_in: i64,
    /// The signed access token.
    pub access_token: String,
    /// A refresh token (user flows with `offline_access`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token (user flows with `openid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// base64url of `{"uid": oid, "utid": tid}` (user flows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
}

#[derive(Serialize)]
struct AccessTokenClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    azp: &'a str,
    azpacr: &'static str,
    idtyp: &'static str,
    oid: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: Vec<String>,
    sub: &'a str,
    tid: &'a str,
    uti: String,
    ver: &'static str,
}

/// Issues an access token for `scope` (`<resource>/.default`) to an authenticated client.
pub fn client_credentials(
    snapshot: &Snapshot,
    tenant: &TenantEntry,
    client: &AuthenticatedClient,
    scope: Option<&str>,
    issuer: &str,
    lifetime: Duration,
    now: OffsetDateTime,
) -> Result<TokenResponse, TokenError> {
    let scope = scope
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(TokenError::MissingScope)?;
    let mut scopes = scope.split_whitespace();
    let (Some(only), None) = (scopes.next(), scopes.next()) else {
        return Err(TokenError::NotOneScope(scope.to_owned()));
    };
    let resource_name = only
        .strip_suffix("/.default")
        .ok_or_else(|| TokenError::NotDefaultScope(only.to_owned()))?;
    let resource = snapshot
        .resource(tenant.tenant.id, resource_name)
        .ok_or_else(|| TokenError::UnknownResource {
            resource: resource_name.to_owned(),
            tenant: tenant.tenant.name.clone(),
        })?;
    let app = &client.app.app;
    let mut uti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut uti).map_err(|_| TokenError::NotIssued("no randomness".into()))?;
    let iat = now.unix_timestamp();
    let exp = iat + lifetime.whole_seconds();
    // GUIDs rendered into stack buffers: no allocation per token.
    let (mut aud, mut azp, mut oid, mut tid) = (
        Uuid::encode_buffer(),
        Uuid::encode_buffer(),
        Uuid::encode_buffer(),
        Uuid::encode_buffer(),
    );
    let oid: &str = app.service_principal_id.hyphenated().encode_lower(&mut oid);
    let claims = AccessTokenClaims {
        aud: resource.app.app_id.hyphenated().encode_lower(&mut aud),
        iss: issuer,
        iat,
        nbf: iat,
        exp,
        azp: app.app_id.hyphenated().encode_lower(&mut azp),
        azpacr: client.method.azpacr(),
        idtyp: "app",
        oid,
        roles: snapshot.roles(&client.app, resource),
        sub: oid,
        tid: tenant.tenant.id.hyphenated().encode_lower(&mut tid),
        uti: URL_SAFE_NO_PAD.encode(uti),
        ver: "2.0",
    };
    let keys = &tenant.keys;
    let header = Header::new(Algorithm::Rs256)
        .with_typ("JWT")
        .with_kid(keys.kid())
        .with_x5t(keys.kid());
    let access_token = keys
        .signer()
        .sign(&header, &claims)
        .map_err(|e| TokenError::NotIssued(e.to_string()))?;
    Ok(TokenResponse {
        token_type: "Bearer",
        scope: None,
        expires_in: exp - iat,
        ext_expires_in: exp - iat,
        access_token,
        refresh_token: None,
        id_token: None,
        client_info: None,
    })
}
