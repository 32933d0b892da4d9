//! The customer sign-in flow over HTTP: the authorization endpoint and the hosted sign-in and
//! sign-up pages. The decisions are the domain's ([`authorize::check`], [`Authority::sign_in`],
//! [`Authority::sign_up`]); here they become pages, redirects and cookies.
//!
//! | route | what |
//! |---|---|
//! | `GET, POST /{tenant}/oauth2/v2.0/authorize` | checks the request; with a live session answers at once, else shows sign-in (or sign-up for `prompt=create`) |
//! | `GET /{tenant}/oauth2/v2.0/authorize/signin?request=` | the sign-in page again (the sign-up page links to it) |
//! | `POST /{tenant}/oauth2/v2.0/authorize/signin` | email and password; starts the session and answers the application |
//! | `GET /{tenant}/oauth2/v2.0/authorize/signup?request=` | the sign-up page |
//! | `POST /{tenant}/oauth2/v2.0/authorize/signup` | creates the account, then as sign-in; with mail configured, mails a code and shows the "enter the code" page |
//! | `POST /{tenant}/oauth2/v2.0/authorize/signup/verify` | the code: creates the account, then as sign-in |
//!
//! The pending request travels sealed ([`PendingRequest::seal`]); every form carries a CSRF
//! token bound to a cookie ([`pages::csrf_ok`]). A sign-up waiting for its code travels sealed
//! too ([`crate::sign_up_code::PendingSignUp::seal`]).

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zeroize::Zeroizing;

use super::is_form;
use super::pages::{self, Csrf, PageError, SignInPage, SignUpPage, VerifyEmailPage};
use crate::authority::Authority;
use crate::authorize::{self, AuthorizeError, Parameters, PendingRequest, Prompt};
use crate::directory::{AppEntry, TenantEntry};
use crate::grants::Session;
use crate::oauth_error::{OAuthError, OAuthErrorKind};
use crate::sign_up::SignUpStep;
use crate::sign_up_code::CODE_LIFETIME_SECONDS;
use crate::signin::{SignInError, SignUp};

/// What the sign-in flow's handlers return.
pub(crate) type PageResult<T = Response> = Result<T, PageError>;

/// The client's address, when the server records it (`ConnectInfo`); used for throttling.
/// Behind a trusted proxy, the address it forwards ([`crate::forwarded`]).
pub(crate) struct ClientAddress(pub(crate) Option<std::net::IpAddr>);

impl FromRequestParts<Arc<Authority>> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, authority: &Arc<Authority>) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(Self(None));
        };
        let proxies = &authority.config().trusted_proxies;
        if proxies.is_empty() {
            return Ok(Self(Some(peer.ip())));
        }
        let values = |name| parts.headers.get_all(name).into_iter().map(|v| v.as_bytes());
        Ok(Self(Some(proxies.client(
            peer.ip(),
            values("x-forwarded-for"),
            values("forwarded"),
        ))))
    }
}

/// The parameters of a request to an endpoint that takes them either way (the authorization and
/// logout endpoints), still URL-encoded: the query of a GET, the body of a POST. `None` for a
/// POST whose body is not an HTML form.
pub(crate) struct Sent(pub(crate) Option<Bytes>);

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

/// The tenant of the page's address.
pub(crate) fn tenant(authority: &Authority, alias: &str) -> PageResult<Arc<TenantEntry>> {
    authority
        .snapshot()
        .tenant(alias)
        .cloned()
        .ok_or_else(|| OAuthError::tenant_not_found(alias, "the address").into())
}

/// Reads a query string or a form.
pub(crate) fn parameters(encoded: &[u8]) -> PageResult<Parameters> {
    authorize::parse_parameters(encoded).map_err(|e| PageError::OAuth(e.into()))
}

/// The session of the browser in this tenant, if any.
pub(crate) async fn current_session(
    authority: &Authority,
    tenant_id: uuid::Uuid,
    headers: &HeaderMap,
) -> Option<Session> {
    let handle = pages::cookie(headers, &pages::session_cookie_name(tenant_id))?;
    match authority.session(tenant_id, handle, authority.now()).await {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(error = %e, "session lookup failed");
            None
        }
    }
}

/// `GET, POST /{tenant}/oauth2/v2.0/authorize`.
pub(crate) async fn authorize_endpoint(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    headers: HeaderMap,
    Sent(encoded): Sent,
) -> PageResult {
    let encoded = encoded.ok_or(PageError::RequestNotAForm)?;
    let tenant = tenant(&authority, &alias)?;
    let parameters = parameters(&encoded)?;
    let now = authority.now();
    let (app, pending) = match authorize::check(&authority.snapshot(), &tenant, &parameters, now) {
        Ok(checked) => checked,
        Err(AuthorizeError::Page(e)) => return Err(PageError::OAuth(e.into())),
        Err(AuthorizeError::Redirect(target, e)) => return Ok(pages::respond_error(&target, &e.into())),
    };
    // A session for another account than the hint does not count.
    let session = current_session(&authority, tenant.tenant.id, &headers)
        .await
        .filter(|s| {
            pending
                .login_hint
                .as_deref()
                .is_none_or(|hint| hint.eq_ignore_ascii_case(&s.user.email))
        });
    let form = Form {
        authority: &authority,
        app: &app,
        pending: &pending,
        headers: &headers,
    };
    let email = pending.login_hint.clone().unwrap_or_default();
    match (pending.prompt, session) {
        (Prompt::None, None) => Ok(pages::respond_error(
            &pending.target,
            &OAuthError::new(
                OAuthErrorKind::LoginRequired,
                50058,
                "A silent sign-in request was sent but no user is signed in",
            ),
        )),
        (Prompt::None | Prompt::Default, Some(session)) => complete(&authority, &pending, &session, None).await,
        (Prompt::Create, _) if authority.config().sign_up => form.sign_up(StatusCode::OK, None, &email, ""),
        (_, session) => form.sign_in(StatusCode::OK, None, &email, session.map(|s| s.user.display_name)),
    }
}

/// Answers the application: a code for the session, by the request's response mode. With a
/// new session, sets its cookie.
async fn complete(
    authority: &Authority,
    pending: &PendingRequest,
    session: &Session,
    new_session: Option<&str>,
) -> PageResult {
    let code = authority.issue_code(pending, session, authority.now()).await?;
    let mut response = pages::respond(&pending.target, &[("code", &code)]);
    if let Some(handle) = new_session {
        let name = pages::session_cookie_name(pending.tenant_id);
        response
            .headers_mut()
            .append(header::SET_COOKIE, pages::set_cookie(&name, handle, None));
    }
    Ok(response)
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

/// A page with a form for a pending request of an application, to a browser.
struct Form<'a> {
    authority: &'a Authority,
    app: &'a AppEntry,
    pending: &'a PendingRequest,
    headers: &'a HeaderMap,
}

impl Form<'_> {
    /// Renders a page built by `page` from the fields every such form carries, and sets the
    /// CSRF cookie if the browser has none yet. Its form may post here and be sent on to the
    /// application's origin, nowhere else (CSP `form-action`).
    fn render<P: Template>(&self, status: StatusCode, page: impl FnOnce(FormFields) -> P) -> PageResult {
        let sealed = self.pending.seal(&self.authority.master)?;
        let csrf = Csrf::of(self.headers);
        let csp_nonce = pages::random_token(16);
        let page = page(FormFields {
            csp_nonce: csp_nonce.clone(),
            base: format!("/{}/oauth2/v2.0/authorize", self.pending.tenant_id),
            sealed,
            csrf: csrf.token(&self.authority.master),
        });
        let form_action = self.pending.target.origin();
        let mut response = pages::html(status, &page, &csp_nonce, form_action.as_deref());
        if let Some(cookie) = csrf.set_cookie() {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        Ok(response)
    }

    /// The sign-in page; `signed_in_as` for `prompt=login` over a session.
    fn sign_in(
        &self,
        status: StatusCode,
        error: Option<String>,
        email: &str,
        signed_in_as: Option<String>,
    ) -> PageResult {
        let sign_up = self.authority.config().sign_up;
        self.render(status, |form| SignInPage {
            app_name: self.app.app.display_name.clone(),
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

    /// The sign-up page.
    fn sign_up(&self, status: StatusCode, error: Option<String>, email: &str, display_name: &str) -> PageResult {
        self.render(status, |form| SignUpPage {
            app_name: self.app.app.display_name.clone(),
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

    /// The "enter the code" page of a sign-up whose code went to `email`.
    fn verify_email(&self, status: StatusCode, error: Option<String>, sealed_sign_up: &str, email: &str) -> PageResult {
        self.render(status, |form| VerifyEmailPage {
            app_name: self.app.app.display_name.clone(),
            error,
            action: format!("{}/signup/verify", form.base),
            signup_url: format!("{}/signup?request={}", form.base, form.sealed),
            request: form.sealed,
            csrf: form.csrf,
            signup: sealed_sign_up.to_owned(),
            email: email.to_owned(),
            minutes: CODE_LIFETIME_SECONDS / 60,
            csp_nonce: form.csp_nonce,
        })
    }
}

/// The pending request a page carries, and its application, still registered with the same
/// redirect URI (it may have changed while the page was open).
fn reopen(
    authority: &Authority,
    tenant: &TenantEntry,
    sealed: Option<&str>,
) -> PageResult<(Arc<AppEntry>, PendingRequest)> {
    let pending = sealed
        .and_then(|s| PendingRequest::open(&authority.master, tenant.tenant.id, s, authority.now()))
        .ok_or(PageError::Expired)?;
    let snapshot = authority.snapshot();
    let app = snapshot
        .app_in_tenant(tenant.tenant.id, pending.client_id)
        .filter(|app| authorize::redirect_uri_registered(app, &pending.target.uri))
        .cloned()
        .ok_or(PageError::ApplicationGone)?;
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
        return Err(PageError::FormNotAForm);
    }
    let form = parameters(body)?;
    if !pages::csrf_ok(&authority.master, headers, form.get("csrf").map(String::as_str)) {
        return Err(PageError::Csrf);
    }
    let (app, pending) = reopen(authority, tenant, form.get("request").map(String::as_str))?;
    Ok((form, app, pending))
}

/// `GET /{tenant}/oauth2/v2.0/authorize/signin?request=`.
pub(crate) async fn show_signin(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let query = parameters(query.unwrap_or_default().as_bytes())?;
    let (app, pending) = reopen(&authority, &tenant, query.get("request").map(String::as_str))?;
    let email = pending.login_hint.clone().unwrap_or_default();
    let form = Form {
        authority: &authority,
        app: &app,
        pending: &pending,
        headers: &headers,
    };
    form.sign_in(StatusCode::OK, None, &email, None)
}

/// `GET /{tenant}/oauth2/v2.0/authorize/signup?request=`.
pub(crate) async fn show_signup(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let query = parameters(query.unwrap_or_default().as_bytes())?;
    let (app, pending) = reopen(&authority, &tenant, query.get("request").map(String::as_str))?;
    if !authority.config().sign_up {
        return Err(PageError::SignUpOff);
    }
    let email = pending.login_hint.clone().unwrap_or_default();
    let form = Form {
        authority: &authority,
        app: &app,
        pending: &pending,
        headers: &headers,
    };
    form.sign_up(StatusCode::OK, None, &email, "")
}

/// The status of the form shown again after a refused sign-in or sign-up; an error page for
/// what the form cannot fix.
pub(crate) fn refusal_status(e: SignInError) -> PageResult<(StatusCode, String)> {
    let status = match e {
        SignInError::SignUpOff => return Err(PageError::SignUpOff),
        SignInError::Server(e) => return Err(PageError::Server(e)),
        SignInError::Throttled(_) | SignInError::SignUpThrottled(_) | SignInError::TooManyCodes => {
            StatusCode::TOO_MANY_REQUESTS
        }
        SignInError::MailNotSent => StatusCode::SERVICE_UNAVAILABLE,
        SignInError::Disabled => StatusCode::FORBIDDEN,
        SignInError::EmailTaken => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    Ok((status, e.to_string()))
}

/// `POST /{tenant}/oauth2/v2.0/authorize/signin`.
pub(crate) async fn signin(
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
    match authority.sign_in(tenant.tenant.id, &email, password, address).await {
        Ok(user) => start(&authority, &pending, &user, &headers).await,
        Err(e) => {
            let (status, message) = refusal_status(e)?;
            let page = Form {
                authority: &authority,
                app: &app,
                pending: &pending,
                headers: &headers,
            };
            page.sign_in(status, Some(message), &email, None)
        }
    }
}

/// Starts a session for a user who just proved who they are, and answers the application.
/// A session the browser had before (`prompt=login`, another account) ends.
async fn start(
    authority: &Authority,
    pending: &PendingRequest,
    user: &keyward_store::User,
    headers: &HeaderMap,
) -> PageResult {
    let now = authority.now();
    if let Some(old) = pages::cookie(headers, &pages::session_cookie_name(pending.tenant_id))
        && let Err(e) = authority.end_session(pending.tenant_id, old, now).await
    {
        tracing::warn!(error = %e, "the previous session could not be ended");
    }
    let (handle, session) = authority
        .start_session(user, pending.client_id, authority.now())
        .await?;
    complete(authority, pending, &session, Some(&handle)).await
}

/// `POST /{tenant}/oauth2/v2.0/authorize/signup`.
pub(crate) async fn signup(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let (form, app, pending) = read_form(&authority, &tenant, &headers, &body)?;
    let email = form.get("email").map(|e| e.trim()).unwrap_or_default().to_owned();
    let display_name = form
        .get("display_name")
        .map(|n| n.trim())
        .unwrap_or_default()
        .to_owned();
    let sign_up = SignUp {
        email: &email,
        display_name: &display_name,
        password: Zeroizing::new(form.get("password").cloned().unwrap_or_default()),
    };
    let page = Form {
        authority: &authority,
        app: &app,
        pending: &pending,
        headers: &headers,
    };
    match authority.start_sign_up(tenant.tenant.id, sign_up, address).await {
        Ok(SignUpStep::Created(user)) => start(&authority, &pending, &user, &headers).await,
        Ok(SignUpStep::CodeSent { sealed, email }) => page.verify_email(StatusCode::OK, None, &sealed, &email),
        Err(e) => {
            let (status, message) = refusal_status(e)?;
            page.sign_up(status, Some(message), &email, &display_name)
        }
    }
}

/// `POST /{tenant}/oauth2/v2.0/authorize/signup/verify`.
pub(crate) async fn verify_signup(
    State(authority): State<Arc<Authority>>,
    Path(alias): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let tenant = tenant(&authority, &alias)?;
    let (form, app, pending) = read_form(&authority, &tenant, &headers, &body)?;
    let sealed = form.get("signup").map(String::as_str).unwrap_or_default();
    let code = form.get("code").map(|c| c.trim()).unwrap_or_default();
    // Shown again on the page only; the address the account gets is the sealed one.
    let email = form.get("email").map(|e| e.trim()).unwrap_or_default();
    let page = Form {
        authority: &authority,
        app: &app,
        pending: &pending,
        headers: &headers,
    };
    match authority.verify_sign_up(tenant.tenant.id, sealed, code).await {
        Ok(user) => start(&authority, &pending, &user, &headers).await,
        Err(e @ SignInError::WrongCode(_)) => {
            let (status, message) = refusal_status(e)?;
            page.verify_email(status, Some(message), sealed, email)
        }
        Err(e @ (SignInError::CodeUsed | SignInError::EmailTaken)) => {
            let (status, message) = refusal_status(e)?;
            page.sign_in(status, Some(message), email, None)
        }
        Err(e) => {
            let (status, message) = refusal_status(e)?;
            page.sign_up(status, Some(message), email, "")
        }
    }
}
