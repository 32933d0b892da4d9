//! An application's API permissions: the app roles granted to its service principal (Graph's
//! `appRoleAssignments`, given with admin consent), "Grant admin consent" for a role of any
//! resource of the tenant (Microsoft Graph's among them) and removing a grant.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use keyward_authority::{AppEntry, Error as AuthorityError};
use serde::Deserialize;
use uuid::Uuid;

use super::apps::find;
use super::credentials::unprocessable;
use super::{Chrome, Confirm, Confirmation, Done, IntoPage, When, see_other};
use crate::AdminCenter;
use crate::access::{Admin, Permission};
use crate::error::AdminError;
use crate::forms::AdminForm;

/// The messages of the actions that end on this tab.
pub const DONE: &[(&str, &str)] = &[
    (
        "granted",
        "Admin consent was granted: the permission is in the application's next token.",
    ),
    (
        "removed",
        "The permission was removed: the application's next token no longer has it.",
    ),
];

/// A granted permission.
pub struct GrantRow {
    id: String,
    resource: String,
    value: String,
    role_name: String,
    description: String,
    granted: When,
}

/// A role that can be granted, in the form's list.
pub struct Choice {
    value: String,
    label: String,
}

/// The roles of one resource.
pub struct ResourceChoices {
    resource: String,
    roles: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "app_permissions.html")]
struct PermissionsPage {
    chrome: Chrome,
    tab: &'static str,
    object_id: String,
    name: String,
    tenant: String,
    grants: Vec<GrantRow>,
    resources: Vec<ResourceChoices>,
    may_change: bool,
    error: Option<String>,
}

impl PermissionsPage {
    fn of(center: &AdminCenter, admin: &Admin, entry: &AppEntry) -> Self {
        let snapshot = center.authority().snapshot();
        let tenant_id = admin.tenant_id();
        let principal = entry.app.service_principal_id;
        let mut grants: Vec<GrantRow> = snapshot
            .assignments_of(tenant_id)
            .filter(|a| a.principal_id == principal)
            .map(|a| {
                let resource = snapshot.app_by_service_principal(tenant_id, a.resource_id);
                let role = resource.and_then(|r| r.app.app_roles.iter().find(|role| role.id == a.app_role_id));
                GrantRow {
                    id: a.id.to_string(),
                    resource: resource
                        .map(|r| r.app.display_name.clone())
                        .unwrap_or_else(|| a.resource_id.to_string()),
                    value: role
                        .map(|r| r.value.clone())
                        .unwrap_or_else(|| a.app_role_id.to_string()),
                    role_name: role.map(|r| r.display_name.clone()).unwrap_or_default(),
                    description: role.map(|r| r.description.clone()).unwrap_or_default(),
                    granted: When::of(a.created),
                }
            })
            .collect();
        grants.sort_by(|a, b| (&a.resource, &a.value).cmp(&(&b.resource, &b.value)));
        let mut resources: Vec<ResourceChoices> = snapshot
            .apps_of(tenant_id)
            .into_iter()
            .map(|r| ResourceChoices {
                resource: r.app.display_name.clone(),
                roles: r
                    .app
                    .app_roles
                    .iter()
                    .filter(|role| role.is_enabled && role.allowed_member_types.iter().any(|t| t == "Application"))
                    .map(|role| Choice {
                        value: format!("{}/{}", r.app.service_principal_id, role.id),
                        label: format!("{} ({})", role.value, role.display_name),
                    })
                    .collect(),
            })
            .filter(|r| !r.roles.is_empty())
            .collect();
        resources.sort_by_key(|r| r.resource.to_lowercase());
        Self {
            chrome: Chrome::of(admin, "apps"),
            tab: "permissions",
            object_id: entry.app.id.to_string(),
            name: entry.app.display_name.clone(),
            tenant: admin.tenant.tenant.name.clone(),
            grants,
            resources,
            may_change: admin.may(Permission::ManageApplications),
            error: None,
        }
    }
}

/// `GET /admin/apps/{id}/permissions`.
pub(crate) async fn show(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, AdminError> {
    let entry = find(&center, &admin, &id)?;
    let mut page = PermissionsPage::of(&center, &admin, &entry);
    page.chrome = page.chrome.done(DONE, done.done.as_deref());
    Ok(page.into_page())
}

/// The form: `permission` is `{resource service principal id}/{app role id}`.
#[derive(Deserialize)]
pub(crate) struct GrantForm {
    #[serde(default)]
    permission: String,
}

/// `POST /admin/apps/{id}/permissions`: grants the role with admin consent.
pub(crate) async fn grant(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(form): AdminForm<GrantForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let refuse = |error: String| {
        let mut page = PermissionsPage::of(&center, &admin, &entry);
        page.error = Some(error);
        Ok(unprocessable(page.into_page()))
    };
    let parsed = form
        .permission
        .split_once('/')
        .and_then(|(r, role)| Some((Uuid::parse_str(r).ok()?, Uuid::parse_str(role).ok()?)));
    let Some((resource_id, role_id)) = parsed else {
        return refuse("Choose a permission from the list.".into());
    };
    let tenant_id = admin.tenant_id();
    let snapshot = center.authority().snapshot();
    let Some(resource) = snapshot.app_by_service_principal(tenant_id, resource_id).cloned() else {
        return refuse("That API no longer exists in this tenant; choose another permission.".into());
    };
    if snapshot.assignments_of(tenant_id).any(|a| {
        a.principal_id == entry.app.service_principal_id && a.resource_id == resource_id && a.app_role_id == role_id
    }) {
        return refuse("This permission is granted already; nothing was changed.".into());
    }
    let assignment = match center
        .authority()
        .grant_role(tenant_id, entry.app.service_principal_id, resource_id, role_id)
        .await
    {
        Ok(assignment) => assignment,
        Err(e @ AuthorityError::Application(_)) => return refuse(format!("Nothing was granted: {e}.")),
        Err(e) => return Err(e.into()),
    };
    let value = resource
        .app
        .app_roles
        .iter()
        .find(|r| r.id == role_id)
        .map(|r| r.value.clone())
        .unwrap_or_default();
    center
        .audit(
            &admin,
            "application.permission.grant",
            "application",
            &entry.app.id.to_string(),
            &format!(
                "Granted admin consent for {value} of \"{}\" to \"{}\" (assignment {})",
                resource.app.display_name, entry.app.display_name, assignment.id
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/apps/{}/permissions?done=granted",
        entry.app.id
    )))
}

/// `POST /admin/apps/{id}/permissions/{assignmentId}/delete`: asks first.
pub(crate) async fn remove(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((id, assignment)): Path<(String, String)>,
    AdminForm(confirmation): AdminForm<Confirmation>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let assignment_id = Uuid::parse_str(&assignment).map_err(|_| AdminError::NotFound("permission"))?;
    let tenant_id = admin.tenant_id();
    let snapshot = center.authority().snapshot();
    let assignment = snapshot
        .assignments_of(tenant_id)
        .find(|a| a.id == assignment_id && a.principal_id == entry.app.service_principal_id)
        .cloned()
        .ok_or(AdminError::NotFound("permission"))?;
    let resource = snapshot.app_by_service_principal(tenant_id, assignment.resource_id);
    let resource_name = resource.map(|r| r.app.display_name.clone()).unwrap_or_default();
    let value = resource
        .and_then(|r| r.app.app_roles.iter().find(|role| role.id == assignment.app_role_id))
        .map(|r| r.value.clone())
        .unwrap_or_else(|| assignment.app_role_id.to_string());
    if !confirmation.given() {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, "apps"),
            question: format!("Remove permission {value}?"),
            consequence: format!(
                "{} loses {value} of {resource_name}: its next token no longer has it.",
                entry.app.display_name
            ),
            action: format!("/admin/apps/{}/permissions/{assignment_id}/delete", entry.app.id),
            back: format!("/admin/apps/{}/permissions", entry.app.id),
        }
        .into_page());
    }
    center.authority().revoke_role(tenant_id, assignment_id).await?;
    center
        .audit(
            &admin,
            "application.permission.remove",
            "application",
            &entry.app.id.to_string(),
            &format!(
                "Removed {value} of \"{resource_name}\" from \"{}\" (assignment {assignment_id})",
                entry.app.display_name
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/apps/{}/permissions?done=removed",
        entry.app.id
    )))
}
