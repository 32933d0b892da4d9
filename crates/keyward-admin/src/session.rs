//! Signing administrators in and out, and the session between.
//!
//! Sign-in is the authorization code flow with PKCE, against the tenant's own `/authorize`, as
//! the built-in public client [`ADMIN_CENTER_APP_ID`]: `/admin/signin` keeps the `state`, the
//! PKCE verifier and the page to return to in a short-lived sealed cookie and redirects to the
//! authority; `/admin/callback` checks the `state`, redeems the code in process exactly as the
//! token endpoint would for that client (single use, redirect URI, verifier), and starts a
//! session.
//!
//! The session is a row in the store (a grant of kind `admin_session`, so every server sharing
//! the database knows it and sign-out ends it everywhere) and a cookie: `__Host-`, `Secure`,
//! `HttpOnly`, `SameSite=Strict`, holding the row's handle and the time the session was last
//! used, sealed under the master key. The session ends after [`IDLE_TIMEOUT`] without a request
//! (the sealed time says so, and no one can forge a fresher one) and at the latest after
//! [`SESSION_LIFETIME`]. The cookie is re-sealed at most once a minute.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_authority::{ADMIN_CENTER_APP_ID, ADMIN_CENTER_CALLBACK, ADMIN_CENTER_SIGNED_OUT, CodeRedemption};
use keyward_pki::sealing::MasterKey;
use keyward_store::{Grant, GrantKind};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::AdminCenter;
use crate::error::AdminError;
use crate::forms::AdminForm;
use crate::pages::{self, Chrome, IntoPage};

/// The session cookie.
pub const SESSION_COOKIE: &str = "__Host-keyward-admin";
/// The cookie that carries a sign-in in progress (state, PKCE verifier, where to return).
pub const LOGIN_COOKIE: &str = "__Host-keyward-admin-login";
/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(15);
/// A session ends this long after sign-in, used or not.
pub const SESSION_LIFETIME: Duration = Duration::hours(8);
/// How long a sign-in may take between `/admin/signin` and the callback.
const LOGIN_LIFETIME: Duration = Duration::minutes(10);
/// The cookie's time is re-sealed when it is older than this.
const REFRESH_AFTER: Duration = Duration::minutes(1);

const SESSION_OWNER: &str = "keyward/admin-session/v1";
const LOGIN_OWNER: &str = "keyward/admin-login/v1";
const CSRF_OWNER: &str = "keyward/admin-csrf/v1";

/// What the session cookie holds, sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionCookie {
    /// The handle of the session's row (the store keeps only its hash).
    #[serde(rename = "h")]
    handle: String,
    /// When the session was last used (Unix seconds).
    #[serde(rename = "s")]
    last_seen: i64,
}

impl SessionCookie {
    /// The cookie of the request, if it opens under the master key and the session has not
    /// been idle for longer than [`IDLE_TIMEOUT`]. (Whether its row is live is for the caller.)
    pub fn of(center: &AdminCenter, headers: &HeaderMap, now: OffsetDateTime) -> Option<Self> {
        Self::open(&center.master, cookie(headers, SESSION_COOKIE)?, now)
    }

    /// A cookie's value opened under `master`, if it is not idle for longer than
    /// [`IDLE_TIMEOUT`] (nor from the future).
    fn open(master: &MasterKey, value: &str, now: OffsetDateTime) -> Option<Self> {
        let sealed = URL_SAFE_NO_PAD.decode(value).ok()?;
        let opened = master.open(SESSION_OWNER, &sealed).ok()?;
        let session: Self = serde_json::from_slice(&opened).ok()?;
        let idle = now.unix_timestamp() - session.last_seen;
        (0..=IDLE_TIMEOUT.whole_seconds()).contains(&idle).then_some(session)
    }

    /// The hash the store keeps the session's row under.
    pub fn id(&self) -> String {
        keyward_authority::handle_hash(&self.handle)
    }

    /// The `Set-Cookie` that moves the last-use time to `now`, when the cookie's is older
    /// than a minute.
    pub fn refreshed(&self, center: &AdminCenter, now: OffsetDateTime) -> Option<HeaderValue> {
        self.is_due(now).then(|| {
            let next = Self {
                handle: self.handle.clone(),
                last_seen: now.unix_timestamp(),
            };
            next.set_cookie(center)
        })
    }

    /// Whether the last-use time is old enough to be sealed anew.
    fn is_due(&self, now: OffsetDateTime) -> bool {
        now.unix_timestamp() - self.last_seen >= REFRESH_AFTER.whole_seconds()
    }

    fn set_cookie(&self, center: &AdminCenter) -> HeaderValue {
        strict_cookie(
            SESSION_COOKIE,
            &self.sealed(&center.master),
            Some(SESSION_LIFETIME.whole_seconds()),
        )
    }

    /// The cookie's value: the session sealed under `master`.
    fn sealed(&self, master: &MasterKey) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        master
            .seal(SESSION_OWNER, &json)
            .map(|sealed| URL_SAFE_NO_PAD.encode(sealed))
            .unwrap_or_default()
    }

    /// The CSRF token of this session's forms: the session's id sealed under the master key.
    pub fn csrf_token(&self, center: &AdminCenter) -> String {
        center
            .master
            .seal(CSRF_OWNER, self.id().as_bytes())
            .map(|sealed| URL_SAFE_NO_PAD.encode(sealed))
            .unwrap_or_default()
    }

    /// Whether `token` is this session's CSRF token (compared in constant time).
    pub fn csrf_ok(&self, center: &AdminCenter, token: &str) -> bool {
        let Ok(sealed) = URL_SAFE_NO_PAD.decode(token.trim()) else {
            return false;
        };
        let Ok(opened) = center.master.open(CSRF_OWNER, &sealed) else {
            return false;
        };
        aws_lc_rs::constant_time::verify_slices_are_equal(&opened, self.id().as_bytes()).is_ok()
    }
}

/// A sign-in in progress, sealed in [`LOGIN_COOKIE`].
#[derive(Serialize, Deserialize)]
struct Login {
    state: String,
    verifier: String,
    tenant: String,
    return_to: String,
    expires: i64,
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

/// A `__Host-` cookie sent only to this origin by first-party requests.
pub fn strict_cookie(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    cookie_value(name, value, "Strict", max_age)
}

fn cookie_value(name: &str, value: &str, same_site: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite={same_site}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("__Host-keyward-invalid=; Max-Age=0"))
}

/// A path of the admin center to return to after sign-in; anything else becomes `/admin/`
/// (no open redirect through `return_to`).
pub fn safe_return_path(path: &str) -> &str {
    let ok = path.starts_with("/admin/")
        && !path.contains("//")
        && !path.contains('\\')
        && path.bytes().all(|b| b.is_ascii_graphic());
    if ok { path } else { "/admin/" }
}

/// `/admin/signin` query: which tenant, and where to return.
#[derive(Deserialize)]
pub(crate) struct SignInQuery {
    tenant: Option<String>,
    return_to: Option<String>,
}

/// `GET /admin/signin`: starts the authorization code flow against the tenant's `/authorize`.
pub(crate) async fn sign_in(State(center): State<Arc<AdminCenter>>, Query(query): Query<SignInQuery>) -> Response {
    let snapshot = center.authority.snapshot();
    let tenant = match query.tenant.as_deref() {
        Some(alias) => snapshot.tenant(alias).cloned(),
        None => center.default_tenant(),
    };
    let Some(tenant) = tenant else {
        return AdminError::UnknownTenant.into_response();
    };
    let (Ok(state), Ok(verifier)) = (random_or_refuse(24), random_or_refuse(32)) else {
        return AdminError::NoRandomness.into_response();
    };
    let login = Login {
        state: state.clone(),
        verifier: verifier.clone(),
        tenant: tenant.tenant.name.clone(),
        return_to: safe_return_path(query.return_to.as_deref().unwrap_or("/admin/")).to_owned(),
        expires: (center.now() + LOGIN_LIFETIME).unix_timestamp(),
    };
    let sealed = serde_json::to_vec(&login)
        .ok()
        .and_then(|json| center.master.seal(LOGIN_OWNER, &json).ok())
        .map(|sealed| URL_SAFE_NO_PAD.encode(sealed))
        .unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &ADMIN_CENTER_APP_ID.to_string())
        .append_pair("response_type", "code")
        .append_pair(
            "redirect_uri",
            &format!("{}{ADMIN_CENTER_CALLBACK}", center.public_url()),
        )
        .append_pair("response_mode", "query")
        .append_pair("scope", "openid profile")
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let location = format!("/{}/oauth2/v2.0/authorize?{query}", tenant.tenant.name);
    // Lax, not Strict: the authority may answer at once from its own session, so the callback
    // can arrive in a redirect chain that a link from another site started.
    let login_cookie = cookie_value(LOGIN_COOKIE, &sealed, "Lax", Some(LOGIN_LIFETIME.whole_seconds()));
    ([(header::SET_COOKIE, login_cookie)], Redirect::to(&location)).into_response()
}

/// `/admin/callback` query: the authorization response.
#[derive(Deserialize)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /admin/callback`: the authorization response. Starts a session for an administrator;
/// a user without a directory role is told which role they need, and gets no session.
pub(crate) async fn callback(
    State(center): State<Arc<AdminCenter>>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, AdminError> {
    let now = center.now();
    let login: Login = cookie(&headers, LOGIN_COOKIE)
        .and_then(|value| URL_SAFE_NO_PAD.decode(value).ok())
        .and_then(|sealed| center.master.open(LOGIN_OWNER, &sealed).ok())
        .and_then(|json| serde_json::from_slice(&json).ok())
        .filter(|login: &Login| login.expires >= now.unix_timestamp())
        .ok_or(AdminError::SignInExpired)?;
    let state_ok = query.state.as_deref().is_some_and(|state| {
        aws_lc_rs::constant_time::verify_slices_are_equal(state.as_bytes(), login.state.as_bytes()).is_ok()
    });
    if !state_ok {
        return Err(AdminError::SignInExpired);
    }
    if let Some(error) = query.error {
        let description = query.error_description.unwrap_or_default();
        return Err(AdminError::SignInRefused(format!("{error}: {description}")));
    }
    let code = query.code.ok_or(AdminError::SignInExpired)?;
    let tenant = center
        .authority
        .snapshot()
        .tenant(&login.tenant)
        .cloned()
        .ok_or(AdminError::UnknownTenant)?;
    let redirect_uri = format!("{}{ADMIN_CENTER_CALLBACK}", center.public_url());
    let user = center
        .authority
        .redeem_first_party_code(
            &tenant,
            ADMIN_CENTER_APP_ID,
            CodeRedemption {
                code: &code,
                redirect_uri: Some(&redirect_uri),
                code_verifier: Some(&login.verifier),
            },
            now,
        )
        .await
        .map_err(|e| AdminError::SignInRefused(e.to_string()))?;
    let clear_login = cookie_value(LOGIN_COOKIE, "", "Lax", Some(0));
    if keyward_authority::directory_roles::roles_of(&user).is_empty() {
        let mut response = AdminError::NoRole {
            user: user.email.clone(),
        }
        .into_response();
        response.headers_mut().append(header::SET_COOKIE, clear_login);
        return Ok(response);
    }
    let handle = random_or_refuse(32)?;
    let grant = Grant {
        kind: GrantKind::AdminSession,
        id: keyward_authority::handle_hash(&handle),
        tenant_id: tenant.tenant.id,
        family: Uuid::new_v4(),
        user_id: user.id,
        document: serde_json::json!({}),
        created: now,
        expires: now + SESSION_LIFETIME,
    };
    center.store.insert_grant(&grant).await.map_err(AdminError::Store)?;
    center
        .audit_as(
            &tenant.tenant.id,
            Some(user.id),
            &user.email,
            "session.sign-in",
            "user",
            &user.id.to_string(),
            "Signed in to the admin center",
        )
        .await;
    let session = SessionCookie {
        handle,
        last_seen: now.unix_timestamp(),
    };
    // A page that moves on by itself, rather than a redirect: a SameSite=Strict cookie set in
    // a redirect chain that another site started would not be sent to the next hop.
    let page = pages::Continue {
        to: safe_return_path(&login.return_to).to_owned(),
    };
    let mut response = (StatusCode::OK, Html(page.render_html())).into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session.set_cookie(&center));
    headers.append(header::SET_COOKIE, clear_login);
    Ok(response)
}

/// `POST /admin/signout`: ends the session here and the tenant's sign-in session at the
/// authority, which then returns to `/admin/signed-out`.
pub(crate) async fn sign_out(
    State(center): State<Arc<AdminCenter>>,
    admin: crate::access::Admin,
    _form: AdminForm<pages::NoFields>,
) -> Result<Response, AdminError> {
    center
        .store
        .redeem_grant(GrantKind::AdminSession, &admin.session_id(), center.now())
        .await
        .map_err(AdminError::Store)?;
    center
        .audit(
            &admin,
            "session.sign-out",
            "user",
            &admin.user.id.to_string(),
            "Signed out",
        )
        .await;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &ADMIN_CENTER_APP_ID.to_string())
        .append_pair(
            "post_logout_redirect_uri",
            &format!("{}{ADMIN_CENTER_SIGNED_OUT}", center.public_url()),
        )
        .finish();
    let location = format!("/{}/oauth2/v2.0/logout?{query}", admin.tenant.tenant.name);
    Ok((
        [(header::SET_COOKIE, strict_cookie(SESSION_COOKIE, "", Some(0)))],
        Redirect::to(&location),
    )
        .into_response())
}

/// `GET /admin/signed-out`.
pub(crate) async fn signed_out(nonce: crate::security::Nonce) -> Response {
    pages::SignedOut {
        chrome: Chrome::anonymous(nonce),
    }
    .into_page()
}

/// A random value, base64url; empty if the system has no randomness to give, which callers
/// that issue something refuse ([`random_or_refuse`]).
pub(crate) fn random(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    if aws_lc_rs::rand::fill(&mut buffer).is_err() {
        return String::new();
    }
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A random value for a state, a verifier or a session handle: never empty.
fn random_or_refuse(bytes: usize) -> Result<String, AdminError> {
    Some(random(bytes))
        .filter(|value| !value.is_empty())
        .ok_or(AdminError::NoRandomness)
}

#[cfg(test)]
mod tests;
