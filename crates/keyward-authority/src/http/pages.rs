//! The hosted pages (sign-in, sign-up, errors, signed out, the `form_post` response) and what
//! every one of them is sent with: a Content Security Policy with a fresh nonce (no inline code
//! runs without it), `X-Frame-Options: DENY`, `Cache-Control: no-store`,
//! `Referrer-Policy: no-referrer`. Templates are askama's, HTML-escaped by default: every value
//! a user or a client chose (display names, emails, `state`) is escaped where it is written.
//!
//! Also here: the cookies (the sign-in session's and the CSRF token's), the CSRF check, and
//! [`PageError`], what a page handler returns when it cannot go on.

use askama::Template;
use aws_lc_rs::constant_time;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_pki::sealing::MasterKey;
use uuid::Uuid;

use crate::authorize::{RedirectTarget, ResponseMode};
use crate::error::Error;
use crate::oauth_error::{OAuthError, OAuthErrorKind};

/// The cookie that carries the CSRF secret the forms' tokens are bound to.
pub const CSRF_COOKIE: &str = "__Host-keyward-csrf";
const CSRF_OWNER: &str = "keyward/csrf/v1";

/// The name of a tenant's session cookie. `__Host-` makes browsers insist on `Secure`,
/// `Path=/` and no `Domain`, so no other host (not even a subdomain) can plant one.
pub fn session_cookie_name(tenant_id: Uuid) -> String {
    format!("__Host-keyward-session-{}", tenant_id.simple())
}

/// A random value, base64url: CSP nonces, CSRF secrets.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    // Without randomness the page gets an empty nonce, which the CSP then matches nothing
    // against: scripts and styles are refused, nothing is weakened.
    if aws_lc_rs::rand::fill(&mut buffer).is_err() {
        return String::new();
    }
    URL_SAFE_NO_PAD.encode(buffer)
}

/// The value of a cookie in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value for one of our cookies: `Secure; HttpOnly; SameSite=Lax; Path=/`.
/// `max_age` `None` is a browser-session cookie; `Some(0)` deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    let text = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax{age}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("__Host-keyward-invalid=; Max-Age=0"))
}

/// The CSRF secret of the browser (from its cookie), or a new one to set.
pub struct Csrf {
    /// The secret in the cookie.
    secret: String,
    /// Whether the cookie must be (re)set.
    pub is_new: bool,
}

impl Csrf {
    /// The browser's secret, or a new one.
    pub fn of(headers: &HeaderMap) -> Self {
        match cookie(headers, CSRF_COOKIE).filter(|v| v.len() == 43) {
            Some(secret) => Self {
                secret: secret.to_owned(),
                is_new: false,
            },
            None => Self {
                secret: random_token(32),
                is_new: true,
            },
        }
    }

    /// A form token bound to the secret: the secret sealed under the master key.
    pub fn token(&self, master: &MasterKey) -> String {
        master
            .seal(CSRF_OWNER, self.secret.as_bytes())
            .map(|sealed| URL_SAFE_NO_PAD.encode(sealed))
            .unwrap_or_default()
    }

    /// The `Set-Cookie` header when the secret is new.
    pub fn set_cookie(&self) -> Option<HeaderValue> {
        self.is_new.then(|| set_cookie(CSRF_COOKIE, &self.secret, None))
    }
}

/// Whether a form's CSRF token was made for the secret in the browser's cookie: the token opens
/// under the master key, and what it holds equals the cookie, compared in constant time.
pub fn csrf_ok(master: &MasterKey, headers: &HeaderMap, token: Option<&str>) -> bool {
    let (Some(secret), Some(token)) = (cookie(headers, CSRF_COOKIE), token) else {
        return false;
    };
    let Ok(sealed) = URL_SAFE_NO_PAD.decode(token.trim()) else {
        return false;
    };
    let Ok(opened) = master.open(CSRF_OWNER, &sealed) else {
        return false;
    };
    constant_time::verify_slices_are_equal(&opened, secret.as_bytes()).is_ok()
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage {
    /// The CSP nonce of the inline style.
    pub csp_nonce: String,
    /// The application the user signs in to.
    pub app_name: String,
    /// The display name of the user already signed in (`prompt=login`).
    pub signed_in_as: Option<String>,
    /// What went wrong with the last attempt.
    pub error: Option<String>,
    /// Where the form posts.
    pub action: String,
    /// The sealed pending request.
    pub request: String,
    /// The CSRF token.
    pub csrf: String,
    /// The email to prefill.
    pub email: String,
    /// The sign-up page, when sign-up is on.
    pub signup_url: Option<String>,
}

/// The sign-up page.
#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignUpPage {
    /// The CSP nonce of the inline style.
    pub csp_nonce: String,
    /// The application the user signs up for.
    pub app_name: String,
    /// What went wrong with the last attempt.
    pub error: Option<String>,
    /// Where the form posts.
    pub action: String,
    /// The sealed pending request.
    pub request: String,
    /// The CSRF token.
    pub csrf: String,
    /// The email to prefill.
    pub email: String,
    /// The display name to prefill.
    pub display_name: String,
    /// The sign-in page.
    pub signin_url: String,
}

/// The "enter the code" page of a sign-up whose code was mailed.
#[derive(Template)]
#[template(path = "verify_email.html")]
pub struct VerifyEmailPage {
    /// The CSP nonce of the inline style.
    pub csp_nonce: String,
    /// The application the user signs up for.
    pub app_name: String,
    /// What went wrong with the last code.
    pub error: Option<String>,
    /// Where the form posts.
    pub action: String,
    /// The sealed pending request.
    pub request: String,
    /// The CSRF token.
    pub csrf: String,
    /// The sealed pending sign-up.
    pub signup: String,
    /// The address the code went to.
    pub email: String,
    /// The code's lifetime in minutes.
    pub minutes: i64,
    /// The sign-up page, to start over.
    pub signup_url: String,
}

/// An error that cannot go back to the application.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The CSP nonce of the inline style.
    pub csp_nonce: String,
    /// The heading.
    pub title: String,
    /// What happened.
    pub message: String,
    /// The AADSTS code.
    pub code: Option<u32>,
}

/// After logout, when there is nowhere to go back to.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage {
    /// The CSP nonce of the inline style.
    pub csp_nonce: String,
    /// The display name of the user who signed out.
    pub name: Option<String>,
    /// Whether a `post_logout_redirect_uri` was refused.
    pub refused_redirect: bool,
}

/// The `form_post` response: a form that posts itself to the redirect URI.
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage {
    /// The CSP nonce of the inline style and script.
    pub csp_nonce: String,
    /// The redirect URI.
    pub action: String,
    /// The response's parameters.
    pub fields: Vec<(String, String)>,
}

/// Security headers of every page and redirect of the sign-in flow.
fn secure(headers: &mut HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// Renders a page with its security headers. `form_action` is the origin (besides our own)
/// its forms may post or be redirected to: the application's, after a sign-in.
pub fn html(status: StatusCode, page: &impl Template, csp_nonce: &str, form_action: Option<&str>) -> Response {
    let body = match page.render() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response();
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Nonces and origins are base64url and serialized origins: nothing that can end the header
    // or the directive.
    let form_action = match form_action {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{csp_nonce}'; script-src 'nonce-{csp_nonce}'; img-src 'self'; \
         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    secure(headers);
    response
}

/// A 302 to `location`, with the security headers.
pub fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            secure(response.headers_mut());
            response
        }
        Err(_) => PageError::UnusableRedirect.into_response(),
    }
}

/// Sends `params` (and `state`) to the trusted redirect URI, as its response mode says.
pub fn respond(target: &RedirectTarget, params: &[(&str, &str)]) -> Response {
    match target.mode {
        ResponseMode::FormPost => {
            let csp_nonce = random_token(16);
            let page = FormPostPage {
                csp_nonce: csp_nonce.clone(),
                action: target.uri.clone(),
                fields: target.fields(params),
            };
            html(StatusCode::OK, &page, &csp_nonce, target.origin().as_deref())
        }
        _ => redirect(&target.url(params)),
    }
}

/// Sends an OAuth error to the trusted redirect URI.
pub fn respond_error(target: &RedirectTarget, error: &OAuthError) -> Response {
    respond(
        target,
        &[
            ("error", error.kind.as_str()),
            ("error_description", &error.description()),
        ],
    )
}

/// Our own error page: for errors that must not go to a redirect URI.
fn error_page(status: StatusCode, title: &str, message: &str, code: Option<u32>) -> Response {
    let csp_nonce = random_token(16);
    let page = ErrorPage {
        csp_nonce: csp_nonce.clone(),
        title: title.to_owned(),
        message: message.to_owned(),
        code,
    };
    html(status, &page, &csp_nonce, None)
}

/// Why a page of the sign-in flow cannot go on: shown on our own error page, never sent to a
/// redirect URI.
#[derive(Debug)]
pub(crate) enum PageError {
    /// An OAuth error that cannot be redirected: an unknown tenant, unreadable parameters, an
    /// untrusted client or redirect URI.
    OAuth(OAuthError),
    /// An authorization or logout request sent by POST but not as an HTML form.
    RequestNotAForm,
    /// A sign-in or sign-up form not sent as `application/x-www-form-urlencoded`.
    FormNotAForm,
    /// The sealed request of the page is missing, damaged or too old.
    Expired,
    /// The application or its redirect URI was removed while the page was open.
    ApplicationGone,
    /// The form's CSRF token does not match the browser's cookie.
    Csrf,
    /// Sign-up is off.
    SignUpOff,
    /// The redirect URI cannot be written in a `Location` header.
    UnusableRedirect,
    /// Something failed on the server.
    Server(Error),
}

impl From<OAuthError> for PageError {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        Self::Server(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        const CANNOT: &str = "Cannot sign in";
        let (status, title, message) = match self {
            Self::OAuth(error) => {
                let status = if error.kind == OAuthErrorKind::InvalidTenant {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::BAD_REQUEST
                };
                let message = error.message.trim_end_matches('.').to_owned() + ".";
                return error_page(
                    status,
                    "Sorry, but we're having trouble signing you in",
                    &message,
                    Some(error.code),
                );
            }
            Self::RequestNotAForm => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                CANNOT,
                "The authorization request must be sent as a query string or an HTML form.",
            ),
            Self::FormNotAForm => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                CANNOT,
                "The form must be sent as application/x-www-form-urlencoded.",
            ),
            Self::Expired => (
                StatusCode::BAD_REQUEST,
                "This sign-in page has expired",
                "The sign-in request is missing, damaged or more than an hour old. Go back to the application and sign in again.",
            ),
            Self::ApplicationGone => (
                StatusCode::BAD_REQUEST,
                CANNOT,
                "The application or its redirect URI is no longer registered.",
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "This form cannot be accepted",
                "The form was not sent from this sign-in page, or your browser blocked its cookie. \
                 Go back to the application and sign in again, with cookies allowed for this site.",
            ),
            Self::SignUpOff => (
                StatusCode::NOT_FOUND,
                "Sign-up is off",
                "New accounts are created by an administrator here.",
            ),
            Self::UnusableRedirect => (
                StatusCode::BAD_REQUEST,
                "Cannot continue",
                "The address to return to cannot be used.",
            ),
            Self::Server(Error::Store(e)) if e.is_unavailable() => {
                tracing::warn!(error = %e, "sign-in: the store is unavailable");
                let mut response = error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Sign-in is temporarily unavailable",
                    "The server cannot reach its database right now. Wait a few seconds, then try again.",
                    None,
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(keyward_store::RETRY_AFTER_SECONDS),
                );
                return response;
            }
            Self::Server(e) => {
                tracing::error!(error = %e, "sign-in failed on the server");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The sign-in could not be completed because of a problem on the server.",
                )
            }
        };
        error_page(status, title, message, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::from_bytes(&[9u8; 32]).unwrap()
    }

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn csrf_token_is_bound_to_the_cookie() {
        let master = master();
        let csrf = Csrf::of(&HeaderMap::new());
        assert!(csrf.is_new);
        let token = csrf.token(&master);
        let cookie = format!("other=1; {CSRF_COOKIE}={}", csrf.secret);
        assert!(csrf_ok(&master, &with_cookie(&cookie), Some(&token)));
        // Another browser's secret, no cookie, no token, a forged token, another key: refused.
        let other = format!("{CSRF_COOKIE}={}", random_token(32));
        assert!(!csrf_ok(&master, &with_cookie(&other), Some(&token)));
        assert!(!csrf_ok(&master, &HeaderMap::new(), Some(&token)));
        assert!(!csrf_ok(&master, &with_cookie(&cookie), None));
        assert!(!csrf_ok(&master, &with_cookie(&cookie), Some(&csrf.secret)));
        let other_key = MasterKey::from_bytes(&[8u8; 32]).unwrap();
        assert!(!csrf_ok(&other_key, &with_cookie(&cookie), Some(&token)));
        // The browser keeps its secret across pages.
        let again = Csrf::of(&with_cookie(&cookie));
        assert!(!again.is_new);
        assert!(csrf_ok(&master, &with_cookie(&cookie), Some(&again.token(&master))));
    }

    #[test]
    fn pages_escape_what_users_typed() {
        let page = SignUpPage {
            csp_nonce: "n".into(),
            app_name: "App <b>".into(),
            error: Some("bad <i>".into()),
            action: "/t/oauth2/v2.0/authorize/signup".into(),
            request: "r\"><script>".into(),
            csrf: "c".into(),
            email: "a@b.example".into(),
            display_name: "<script>alert(1)</script>".into(),
            signin_url: "/t?x=1&y=2".into(),
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert(1)"), "{html}");
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{html}");
        assert!(!html.contains("App <b>"));
        assert!(!html.contains("r\"><script>"));
        assert!(html.contains(r#"autocomplete="new-password""#));
    }

    #[test]
    fn every_page_has_the_security_headers() {
        let response = error_page(StatusCode::BAD_REQUEST, "t", "m", Some(1));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let h = response.headers();
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
    }
}
