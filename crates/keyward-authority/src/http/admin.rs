//! Keyward's own admin endpoints, beside the Graph shapes: the caller's tenant's token-signing
//! keys (`GET /admin/api/signing-keys`) and their rotation (`POST /admin/api/signing-keys/rotate`).
//! Callers are authorized as the management API's ([`GraphCaller`]) and errors have its shape.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::graph::{GraphCaller, GraphError, GraphResult, collection, date};
use crate::authority::Authority;
use crate::directory::TenantEntry;

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
