//! The authority's [`Router`]: every route of the token service, the sign-in pages, the
//! management API and Keyward's admin endpoints, with their body limits, over one shared
//! [`Authority`].

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use super::graph::{self, applications, policies, role_assignments, service_principals, users};
use super::{admin, arm, device, discovery, logout, signin, token};
use crate::authority::Authority;

/// The largest management request body: a few certificates.
pub const MAX_GRAPH_REQUEST: usize = 1024 * 1024;
/// The largest sign-in form or authorization request body read.
pub const MAX_FORM: usize = 64 * 1024;

/// Builds the authority's routes.
pub fn router(authority: Arc<Authority>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys))
        .route("/{tenant}/discovery/instance", get(discovery::instance_discovery))
        .route("/metrics", get(metrics))
        // Resource Manager's few calls the Azure CLI makes after signing in.
        .route("/subscriptions", get(arm::subscriptions))
        .route("/tenants", get(arm::tenants))
        .route("/metadata/endpoints", get(arm::metadata_endpoints))
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token::token_endpoint).layer(DefaultBodyLimit::max(token::MAX_TOKEN_REQUEST)),
        )
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(device::device_authorization).layer(DefaultBodyLimit::max(token::MAX_TOKEN_REQUEST)),
        )
        .merge(sign_in())
        .merge(management(Arc::clone(&authority)))
        .with_state(authority)
}

/// The authorization endpoint, the hosted sign-in and sign-up pages, the device code
/// verification page, and logout.
fn sign_in() -> Router<Arc<Authority>> {
    Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(signin::authorize_endpoint).post(signin::authorize_endpoint),
        )
        .route(
            "/{tenant}/oauth2/v2.0/authorize/signin",
            get(signin::show_signin).post(signin::signin),
        )
        .route(
            "/{tenant}/oauth2/v2.0/authorize/signup",
            get(signin::show_signup).post(signin::signup),
        )
        .route(
            "/{tenant}/oauth2/v2.0/authorize/signup/verify",
            post(signin::verify_signup),
        )
        .route(
            "/{tenant}/oauth2/v2.0/devicecode/verify",
            get(device::show_verify).post(device::enter_code),
        )
        .route("/{tenant}/oauth2/v2.0/devicecode/verify/signin", post(device::sign_in))
        .route("/{tenant}/oauth2/v2.0/devicecode/verify/decide", post(device::decide))
        .route(
            "/{tenant}/oauth2/v2.0/logout",
            get(logout::logout_endpoint).post(logout::logout_endpoint),
        )
        .layer(DefaultBodyLimit::max(MAX_FORM))
}

/// The management API (Microsoft Graph's shapes) and Keyward's own admin endpoints. Every
/// handler takes a [`graph::GraphCaller`] (`addKey` and `removeKey` a [`graph::GraphTokenCaller`]
/// and a proof), so none can forget to authenticate; every successful
/// change is written to the audit log ([`graph::audit`]).
fn management(authority: Arc<Authority>) -> Router<Arc<Authority>> {
    use applications as a;
    use service_principals as sp;
    Router::new()
        .route("/v1.0/applications", get(a::list).post(a::create))
        .route("/v1.0/applications/{id}", get(a::get).patch(a::patch).delete(a::delete))
        .route("/v1.0/applications/{id}/addPassword", post(a::add_password))
        .route("/v1.0/applications/{id}/removePassword", post(a::remove_password))
        .route(
            "/v1.0/policies/defaultAppManagementPolicy",
            get(policies::get).patch(policies::patch),
        )
        // An application rolling its own certificates: a Graph token without any role will
        // do, the proof of possession authorizes the change (Entra's rule).
        .route("/v1.0/applications/{id}/addKey", post(a::add_key))
        .route("/v1.0/applications/{id}/removeKey", post(a::remove_key))
        .route("/v1.0/{keyed}/addKey", post(a::add_key_keyed))
        .route("/v1.0/{keyed}/removeKey", post(a::remove_key_keyed))
        .route("/v1.0/servicePrincipals", get(sp::list))
        .route("/v1.0/servicePrincipals/{id}", get(sp::get))
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignedTo",
            get(sp::list_assigned_to).post(sp::assign_role),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignedTo/{assignment}",
            delete(sp::unassign_role),
        )
        .route("/v1.0/users", get(users::list).post(users::create))
        .route(
            "/v1.0/users/{id}",
            get(users::get).patch(users::patch).delete(users::delete),
        )
        .route(
            "/v1.0/roleManagement/directory/roleAssignments",
            get(role_assignments::list).post(role_assignments::create),
        )
        .route(
            "/v1.0/roleManagement/directory/roleAssignments/{id}",
            get(role_assignments::get).delete(role_assignments::delete),
        )
        .route(
            "/v1.0/{keyed}",
            get(graph::get_keyed)
                .patch(graph::patch_keyed)
                .delete(graph::delete_keyed),
        )
        .route("/admin/api/signing-keys", get(admin::list_signing_keys))
        .route("/admin/api/signing-keys/rotate", post(admin::rotate_signing_key))
        .route("/admin/api/applications/{app_id}/sign-ins", get(admin::list_sign_ins))
        .route("/admin/api/test-tokens", post(admin::mint_test_token))
        .route(
            "/admin/api/time",
            get(admin::show_time).post(admin::shift_time).delete(admin::reset_time),
        )
        .layer(axum::middleware::from_fn_with_state(
            authority,
            graph::audit::audit_changes,
        ))
        .layer(DefaultBodyLimit::max(MAX_GRAPH_REQUEST))
}

/// The Prometheus counters: open to anyone in development; in production only to a caller with
/// a management API token (the check the Graph-shaped API makes), so that a scraper gets one
/// like any other client and an outsider learns nothing about the traffic.
async fn metrics(
    State(authority): State<Arc<Authority>>,
    caller: Result<graph::GraphCaller, graph::GraphError>,
) -> Response {
    if let Err(refused) = caller
        && authority.config().profile.metrics_need_token()
    {
        return refused.into_response();
    }
    let mut text = authority.metrics().render();
    text.push_str(&crate::metrics::credential_expiry(&authority.snapshot()));
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
