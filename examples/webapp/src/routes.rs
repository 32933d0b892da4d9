//! The routes of the article's sample (`/auth/signin`, `/auth/redirect`, `/users/id`,
//! `/auth/signout`), plus `/auth/signup` (the hosted sign-up page) and `/auth/refresh` (renew
//! the tokens now with the refresh token).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use keyward_client::ConfidentialClient;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::config::Config;
use crate::pages::{self, Claims, ErrorPage, Home};
use crate::session::{self, Sessions, SignedIn};

/// What every handler shares.
pub struct AppState {
    pub(crate) config: Config,
    pub(crate) client: ConfidentialClient,
    pub(crate) sessions: Sessions,
}

/// The app's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/auth/signin", get(sign_in))
        .route("/auth/signup", get(sign_up))
        .route("/auth/redirect", get(redirect))
        .route("/auth/refresh", post(refresh))
        .route("/auth/signout", get(sign_out))
        .route("/users/id", get(claims))
        .route("/healthz", get(|| async { "ok" }))
        .route("/favicon.ico", get(favicon))
        .route("/favicon.svg", get(favicon))
        .with_state(state)
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The app's icon (a key on the header's blue), for the browser's tab; an SVG at both names,
/// since browsers ask for `/favicon.ico` unless a page names another.
async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        pages::FAVICON,
    )
        .into_response()
}

/// A failure, rendered as an error page.
#[derive(Debug)]
pub enum AppError {
    /// The authority answered the sign-in with an error (`?error=...`).
    SignIn {
        /// `error`, e.g. `access_denied`.
        code: String,
        /// `error_description`.
        description: String,
    },
    /// The redirect carries a state this browser's session did not send (or no longer holds).
    UnknownState,
    /// The token endpoint, discovery or ID token validation failed.
    Client(keyward_client::Error),
    /// The session ended at the authority (the refresh token was refused).
    SessionEnded(keyward_client::Error),
    /// A renewed ID token names another user.
    OtherUser,
    /// The request is not one this app sends.
    BadRequest(&'static str),
    /// No randomness available for a session id.
    NoRandomness,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message, code) = match &self {
            Self::SignIn { code, description } => (
                StatusCode::BAD_REQUEST,
                "Sign-in did not complete",
                description.clone(),
                Some(code.as_str()),
            ),
            Self::UnknownState => (
                StatusCode::BAD_REQUEST,
                "Sign-in did not complete",
                "This sign-in was not started in this browser, or it took more than ten minutes. Sign in again."
                    .to_owned(),
                None,
            ),
            Self::Client(e) => (StatusCode::BAD_GATEWAY, "The authority refused", e.to_string(), None),
            Self::SessionEnded(e) => (
                StatusCode::UNAUTHORIZED,
                "Your session has ended",
                format!("The authority did not renew the tokens; sign in again. ({e})"),
                None,
            ),
            Self::OtherUser => (
                StatusCode::UNAUTHORIZED,
                "Your session has ended",
                "The renewed ID token names another user; sign in again.".to_owned(),
                None,
            ),
            Self::BadRequest(what) => (StatusCode::BAD_REQUEST, "Bad request", (*what).to_owned(), None),
            Self::NoRandomness => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "No randomness is available for a session.".to_owned(),
                None,
            ),
        };
        let code = match &self {
            Self::Client(e) | Self::SessionEnded(e) => e.aadsts_code().map(|c| format!("AADSTS{c}")),
            _ => code.map(str::to_owned),
        };
        pages::html(
            status,
            &ErrorPage {
                title,
                message: &message,
                code: code.as_deref(),
            },
        )
    }
}

impl From<keyward_client::Error> for AppError {
    fn from(e: keyward_client::Error) -> Self {
        Self::Client(e)
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(session::from_cookie_header)
        .map(str::to_owned)
}

fn session_cookie(state: &AppState, id: &str) -> HeaderValue {
    let secure = if state.config.redirect_uri.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{}={id}; Path=/; HttpOnly; SameSite=Lax{secure}",
        session::COOKIE
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_static("webapp_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

async fn home(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let user = session_id(&headers).and_then(|id| state.sessions.user(&id));
    pages::html(
        StatusCode::OK,
        &Home {
            name: user.map(|u| pages::display_name(&u.claims)),
            authority: &state.config.authority,
        },
    )
}

async fn sign_in(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, AppError> {
    start_sign_in(&state, &headers, None).await
}

async fn sign_up(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, AppError> {
    start_sign_in(&state, &headers, Some("create")).await
}

/// Sends the browser to the authority with a fresh state, nonce and PKCE challenge, kept in
/// the session.
async fn start_sign_in(state: &AppState, headers: &HeaderMap, prompt: Option<&str>) -> Result<Response, AppError> {
    let request = state
        .client
        .auth_code_url(&state.config.redirect_uri, &[], prompt)
        .await?;
    let (id, new) = match session_id(headers) {
        Some(id) => (id, false),
        None => (session::new_id().ok_or(AppError::NoRandomness)?, true),
    };
    let url = request.url.clone();
    state.sessions.add_pending(&id, request);
    let mut response = Redirect::to(&url).into_response();
    if new {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, session_cookie(state, &id));
    }
    Ok(response)
}

#[derive(Deserialize)]
struct RedirectQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The authority's answer: redeem the code (with the certificate), validate the ID token, and
/// start the signed-in session.
async fn redirect(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<RedirectQuery>,
) -> Result<Response, AppError> {
    let id = session_id(&headers).ok_or(AppError::UnknownState)?;
    let returned_state = query.state.as_deref().ok_or(AppError::BadRequest("no state"))?;
    let request = state
        .sessions
        .take_pending(&id, returned_state)
        .ok_or(AppError::UnknownState)?;
    if let Some(code) = query.error {
        return Err(AppError::SignIn {
            code: code.chars().take(100).collect(),
            description: query.error_description.unwrap_or_default().chars().take(1000).collect(),
        });
    }
    let code = query.code.ok_or(AppError::BadRequest("no code"))?;
    let tokens = state
        .client
        .acquire_token_by_code(&request, &code, returned_state)
        .await?;
    let claims = tokens
        .id_token_claims
        .ok_or(AppError::Client(keyward_client::Error::InvalidIdToken(
            "the token endpoint sent no ID token".into(),
        )))?;
    let now = OffsetDateTime::now_utc();
    let user = SignedIn {
        claims,
        id_token: tokens.id_token,
        refresh_token: tokens.refresh_token,
        access_expires: now + time::Duration::seconds(tokens.expires_in),
        signed_in_at: now,
        renewals: 0,
        last_renewed: None,
    };
    let new_id = state
        .sessions
        .sign_in(&id, session::new_id().ok_or(AppError::NoRandomness)?, user);
    let mut response = Redirect::to("/users/id").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, &new_id));
    Ok(response)
}

/// The claims page; tokens whose access token has expired are renewed first.
async fn claims(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, AppError> {
    let Some((id, user)) = session_id(&headers).and_then(|id| state.sessions.user(&id).map(|u| (id, u))) else {
        return Ok(Redirect::to("/auth/signin").into_response());
    };
    let user = if OffsetDateTime::now_utc() >= user.access_expires && user.refresh_token.is_some() {
        renew(&state, &id, &user).await?
    } else {
        user
    };
    Ok(pages::html(StatusCode::OK, &Claims::of(&user)))
}

/// Renews the tokens now, then shows the claims.
async fn refresh(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, AppError> {
    let Some((id, user)) = session_id(&headers).and_then(|id| state.sessions.user(&id).map(|u| (id, u))) else {
        return Ok(Redirect::to("/").into_response());
    };
    if user.refresh_token.is_none() {
        return Err(AppError::BadRequest("the authority gave no refresh token"));
    }
    renew(&state, &id, &user).await?;
    Ok(Redirect::to("/users/id").into_response())
}

/// Redeems the refresh token (with the certificate) and keeps what comes back; a refused
/// refresh token ends the session.
async fn renew(state: &AppState, id: &str, user: &SignedIn) -> Result<SignedIn, AppError> {
    let Some(refresh_token) = &user.refresh_token else {
        return Ok(user.clone());
    };
    let tokens = match state.client.acquire_token_by_refresh_token(refresh_token, &[]).await {
        Ok(tokens) => tokens,
        Err(e @ keyward_client::Error::Server(_)) => {
            state.sessions.end(id);
            return Err(AppError::SessionEnded(e));
        }
        Err(e) => return Err(AppError::Client(e)),
    };
    if let Some(claims) = &tokens.id_token_claims
        && claims["sub"] != user.claims["sub"]
    {
        state.sessions.end(id);
        return Err(AppError::OtherUser);
    }
    let now = OffsetDateTime::now_utc();
    state
        .sessions
        .update_user(id, |u| {
            if let Some(claims) = tokens.id_token_claims {
                u.claims = claims;
            }
            if tokens.id_token.is_some() {
                u.id_token = tokens.id_token;
            }
            if tokens.refresh_token.is_some() {
                u.refresh_token = tokens.refresh_token;
            }
            u.access_expires = now + time::Duration::seconds(tokens.expires_in);
            u.renewals += 1;
            u.last_renewed = Some(now);
        })
        .ok_or(AppError::UnknownState)
}

/// Ends the app's session, then the authority's (RP-initiated logout), which sends the browser
/// back to `POST_LOGOUT_REDIRECT_URI`.
async fn sign_out(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let user = session_id(&headers).and_then(|id| state.sessions.end(&id));
    let endpoint = match state.client.metadata().await {
        Ok(metadata) => metadata.end_session_endpoint.clone(),
        Err(_) => None,
    }
    .unwrap_or_else(|| format!("{}/oauth2/v2.0/logout", state.client.authority().url()));
    let mut response = match url::Url::parse(&endpoint) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("post_logout_redirect_uri", &state.config.post_logout_redirect_uri);
                query.append_pair("client_id", state.client.client_id());
                if let Some(id_token) = user.as_ref().and_then(|u| u.id_token.as_deref()) {
                    query.append_pair("id_token_hint", id_token);
                }
            }
            Redirect::to(url.as_str()).into_response()
        }
        Err(_) => Redirect::to("/").into_response(),
    };
    response.headers_mut().insert(header::SET_COOKIE, cleared_cookie());
    response
}
