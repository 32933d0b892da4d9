//! App registrations: the list with search, New registration, an application's Overview (its
//! ids, endpoints and audit log) and Delete. The other tabs of an application are in sibling
//! modules.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use keyward_authority::{AppEntry, NewApplication, is_builtin};
use keyward_store::AuditEvent;
use serde::Deserialize;
use uuid::Uuid;

use super::overview::{Endpoint, endpoints};
use super::{Chrome, Confirm, Confirmation, Done, IntoPage, When, see_other};
use crate::AdminCenter;
use crate::access::{Admin, Permission};
use crate::error::AdminError;
use crate::forms::AdminForm;

/// The messages of the actions that end on an application's pages.
pub const DONE: &[(&str, &str)] = &[
    ("created", "The application was registered."),
    ("deleted", "The application was deleted."),
];

/// An application of the admin's tenant by object id, built-in ones excluded.
pub fn find(center: &AdminCenter, admin: &Admin, id: &str) -> Result<Arc<AppEntry>, AdminError> {
    let id = Uuid::parse_str(id).map_err(|_| AdminError::NotFound("application"))?;
    center
        .authority()
        .snapshot()
        .app_by_object_id(admin.tenant_id(), id)
        .filter(|a| !is_builtin(a.app.app_id))
        .cloned()
        .ok_or(AdminError::NotFound("application"))
}

/// A row of the list.
pub struct AppRow {
    object_id: String,
    name: String,
    app_id: String,
    created: When,
    certificates: usize,
    secrets: usize,
}

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage {
    chrome: Chrome,
    query: String,
    rows: Vec<AppRow>,
    total: usize,
    may_change: bool,
}

/// `?q=` of the list.
#[derive(Deserialize)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
    done: Option<String>,
}

/// `GET /admin/apps`: every application of the tenant, or those whose name contains the search
/// (any case) or whose client ID or object ID starts with it.
pub(crate) async fn list(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Query(search): Query<Search>,
) -> Response {
    let query = search.q.trim().to_lowercase();
    let snapshot = center.authority().snapshot();
    let apps: Vec<_> = snapshot
        .apps_of(admin.tenant_id())
        .into_iter()
        .filter(|a| !is_builtin(a.app.app_id))
        .collect();
    let total = apps.len();
    let mut rows: Vec<AppRow> = apps
        .into_iter()
        .filter(|a| {
            query.is_empty()
                || a.app.display_name.to_lowercase().contains(&query)
                || a.app.app_id.to_string().starts_with(&query)
                || a.app.id.to_string().starts_with(&query)
        })
        .map(|a| AppRow {
            object_id: a.app.id.to_string(),
            name: a.app.display_name.clone(),
            app_id: a.app.app_id.to_string(),
            created: When::of(a.app.created),
            certificates: a.app.key_credentials.len(),
            secrets: a.app.password_credentials.len(),
        })
        .collect();
    rows.sort_by_key(|r| r.name.to_lowercase());
    AppsPage {
        chrome: Chrome::of(&admin, "apps").done(DONE, search.done.as_deref()),
        query: search.q.trim().to_owned(),
        rows,
        total,
        may_change: admin.may(Permission::ManageApplications),
    }
    .into_page()
}

#[derive(Template)]
#[template(path = "app_new.html")]
struct NewAppPage {
    chrome: Chrome,
    name: String,
    redirect_uris: String,
    error: Option<String>,
}

/// `GET /admin/apps/new`.
pub(crate) async fn new_form(admin: Admin) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    Ok(NewAppPage {
        chrome: Chrome::of(&admin, "apps"),
        name: String::new(),
        redirect_uris: String::new(),
        error: None,
    }
    .into_page())
}

/// The New registration form.
#[derive(Deserialize)]
pub(crate) struct NewAppForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    redirect_uris: String,
}

/// The lines of a text area, trimmed, blank ones dropped.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /admin/apps/new`: registers the application; on a refusal the form comes back with
/// what was typed and the reason.
pub(crate) async fn create(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    AdminForm(form): AdminForm<NewAppForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let new = NewApplication {
        display_name: form.name.trim().to_owned(),
        redirect_uris: lines(&form.redirect_uris),
        ..Default::default()
    };
    match center.authority().create_application(admin.tenant_id(), new).await {
        Ok(entry) => {
            let app = &entry.app;
            center
                .audit(
                    &admin,
                    "application.create",
                    "application",
                    &app.id.to_string(),
                    &format!("Registered \"{}\" (client ID {})", app.display_name, app.app_id),
                )
                .await;
            Ok(see_other(&format!("/admin/apps/{}?done=created", app.id)))
        }
        Err(e @ (keyward_authority::Error::Application(_) | keyward_authority::Error::Account(_))) => {
            let mut page = NewAppPage {
                chrome: Chrome::of(&admin, "apps"),
                name: form.name,
                redirect_uris: form.redirect_uris,
                error: Some(e.to_string()),
            }
            .into_page();
            *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(page)
        }
        Err(e) => Err(e.into()),
    }
}

/// An audit row as pages show it.
pub struct AuditRow {
    /// When.
    pub at: When,
    /// Who.
    pub actor: String,
    /// What.
    pub detail: String,
}

impl AuditRow {
    /// The rows of these events.
    pub fn of(events: Vec<AuditEvent>) -> Vec<Self> {
        events
            .into_iter()
            .map(|e| Self {
                at: When::of(e.at),
                actor: e.actor,
                detail: e.detail,
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "app.html")]
struct AppPage {
    chrome: Chrome,
    tab: &'static str,
    object_id: String,
    name: String,
    app_id: String,
    tenant_id: String,
    created: When,
    redirect_uris: Vec<String>,
    identifier_uris: Vec<String>,
    certificates: usize,
    secrets: usize,
    endpoints: Vec<Endpoint>,
    audit: Vec<AuditRow>,
    may_change: bool,
}

/// `GET /admin/apps/{id}`: the application's Overview.
pub(crate) async fn show(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, AdminError> {
    let entry = find(&center, &admin, &id)?;
    let app = &entry.app;
    let tenant_id = admin.tenant_id().to_string();
    let audit = center
        .audit_log(admin.tenant_id(), Some(("application", &app.id.to_string())))
        .await?;
    Ok(AppPage {
        chrome: Chrome::of(&admin, "apps").done(DONE, done.done.as_deref()),
        tab: "overview",
        object_id: app.id.to_string(),
        name: app.display_name.clone(),
        app_id: app.app_id.to_string(),
        created: When::of(app.created),
        redirect_uris: app.redirect_uris.clone(),
        identifier_uris: app.identifier_uris.clone(),
        certificates: app.key_credentials.len(),
        secrets: app.password_credentials.len(),
        endpoints: endpoints(center.public_url(), &admin.tenant.tenant.name, &tenant_id),
        tenant_id,
        audit: AuditRow::of(audit),
        may_change: admin.may(Permission::ManageApplications),
    }
    .into_page())
}

/// `POST /admin/apps/{id}/delete`: asks first (a page, or the page's dialog), then deletes.
pub(crate) async fn delete(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(confirmation): AdminForm<Confirmation>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let app = &entry.app;
    if !confirmation.given() {
        return Ok(Confirm {
            chrome: Chrome::of(&admin, "apps"),
            question: format!("Delete {}?", app.display_name),
            consequence: "Its credentials stop working at once, and clients using its client ID are refused.".into(),
            action: format!("/admin/apps/{}/delete", app.id),
            back: format!("/admin/apps/{}", app.id),
        }
        .into_page());
    }
    center.authority().delete_application(admin.tenant_id(), app.id).await?;
    center
        .audit(
            &admin,
            "application.delete",
            "application",
            &app.id.to_string(),
            &format!("Deleted \"{}\" (client ID {})", app.display_name, app.app_id),
        )
        .await;
    Ok(see_other("/admin/apps?done=deleted").into_response())
}
