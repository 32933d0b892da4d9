//! An application's Authentication tab: the redirect URIs of its web platform and its
//! front-channel logout URL, checked by the authority (https, or plain http to a loopback
//! host only) before anything is written.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use keyward_authority::Error as AuthorityError;
use serde::Deserialize;

use super::apps::{find, lines};
use super::credentials::unprocessable;
use super::{Chrome, Done, IntoPage, see_other};
use crate::AdminCenter;
use crate::access::{Admin, Permission};
use crate::error::AdminError;
use crate::forms::AdminForm;

/// The messages of the actions that end on this tab.
pub const DONE: &[(&str, &str)] = &[(
    "saved",
    "The redirect URIs and the logout URL were saved; sign-ins use them from now on.",
)];

#[derive(Template)]
#[template(path = "app_authentication.html")]
struct AuthenticationPage {
    chrome: Chrome,
    tab: &'static str,
    object_id: String,
    name: String,
    redirect_uris: String,
    logout_url: String,
    may_change: bool,
    error: Option<String>,
}

/// `GET /admin/apps/{id}/authentication`.
pub(crate) async fn show(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, AdminError> {
    let entry = find(&center, &admin, &id)?;
    let app = &entry.app;
    Ok(AuthenticationPage {
        chrome: Chrome::of(&admin, "apps").done(DONE, done.done.as_deref()),
        tab: "authentication",
        object_id: app.id.to_string(),
        name: app.display_name.clone(),
        redirect_uris: app.redirect_uris.join("\n"),
        logout_url: app.logout_url.clone().unwrap_or_default(),
        may_change: admin.may(Permission::ManageApplications),
        error: None,
    }
    .into_page())
}

/// The form.
#[derive(Deserialize)]
pub(crate) struct AuthenticationForm {
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    logout_url: String,
}

/// `POST /admin/apps/{id}/authentication`: saves both; a refused URI comes back with what was
/// typed and why.
pub(crate) async fn save(
    State(center): State<Arc<AdminCenter>>,
    admin: Admin,
    Path(id): Path<String>,
    AdminForm(form): AdminForm<AuthenticationForm>,
) -> Result<Response, AdminError> {
    admin.require(Permission::ManageApplications)?;
    let entry = find(&center, &admin, &id)?;
    let redirect_uris = lines(&form.redirect_uris);
    let logout_url = Some(form.logout_url.trim().to_owned()).filter(|u| !u.is_empty());
    let (count, logout) = (redirect_uris.len(), logout_url.clone());
    let result = center
        .authority()
        .update_application(admin.tenant_id(), entry.app.id, move |app| {
            app.redirect_uris = redirect_uris;
            app.logout_url = logout_url;
            Ok(())
        })
        .await;
    match result {
        Ok(_) => {}
        Err(e @ AuthorityError::Application(_)) => {
            return Ok(unprocessable(
                AuthenticationPage {
                    chrome: Chrome::of(&admin, "apps"),
                    tab: "authentication",
                    object_id: entry.app.id.to_string(),
                    name: entry.app.display_name.clone(),
                    redirect_uris: form.redirect_uris,
                    logout_url: form.logout_url,
                    may_change: true,
                    error: Some(format!(
                        "Nothing was saved: the {e}. Correct it, or remove the line, and save again."
                    )),
                }
                .into_page(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    center
        .audit(
            &admin,
            "application.authentication.update",
            "application",
            &entry.app.id.to_string(),
            &format!(
                "Set {count} redirect URI(s) and {} on \"{}\"",
                match &logout {
                    Some(url) => format!("the logout URL {url}"),
                    None => "no logout URL".to_owned(),
                },
                entry.app.display_name
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/admin/apps/{}/authentication?done=saved",
        entry.app.id
    )))
}
