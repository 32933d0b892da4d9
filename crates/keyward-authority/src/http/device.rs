//! The device authorization grant over HTTP ([`crate::device_code`]): the device authorization
//! endpoint, in Entra's JSON, and the verification page where the user enters the code, signs
//! in and answers. Polling is the token endpoint's (`token.rs`).
//!
//! | route | what |
//! |---|---|
//! | `POST /{tenant}/oauth2/v2.0/devicecode` | `client_id`, `scope` → `device_code`, `user_code`, `verification_uri`, ... |
//! | `GET /{tenant}/oauth2/v2.0/devicecode/verify` | the page: enter the code |
//! | `POST /{tenant}/oauth2/v2.0/devicecode/verify` | the code (throttled per address) → "continue as" with a session, else sign in |
//! | `POST /{tenant}/oauth2/v2.0/devicecode/verify/signin` | email and password (the hosted sign-in's checks), starts the session → "continue as" |
//! | `POST /{tenant}/oauth2/v2.0/devicecode/verify/decide` | `decision=allow` or `deny`, for the browser's session |
//!
//! Every form carries a CSRF token bound to a cookie ([`pages::csrf_ok`]); after the code, the
//! forms carry it sealed ([`DeviceTicket`]).

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use zeroize::Zeroizing;

use super::pages::{self, Csrf, PageError};
use super::signin::{ClientAddress, PageResult, current_session, parameters, refusal_status, tenant};
use super::token::{client_request_id, parse_form};
use super::{Origin, is_form};
use crate::authority::Authority;
use crate::authorize::Parameters;
use crate::device_code::{DeviceError, DeviceTicket};
use crate::directory::TenantEntry;
use crate::grants::Session;
use crate::oauth_error::{OAuthError, OAuthErrorKind};
use crate::{client_auth, scopes};

/// The path of a tenant's verification page, under the origin.
fn verify_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/devicecode/verify")
}

fn missing(name: &str) -> OAuthError {
    OAuthError::new(
        OAuthErrorKind::InvalidRequest,
        900144,
        format!("The request body must contain the following parameter: '{name}'"),
    )
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub(crate) async fn device_authorization(
    State(authority): State<Arc<Authority>>,
    origin: Origin,
    Path(alias): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = client_request_id(query.as_deref(), &headers);
    match start(&authority, &origin, &alias, &headers, &body).await {
        Ok(response) => response,
        Err(e) => {
            tracing::info!(tenant = %alias, code = e.code, "device authorization refused");
            e.with_correlation_id(request_id).into_response()
        }
    }
}

async fn start(
    authority: &Authority,
    origin: &Origin,
    alias: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let tenant = origin.tenant(authority, alias)?;
    if !is_form(headers) {
        return Err(OAuthError::new(
            OAuthErrorKind::InvalidRequest,
            900144,
            "The device authorization request must be application/x-www-form-urlencoded",
        ));
    }
    let form = parse_form(body)?;
    let field = |name: &str| form.get(name).map(|v| v.as_ref()).filter(|v: &&str| !v.is_empty());
    let client_id = field("client_id").ok_or_else(|| missing("client_id"))?;
    let snapshot = authority.snapshot();
    let app = client_auth::find_client(&snapshot, &tenant, client_id).map_err(|e| {
        authority
            .config()
            .profile
            .client_refusal(e, &tenant.tenant.name, client_id)
    })?;
    let scopes = scopes::parse(&snapshot, tenant.tenant.id, field("scope").unwrap_or_default(), false)?;
    let started = authority
        .start_device_authorization(&tenant, app.app.app_id, scopes, authority.now())
        .await
        .map_err(DeviceError::from)?;
    let verification_uri = format!("{}{}", origin.base(authority), verify_path(&tenant.tenant.name));
    let message = format!(
        "To sign in, use a web browser to open the page {verification_uri} and enter the code {} to authenticate.",
        started.user_code
    );
    let mut response = axum::Json(json!({
        "user_code": started.user_code,
        "device_code": started.device_code,
        "verification_uri": verification_uri,
        "expires_in": started.expires_in,
        "interval": started.interval,
        "message": message,
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    Ok(response)
}

/// Where the verification page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStep {
    /// Enter the code.
    Code,
    /// Sign in, to answer the code.
    SignIn,
    /// "Continue as ...?": allow or deny.
    Confirm,
    /// Answered.
    Done,
}

/// The verification page of the device authorization grant, at one of its steps.
#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage {
    /// The CSP nonce of the inline style.
    pub csp_nonce: String,
    /// The step shown.
    pub step: DeviceStep,
    /// What went wrong with the last attempt.
    pub error: Option<String>,
    /// The page's path; its forms post there and below.
    pub action: String,
    /// The CSRF token.
    pub csrf: String,
    /// The sealed ticket of the code entered.
    pub ticket: String,
    /// The application that asked.
    pub app_name: String,
    /// The email of the signed-in user (the confirm step).
    pub signed_in_as: String,
    /// The email to prefill (the sign-in step).
    pub email: String,
    /// Whether the answer was to allow (the done step).
    pub approved: bool,
}

/// What a step of the page shows, besides what every step carries.
struct View<'a> {
    step: DeviceStep,
    error: Option<String>,
    ticket: Option<&'a DeviceTicket>,
    session: Option<&'a Session>,
    email: String,
    approved: bool,
    /// A session just started, whose cookie to set.
    new_session: Option<String>,
}

impl<'a> View<'a> {
    fn new(step: DeviceStep) -> Self {
        Self {
            step,
            error: None,
            ticket: None,
            session: None,
            email: String::new(),
            approved: false,
            new_session: None,
        }
    }

    fn error(mut self, message: impl Into<String>) -> Self {
        self.error = Some(message.into());
        self
    }

    fn ticket(mut self, ticket: &'a DeviceTicket) -> Self {
        self.ticket = Some(ticket);
        self
    }

    /// Renders the step with the CSRF cookie (if new) and the session cookie (if new). Its
    /// forms post here only.
    fn render(
        self,
        authority: &Authority,
        tenant: &TenantEntry,
        headers: &HeaderMap,
        status: StatusCode,
    ) -> PageResult {
        let app_name = match self.ticket {
            Some(ticket) => authority
                .snapshot()
                .app_in_tenant(tenant.tenant.id, ticket.client_id)
                .map(|app| app.app.display_name.clone())
                .ok_or(PageError::ApplicationGone)?,
            None => String::new(),
        };
        let ticket = match self.ticket {
            Some(ticket) => ticket.seal(&authority.master)?,
            None => String::new(),
        };
        let csrf = Csrf::of(headers);
        let csp_nonce = pages::random_token(16);
        let page = DevicePage {
            csp_nonce: csp_nonce.clone(),
            step: self.step,
            error: self.error,
            action: verify_path(&tenant.tenant.id.to_string()),
            csrf: csrf.token(&authority.master),
            ticket,
            app_name,
            signed_in_as: self.session.map(|s| s.user.email.clone()).unwrap_or_default(),
            email: self.email,
            approved: self.approved,
        };
        let mut response = pages::html(status, &page, &csp_nonce, None);
        if let Some(cookie) = csrf.set_cookie() {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        if let Some(handle) = self.new_session {
            let name = pages::session_cookie_name(tenant.tenant.id);
            response
                .headers_mut()
                .append(header::SET_COOKIE, pages::set_cookie(&name, &handle, None));
        }
        Ok(response)
    }
}

/// Reads one of the page's forms: checks it is a form and its CSRF token.
fn read_form(authority: &Authority, headers: &HeaderMap, body: &[u8]) -> PageResult<Parameters> {
    if !is_form(headers) {
        return Err(PageError::FormNotAForm);
    }
    let form = parameters(body)?;
    if !pages::csrf_ok(&authority.master, headers, form.get("csrf").map(String::as_str)) {
        return Err(PageError::Csrf);
    }
    Ok(form)
}

/// The ticket a form carries, if it is still good.
fn open_ticket(authority: &Authority, tenant: &TenantEntry, form: &Parameters) -> Option<DeviceTicket> {
    let sealed = form.get("ticket")?;
    DeviceTicket::open(&authority.master, tenant.tenant.id, sealed, authority.now())
}

/// The page for a form whose ticket is gone: enter the code again.
fn expired(authority: &Authority, tenant: &TenantEntry, headers: &HeaderMap) -> PageResult {
    View::new(DeviceStep::Code)
        .error("The code has expired. Ask the application for a new one.")
        .render(authority, tenant, headers, StatusCode::BAD_REQUEST)
}

/// `GET /{tenant}/oauth2/v2.0/devicecode/verify`.
pub(crate) async fn show_verify(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    headers: HeaderMap,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    View::new(DeviceStep::Code).render(&authority, &tenant, &headers, StatusCode::OK)
}

/// `POST /{tenant}/oauth2/v2.0/devicecode/verify`.
pub(crate) async fn enter_code(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let form = read_form(&authority, &headers, &body)?;
    let code = form.get("code").map(String::as_str).unwrap_or_default();
    let ticket = match authority
        .enter_user_code(tenant.tenant.id, code, address, authority.now())
        .await
    {
        Ok(ticket) => ticket,
        Err(DeviceError::Server(e)) => return Err(PageError::Server(e)),
        Err(e) => {
            let status = match e {
                DeviceError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_REQUEST,
            };
            return View::new(DeviceStep::Code)
                .error(e.to_string())
                .render(&authority, &tenant, &headers, status);
        }
    };
    let session = current_session(&authority, tenant.tenant.id, &headers).await;
    let mut view = View::new(if session.is_some() {
        DeviceStep::Confirm
    } else {
        DeviceStep::SignIn
    })
    .ticket(&ticket);
    view.session = session.as_ref();
    view.render(&authority, &tenant, &headers, StatusCode::OK)
}

/// `POST /{tenant}/oauth2/v2.0/devicecode/verify/signin`.
pub(crate) async fn sign_in(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let form = read_form(&authority, &headers, &body)?;
    let Some(ticket) = open_ticket(&authority, &tenant, &form) else {
        return expired(&authority, &tenant, &headers);
    };
    let email = form.get("email").map(|e| e.trim()).unwrap_or_default().to_owned();
    let password = Zeroizing::new(form.get("password").cloned().unwrap_or_default());
    let user = match authority.sign_in(tenant.tenant.id, &email, password, address).await {
        Ok(user) => user,
        Err(e) => {
            let (status, message) = refusal_status(e)?;
            let mut view = View::new(DeviceStep::SignIn).ticket(&ticket).error(message);
            view.email = email;
            return view.render(&authority, &tenant, &headers, status);
        }
    };
    let now = authority.now();
    let cookie_name = pages::session_cookie_name(tenant.tenant.id);
    if let Some(old) = pages::cookie(&headers, &cookie_name)
        && let Err(e) = authority.end_session(tenant.tenant.id, old, now).await
    {
        tracing::warn!(error = %e, "the previous session could not be ended");
    }
    let (handle, session) = authority.start_session(&user, ticket.client_id, now).await?;
    let mut view = View::new(DeviceStep::Confirm).ticket(&ticket);
    view.session = Some(&session);
    view.new_session = Some(handle);
    view.render(&authority, &tenant, &headers, StatusCode::OK)
}

/// `POST /{tenant}/oauth2/v2.0/devicecode/verify/decide`.
pub(crate) async fn decide(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let form = read_form(&authority, &headers, &body)?;
    let Some(ticket) = open_ticket(&authority, &tenant, &form) else {
        return expired(&authority, &tenant, &headers);
    };
    let Some(session) = current_session(&authority, tenant.tenant.id, &headers).await else {
        return View::new(DeviceStep::SignIn)
            .ticket(&ticket)
            .error("Sign in to continue.")
            .render(&authority, &tenant, &headers, StatusCode::BAD_REQUEST);
    };
    let approved = match form.get("decision").map(String::as_str) {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            let mut view = View::new(DeviceStep::Confirm)
                .ticket(&ticket)
                .error("Choose Allow or Deny.");
            view.session = Some(&session);
            return view.render(&authority, &tenant, &headers, StatusCode::BAD_REQUEST);
        }
    };
    match authority
        .answer_device_code(&ticket, &session, approved, authority.now())
        .await
    {
        Ok(()) => {
            let mut view = View::new(DeviceStep::Done).ticket(&ticket);
            view.approved = approved;
            view.session = Some(&session);
            view.render(&authority, &tenant, &headers, StatusCode::OK)
        }
        Err(DeviceError::Server(e)) => Err(PageError::Server(e)),
        Err(e) => View::new(DeviceStep::Code).error(e.to_string()).render(
            &authority,
            &tenant,
            &headers,
            StatusCode::BAD_REQUEST,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_others_chose() {
        let page = DevicePage {
            csp_nonce: "n".into(),
            step: DeviceStep::Confirm,
            error: Some("bad <i>".into()),
            action: "/t/oauth2/v2.0/devicecode/verify".into(),
            csrf: "c".into(),
            ticket: "t\"><script>".into(),
            app_name: "<script>alert(1)</script>".into(),
            signed_in_as: "a<b>@example.com".into(),
            email: String::new(),
            approved: false,
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert(1)"), "{html}");
        assert!(!html.contains("t\"><script>"), "{html}");
        assert!(!html.contains("a<b>@"), "{html}");
        assert!(
            html.contains(r#"value="allow""#) && html.contains(r#"value="deny""#),
            "{html}"
        );
    }
}
