//! What every response of the admin center is sent with, and what every request must show.
//!
//! [`guard`] runs around every route: it refuses a state-changing request that a browser says
//! came from another site (`Sec-Fetch-Site`, `Origin`), opens the session cookie, makes the
//! response's CSP nonce, and adds the headers: a Content Security Policy that runs no script
//! without the nonce and loads nothing from elsewhere (`default-src 'none'`,
//! `frame-ancestors 'none'`, `form-action 'self'`), `X-Frame-Options: DENY`,
//! `Cache-Control: no-store`, `Referrer-Policy: same-origin`, `X-Content-Type-Options:
//! nosniff`. Last, it re-seals the session cookie with a fresh last-use time when due.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AdminCenter;
use crate::error::AdminError;
use crate::session::{SESSION_COOKIE, SessionCookie};

/// The admin center's stylesheet.
const STYLESHEET: &str = include_str!("../static/admin.css");
/// Its script: copy buttons, confirmation dialogs, local times. Every page works without it.
const SCRIPT: &str = include_str!("../static/admin.js");

/// The nonce of a response's Content Security Policy: the one `<script>` tag a page has
/// carries it.
#[derive(Debug, Clone, Default)]
pub struct Nonce(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Nonce {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Nonce>().cloned().unwrap_or_default())
    }
}

/// Whether a browser says this request came from another site: `Sec-Fetch-Site` other than
/// `same-origin` (or `none`, a person typing the address), or an `Origin` that is not ours.
/// Clients that send neither (scripts, old browsers) are left to the CSRF token.
pub fn is_cross_site(headers: &HeaderMap, public_url: &str) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|site| site != "same-origin" && site != "none") {
        return true;
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    origin.is_some_and(|origin| !origin.eq_ignore_ascii_case(public_url.trim_end_matches('/')))
}

/// The middleware around every admin route (see the module's documentation).
pub async fn guard(State(center): State<Arc<AdminCenter>>, mut request: Request, next: Next) -> Response {
    let now = center.now();
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
    let nonce = Nonce(crate::session::random(18));
    let mut response = if changes && is_cross_site(request.headers(), center.public_url()) {
        AdminError::CrossSite.into_response()
    } else {
        let session = SessionCookie::of(&center, request.headers(), now);
        if let Some(session) = session.clone() {
            request.extensions_mut().insert(session);
        }
        request.extensions_mut().insert(nonce.clone());
        let mut response = next.run(request).await;
        let sets_session = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.as_bytes().starts_with(SESSION_COOKIE.as_bytes()));
        if let Some(fresh) = session.and_then(|s| s.refreshed(&center, now))
            && !sets_session
            && response.status().is_success()
        {
            response.headers_mut().append(header::SET_COOKIE, fresh);
        }
        response
    };
    let headers = response.headers_mut();
    let policy = format!(
        "default-src 'none'; script-src 'nonce-{}'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        nonce.0
    );
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// `GET /admin/static/admin.css`.
pub(crate) async fn stylesheet() -> Response {
    static_file(STYLESHEET, "text/css; charset=utf-8")
}

/// `GET /admin/static/admin.js`.
pub(crate) async fn script() -> Response {
    static_file(SCRIPT, "text/javascript; charset=utf-8")
}

fn static_file(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
