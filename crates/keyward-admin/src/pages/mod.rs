//! The pages: what every one of them shares ([`Chrome`]: the header, the navigation, the
//! session's CSRF token and the CSP nonce), the pages that belong to no section (errors,
//! confirmation, signed out), and the routes of each section's module.

pub mod apps;
pub mod overview;
pub mod signing_keys;
pub mod users;
pub mod vault;
// An application's tabs (Authentication, Certificates & secrets, API permissions, App roles).
pub mod authentication;
pub mod credentials;
pub mod permissions;
pub mod roles;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AdminCenter;
use crate::access::Admin;
use crate::security::Nonce;

/// The routes of the sections' pages that take forms.
pub(crate) fn routes() -> Router<Arc<AdminCenter>> {
    Router::new()
        .route("/admin/apps", get(apps::list))
        .route("/admin/apps/new", get(apps::new_form).post(apps::create))
        .route("/admin/apps/{id}", get(apps::show))
        .route("/admin/apps/{id}/delete", post(apps::delete))
        // An application's tabs: Authentication, Certificates & secrets, API permissions, App roles.
        .route(
            "/admin/apps/{id}/authentication",
            get(authentication::show).post(authentication::save),
        )
        .route("/admin/apps/{id}/credentials", get(credentials::show))
        .route(
            "/admin/apps/{id}/credentials/certificates/{key_id}/delete",
            post(credentials::delete_certificate),
        )
        .route("/admin/apps/{id}/credentials/secrets", post(credentials::add_secret))
        .route(
            "/admin/apps/{id}/credentials/secrets/{key_id}/delete",
            post(credentials::delete_secret),
        )
        .route(
            "/admin/apps/{id}/permissions",
            get(permissions::show).post(permissions::grant),
        )
        .route(
            "/admin/apps/{id}/permissions/{assignment}/delete",
            post(permissions::remove),
        )
        .route("/admin/apps/{id}/roles", get(roles::show).post(roles::create))
        .route("/admin/apps/{id}/roles/{role}/disable", post(roles::disable))
        .route("/admin/apps/{id}/roles/{role}/enable", post(roles::enable))
        .route("/admin/apps/{id}/roles/{role}/delete", post(roles::delete))
        // Users
        .route("/admin/users", get(users::list))
        .route("/admin/users/new", get(users::new_form).post(users::create))
        .route("/admin/users/{id}", get(users::show))
        .route("/admin/users/{id}/disable", post(users::disable))
        .route("/admin/users/{id}/enable", post(users::enable))
        .route("/admin/users/{id}/password", post(users::reset_password))
        .route("/admin/users/{id}/roles/add", post(users::add_role))
        .route("/admin/users/{id}/roles/remove", post(users::remove_role))
        .route("/admin/users/{id}/delete", post(users::delete))
        // Signing keys
        .route("/admin/signing-keys", get(signing_keys::list))
        .route("/admin/signing-keys/rotate", post(signing_keys::rotate))
        // Key vault (vault.rs, vault/certificates.rs, vault/secrets.rs)
        .merge(vault_routes())
}

/// The routes of the Key vault section that take forms.
fn vault_routes() -> Router<Arc<AdminCenter>> {
    use vault::{certificates, secrets};
    const CERTIFICATE: &str = "/admin/vault/{vault}/certificates/{name}";
    const VERSION: &str = "/admin/vault/{vault}/certificates/{name}/{version}";
    const SECRET: &str = "/admin/vault/{vault}/secrets/{name}";
    Router::new()
        .route("/admin/vault", get(vault::list).post(vault::create))
        .route("/admin/vault/{vault}", get(vault::show))
        .route(
            "/admin/vault/{vault}/certificates/new",
            get(certificates::new_form).post(certificates::generate),
        )
        .route(CERTIFICATE, get(certificates::show))
        .route(&format!("{CERTIFICATE}/delete"), post(certificates::delete))
        .route(VERSION, get(certificates::version))
        .route(&format!("{VERSION}/download/cer"), get(certificates::download_cer))
        .route(&format!("{VERSION}/download"), post(certificates::download_with_key))
        .route("/admin/vault/{vault}/secrets", post(secrets::set))
        .route(SECRET, get(secrets::show))
        .route(&format!("{SECRET}/show"), post(secrets::reveal))
        .route(&format!("{SECRET}/enabled"), post(secrets::set_enabled))
        .route(&format!("{SECRET}/delete"), post(secrets::delete))
        .route("/admin/vault/{vault}/access", post(vault::policy_save))
        .route("/admin/vault/{vault}/access/new", get(vault::policy_new))
        .route("/admin/vault/{vault}/access/{object_id}", get(vault::policy_edit))
        .route(
            "/admin/vault/{vault}/access/{object_id}/remove",
            post(vault::policy_remove),
        )
        .route(
            "/admin/vault/{vault}/deleted/{kind}/{name}/recover",
            post(vault::recover),
        )
        .route("/admin/vault/{vault}/deleted/{kind}/{name}/purge", post(vault::purge))
}

/// The routes that take file uploads (a larger body limit).
pub(crate) fn upload_routes() -> Router<Arc<AdminCenter>> {
    Router::new()
        // Key vault
        .route(
            "/admin/vault/{vault}/certificates/import",
            post(vault::certificates::import),
        )
        // An application's Certificates & secrets tab.
        .route(
            "/admin/apps/{id}/credentials/certificates",
            post(credentials::upload_certificate),
        )
}

/// `GET /admin`: the overview is at `/admin/`.
pub(crate) async fn to_overview() -> Redirect {
    Redirect::permanent("/admin/")
}

/// What every page shows around its content.
pub struct Chrome {
    /// The CSP nonce of the page's script tag; empty for pages without script.
    pub nonce: String,
    /// The session's CSRF token, for the sign-out form and the page's own forms.
    pub csrf: String,
    /// The signed-in administrator's email (none: the page is shown to anyone).
    pub user: Option<String>,
    /// Their role's display name.
    pub role: &'static str,
    /// Their tenant's name.
    pub tenant: Option<String>,
    /// The section of the navigation the page belongs to.
    pub section: &'static str,
    /// What the last action did, shown at the top of the page.
    pub done: Option<&'static str>,
}

impl Chrome {
    /// The chrome of a page anyone may see (errors, signed out).
    pub fn anonymous(nonce: Nonce) -> Self {
        Self {
            nonce: nonce.0,
            csrf: String::new(),
            user: None,
            role: "",
            tenant: None,
            section: "",
            done: None,
        }
    }

    /// The chrome of a page of `section` for `admin`.
    pub fn of(admin: &Admin, section: &'static str) -> Self {
        Self {
            nonce: admin.nonce.0.clone(),
            csrf: admin.csrf().to_owned(),
            user: Some(admin.user.email.clone()),
            role: admin.role.display_name(),
            tenant: Some(admin.tenant.tenant.name.clone()),
            section,
            done: None,
        }
    }

    /// With the message of the action named by `code` (from `?done=`), looked up in
    /// `messages`: only messages written here are ever shown.
    pub fn done(mut self, messages: &[(&str, &'static str)], code: Option<&str>) -> Self {
        self.done = code.and_then(|code| messages.iter().find(|(c, _)| *c == code).map(|(_, m)| *m));
        self
    }
}

/// `?done=` after an action, for [`Chrome::done`].
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    /// The action's code.
    pub done: Option<String>,
}

/// A form with no field but the CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// A rendered page as a response.
pub trait IntoPage {
    /// The page as HTML, or a plain 500 if the template fails.
    fn into_page(self) -> Response;
    /// The page as HTML.
    fn render_html(&self) -> String;
}

impl<T: Template> IntoPage for T {
    fn into_page(self) -> Response {
        match self.render() {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "admin page could not be rendered");
                (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
            }
        }
    }

    fn render_html(&self) -> String {
        self.render().unwrap_or_default()
    }
}

/// A point in time as pages show it: the ISO value (UTC) in `datetime` and on hover, and text
/// that the page's script turns into the browser's time zone.
pub struct When {
    /// RFC 3339, UTC.
    pub iso: String,
    /// `2026-12-06 11:20 UTC`.
    pub text: String,
}

impl When {
    /// `t` as pages show it.
    pub fn of(t: OffsetDateTime) -> Self {
        let t = t.to_offset(time::UtcOffset::UTC);
        let iso = t
            .replace_nanosecond(0)
            .unwrap_or(t)
            .format(&Rfc3339)
            .unwrap_or_default();
        let text = format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        );
        Self { iso, text }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Header and navigation.
    pub chrome: Chrome,
    /// What happened.
    pub title: &'static str,
    /// What to do.
    pub detail: String,
    /// Whether to offer signing in.
    pub sign_in: bool,
}

/// The page after sign-in that moves on to the admin center by itself.
#[derive(Template)]
#[template(path = "continue.html")]
pub struct Continue {
    /// Where to.
    pub to: String,
}

/// After sign-out.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOut {
    /// Header.
    pub chrome: Chrome,
}

/// "Are you sure?": what a destructive form shows when sent without `confirmed=yes` (the page's
/// script asks in a dialog instead and sends it).
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct Confirm {
    /// Header and navigation.
    pub chrome: Chrome,
    /// The question.
    pub question: String,
    /// What happens on Yes.
    pub consequence: String,
    /// Where the form goes.
    pub action: String,
    /// Where No goes.
    pub back: String,
}

/// Whether a destructive form was confirmed (`confirmed=yes`).
#[derive(Debug, Default, Deserialize)]
pub struct Confirmation {
    /// `yes` once confirmed.
    #[serde(default)]
    pub confirmed: String,
}

impl Confirmation {
    /// Whether the person said yes.
    pub fn given(&self) -> bool {
        self.confirmed == "yes"
    }
}

/// `303 See Other` to `path` (after a form).
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}
