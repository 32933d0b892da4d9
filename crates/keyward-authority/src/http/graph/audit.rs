//! The audit log of the management API: every change an application makes through it (the
//! CLI's, a script's) is written as a row, as the admin center writes its own, so that an
//! application's page shows what changed it, whoever did. Reads are not logged.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use keyward_store::AuditEvent;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::GraphTokenCaller;
use crate::authority::Authority;

/// The largest response body read back for the id of what a POST created.
const MAX_RESPONSE: usize = 1024 * 1024;

/// Runs the request; when a change by an authenticated caller succeeded, writes its audit row.
pub(crate) async fn audit_changes(State(authority): State<Arc<Authority>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let (mut parts, body) = request.into_parts();
    // Any valid Graph token: an application rolling its own keys holds no role, and a change
    // that succeeded passed its handler's own check.
    let caller = GraphTokenCaller::from_request_parts(&mut parts, &authority).await.ok();
    let response = next.run(Request::from_parts(parts, body)).await;
    let Some(caller) = caller.filter(|_| response.status().is_success()) else {
        return response;
    };
    // A create's id is in its answer: read it back (bounded), then send it on unchanged.
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_RESPONSE).await.unwrap_or_default();
    let created: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let path = by_object_id(&authority, caller.tenant_id(), &path);
    let (target_kind, target_id, detail) = describe(&method, &path, &created);
    let actor = caller
        .app_id()
        .and_then(|id| {
            authority
                .snapshot()
                .app_in_tenant(caller.tenant_id(), id)
                .map(|a| a.app.display_name.clone())
        })
        .unwrap_or_else(|| "an application".to_owned());
    let event = AuditEvent {
        id: Uuid::new_v4(),
        tenant_id: caller.tenant_id(),
        at: OffsetDateTime::now_utc(),
        actor_id: None,
        actor: format!("{actor} (management API)"),
        action: format!("graph.{}", method.as_str().to_ascii_lowercase()),
        target_kind,
        target_id,
        detail,
    };
    if let Err(e) = authority.store.append_audit(&event).await {
        tracing::error!(error = %e, path, "the audit log could not be written");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `/v1.0/applications(appId='...')/...` as `/v1.0/applications/{object id}/...`, so that a change
/// made through either address is filed under the application; any other path as it is.
fn by_object_id(authority: &Authority, tenant_id: Uuid, path: &str) -> String {
    let mut segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let resolved = match segments.as_slice() {
        ["v1.0", keyed, ..] if keyed.starts_with("applications(") => super::keyed(authority, tenant_id, keyed)
            .ok()
            .map(|(_, entry)| entry.app.id.to_string()),
        _ => None,
    };
    match resolved {
        Some(object_id) => {
            segments.splice(1..2, ["applications", object_id.as_str()]);
            format!("/{}", segments.join("/"))
        }
        None => path.to_owned(),
    }
}

/// What a change did, in the audit log's terms: the kind and id of its target (as the admin
/// center files them, so that the object's page shows it) and one sentence.
fn describe(method: &Method, path: &str, created: &Value) -> (String, String, String) {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let text = |s: &str| s.to_owned();
    let created_name = created["displayName"].as_str().unwrap_or_default();
    match (method, segments.as_slice()) {
        (&Method::POST, ["v1.0", "applications"]) => (
            text("application"),
            created["id"].as_str().unwrap_or_default().to_owned(),
            format!("Registered \"{created_name}\" through the management API"),
        ),
        (&Method::PATCH, ["v1.0", "applications", id]) => (
            text("application"),
            text(id),
            text("Changed through the management API (registration, certificates or roles)"),
        ),
        (&Method::DELETE, ["v1.0", "applications", id]) => (
            text("application"),
            text(id),
            text("Deleted through the management API"),
        ),
        (&Method::POST, ["v1.0", "applications", id, "addPassword"]) => (
            text("application"),
            text(id),
            format!("Client secret \"{created_name}\" added through the management API"),
        ),
        (&Method::POST, ["v1.0", "applications", id, "removePassword"]) => (
            text("application"),
            text(id),
            text("Client secret removed through the management API"),
        ),
        (&Method::PATCH, ["v1.0", "policies", "defaultAppManagementPolicy"]) => (
            text("policy"),
            text("defaultAppManagementPolicy"),
            text("The tenant's default app management policy changed through the management API"),
        ),
        (&Method::POST, ["v1.0", "applications", id, "addKey"]) => (
            text("application"),
            text(id),
            format!(
                "Certificate {} (key {}) added with a proof of possession (addKey)",
                created["customKeyIdentifier"].as_str().unwrap_or_default(),
                created["keyId"].as_str().unwrap_or_default()
            ),
        ),
        (&Method::POST, ["v1.0", "applications", id, "removeKey"]) => (
            text("application"),
            text(id),
            text("Certificate removed with a proof of possession (removeKey)"),
        ),
        (&Method::POST, ["v1.0", "users"]) => (
            text("user"),
            created["id"].as_str().unwrap_or_default().to_owned(),
            format!("User {created_name} created through the management API"),
        ),
        (_, ["v1.0", "users", id]) => (
            text("user"),
            text(id),
            format!(
                "User {} through the management API",
                if method == Method::DELETE { "deleted" } else { "changed" }
            ),
        ),
        (_, ["admin", "api", "signing-keys", "rotate"]) => (
            text("signing-key"),
            created["kid"].as_str().unwrap_or_default().to_owned(),
            text("Signing key rotated through the management API"),
        ),
        // The minted token is in the answer: only what it was for is written, never the token.
        (&Method::POST, ["admin", "api", "test-tokens"]) => (
            text("application"),
            created["app"]["id"].as_str().unwrap_or_default().to_owned(),
            format!(
                "Test token minted for \"{}\" (aud {}, roles {}, expires {}) through the management API",
                created["app"]["displayName"].as_str().unwrap_or_default(),
                created["claims"]["aud"].as_str().unwrap_or_default(),
                created["claims"]["roles"]
                    .as_array()
                    .map_or_else(|| "none".to_owned(), |roles| Value::Array(roles.clone()).to_string()),
                created["expires_on"].as_str().unwrap_or_default(),
            ),
        ),
        (_, ["admin", "api", "time"]) => (
            text("server"),
            text("clock"),
            format!(
                "Server clock moved to {} ({} from the real time) through the management API (time travel)",
                created["serverTime"].as_str().unwrap_or_default(),
                created["offset"].as_str().unwrap_or_default(),
            ),
        ),
        _ => (
            text("graph"),
            path.chars().take(200).collect(),
            format!(
                "{method} {} through the management API",
                path.chars().take(200).collect::<String>()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_filed_under_the_object_they_change() {
        let created = serde_json::json!({ "id": "obj-1", "displayName": "ciam-client-app" });
        assert_eq!(
            describe(&Method::POST, "/v1.0/applications", &created),
            (
                "application".into(),
                "obj-1".into(),
                "Registered \"ciam-client-app\" through the management API".into()
            )
        );
        let (kind, id, _) = describe(&Method::POST, "/v1.0/applications/obj-2/addPassword", &Value::Null);
        assert_eq!((kind.as_str(), id.as_str()), ("application", "obj-2"));
        let (kind, id, _) = describe(
            &Method::PATCH,
            "/v1.0/policies/defaultAppManagementPolicy",
            &Value::Null,
        );
        assert_eq!((kind.as_str(), id.as_str()), ("policy", "defaultAppManagementPolicy"));
        let (kind, _, detail) = describe(&Method::DELETE, "/v1.0/users/u-1", &Value::Null);
        assert_eq!(kind, "user");
        assert!(detail.contains("deleted"));
    }

    #[test]
    fn a_mint_is_filed_under_its_application_without_the_token() {
        let minted = serde_json::json!({
            "access_token": "eyJhbGciOi.secret.token",
            "expires_on": "2026-12-06T16:00:00Z",
            "claims": {"aud": "api://tasks", "roles": ["Tasks.Read"]},
            "app": {"id": "obj-3", "displayName": "tasks-client"},
        });
        let (kind, id, detail) = describe(&Method::POST, "/admin/api/test-tokens", &minted);
        assert_eq!((kind.as_str(), id.as_str()), ("application", "obj-3"));
        assert!(detail.contains("Test token minted for \"tasks-client\""), "{detail}");
        assert!(
            detail.contains("api://tasks") && detail.contains("Tasks.Read"),
            "{detail}"
        );
        assert!(!detail.contains("secret"), "{detail}");
    }
}
