//! The tokens of a signed-in user (wire contract §2 and §4): the access token for the
//! resource the scopes name (`scp`, `idtyp: "user"`, the user's `oid`/`sub`), the ID token for
//! the client (`aud` = client id, `nonce`, `sid`, `preferred_username`, `name`), and
//! `client_info`, from which MSAL builds the account's home id. Both tokens of a user who holds
//! directory roles carry their template ids in `wids`, as Entra's do.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_jose::{Algorithm, Header};
use keyward_store::User;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::directory::TenantEntry;
use crate::directory_roles;
use crate::scopes::ScopeGrant;
use crate::token::{TokenError, TokenResponse};

/// What a user token is issued from.
pub struct UserTokenRequest<'a> {
    /// The tenant, whose active key signs.
    pub tenant: &'a TenantEntry,
    /// The `iss` of the tokens: the tenant's issuer at the origin the client used.
    pub issuer: &'a str,
    /// The client's appId.
    pub client_id: Uuid,
    /// How the client authenticated (`azpacr`: "0" public, "1" secret, "2" certificate).
    pub azpacr: &'static str,
    /// The user.
    pub user: &'a User,
    /// What the tokens are for.
    pub scopes: &'a ScopeGrant,
    /// The `nonce` of the authorization request (ID tokens from a code only).
    pub nonce: Option<&'a str>,
    /// The sign-in session.
    pub sid: Option<Uuid>,
    /// The lifetime of the access and ID tokens.
    pub lifetime: Duration,
    /// Now.
    pub now: OffsetDateTime,
}

#[derive(Serialize)]
struct AccessClaims<'a> {
    aud: String,
    iss: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    azp: String,
    azpacr: &'static str,
    idtyp: &'static str,
    name: &'a str,
    oid: String,
    preferred_username: &'a str,
    scp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    sub: String,
    tid: String,
    uti: String,
    ver: &'static str,
    #[serde(skip_serializing_if = "no_roles")]
    wids: &'a [String],
}

#[derive(Serialize)]
struct IdClaims<'a> {
    aud: String,
    iss: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    email_verified: bool,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    oid: String,
    preferred_username: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    sub: String,
    tid: String,
    uti: String,
    ver: &'static str,
    #[serde(skip_serializing_if = "no_roles")]
    wids: &'a [String],
}

/// Whether `wids` is left out: the user holds no directory role.
fn no_roles(wids: &&[String]) -> bool {
    wids.is_empty()
}

fn random_id() -> Result<String, TokenError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| TokenError::NotIssued("no randomness".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// `client_info`: base64url of `{"uid": oid, "utid": tid}`.
pub fn client_info(user_id: Uuid, tenant_id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!(r#"{{"uid":"{user_id}","utid":"{tenant_id}"}}"#))
}

/// Signs the access token and, when `openid` was granted, the ID token; the response has
/// `scope` and `client_info` but no refresh token (the caller adds it).
pub fn issue(request: &UserTokenRequest<'_>) -> Result<TokenResponse, TokenError> {
    let tenant = request.tenant;
    let user = request.user;
    let iat = request.now.unix_timestamp();
    let exp = iat + request.lifetime.whole_seconds();
    let oid = user.id.to_string();
    let tid = tenant.tenant.id.to_string();
    let sid = request.sid.map(|s| s.to_string());
    let wids: Vec<String> = directory_roles::roles_of(user)
        .iter()
        .map(|r| r.template_id().to_string())
        .collect();
    let keys = &tenant.keys;
    let header = Header::new(Algorithm::Rs256)
        .with_typ("JWT")
        .with_kid(keys.kid())
        .with_x5t(keys.kid());
    let access = AccessClaims {
        aud: request.scopes.resource.to_string(),
        iss: request.issuer,
        iat,
        nbf: iat,
        exp,
        azp: request.client_id.to_string(),
        azpacr: request.azpacr,
        idtyp: "user",
        name: &user.display_name,
        oid: oid.clone(),
        preferred_username: &user.email,
        scp: request.scopes.scp_claim(),
        sid: sid.clone(),
        sub: oid.clone(),
        tid: tid.clone(),
        uti: random_id()?,
        ver: "2.0",
        wids: &wids,
    };
    let access_token = keys
        .signer()
        .sign(&header, &access)
        .map_err(|e| TokenError::NotIssued(e.to_string()))?;
    let id_token = if request.scopes.has("openid") {
        let claims = IdClaims {
            aud: request.client_id.to_string(),
            iss: request.issuer,
            iat,
            nbf: iat,
            exp,
            email: request.scopes.has("email").then_some(user.email.as_str()),
            email_verified: user.email_verified,
            name: &user.display_name,
            nonce: request.nonce,
            oid: oid.clone(),
            preferred_username: &user.email,
            sid,
            sub: oid,
            tid,
            uti: random_id()?,
            ver: "2.0",
            wids: &wids,
        };
        Some(
            keys.signer()
                .sign(&header, &claims)
                .map_err(|e| TokenError::NotIssued(e.to_string()))?,
        )
    } else {
        None
    };
    Ok(TokenResponse {
        token_type: "Bearer",
        scope: Some(request.scopes.response_scope()),
        expires_in: exp - iat,
        ext_expires_in: exp - iat,
        access_token,
        refresh_token: None,
        id_token,
        client_info: Some(client_info(user.id, tenant.tenant.id)),
    })
}
