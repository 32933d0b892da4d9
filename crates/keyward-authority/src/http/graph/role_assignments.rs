//! `/v1.0/roleManagement/directory/roleAssignments`: users holding directory roles, shaped like
//! Microsoft Graph's `unifiedRoleAssignment` (`id`, `principalId`, `roleDefinitionId`,
//! `directoryScopeId`). `POST` assigns a role for the whole tenant (`directoryScopeId: "/"`),
//! `GET` lists (optionally `$filter=principalId eq '...'` or `roleDefinitionId eq '...'`),
//! `GET`/`DELETE .../{id}` reads or removes one. Callers are authorized like the applications API.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{GraphCaller, GraphError, GraphResult};
use crate::authority::Authority;
use crate::directory_roles::{DirectoryRole, RoleAssignment, TENANT_SCOPE};
use crate::error::{DirectoryRoleError, Error};

fn render(assignment: &RoleAssignment) -> Value {
    json!({
        "id": assignment.id(),
        "principalId": assignment.principal_id,
        "roleDefinitionId": assignment.role.template_id(),
        "directoryScopeId": TENANT_SCOPE,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AssignmentBody {
    principal_id: Option<String>,
    role_definition_id: Option<String>,
    directory_scope_id: Option<String>,
    app_scope_id: Option<String>,
    // Sent by Graph clients; nothing here depends on it.
    #[serde(rename = "@odata.type")]
    #[allow(dead_code)]
    odata_type: Option<String>,
}

impl AssignmentBody {
    /// The assignment asked for, checked: a user's object id, a known role, the tenant scope.
    fn parse(self) -> GraphResult<(Uuid, DirectoryRole)> {
        let principal = self
            .principal_id
            .ok_or_else(|| GraphError::bad_request("principalId is required: the object id of a user."))?;
        let principal = super::parse_id(principal.trim())?;
        let role = self.role_definition_id.ok_or_else(|| {
            GraphError::bad_request("roleDefinitionId is required: the template id of a directory role.")
        })?;
        let role = Uuid::parse_str(role.trim())
            .ok()
            .and_then(DirectoryRole::from_template_id)
            .ok_or_else(|| {
                let role: String = role.chars().take(64).collect();
                GraphError::bad_request(format!(
                    "roleDefinitionId '{role}' is not a directory role: use the template id of Global \
                     Administrator, Application Administrator or Global Reader."
                ))
            })?;
        if let Some(app_scope) = self.app_scope_id {
            return Err(unsupported_scope(&app_scope));
        }
        match self.directory_scope_id.as_deref() {
            Some(TENANT_SCOPE) => Ok((principal, role)),
            Some(other) => Err(unsupported_scope(other)),
            None => Err(GraphError::bad_request(
                "directoryScopeId is required: \"/\" for the whole tenant.",
            )),
        }
    }
}

fn unsupported_scope(scope: &str) -> GraphError {
    Error::from(DirectoryRoleError::UnsupportedScope(scope.chars().take(64).collect())).into()
}

/// What `$filter` may say: one `principalId` or `roleDefinitionId` equality.
enum Filter {
    Everything,
    Principal(Uuid),
    Role(Uuid),
}

fn filter(query: Option<&str>) -> GraphResult<Filter> {
    let Some(text) = super::filter_text(query) else {
        return Ok(Filter::Everything);
    };
    let invalid = || {
        GraphError::bad_request(format!(
            "Invalid filter clause '{}': use principalId eq '<user id>' or roleDefinitionId eq '<template id>'.",
            text.chars().take(128).collect::<String>()
        ))
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let &[property, "eq", value] = words.as_slice() else {
        return Err(invalid());
    };
    let id = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or_else(invalid)?;
    match property {
        "principalId" => Ok(Filter::Principal(id)),
        "roleDefinitionId" => Ok(Filter::Role(id)),
        _ => Err(invalid()),
    }
}

/// `GET /v1.0/roleManagement/directory/roleAssignments`.
pub(crate) async fn list(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    RawQuery(query): RawQuery,
) -> GraphResult {
    let tenant_id = caller.tenant_id();
    let assignments = match filter(query.as_deref())? {
        Filter::Everything => authority.directory_role_assignments(tenant_id).await?,
        Filter::Principal(user) => match authority.directory_roles_of(tenant_id, user).await {
            Ok(assignments) => assignments,
            Err(Error::UserNotFound(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        },
        Filter::Role(role) => {
            let mut all = authority.directory_role_assignments(tenant_id).await?;
            all.retain(|a| a.role.template_id() == role);
            all
        }
    };
    Ok(super::collection(assignments.iter().map(render).collect()))
}

/// `POST /v1.0/roleManagement/directory/roleAssignments`.
pub(crate) async fn create(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    bytes: axum::body::Bytes,
) -> GraphResult {
    let body: AssignmentBody = super::body(&bytes)?;
    let (principal, role) = body.parse()?;
    let assignment = authority
        .assign_directory_role(caller.tenant_id(), principal, role)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(render(&assignment))).into_response())
}

/// `GET /v1.0/roleManagement/directory/roleAssignments/{id}`.
pub(crate) async fn get(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    let assignment = authority.directory_role_assignment(caller.tenant_id(), &id).await?;
    Ok(axum::Json(render(&assignment)).into_response())
}

/// `DELETE /v1.0/roleManagement/directory/roleAssignments/{id}`.
pub(crate) async fn delete(
    State(authority): State<Arc<Authority>>,
    caller: GraphCaller,
    Path(id): Path<String>,
) -> GraphResult {
    authority
        .delete_directory_role_assignment(caller.tenant_id(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
