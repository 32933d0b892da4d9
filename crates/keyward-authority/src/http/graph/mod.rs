//! The management API, shaped like Microsoft Graph v1.0: applications (with certificate and
//! secret credentials and app roles), service principals and app role assignments, users, and
//! their directory roles.
//!
//! Callers are applications holding an access token from this authority for Microsoft Graph
//! (`https://graph.microsoft.com/.default`) with the `Application.ReadWrite.All` role: the
//! bootstrap admin application has it, and the CLI uses it. Every handler takes a
//! [`GraphCaller`], the extractor that checks it.

pub(crate) mod applications;
pub(crate) mod audit;
mod error;
pub(crate) mod paging;
pub(crate) mod policies;
pub(crate) mod role_assignments;
pub(crate) mod service_principals;
pub(crate) mod users;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

pub use error::GraphError;
pub(crate) use error::GraphResult;

use crate::access::Audience;
use crate::authority::{APPLICATION_READ_WRITE_ALL, Authority, GRAPH_APP_ID, GRAPH_IDENTIFIER};
use crate::directory::{AppEntry, TenantEntry};

/// The authenticated caller of the management API: its tenant, checked to hold
/// `Application.ReadWrite.All`.
pub struct GraphCaller {
    tenant: Arc<TenantEntry>,
}

impl FromRequestParts<Arc<Authority>> for GraphCaller {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, authority: &Arc<Authority>) -> Result<Self, GraphError> {
        let caller = GraphTokenCaller::from_request_parts(parts, authority).await?;
        if !caller.is_admin() {
            return Err(GraphError::new(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                format!(
                    "Insufficient privileges to complete the operation: the caller needs the {APPLICATION_READ_WRITE_ALL} app role on Microsoft Graph."
                ),
            ));
        }
        Ok(Self { tenant: caller.tenant })
    }
}

/// Any application holding a valid Microsoft Graph token of this authority, with or without
/// `Application.ReadWrite.All`: the caller of the few actions an application may take on
/// itself (Graph's `addKey` and `removeKey`, where a proof of possession authorizes the change).
pub struct GraphTokenCaller {
    tenant: Arc<TenantEntry>,
    app_id: Option<Uuid>,
    roles: Vec<String>,
}

impl FromRequestParts<Arc<Authority>> for GraphTokenCaller {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, authority: &Arc<Authority>) -> Result<Self, GraphError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| GraphError::unauthorized("Access token is empty."))?;
        let token = value
            .strip_prefix("Bearer ")
            .ok_or_else(|| GraphError::unauthorized("The Authorization header must be 'Bearer <access token>'."))?;
        let audience = Audience {
            app_id: GRAPH_APP_ID,
            identifier: GRAPH_IDENTIFIER,
        };
        let caller = authority.validate_access_token(token, audience).ok_or_else(|| {
            GraphError::unauthorized(
                "Access token validation failure. Invalid audience, issuer, signature or lifetime.",
            )
        })?;
        let tenant = authority
            .snapshot()
            .tenant_by_id(caller.tenant_id)
            .cloned()
            .ok_or_else(|| GraphError::unauthorized("Access token validation failure."))?;
        Ok(Self {
            tenant,
            app_id: caller.app_id,
            roles: caller.roles,
        })
    }
}

impl GraphTokenCaller {
    /// The caller's tenant id.
    pub(crate) fn tenant_id(&self) -> Uuid {
        self.tenant.tenant.id
    }

    /// The calling application's client ID (the token's `azp`).
    pub(crate) fn app_id(&self) -> Option<Uuid> {
        self.app_id
    }

    /// Whether it holds `Application.ReadWrite.All`: it may change any application.
    pub(crate) fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == APPLICATION_READ_WRITE_ALL)
    }

    /// Whether it may change the application `app_id`: itself, or any as an administrator.
    pub(crate) fn may_change(&self, app_id: Uuid) -> bool {
        self.is_admin() || self.app_id == Some(app_id)
    }
}

impl GraphCaller {
    /// The caller's tenant id.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.tenant.id
    }

    /// The caller's tenant.
    pub fn tenant(&self) -> &TenantEntry {
        &self.tenant
    }
}

/// Graph's date-time form: RFC 3339, whole seconds, `Z`.
pub(crate) fn date(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// A collection: `{"value": [...]}`.
pub(crate) fn collection(values: Vec<Value>) -> Response {
    axum::Json(json!({"value": values})).into_response()
}

/// Reads a JSON body, with Graph's error for a bad one.
pub(crate) fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> GraphResult<T> {
    serde_json::from_slice(bytes).map_err(|e| GraphError::bad_request(format!("Invalid request body: {e}")))
}

/// An object id from the URL.
/// The text of a query's `$filter` parameter, decoded, if it has one.
pub(crate) fn filter_text(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "$filter")
        .map(|(_, value)| value.into_owned())
}

pub(crate) fn parse_id(id: &str) -> GraphResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| {
        GraphError::bad_request(format!(
            "Invalid object identifier '{}'.",
            id.chars().take(64).collect::<String>()
        ))
    })
}

/// `applications(appId='...')` and `servicePrincipals(appId='...')`: whether it names the
/// application (or its service principal), and the entry.
pub(crate) fn keyed(authority: &Authority, tenant_id: Uuid, segment: &str) -> GraphResult<(bool, Arc<AppEntry>)> {
    let parse = |prefix: &str| {
        segment
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix("')"))
            .and_then(|id| Uuid::parse_str(id).ok())
    };
    let (is_app, app_id) = match (parse("applications(appId='"), parse("servicePrincipals(appId='")) {
        (Some(id), _) => (true, id),
        (_, Some(id)) => (false, id),
        _ => {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!(
                    "Resource not found for the segment '{}'.",
                    segment.chars().take(64).collect::<String>()
                ),
            ));
        }
    };
    let entry = authority
        .snapshot()
        .app_in_tenant(tenant_id, app_id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(&app_id.to_string()))?;
    Ok((is_app, entry))
}

/// `GET /v1.0/applications(appId='...')` or `/v1.0/servicePrincipals(appId='...')`.
pub(crate) async fn get_keyed(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(segment): Path<String>,
) -> GraphResult {
    let (is_app, entry) = keyed(&authority, caller.tenant_id(), &segment)?;
    Ok(axum::Json(if is_app {
        applications::render_used(&authority, &entry).await?
    } else {
        service_principals::render(&entry.app)
    })
    .into_response())
}

/// `PATCH /v1.0/applications(appId='...')`.
pub(crate) async fn patch_keyed(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(segment): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    match keyed(&authority, caller.tenant_id(), &segment)? {
        (true, entry) => applications::apply_patch(&authority, &caller, entry.app.id, &bytes).await,
        (false, _) => Err(GraphError::bad_request(
            "Service principals are changed through their application.",
        )),
    }
}

/// `DELETE /v1.0/applications(appId='...')`.
pub(crate) async fn delete_keyed(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(segment): Path<String>,
) -> GraphResult {
    match keyed(&authority, caller.tenant_id(), &segment)? {
        (true, entry) => {
            authority.delete_application(caller.tenant_id(), entry.app.id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (false, _) => Err(GraphError::bad_request(
            "Service principals are deleted with their application.",
        )),
    }
}
