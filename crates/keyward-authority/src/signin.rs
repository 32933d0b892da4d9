//! The customer sign-in flow over HTTP: the authorization endpoint, the hosted sign-in and
//! sign-up pages, and the end-session (logout) endpoint.
//!
//! | route | what |
//! |---|---|
//! | `GET, POST /{tenant}/oauth2/v2.0/authorize` | checks the request; with a live session answers at once, else shows sign-in (or sign-up for `prompt=create`) |
//! | `GET /{tenant}/oauth2/v2.0/authorize/signin?request=` | the sign-in page again (the sign-up page links to it) |
//! | `POST /{tenant}/oauth2/v2.0/authorize/signin` | email and password; starts the session and answers the application |
//! | `GET /{tenant}/oauth2/v2.0/authorize/signup?request=` | the sign-up page |
//! | `POST /{tenant}/oauth2/v2.0/authorize/signup` | creates the account, then as sign-in |
//! | `GET, POST /{tenant}/oauth2/v2.0/logout` | ends the session; returns only to a registered redirect URI |
//!
//! The pending request travels sealed ([`PendingRequest::seal`]); every form carries a CSRF
//! token bound to a cookie ([`pages::csrf_ok`]); failed sign-ins are throttled per account and
//! per address, with one answer for a wrong password and an unknown account.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keyward_jose::{Algorithm, Jws};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::authority::Authority;
use crate::authorize::{self, AuthorizeError, Parameters, PendingRequest, Prompt};
use crate::directory::{AppEntry, TenantEntry};
use crate::error::Error;
use crate::grants::Session;
use crate::oauth_error::{OAuthError, OAuthErrorKind};
use crate::pages::{self, Csrf, SignInPage, SignUpPage, SignedOutPage};
use crate::throttle::Attempt;
use crate::users::{self, NewUser};

/// The largest sign-in form or authorization request body read.
pub const MAX_FORM: usize = 64 * 1024;

pub(crate) fn router() -> Router<Arc<Authority>> {
    Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize_endpoint).post(authorize_endpoint),
        )
        .route("/{tenant}/oauth2/v2.0/authorize/signin", get(show_signin).post(signin))
        .route("/{tenant}/oauth2/v2.0/authorize/signup", get(show_signup).post(signup))
        .route(
            "/{tenant}/oauth2/v2.0/logout",
            get(logout_endpoint).post(logout_endpoint),
        )
        .layer(DefaultBodyLimit::max(MAX_FORM))
}

/// A response that ends a request early: an error page, usually.
pub(crate) struct Stop(Box<Response>);

impl From<Response> for Stop {
    fn from(response: Response) -> Self {
        Self(Box::new(response))
    }
}

impl IntoResponse for Stop {
    fn into_response(self) -> Response {
        *self.0
    }
}

type PageResult<T = Response> = Result<T, Stop>;

/// The client's address, when the server records it (`ConnectInfo`); used for throttling.
pub struct ClientAddress(Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ))
    }
}

/// The parameters of a request to an endpoint that takes them either way (the authorization and
/// logout endpoints), still URL-encoded: the query of a GET, the body of a POST. `None` for a
/// POST whose body is not an HTML form.
struct Sent(Option<Bytes>);

impl<S: Send + Sync> FromRequest<S> for Sent {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if request.method() != Method::POST {
            let query = request.uri().query().unwrap_or_default();
            return Ok(Self(Some(Bytes::copy_from_slice(query.as_bytes()))));
        }
        let form = is_form(request.headers());
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(form.then_some(body)))
    }
}

fn tenant(authority: &Authority, alias: &str) -> PageResult<Arc<TenantEntry>> {
    authority.snapshot().tenant(alias).cloned().ok_or_else(|| {
        Stop::from(pages::oauth_error_page(&OAuthError::tenant_not_found(
            alias,
            "the address",
        )))
    })
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

fn parameters(encoded: &[u8]) -> PageResult<Parameters> {
    authorize::parse_parameters(encoded).map_err(|e| pages::oauth_error_page(&e).into())
}

fn internal(e: &Error) -> Response {
    tracing::error!(error = %e, "sign-in failed on the server");
    pages::error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The sign-in could not be completed because of a problem on the server.",
        None,
    )
}

/// The session of the browser in this tenant, if any.
async fn current_session(authority: &Authority, tenant_id: uuid::Uuid, headers: &HeaderMap) -> Option<Session> {
    let handle = pages::cookie(headers, &pages::session_cookie_name(tenant_id))?;
    match authority.session(tenant_id, handle, OffsetDateTime::now_utc()).await {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(error = %e, "session lookup failed");
            None
        }
    }
}

async fn authorize_endpoint(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    headers: HeaderMap,
    Sent(encoded): Sent,
) -> PageResult {
    let Some(encoded) = encoded else {
        return Ok(pages::error_page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Cannot sign in",
            "The authorization request must be sent as a query string or an HTML form.",
            None,
        ));
    };
    authorize(&authority, &alias, &encoded, &headers).await
}

async fn authorize(authority: &Authority, alias: &str, encoded: &[u8], headers: &HeaderMap) -> PageResult {
    let tenant = tenant(authority, alias)?;
    let parameters = parameters(encoded)?;
    let now = OffsetDateTime::now_utc();
    let (app, pending) = match authorize::check(&authority.snapshot(), &tenant, &parameters, now) {
        Ok(checked) => checked,
        Err(AuthorizeError::Page(e)) => return Ok(pages::oauth_error_page(&e)),
        Err(AuthorizeError::Redirect(target, e)) => return Ok(pages::respond_error(&target, &e)),
    };
    // A session for another account than the hint does not count.
    let session = current_session(authority, tenant.tenant.id, headers).await.filter(|s| {
        pending
            .login_hint
            .as_deref()
            .is_none_or(|hint| hint.eq_ignore_ascii_case(&s.user.email))
    });
    match (pending.prompt, session) {
        (Prompt::None, None) => Ok(pages::respond_error(
            &pending.target,
            &OAuthError::new(
                OAuthErrorKind::LoginRequired,
                50058,
                "A silent sign-in request was sent but no user is signed in",
            ),
        )),
        (Prompt::None | Prompt::Default, Some(session)) => Ok(complete(authority, &pending, &session, None).await),
        (Prompt::Create, _) if authority.config().sign_up => {
            let email = pending.login_hint.clone().unwrap_or_default();
            signup_page(authority, &app, &pending, headers, StatusCode::OK, None, &email, "")
        }
        (_, session) => {
            let email = pending.login_hint.clone().unwrap_or_default();
            let name = session.map(|s| s.user.display_name);
            signin_page(authority, &app, &pending, headers, StatusCode::OK, None, &email, name)
        }
    }
}

/// Answers the application: a code for the session, by the request's response mode. With a
/// new session, sets its cookie.
async fn complete(
    authority: &Authority,
    pending: &PendingRequest,
    session: &Session,
    new_session: Option<&str>,
) -> Response {
    let code = match authority.issue_code(pending, session, OffsetDateTime::now_utc()).await {
        Ok(code) => code,
        Err(e) => return internal(&e),
    };
    let mut response = pages::respond(&pending.target, &[("code", &code)]);
    if let Some(handle) = new_session {
        let name = pages::session_cookie_name(pending.tenant_id);
        response
            .headers_mut()
            .append(header::SET_COOKIE, pages::set_cookie(&name, handle, None));
    }
    response
}

/// What the sign-in and sign-up pages both carry in their form.
struct FormFields {
    /// The CSP nonce of the page's inline style.
    csp_nonce: String,
    /// The path the pages' actions are under: `/{tenant id}/oauth2/v2.0/authorize`.
    base: String,
    /// The sealed pending request.
    sealed: String,
    /// The CSRF token bound to the browser's cookie.
    csrf: String,
}

/// Renders a page with a form for the pending request, built by `page` from the fields every
/// such form carries, and sets the CSRF cookie if the browser has none yet. Its form may post
/// here and be sent on to the application's origin, nowhere else (CSP `form-action`).
fn form_page<P: Template>(
    authority: &Authority,
    pending: &PendingRequest,
    headers: &HeaderMap,
    status: StatusCode,
    page: impl FnOnce(FormFields) -> P,
) -> PageResult {
    let sealed = pending.seal(&authority.master).map_err(|e| Stop::from(internal(&e)))?;
    let csrf = Csrf::of(headers);
    let csp_nonce = pages::random_token(16);
    let page = page(FormFields {
        csp_nonce: csp_nonce.clone(),
        base: format!("/{}/oauth2/v2.0/authorize", pending.tenant_id),
        sealed,
        csrf: csrf.token(&authority.master),
    });
    let form_action = pending.target.origin();
    let mut response = pages::html(status, &page, &csp_nonce, form_action.as_deref());
    if let Some(cookie) = csrf.set_cookie() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[allow(clippy::too_many_arguments)]
fn signin_page(
    authority: &Authority,
    app: &AppEntry,
    pending: &PendingRequest,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
    email: &str,
    signed_in_as: Option<String>,
) -> PageResult {
    let sign_up = authority.config().sign_up;
    form_page(authority, pending, headers, status, |form| SignInPage {
        app_name: app.app.display_name.clone(),
        signed_in_as,
        error,
        action: format!("{}/signin", form.base),
        signup_url: sign_up.then(|| format!("{}/signup?request={}", form.base, form.sealed)),
        request: form.sealed,
        csrf: form.csrf,
        email: email.to_owned(),
        csp_nonce: form.csp_nonce,
    })
}

#[allow(clippy::too_many_arguments)]
fn signup_page(
    authority: &Authority,
    app: &AppEntry,
    pending: &PendingRequest,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
    email: &str,
    display_name: &str,
) -> PageResult {
    form_page(authority, pending, headers, status, |form| SignUpPage {
        app_name: app.app.display_name.clone(),
        error,
        action: format!("{}/signup", form.base),
        signin_url: format!("{}/signin?request={}", form.base, form.sealed),
        request: form.sealed,
        csrf: form.csrf,
        email: email.to_owned(),
        display_name: display_name.to_owned(),
        csp_nonce: form.csp_nonce,
    })
}

/// The pending request a page carries, and its application, still registered with the same
/// redirect URI (it may have changed while the page was open).
fn reopen(
    authority: &Authority,
    tenant: &TenantEntry,
    sealed: Option<&str>,
) -> PageResult<(Arc<AppEntry>, PendingRequest)> {
    let expired = || {
        Stop::from(pages::error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in page has expired",
            "The sign-in request is missing, damaged or more than an hour old. Go back to the application and sign in again.",
            None,
        ))
    };
    let pending = sealed
        .and_then(|s| PendingRequest::open(&authority.master, tenant.tenant.id, s, OffsetDateTime::now_utc()))
        .ok_or_else(expired)?;
    let snapshot = authority.snapshot();
    let app = snapshot
        .app_in_tenant(tenant.tenant.id, pending.client_id)
        .filter(|app| authorize::redirect_uri_registered(app, &pending.target.uri))
        .cloned()
        .ok_or_else(|| {
            Stop::from(pages::error_page(
                StatusCode::BAD_REQUEST,
                "Cannot sign in",
                "The application or its redirect URI is no longer registered.",
                None,
            ))
        })?;
    Ok((app, pending))
}

/// Reads a page's form: checks it is a form and its CSRF token, and reopens its request.
fn read_form(
    authority: &Authority,
    tenant: &TenantEntry,
    headers: &HeaderMap,
    body: &[u8],
) -> PageResult<(Parameters, Arc<AppEntry>, PendingRequest)> {
    if !is_form(headers) {
        return Err(Stop::from(pages::error_page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Cannot sign in",
            "The form must be sent as application/x-www-form-urlencoded.",
            None,
        )));
    }
    let form = parameters(body)?;
    if !pages::csrf_ok(&authority.master, headers, form.get("csrf").map(String::as_str)) {
        return Err(Stop::from(pages::error_page(
            StatusCode::FORBIDDEN,
            "This form cannot be accepted",
            "The form was not sent from this sign-in page, or your browser blocked its cookie. \
             Go back to the application and sign in again, with cookies allowed for this site.",
            None,
        )));
    }
    let (app, pending) = reopen(authority, tenant, form.get("request").map(String::as_str))?;
    Ok((form, app, pending))
}

async fn show_signin(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let query = parameters(query.unwrap_or_default().as_bytes())?;
    let (app, pending) = reopen(&authority, &tenant, query.get("request").map(String::as_str))?;
    let email = pending.login_hint.clone().unwrap_or_default();
    signin_page(&authority, &app, &pending, &headers, StatusCode::OK, None, &email, None)
}

async fn show_signup(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let query = parameters(query.unwrap_or_default().as_bytes())?;
    let (app, pending) = reopen(&authority, &tenant, query.get("request").map(String::as_str))?;
    if !authority.config().sign_up {
        return Ok(sign_up_off());
    }
    let email = pending.login_hint.clone().unwrap_or_default();
    signup_page(&authority, &app, &pending, &headers, StatusCode::OK, None, &email, "")
}

fn sign_up_off() -> Response {
    pages::error_page(
        StatusCode::NOT_FOUND,
        "Sign-up is off",
        "New accounts are created by an administrator here.",
        None,
    )
}

fn minutes(wait: std::time::Duration) -> u64 {
    wait.as_secs().div_ceil(60).max(1)
}

async fn signin(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let (form, app, pending) = read_form(&authority, &tenant, &headers, &body)?;
    let email = form.get("email").map(|e| e.trim()).unwrap_or_default().to_owned();
    let password = Zeroizing::new(form.get("password").cloned().unwrap_or_default());
    let again = |status: StatusCode, message: String| {
        signin_page(
            &authority,
            &app,
            &pending,
            &headers,
            status,
            Some(message),
            &email,
            None,
        )
    };
    if email.is_empty() || password.is_empty() {
        return again(
            StatusCode::BAD_REQUEST,
            "Enter your email address and your password.".into(),
        );
    }
    if email.len() > users::MAX_EMAIL_LEN || password.chars().count() > crate::password::MAX_PASSWORD_CHARS {
        return again(
            StatusCode::BAD_REQUEST,
            "Your email address or password is incorrect.".into(),
        );
    }
    let attempt = Attempt::new(tenant.tenant.id, &email, address);
    // Counted from now on, a failure unless it proves otherwise, even if the client goes away.
    let reservation = match authority.throttle.begin(&attempt, Instant::now()) {
        Ok(reservation) => reservation,
        Err(wait) => {
            return again(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed sign-in attempts. Wait {} minute(s), then try again.",
                    minutes(wait)
                ),
            );
        }
    };
    // Unknown accounts are checked against a dummy hash: same answer, same time.
    let user = match authority.user_by_email(tenant.tenant.id, &email).await {
        Ok(user) => Some(user),
        Err(Error::UserNotFound(_)) => None,
        Err(e) => {
            reservation.release();
            return Ok(internal(&e));
        }
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let matched = match authority.passwords.verify(password, hash).await {
        Ok(matched) => matched,
        Err(e) => {
            reservation.release();
            return Ok(internal(&e));
        }
    };
    let Some(user) = user.filter(|_| matched) else {
        reservation.failed();
        tracing::info!(tenant = %tenant.tenant.name, "sign-in refused: wrong email or password");
        return again(
            StatusCode::BAD_REQUEST,
            "Your email address or password is incorrect.".into(),
        );
    };
    if !user.enabled {
        reservation.release();
        return again(
            StatusCode::FORBIDDEN,
            "Your account is disabled. Contact the administrator of this application.".into(),
        );
    }
    reservation.succeeded();
    Ok(start(&authority, &pending, &user, &headers).await)
}

/// Starts a session for a user who just proved who they are, and answers the application.
/// A session the browser had before (`prompt=login`, another account) ends.
async fn start(
    authority: &Authority,
    pending: &PendingRequest,
    user: &keyward_store::User,
    headers: &HeaderMap,
) -> Response {
    let now = OffsetDateTime::now_utc();
    if let Some(old) = pages::cookie(headers, &pages::session_cookie_name(pending.tenant_id))
        && let Err(e) = authority.end_session(pending.tenant_id, old, now).await
    {
        tracing::warn!(error = %e, "the previous session could not be ended");
    }
    match authority
        .start_session(user, pending.client_id, OffsetDateTime::now_utc())
        .await
    {
        Ok((handle, session)) => complete(authority, pending, &session, Some(&handle)).await,
        Err(e) => internal(&e),
    }
}

async fn signup(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let (form, app, pending) = read_form(&authority, &tenant, &headers, &body)?;
    if !authority.config().sign_up {
        return Ok(sign_up_off());
    }
    let email = form.get("email").map(|e| e.trim()).unwrap_or_default().to_owned();
    let display_name = form
        .get("display_name")
        .map(|n| n.trim())
        .unwrap_or_default()
        .to_owned();
    let password = Zeroizing::new(form.get("password").cloned().unwrap_or_default());
    let again = |status: StatusCode, message: String| {
        signup_page(
            &authority,
            &app,
            &pending,
            &headers,
            status,
            Some(message),
            &email,
            &display_name,
        )
    };
    // Sign-up tells whether an email is taken: count that against the address like a failed
    // sign-in, so it cannot be used to list accounts quickly.
    let attempt = Attempt::from_address(address);
    if let Err(wait) = authority.throttle.check(&attempt, Instant::now()) {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts. Wait {} minute(s), then try again.", minutes(wait)),
        );
    }
    let new = NewUser {
        email: email.clone(),
        display_name: Some(display_name.clone()),
        password,
        enabled: true,
    };
    let user = match authority.create_user(tenant.tenant.id, new).await {
        Ok(user) => user,
        Err(Error::UserExists(_)) => {
            authority.throttle.failure(&attempt, Instant::now());
            return again(
                StatusCode::CONFLICT,
                "An account with this email address already exists. Sign in instead.".into(),
            );
        }
        Err(Error::Invalid(message)) => return again(StatusCode::BAD_REQUEST, message),
        Err(e) => return Ok(internal(&e)),
    };
    tracing::info!(tenant = %tenant.tenant.name, user = %user.id, "account created by sign-up");
    Ok(start(&authority, &pending, &user, &headers).await)
}

async fn logout_endpoint(
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
        if claims["iss"].as_str() != Some(tenant.issuer.as_str()) {
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
        Some(handle) => match authority
            .end_session(tenant_id, handle, OffsetDateTime::now_utc())
            .await
        {
            Ok(session) => session,
            Err(e) => return Ok(internal(&e)),
        },
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
