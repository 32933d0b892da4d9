//! Keyward's admin center: the portal pages a person uses for what the article does in the Entra
//! and Azure portals (app registrations, certificates and secrets, users and their roles, the
//! vault, the tenant's signing keys), at `/admin/` on the server's origin.
//!
//! It is an application of the authority like any other: administrators sign in through
//! `/authorize` with the authorization code flow and PKCE as the built-in public client
//! [`ADMIN_CENTER_APP_ID`](keyward_authority::ADMIN_CENTER_APP_ID) ([`session`]). An
//! administrator is a user of the tenant holding a directory role; every page and every action
//! checks that role on the server ([`access`]). Pages are server-rendered (askama, escaped by
//! default), work without JavaScript, and are sent with a strict Content Security Policy whose
//! nonce changes per response ([`security`]). Every form carries a CSRF token bound to the
//! session; every change is written to the audit log ([`audit`]).
//!
//! [`router`] builds the routes over an [`AdminCenter`]; `keyward-server` merges them beside the
//! services they administer.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod audit;
mod error;
mod forms;
mod pages;
pub mod security;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use keyward_authority::Authority;
use keyward_pki::sealing::MasterKey;
use keyward_store::Store;
use keyward_vault::Vaults;

pub use error::AdminError;

/// The largest form body read (a page's fields).
pub const MAX_FORM: usize = 64 * 1024;
/// The largest upload read (a certificate file, a PFX to import): checked before parsing.
pub const MAX_UPLOAD: usize = 256 * 1024;

/// What the admin center works on: the authority and the vault it administers, the store (its
/// sessions and the audit log) and the master key its cookies and CSRF tokens are sealed with.
pub struct AdminCenter {
    authority: Arc<Authority>,
    vaults: Arc<Vaults>,
    store: Arc<dyn Store>,
    master: MasterKey,
    default_tenant: String,
}

impl AdminCenter {
    /// An admin center over these services; `/admin/signin` signs in to `default_tenant`
    /// unless it names another.
    pub fn new(
        authority: Arc<Authority>,
        vaults: Arc<Vaults>,
        store: Arc<dyn Store>,
        master: MasterKey,
        default_tenant: &str,
    ) -> Self {
        Self {
            authority,
            vaults,
            store,
            master,
            default_tenant: default_tenant.to_owned(),
        }
    }

    /// The tenant `/admin/signin` signs in to by default.
    pub(crate) fn default_tenant(&self) -> Option<Arc<keyward_authority::TenantEntry>> {
        self.authority.snapshot().tenant(&self.default_tenant).cloned()
    }

    /// The authority it administers.
    pub fn authority(&self) -> &Arc<Authority> {
        &self.authority
    }

    /// The current time by the server's clock (the authority's, which time travel moves).
    pub fn now(&self) -> time::OffsetDateTime {
        self.authority.now()
    }

    /// The vaults it administers.
    pub fn vaults(&self) -> &Arc<Vaults> {
        &self.vaults
    }

    /// The origin it is served on, e.g. `https://localhost:8443`.
    pub fn public_url(&self) -> &str {
        self.authority.config().public_url.trim_end_matches('/')
    }
}

/// The admin center's routes, all under `/admin/`.
pub fn router(center: Arc<AdminCenter>) -> Router {
    let uploads = Router::new()
        .merge(pages::upload_routes())
        .layer(DefaultBodyLimit::max(MAX_UPLOAD));
    let forms = Router::new()
        .route("/admin", get(pages::to_overview))
        .route("/admin/", get(pages::overview::show))
        .route("/admin/signin", get(session::sign_in))
        .route("/admin/callback", get(session::callback))
        .route("/admin/signout", post(session::sign_out))
        .route("/admin/signed-out", get(session::signed_out))
        .route("/admin/static/admin.css", get(security::stylesheet))
        .route("/admin/static/admin.js", get(security::script))
        .merge(pages::routes())
        .layer(DefaultBodyLimit::max(MAX_FORM));
    Router::new()
        .merge(forms)
        .merge(uploads)
        .layer(middleware::from_fn_with_state(Arc::clone(&center), security::guard))
        .with_state(center)
}
