//! The HTTP surface: the vault API at the root of the origin, where the Key Vault SDKs expect it,
//! and the management API under `/admin/api/vaults`. Handlers parse, call [`Vaults`] and render;
//! errors become Key Vault's shape through [`ApiError`].

mod admin;
pub(crate) mod auth;
mod certificates;
mod error;
pub(crate) mod fuzzing;
mod secrets;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

pub use admin::AdminError;
pub use auth::{DEFAULT_VAULT, vault_for_host};
pub use error::{ApiError, MISSING_TOKEN};

use crate::Vaults;

/// The largest request body of most routes (a secret of 25 KiB as JSON, a policy).
pub const MAX_BODY: usize = 256 * 1024;
/// The largest body of a certificate import: base64 of a 1 MiB file, as JSON.
pub const MAX_IMPORT_BODY: usize = 2 * 1024 * 1024;

/// The vault API at the root (`/certificates...`, `/secrets...`, `/deletedcertificates...`,
/// `/deletedsecrets...`) and the management API under `/admin/api/vaults`. The vault is chosen by
/// the request's host name (see [`vault_for_host`]).
pub fn router(vaults: Arc<Vaults>) -> Router {
    use certificates as c;
    use secrets as s;
    Router::new()
        .route("/certificates", get(c::list))
        .route("/certificates/", get(c::list))
        .route("/certificates/{name}", get(c::get_latest).delete(c::delete))
        .route("/certificates/{name}/", get(c::get_latest).patch(c::update_latest))
        .route("/certificates/{name}/create", post(c::create))
        .route(
            "/certificates/{name}/import",
            post(c::import).layer(DefaultBodyLimit::max(MAX_IMPORT_BODY)),
        )
        .route("/certificates/{name}/versions", get(c::versions))
        .route(
            "/certificates/{name}/policy",
            get(c::get_policy).patch(c::update_policy),
        )
        .route(
            "/certificates/{name}/pending",
            get(c::get_operation)
                .patch(c::cancel_operation)
                .delete(c::delete_operation),
        )
        .route("/certificates/{name}/pending/merge", post(c::merge))
        .route(
            "/certificates/{name}/{version}",
            get(c::get_version).patch(c::update_version),
        )
        .route("/deletedcertificates", get(c::list_deleted))
        .route("/deletedcertificates/{name}", get(c::get_deleted).delete(c::purge))
        .route("/deletedcertificates/{name}/recover", post(c::recover))
        .route("/secrets", get(s::list))
        .route("/secrets/", get(s::list))
        .route("/secrets/{name}", put(s::set).get(s::get_latest).delete(s::delete))
        .route("/secrets/{name}/", get(s::get_latest).patch(s::update_latest))
        .route("/secrets/{name}/versions", get(s::versions))
        .route(
            "/secrets/{name}/{version}",
            get(s::get_version).patch(s::update_version),
        )
        .route("/deletedsecrets", get(s::list_deleted))
        .route("/deletedsecrets/{name}", get(s::get_deleted).delete(s::purge))
        .route("/deletedsecrets/{name}/recover", post(s::recover))
        .route("/admin/api/vaults", get(admin::list))
        .route("/admin/api/vaults/{name}", get(admin::get).put(admin::create))
        .route(
            "/admin/api/vaults/{name}/accessPolicies/{object_id}",
            put(admin::set_policy).delete(admin::remove_policy),
        )
        .route(
            "/admin/api/vaults/{name}/certificates/{certificate}/links",
            get(admin::links),
        )
        .route(
            "/admin/api/vaults/{name}/certificates/{certificate}/links/{app_id}",
            put(admin::link).delete(admin::unlink),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(vaults)
}
