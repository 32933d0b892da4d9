//! An application's App roles: the roles it defines as an API (what other applications are
//! granted on their API permissions tab), created, disabled, enabled again and deleted through
//! the authority's application update, which checks the whole document first.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use keyward_authority::{AppEntry, Error as AuthorityError};
use keyward_store::AppRole;
use serde::Deserialize;
use uuid::Uuid;

use super::apps::find;
use super::credentials::unprocessable;
use super::{Chrome, Confirm, Confirmation, Done, IntoPage, NoFields, see_other};
use crate::AdminCenter;
use crate::access::{Admin, Permission};
use crate::error::AdminError;
use crate::forms::AdminForm;

/// The messages of the actions that end on this tab.
pub const DONE: &[(&str, &str)] = &[
    ("created", "The app role was created; it can be granted now."),
    ("disabled", "The app role was disabled: it can no longer be granted."),
    ("enabled", "The app role was enabled."),
    ("deleted", "The app role was deleted."),
];

/// The member types a role may be for, as the form offers them.
const MEMBER_TYPES: &[(&str, &str)] = &[
    ("Application", "Applications"),
    ("User", "Users/Groups"),
    ("Both", "Both (Users/Groups + Applications)"),
];

/// A role as the table shows it.
pub struct RoleRow {
    id: String,
    display_name: String,
    value: String,
    description: String,
    member_types: String,
    enabled: bool,
    granted: usize,
}

/// What was typed in the Create form.
#[derive(Default, Deserialize)]
pub(crate) struct RoleForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    allowed: String,
}

#[derive(Template)]
#[template(path = "app_roles.html")]
struct RolesPage {
    chrome: Chrome,
    tab: &'static str,
    object_id: String,
    name: String,
    roles: Vec<RoleRow>,
    member_types: &'static [(&'static str, &'static str)],
    form: RoleForm,
    may_change: bool,
    error: Option<String>,
}

impl RolesPage {
    fn of(center: &AdminCenter, admin: &Admin, entry: &AppEntry) -> Self {
        let snapshot = center.authority().snapshot();
        let roles = entry
            .app
            .app_roles
            .iter()
            .map(|r| RoleRow {
                id: r.id.to_string(),
                display_name: r.display_name.clone(),
                value: r.value.clone(),
                description: r.description.clone(),
                member_types: r
                    .allowed_member_types
                    .iter()
                    .map(|t| if t == "User" { "Users/Groups" } else { "Applications" })
                    .collect::<Vec<_>>()
                    .join(", "),
                enabled: r.is_enabled,
                granted: granted(admin, entry, r.id, &snapshot),
            })
            .collect();
        Self {
            chrome: Chrome::of(admin, "apps"),
            tab: "roles",
            object_id: entry.app.id.to_string(),
            name: entry.app.display_name.clone(),
            roles,
            member_types: MEMBER_TYPES,
            form: RoleForm {
                allowed: "Application".into(),
                ..RoleForm::default()
            },
            may_change: admin.may(Permission::ManageApplications),
            error: None,
        }
    }
}

/// How many grants of the role there are.
fn granted(admin: &Admin, entry: &AppEntry, role_id: Uuid, snapshot: &keyward_authority::Snapshot) -> usize {
    snapshot
        .assignments_of(admin.tenant_id())
        .filter(|a| a.resource_id == entry.app.service_principal_id && a.app_role_id == role_id)
        .count()
}

/// `GET /admin/apps/{id}/roles`.
pub(crate) async fn show(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, AdminError> {
    let entry = find(&center, &admin, &id)?;
    let mut page = RolesPage::of(&center, &admin, &entry);
    page.chrome = page.chrome.done(DONE, done.done.as_deref());
    Ok(page.into_page())
}

/// `POST /admin/apps/{id}/roles`: creates a role; a refused one comes back as typed.
pub(crate) async fn create(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(form): AdminForm<RoleForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let display_name = form.display_name.trim().to_owned();
    let value = form.value.trim().to_owned();
    let description = form.description.trim().to_owned();
    let allowed: Vec<String> = match form.allowed.as_str() {
        "Application" => vec!["Application".into()],
        "User" => vec!["User".into()],
        "Both" => vec!["User".into(), "Application".into()],
        _ => Vec::new(),
    };
    let problem = if display_name.is_empty() || display_name.chars().count() > 100 {
        Some("Give the role a display name of at most 100 characters, e.g. Read all tasks.".to_owned())
    } else if value.is_empty() || value.chars().count() > 120 || value.contains(char::is_whitespace) {
        Some(
            "Give the role a value of at most 120 characters without spaces, e.g. Tasks.Read.All: \
             it is what the roles claim of a token holds."
                .to_owned(),
        )
    } else if description.chars().count() > 1000 {
        Some("Shorten the description to at most 1000 characters.".to_owned())
    } else if allowed.is_empty() {
        Some("Choose the allowed member types.".to_owned())
    } else if entry.app.app_roles.iter().any(|r| r.value == value) {
        Some(format!(
            "This application already has a role with the value {value}; choose another value."
        ))
    } else {
        None
    };
    let refuse = |error: String, form: RoleForm| {
        let mut page = RolesPage::of(&center, &admin, &entry);
        page.error = Some(error);
        page.form = form;
        Ok(unprocessable(page.into_page()))
    };
    if let Some(problem) = problem {
        return refuse(problem, form);
    }
    let role = AppRole {
        id: Uuid::new_v4(),
        value: value.clone(),
        display_name: display_name.clone(),
        description,
        allowed_member_types: allowed,
        is_enabled: true,
    };
    let role_id = role.id;
    let result = center
        .authority()
        .update_application(admin.tenant_id(), entry.app.id, move |app| {
            app.app_roles.push(role);
            Ok(())
        })
        .await;
    match result {
        Ok(_) => {}
        Err(e @ AuthorityError::Application(_)) => return refuse(format!("Nothing was created: {e}."), form),
        Err(e) => return Err(e.into()),
    }
    center
        .audit(
            &admin,
            "application.role.create",
            "application",
            &entry.app.id.to_string(),
            &format!(
                "Created app role {value} (\"{display_name}\", id {role_id}) on \"{}\"",
                entry.app.display_name
            ),
        )
        .await;
    Ok(see_other(&format!("/admin/apps/{}/roles?done=created", entry.app.id)))
}

/// The role named in the path.
fn role_of(entry: &AppEntry, role: &str) -> Result<AppRole, AdminError> {
    let id = Uuid::parse_str(role).map_err(|_| AdminError::NotFound("app role"))?;
    entry
        .app
        .app_roles
        .iter()
        .find(|r| r.id == id)
        .cloned()
        .ok_or(AdminError::NotFound("app role"))
}

/// Sets a role's `isEnabled`.
async fn set_enabled(
    center: &AdminCenter,
    admin: &Admin,
    entry: &AppEntry,
    role: &AppRole,
    enabled: bool,
) -> Result<(), AdminError> {
    let role_id = role.id;
    center
        .authority()
        .update_application(admin.tenant_id(), entry.app.id, move |app| {
            let role = app
                .app_roles
                .iter_mut()
                .find(|r| r.id == role_id)
                .ok_or_else(|| AuthorityError::ApplicationNotFound(format!("app role {role_id}")))?;
            role.is_enabled = enabled;
            Ok(())
        })
        .await?;
    let (action, verb) = if enabled {
        ("application.role.enable", "Enabled")
    } else {
        ("application.role.disable", "Disabled")
    };
    center
        .audit(
            admin,
            action,
            "application",
            &entry.app.id.to_string(),
            &format!("{verb} app role {} on \"{}\"", role.value, entry.app.display_name),
        )
        .await;
    Ok(())
}

/// `POST /admin/apps/{id}/roles/{roleId}/disable`.
pub(crate) async fn disable(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((id, role)): Path<(String, String)>,
    AdminForm(_): AdminForm<NoFields>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let role = role_of(&entry, &role)?;
    set_enabled(&center, &admin, &entry, &role, false).await?;
    Ok(see_other(&format!("/admin/apps/{}/roles?done=disabled", entry.app.id)))
}

/// `POST /admin/apps/{id}/roles/{roleId}/enable`.
pub(crate) async fn enable(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((id, role)): Path<(String, String)>,
    AdminForm(_): AdminForm<NoFields>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let role = role_of(&entry, &role)?;
    set_enabled(&center, &admin, &entry, &role, true).await?;
    Ok(see_other(&format!("/admin/apps/{}/roles?done=enabled", entry.app.id)))
}

/// `POST /admin/apps/{id}/roles/{roleId}/delete`: only a disabled role that no application
/// holds (as the portal: disable first, and remove its grants); asks first.
pub(crate) async fn delete(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path((id, role)): Path<(String, String)>,
    AdminForm(confirmation): AdminForm<Confirmation>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let role = role_of(&entry, &role)?;
    let snapshot = center.authority().snapshot();
    let holders = granted(&admin, &entry, role.id, &snapshot);
    let problem = if role.is_enabled {
        Some(format!("Disable the app role {} before deleting it.", role.value))
    } else if holders > 0 {
        Some(format!(
            "{holders} application(s) hold the app role {}: remove it on their API permissions tab \
             first, then delete it.",
            role.value
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        let mut page = RolesPage::of(&center, &admin, &entry);
        page.error = Some(problem);
        return Ok(unprocessable(page.into_page()));
    }
    if !confirmation.given() {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, "apps"),
            question: format!("Delete app role {}?", role.value),
            consequence: "It can no longer be granted; this cannot be undone.".into(),
            action: format!("/admin/apps/{}/roles/{}/delete", entry.app.id, role.id),
            back: format!("/admin/apps/{}/roles", entry.app.id),
        }
        .into_page());
    }
    let role_id = role.id;
    center
        .authority()
        .update_application(admin.tenant_id(), entry.app.id, move |app| {
            app.app_roles.retain(|r| r.id != role_id);
            Ok(())
        })
        .await?;
    center
        .audit(
            &admin,
            "application.role.delete",
            "application",
            &entry.app.id.to_string(),
            &format!("Deleted app role {} from \"{}\"", role.value, entry.app.display_name),
        )
        .await;
    Ok(see_other(&format!("/admin/apps/{}/roles?done=deleted", entry.app.id)))
}
