//! OpenID Connect discovery (wire contract §3): the metadata document, with the tenant GUID in
//! every endpoint as Entra writes it, listing only what the authority does; and the tenant's
//! signing keys (JWKS). Both may be cached by clients for a day.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Origin, tenant_or_error};
use crate::authority::Authority;
use crate::directory::TenantEntry;
use crate::oauth_error::OAuthError;

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(
    State(authority): State<Arc<Authority>>,
    origin: Origin,
    Path(alias): Path<String>,
) -> Result<Response, OAuthError> {
    let tenant = origin.tenant(&authority, &alias)?;
    let doc = document(origin.base(&authority), &tenant, &origin.issuer(&tenant));
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
fn document(origin: &str, tenant: &TenantEntry, issuer: &str) -> Value {
    let tid = tenant.tenant.id;
    let base = format!("{origin}/{tid}");
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code"],
        "grant_types_supported": [
            "client_credentials", "authorization_code", "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ],
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

/// `GET /{tenant}/discovery/instance` (MSAL asks `/common/discovery/instance`): instance
/// discovery, the first thing MSAL fetches for an authority whose host it does not know. Its
/// `tenant_discovery_endpoint` is the discovery document at the host of the
/// `authorization_endpoint` asked about, if that host is this server's (its public URL, or one
/// of Microsoft's sign-in hosts in the Azure host names mode); otherwise Entra's
/// `invalid_instance`.
pub(crate) async fn instance_discovery(
    State(authority): State<Arc<Authority>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let endpoint = query
        .as_deref()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "authorization_endpoint"))
        .map(|(_, v)| v.into_owned());
    match endpoint.as_deref().and_then(|e| instance(&authority, e)) {
        Some(document) => cacheable(axum::Json(document).into_response()),
        None => {
            let body = json!({
                "error": "invalid_instance",
                "error_description": "AADSTS50049: Unknown or invalid instance.",
                "error_codes": [50049],
            });
            (axum::http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
        }
    }
}

/// The longest `authorization_endpoint` looked at: a real one is a host and a tenant. Anything
/// longer is refused before it is parsed (a host name goes through IDNA, which costs
/// milliseconds on the kilobytes of punycode a 64 KiB request line can carry).
const MAX_ENDPOINT: usize = 1024;

/// The instance discovery document for an `authorization_endpoint` of this server.
fn instance(authority: &Authority, authorization_endpoint: &str) -> Option<Value> {
    if authorization_endpoint.len() > MAX_ENDPOINT {
        return None;
    }
    let url = url::Url::parse(authorization_endpoint).ok()?;
    if url.scheme() != "https" {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let host_port = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let origin = format!("https://{host_port}");
    let own = origin.eq_ignore_ascii_case(authority.config().public_url.trim_end_matches('/'));
    let microsoft = authority.config().azure_hosts && crate::azure_hosts::sign_in_origin(&host_port).is_some();
    if !own && !microsoft {
        return None;
    }
    let tenant = url.path_segments()?.find(|s| !s.is_empty())?.to_owned();
    let mut metadata = vec![json!({
        "preferred_network": host_port,
        "preferred_cache": host_port,
        "aliases": [host_port],
    })];
    if crate::azure_hosts::LOGIN_HOSTS.contains(&host.as_str()) {
        metadata = vec![json!({
            "preferred_network": "login.microsoftonline.com",
            "preferred_cache": "login.windows.net",
            "aliases": ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
        })];
    }
    Some(json!({
        "tenant_discovery_endpoint": format!("{origin}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": metadata,
    }))
}
