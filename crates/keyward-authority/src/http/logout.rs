//! The end-session (logout) endpoint, `GET, POST /{tenant}/oauth2/v2.0/logout`: ends the
//! browser's session, then returns only to a registered redirect URI of the application the
//! request names, or shows the signed-out page.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use keyward_jose::{Algorithm, Jws};

use super::pages::{self, SignedOutPage};
use super::signin::{PageResult, Sent, parameters, tenant};
use crate::authority::Authority;
use crate::authorize::{self, Parameters};
use crate::directory::{AppEntry, TenantEntry};
use crate::grants::Session;

/// `GET, POST /{tenant}/oauth2/v2.0/logout`.
pub(crate) async fn logout_endpoint(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    headers: HeaderMap,
    Sent(encoded): Sent,
) -> PageResult {
    // RP-initiated logout by POST comes from the application's page, cross-site by nature,
    // so it cannot carry our CSRF token; it does no more than the GET form, which any page
    // can trigger with a link. A POST that is not a form names nothing.
    logout(&authority, &alias, encoded.as_deref().unwrap_or_default(), &headers).await
}

/// The application a logout names: by `client_id`, by the `aud` of an `id_token_hint` we
/// signed (expired or not), or the one whose sign-in started the session.
fn logout_app(
    authority: &Authority,
    tenant: &TenantEntry,
    parameters: &Parameters,
    session: Option<&Session>,
) -> Option<Arc<AppEntry>> {
    let snapshot = authority.snapshot();
    let tenant_id = tenant.tenant.id;
    if let Some(client_id) = parameters.get("client_id") {
        let id = uuid::Uuid::parse_str(client_id).ok()?;
        return snapshot.app_in_tenant(tenant_id, id).cloned();
    }
    if let Some(hint) = parameters.get("id_token_hint") {
        let jws = Jws::parse(hint.trim()).ok()?;
        let verifier = tenant.keys.verifier(jws.header().kid.as_deref()?)?;
        jws.verify(verifier, &[Algorithm::Rs256]).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(jws.payload()).ok()?;
        let iss = claims["iss"].as_str().unwrap_or_default();
        let ours = iss == tenant.issuer
            || (authority.config().azure_hosts
                && crate::azure_hosts::is_sign_in_issuer(iss, &tenant.tenant.name, &tenant.tenant.id.to_string()));
        if !ours {
            return None;
        }
        let id = uuid::Uuid::parse_str(claims["aud"].as_str()?).ok()?;
        return snapshot.app_in_tenant(tenant_id, id).cloned();
    }
    session.and_then(|s| snapshot.app_in_tenant(tenant_id, s.client_id).cloned())
}

async fn logout(authority: &Authority, alias: &str, encoded: &[u8], headers: &HeaderMap) -> PageResult {
    let tenant = tenant(authority, alias)?;
    let parameters = parameters(encoded)?;
    let tenant_id = tenant.tenant.id;
    let cookie_name = pages::session_cookie_name(tenant_id);
    let session = match pages::cookie(headers, &cookie_name) {
        Some(handle) => authority.end_session(tenant_id, handle, authority.now()).await?,
        None => None,
    };
    let target = parameters.get("post_logout_redirect_uri").filter(|uri| !uri.is_empty());
    let app = logout_app(authority, &tenant, &parameters, session.as_ref());
    let allowed = match (target, &app) {
        (Some(uri), Some(app)) => authorize::redirect_uri_registered(app, uri).then_some(uri),
        _ => None,
    };
    let mut response = match allowed {
        Some(uri) => {
            let target = authorize::RedirectTarget {
                uri: uri.clone(),
                mode: authorize::ResponseMode::Query,
                state: parameters.get("state").cloned(),
            };
            pages::redirect(&target.url(&[]))
        }
        None => {
            if target.is_some() {
                tracing::info!(tenant = %tenant.tenant.name, "logout: unregistered post_logout_redirect_uri refused");
            }
            let csp_nonce = pages::random_token(16);
            let page = SignedOutPage {
                csp_nonce: csp_nonce.clone(),
                name: session.map(|s| s.user.display_name),
                refused_redirect: target.is_some(),
            };
            pages::html(StatusCode::OK, &page, &csp_nonce, None)
        }
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, pages::set_cookie(&cookie_name, "", Some(0)));
    Ok(response)
}
