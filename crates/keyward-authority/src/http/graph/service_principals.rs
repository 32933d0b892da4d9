//! `/v1.0/servicePrincipals`: list, get, and the app role assignments of a resource
//! (`appRoleAssignedTo`): list, grant, revoke.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use keyward_store::{AppRoleAssignment, Application};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::applications::render_role;
use super::paging::{self, Paging};
use super::{GraphCaller, GraphError, GraphResult, body, collection, date, parse_id};
use crate::authority::Authority;
use crate::directory::AppEntry;

/// A service principal as Graph renders it.
pub(crate) fn render(app: &Application) -> Value {
    json!({"id": app.service_principal_id, "appId": app.app_id, "displayName": app.display_name,
        "servicePrincipalType": "Application", "accountEnabled": true,
        "appRoles": app.app_roles.iter().map(render_role).collect::<Vec<_>>()})
}

fn render_assignment(a: &AppRoleAssignment, principal: Option<&AppEntry>, resource: Option<&AppEntry>) -> Value {
    json!({"id": a.id, "appRoleId": a.app_role_id, "principalId": a.principal_id, "resourceId": a.resource_id,
        "principalType": "ServicePrincipal", "createdDateTime": date(a.created),
        "principalDisplayName": principal.map(|p| p.app.display_name.clone()),
        "resourceDisplayName": resource.map(|r| r.app.display_name.clone())})
}

/// `GET /v1.0/servicePrincipals`: every application's service principal, oldest first, in pages
/// ([`paging`]).
pub(crate) async fn list(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    RawQuery(query): RawQuery,
) -> GraphResult {
    let paging = Paging::from_query(query.as_deref())?;
    let snapshot = authority.snapshot();
    let apps = snapshot.apps_of(caller.tenant_id());
    let (apps, next) = paging.of_apps(&apps)?;
    let rendered = apps.iter().map(|a| render(&a.app)).collect();
    Ok(paging::page(
        &authority,
        "/v1.0/servicePrincipals",
        query.as_deref(),
        rendered,
        next,
    ))
}

fn find(authority: &Authority, caller: &GraphCaller, id: &str) -> GraphResult<Arc<AppEntry>> {
    let id = parse_id(id)?;
    authority
        .snapshot()
        .app_by_service_principal(caller.tenant_id(), id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(&id.to_string()))
}

/// `GET /v1.0/servicePrincipals/{id}`.
pub(crate) async fn get(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    Ok(axum::Json(render(&find(&authority, &caller, &id)?.app)).into_response())
}

/// `GET /v1.0/servicePrincipals/{id}/appRoleAssignedTo`.
pub(crate) async fn list_assigned_to(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    let resource = find(&authority, &caller, &id)?;
    let snapshot = authority.snapshot();
    let tenant_id = caller.tenant_id();
    let values = snapshot
        .assignments_of(tenant_id)
        .filter(|a| a.resource_id == resource.app.service_principal_id)
        .map(|a| {
            render_assignment(
                a,
                snapshot
                    .app_by_service_principal(tenant_id, a.principal_id)
                    .map(|p| &**p),
                Some(&resource),
            )
        })
        .collect();
    Ok(collection(values))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignBody {
    principal_id: Uuid,
    resource_id: Option<Uuid>,
    app_role_id: Uuid,
}

/// `POST /v1.0/servicePrincipals/{id}/appRoleAssignedTo`.
pub(crate) async fn assign_role(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let resource = find(&authority, &caller, &id)?;
    let body: AssignBody = body(&bytes)?;
    if body.resource_id.is_some_and(|r| r != resource.app.service_principal_id) {
        return Err(GraphError::bad_request(
            "resourceId must be the service principal in the URL.",
        ));
    }
    let assignment = authority
        .grant_role(
            caller.tenant_id(),
            body.principal_id,
            resource.app.service_principal_id,
            body.app_role_id,
        )
        .await?;
    let snapshot = authority.snapshot();
    let principal = snapshot
        .app_by_service_principal(caller.tenant_id(), body.principal_id)
        .map(|p| &**p);
    Ok((
        StatusCode::CREATED,
        axum::Json(render_assignment(&assignment, principal, Some(&resource))),
    )
        .into_response())
}

/// `DELETE /v1.0/servicePrincipals/{id}/appRoleAssignedTo/{assignment}`.
pub(crate) async fn unassign_role(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path((id, assignment)): Path<(String, String)>,
) -> GraphResult {
    let resource = find(&authority, &caller, &id)?;
    let assignment = parse_id(&assignment)?;
    let snapshot = authority.snapshot();
    if !snapshot
        .assignments_of(caller.tenant_id())
        .any(|a| a.id == assignment && a.resource_id == resource.app.service_principal_id)
    {
        return Err(GraphError::not_found(&assignment.to_string()));
    }
    authority.revoke_role(caller.tenant_id(), assignment).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
