//! OpenID Connect discovery (wire contract §3): the metadata document, with the tenant GUID in
//! every endpoint as Entra writes it, listing only what the authority does; and the tenant's
//! signing keys (JWKS). Both may be cached by clients for a day.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::tenant_or_error;
use crate::authority::Authority;
use crate::directory::TenantEntry;
use crate::oauth_error::OAuthError;

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
) -> Result<Response, OAuthError> {
    let tenant = tenant_or_error(&authority, &alias)?;
    let doc = document(&authority.config().public_url, &tenant);
    Ok(cacheable(axum::Json(doc).into_response()))
}

/// `GET /{tenant}/discovery/v2.0/keys`: the JWKS, serialized once per key change.
pub(crate) async fn keys(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
) -> Result<Response, OAuthError> {
    let tenant = tenant_or_error(&authority, &alias)?;
    let mut response = tenant.keys.jwks_json().to_owned().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    Ok(cacheable(response))
}

fn cacheable(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=86400, private"),
    );
    response
}

/// The `/.well-known/openid-configuration` document of a tenant.
fn document(public_url: &str, tenant: &TenantEntry) -> Value {
    let tid = tenant.tenant.id;
    let base = format!("{public_url}/{tid}");
    json!({
        "issuer": format!("{base}/v2.0"),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        // `sub` is the user's object id for every application.
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        // What our ID tokens carry (`email` with the email scope).
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "preferred_username", "name",
            "email", "oid", "tid", "sid", "ver"
        ],
        "request_uri_parameter_supported": false,
        "frontchannel_logout_supported": false,
        "http_logout_supported": true,
        "tenant_region_scope": "NA",
        "cloud_instance_name": "keyward.local",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
        "kerberos_endpoint": format!("{base}/kerberos"),
    })
}
