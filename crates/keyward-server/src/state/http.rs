//! `POST /admin/api/state[?dryRun=true]`: applies a resolved state document (JSON) and answers
//! with the plan. Callers hold a management API token (`Application.ReadWrite.All`) of the
//! server's default tenant, as every `/admin/api/*` route asks; the apply is audited.
//!
//! Answers: `200 {"dryRun": bool, "changes": [{"action", "target", "detail"}]}`; `400` with
//! `{"error": {"code", "message", "problems": [{"path", "message"}]}}` when the document cannot
//! be applied (nothing was changed); `500` when a write failed part way.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use keyward_authority::{Authority, GraphCaller};
use keyward_state::{Document, Problem};
use serde::Deserialize;
use serde_json::json;

use super::{StateError, StateService};

/// The largest document accepted (certificates as PEM make it large).
const MAX_DOCUMENT: usize = 8 * 1024 * 1024;

type Shared = (Arc<StateService>, Arc<Authority>);

/// The route.
pub(crate) fn router(service: Arc<StateService>, authority: Arc<Authority>) -> Router {
    Router::new()
        .route("/admin/api/state", post(apply))
        .with_state((service, authority))
}

#[derive(Debug, Default, Deserialize)]
struct ApplyQuery {
    #[serde(default, rename = "dryRun")]
    dry_run: bool,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>, problems: &[Problem]) -> Response {
    let mut body = json!({"error": {"code": code, "message": message.into()}});
    if !problems.is_empty() {
        body["error"]["problems"] = json!(problems);
    }
    (status, Json(body)).into_response()
}

async fn apply(
    State((service, authority)): State<Shared>,
    Query(query): Query<ApplyQuery>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match GraphCaller::from_request_parts(&mut parts, &authority).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    if caller.tenant_id() != service.admin_tenant() {
        return error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "only an administrator of the server's default tenant may apply a state document",
            &[],
        );
    }
    let bytes = match axum::body::to_bytes(body, MAX_DOCUMENT).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request_BadRequest",
                "the document is larger than 8 MiB",
                &[],
            );
        }
    };
    let doc: Document = match serde_json::from_slice(&bytes) {
        Ok(doc) => doc,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                format!("the body is not a state document: {e}"),
                &[],
            );
        }
    };
    let actor = format!("{} (state apply)", caller.tenant().tenant.name);
    match service.apply(&doc, query.dry_run, &actor).await {
        Ok(plan) => Json(json!({"dryRun": query.dry_run, "changes": plan.changes})).into_response(),
        Err(StateError::Invalid(problems)) => error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "the document cannot be applied; nothing was changed",
            &problems,
        ),
        Err(e @ StateError::Failed { .. }) => {
            tracing::error!(error = %e, "applying a state document failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Service_InternalServerError",
                e.to_string(),
                &[],
            )
        }
    }
}
