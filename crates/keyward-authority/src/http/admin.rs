//! Keyward's own admin endpoints, beside the Graph shapes: the caller's tenant's token-signing
//! keys (`GET /admin/api/signing-keys`) and their rotation (`POST /admin/api/signing-keys/rotate`),
//! and test tokens (`POST /admin/api/test-tokens`, when the server allows them).
//! Callers are authorized as the management API's ([`GraphCaller`]) and errors have its shape.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::graph::{GraphCaller, GraphError, GraphResult, body, collection, date};
use crate::authority::Authority;
use crate::directory::TenantEntry;
use crate::test_token::{self, MintError, MintRequest};

fn render_signing_keys(tenant: &TenantEntry) -> Vec<Value> {
    tenant
        .keys
        .rows()
        .iter()
        .map(|k| {
            json!({"kid": k.kid, "active": k.active, "createdDateTime": date(k.created),
            "publishedUntil": k.publish_until.map(date)})
        })
        .collect()
}

/// The caller's tenant's signing keys.
pub(crate) async fn list_signing_keys(State(authority): State<Arc<Authority>>, caller: GraphCaller) -> GraphResult {
    let snapshot = authority.snapshot();
    let tenant = snapshot
        .tenant_by_id(caller.tenant_id())
        .ok_or_else(|| GraphError::not_found("tenant"))?;
    Ok(collection(render_signing_keys(tenant)))
}

/// Rotates the caller's tenant's signing key. The old key stays in the JWKS until every token
/// it signed has expired.
pub(crate) async fn rotate_signing_key(State(authority): State<Arc<Authority>>, caller: GraphCaller) -> GraphResult {
    let kid = authority.rotate_signing_key(caller.tenant_id()).await?;
    let snapshot = authority.snapshot();
    let tenant = snapshot
        .tenant_by_id(caller.tenant_id())
        .ok_or_else(|| GraphError::not_found("tenant"))?;
    Ok(axum::Json(json!({"kid": kid, "keys": render_signing_keys(tenant)})).into_response())
}

/// The body of `POST /admin/api/test-tokens`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MintBody {
    /// The tenant (name, domain or id); the caller's when left out.
    tenant: Option<String>,
    /// The client application: client id or display name.
    app: String,
    /// The `aud`, as given.
    audience: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    claims: Map<String, Value>,
    /// Seconds; an hour when left out.
    lifetime_seconds: Option<i64>,
}

impl From<MintError> for GraphError {
    fn from(e: MintError) -> Self {
        let (status, code) = match &e {
            MintError::Disabled => (StatusCode::FORBIDDEN, "Keyward_TestTokensDisabled"),
            MintError::OtherTenant { .. } => (StatusCode::FORBIDDEN, "Authorization_RequestDenied"),
            MintError::UnknownApp { .. } => (StatusCode::NOT_FOUND, "Request_ResourceNotFound"),
            MintError::NotIssued(_) => (StatusCode::INTERNAL_SERVER_ERROR, "generalException"),
            _ => (StatusCode::BAD_REQUEST, "Request_BadRequest"),
        };
        GraphError::new(status, code, e.to_string())
    }
}

/// Mints a test token for the caller's tenant ([`test_token::mint`]). Refused unless the server
/// allows test tokens; the audit middleware writes the row (never the token).
pub(crate) async fn mint_test_token(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    bytes: axum::body::Bytes,
) -> GraphResult {
    if !authority.config().allow_test_tokens {
        return Err(MintError::Disabled.into());
    }
    let request: MintBody = body(&bytes)?;
    let tenant = caller.tenant();
    if let Some(asked) = request.tenant.as_deref().map(str::trim)
        && ![
            tenant.tenant.name.as_str(),
            tenant.tenant.domain.as_str(),
            &tenant.tenant.id.to_string(),
        ]
        .iter()
        .any(|alias| alias.eq_ignore_ascii_case(asked))
    {
        return Err(MintError::OtherTenant {
            asked: asked.to_owned(),
            caller: tenant.tenant.name.clone(),
        }
        .into());
    }
    let lifetime = time::Duration::seconds(request.lifetime_seconds.unwrap_or(3600));
    let mint = MintRequest {
        app: request.app,
        audience: request.audience,
        roles: request.roles,
        claims: request.claims,
        lifetime,
    };
    let now = OffsetDateTime::now_utc();
    let minted = test_token::mint(&authority.snapshot(), tenant, &tenant.issuer, &mint, now)?;
    let app = &minted.app.app;
    Ok(axum::Json(json!({
        "token_type": "Bearer",
        "access_token": minted.access_token,
        "expires_in": lifetime.whole_seconds(),
        "expires_on": date(minted.expires_on),
        "claims": minted.claims,
        "app": {"id": app.id, "appId": app.app_id, "displayName": app.display_name},
    }))
    .into_response())
}
