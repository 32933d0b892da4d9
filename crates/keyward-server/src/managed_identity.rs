//! Managed identity endpoints: for an application named at start, a plain-HTTP listener (on a
//! loopback address unless the settings allow another) that answers as Azure's platform does,
//! so that `ManagedIdentityCredential` and `DefaultAzureCredential` get the app's tokens with no
//! secret or certificate in its environment:
//!
//! - App Service's protocol: `GET /msi/token?api-version=2019-08-01&resource=R` with the header
//!   `X-IDENTITY-HEADER` equal to the endpoint's secret (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`);
//! - IMDS's: `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R` with
//!   `Metadata: true` (azure-identity reaches it through `AZURE_POD_IDENTITY_AUTHORITY_HOST`).
//!
//! Each endpoint serves its own application only: a `client_id` (or `object_id`) naming another
//! is refused, and each has its own secret. The environment an app needs is written to
//! `managed-identity/NAME.env` in the data directory (owner-only: it holds the secret).
//! Responses carry `expires_on` and `expires_in` as strings, as Azure's do (MSAL Node reads the
//! first, MSAL Python's IMDS path the second).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keyward_authority::Authority;
use serde_json::json;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::data_dir::{Access, DataDir};
use crate::error::{Error, Result};

/// The App Service path of an endpoint (`IDENTITY_ENDPOINT`).
pub const APP_SERVICE_PATH: &str = "/msi/token";
/// The IMDS path.
pub const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

/// A managed identity endpoint to serve: which application, on which address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedIdentity {
    /// The application: its client ID or display name (looked up at each request, so an app
    /// registered after start is served).
    pub app: String,
    /// Where to listen (port 0: any free one).
    pub address: SocketAddr,
}

/// A running endpoint, for the banner.
#[derive(Debug, Clone)]
pub struct ManagedIdentityEndpoint {
    /// The application it serves, as named.
    pub app: String,
    /// `http://ADDR`: the IMDS host (`AZURE_POD_IDENTITY_AUTHORITY_HOST`).
    pub origin: String,
    /// The file with the environment the application needs.
    pub env_file: std::path::PathBuf,
}

struct Endpoint {
    authority: Arc<Authority>,
    tenant_id: Uuid,
    app: String,
    secret: String,
}

/// Binds and serves the endpoints; returns them and their tasks.
pub(crate) async fn start(
    authority: &Arc<Authority>,
    tenant_id: Uuid,
    dir: &DataDir,
    identities: &[ManagedIdentity],
) -> Result<(Vec<ManagedIdentityEndpoint>, Vec<JoinHandle<()>>)> {
    let mut endpoints = Vec::new();
    let mut tasks = Vec::new();
    for identity in identities {
        let listener = tokio::net::TcpListener::bind(identity.address)
            .await
            .map_err(Error::Listener)?;
        let address = listener.local_addr().map_err(Error::Listener)?;
        let secret = secret()?;
        let origin = format!("http://{address}");
        let env_file = format!("managed-identity/{}.env", file_name(&identity.app));
        let env = format!(
            "IDENTITY_ENDPOINT={origin}{APP_SERVICE_PATH}\nIDENTITY_HEADER={secret}\nAZURE_POD_IDENTITY_AUTHORITY_HOST={origin}\n"
        );
        dir.write(&env_file, env.as_bytes(), Access::OwnerOnly)?;
        let state = Arc::new(Endpoint {
            authority: Arc::clone(authority),
            tenant_id,
            app: identity.app.clone(),
            secret,
        });
        // MSAL Node asks IMDS with a trailing slash (`.../oauth2/token/?api-version=...`).
        let router = Router::new()
            .route(APP_SERVICE_PATH, get(app_service))
            .route(&format!("{APP_SERVICE_PATH}/"), get(app_service))
            .route(IMDS_PATH, get(imds))
            .route(&format!("{IMDS_PATH}/"), get(imds))
            .with_state(state);
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "a managed identity endpoint stopped");
            }
        }));
        endpoints.push(ManagedIdentityEndpoint {
            app: identity.app.clone(),
            origin,
            env_file: dir.path(&env_file),
        });
    }
    Ok((endpoints, tasks))
}

/// A file name for an app's name: letters, digits, `-`, `_` and `.` kept, the rest `_`.
fn file_name(app: &str) -> String {
    app.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| Error::Inconsistent("no randomness for a managed identity secret"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `GET /msi/token`: App Service's protocol.
async fn app_service(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let refuse = |status: StatusCode, message: &str| {
        (
            status,
            axum::Json(json!({ "statusCode": status.as_u16(), "message": message })),
        )
            .into_response()
    };
    let presented = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), endpoint.secret.as_bytes()).is_err() {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "The X-IDENTITY-HEADER header is missing or is not this endpoint's IDENTITY_HEADER.",
        );
    }
    if query.get("api-version").map(String::as_str) != Some("2019-08-01") {
        return refuse(StatusCode::BAD_REQUEST, "api-version must be 2019-08-01.");
    }
    match token(&endpoint, &query) {
        Ok(body) => axum::Json(body).into_response(),
        Err((status, message)) => refuse(status, &message),
    }
}

/// `GET /metadata/identity/oauth2/token`: IMDS's protocol.
async fn imds(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let refuse = |status: StatusCode, description: &str| {
        (
            status,
            axum::Json(json!({ "error": "invalid_request", "error_description": description })),
        )
            .into_response()
    };
    let metadata = headers.get("metadata").and_then(|v| v.to_str().ok());
    if !metadata.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return refuse(StatusCode::BAD_REQUEST, "Required metadata header not specified");
    }
    match token(&endpoint, &query) {
        Ok(body) => axum::Json(body).into_response(),
        Err((status, message)) => refuse(status, &message),
    }
}

/// The token response for the request's `resource`, if the request names this endpoint's app
/// (or none).
fn token(
    endpoint: &Endpoint,
    query: &HashMap<String, String>,
) -> std::result::Result<serde_json::Value, (StatusCode, String)> {
    let resource = query
        .get("resource")
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .ok_or((
            StatusCode::BAD_REQUEST,
            "Required audience not specified (resource).".to_owned(),
        ))?;
    let app = endpoint
        .authority
        .managed_identity_app(endpoint.tenant_id, &endpoint.app)
        .ok_or_else(|| {
            (
                StatusCode::BAD_REQUEST,
                format!(
                    "No application {} is registered for this managed identity.",
                    endpoint.app
                ),
            )
        })?;
    for (field, expected) in [
        ("client_id", app.app.app_id),
        ("object_id", app.app.service_principal_id),
        ("principal_id", app.app.service_principal_id),
    ] {
        if let Some(given) = query.get(field)
            && Uuid::parse_str(given.trim()) != Ok(expected)
        {
            return Err((StatusCode::BAD_REQUEST, "Identity not found".to_owned()));
        }
    }
    if query.contains_key("mi_res_id") || query.contains_key("msi_res_id") {
        return Err((StatusCode::BAD_REQUEST, "Identity not found".to_owned()));
    }
    let now = endpoint.authority.now();
    let response = endpoint
        .authority
        .managed_identity_token(&app, resource, now)
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    let expires_on = now.unix_timestamp() + response.expires_in;
    Ok(json!({
        "access_token": response.access_token,
        "refresh_token": "",
        "expires_in": response.expires_in.to_string(),
        "expires_on": expires_on.to_string(),
        "ext_expires_in": response.expires_in.to_string(),
        "not_before": now.unix_timestamp().to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": app.app.app_id.to_string(),
    }))
}
