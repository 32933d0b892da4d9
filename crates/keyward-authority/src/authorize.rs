//! The authorization request (`/{tenant}/oauth2/v2.0/authorize`), read and checked.
//!
//! The order of the checks is what keeps the endpoint from being an open redirector: until
//! `client_id` names an application of the tenant and `redirect_uri` is, byte for byte, one of
//! its registered redirect URIs, every error is shown on our own page ([`AuthorizeError::Page`]).
//! Only after that do errors go back to the redirect URI ([`AuthorizeError::Redirect`]).
//!
//! A checked request becomes a [`PendingRequest`], which travels between the sign-in pages
//! sealed under the master key (authenticated encryption, bound to the tenant, with an expiry),
//! so that nothing the browser sends back about the request is trusted.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_pki::sealing::MasterKey;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::client_auth::ClientAuthError;
use crate::directory::{AppEntry, Snapshot, TenantEntry};
use crate::oauth_error::{OAuthError, OAuthErrorKind};
use crate::pkce;
use crate::scopes::{self, ScopeError, ScopeGrant};

/// How long a sign-in page may stay open before its request must start over.
pub const PENDING_LIFETIME_SECONDS: i64 = 3600;
/// The longest value of any one parameter we keep (`state`, `nonce`, `login_hint`, ...).
const MAX_PARAMETER_LEN: usize = 4096;

/// How the response is sent to the redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// Parameters in the query string of a 302 redirect (the default for `code`).
    Query,
    /// Parameters in the fragment of a 302 redirect.
    Fragment,
    /// An HTML form that posts the parameters to the redirect URI.
    FormPost,
}

/// What `prompt` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Always show the sign-in form, even with a session.
    Login,
    /// Never show a page: a session, or `login_required`.
    None,
    /// Show the sign-up form.
    Create,
    /// `select_account` or `consent`: treated as no prompt (one account per session, and
    /// consent is not asked).
    Default,
}

/// Where a response goes, once the redirect URI is trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectTarget {
    /// The registered redirect URI.
    pub uri: String,
    /// How parameters are sent.
    pub mode: ResponseMode,
    /// The client's `state`, returned as sent.
    pub state: Option<String>,
}

impl RedirectTarget {
    /// The URL of a query or fragment response carrying `params` (and `state`).
    pub fn url(&self, params: &[(&str, &str)]) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            serializer.append_pair(k, v);
        }
        if let Some(state) = &self.state {
            serializer.append_pair("state", state);
        }
        let encoded = serializer.finish();
        if encoded.is_empty() {
            return self.uri.clone();
        }
        match self.mode {
            ResponseMode::Fragment => format!("{}#{encoded}", self.uri),
            ResponseMode::Query | ResponseMode::FormPost => {
                let separator = if self.uri.contains('?') { '&' } else { '?' };
                format!("{}{separator}{encoded}", self.uri)
            }
        }
    }

    /// The fields of a `form_post` response: `params`, then `state`.
    pub fn fields(&self, params: &[(&str, &str)]) -> Vec<(String, String)> {
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain(self.state.iter().map(|s| ("state".to_owned(), s.clone())))
            .collect()
    }

    /// The origin of the redirect URI (`https://app.example:3000`), for the CSP
    /// `form-action`; `None` if it has none that can be written there.
    pub fn origin(&self) -> Option<String> {
        let url = url::Url::parse(&self.uri).ok()?;
        match url.origin() {
            origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
            url::Origin::Opaque(_) => None,
        }
    }
}

/// A checked authorization request, waiting for the user to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The client's appId.
    pub client_id: Uuid,
    /// Where and how to answer.
    pub target: RedirectTarget,
    /// The OpenID Connect `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// What the tokens will be for.
    pub scopes: ScopeGrant,
    /// The S256 PKCE challenge.
    pub code_challenge: Option<String>,
    /// The email to prefill.
    pub login_hint: Option<String>,
    /// What `prompt` asked for.
    pub prompt: Prompt,
    /// When the request was checked (Unix seconds).
    pub issued: i64,
}

/// Why an authorization request was refused.
#[derive(Debug, Clone)]
pub enum AuthorizeError {
    /// Shown on our error page, never redirected: the client or the redirect URI is not
    /// trusted (or the request could not be read at all).
    Page(RequestError),
    /// Sent back to the trusted redirect URI.
    Redirect(RedirectTarget, RequestError),
}

/// What is wrong with an authorization (or logout) request. Values quoted from it are cut.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A parameter sent twice (AADSTS9002313).
    #[error("The parameter '{0}' was sent more than once")]
    DuplicateParameter(String),
    /// A parameter longer than we keep (AADSTS9002313).
    #[error("The parameter '{0}' is longer than {MAX_PARAMETER_LEN} characters")]
    ParameterTooLong(String),
    /// No `client_id` (AADSTS900144).
    #[error("The request body must contain the following parameter: 'client_id'")]
    MissingClientId,
    /// The client is not an application of the tenant.
    #[error(transparent)]
    Client(Box<ClientAuthError>),
    /// No `redirect_uri` (AADSTS900144).
    #[error("The request must contain the parameter 'redirect_uri', one of the application's registered redirect URIs")]
    MissingRedirectUri,
    /// The redirect URI is not, byte for byte, one of the application's (AADSTS50011).
    #[error(
        "The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for the application '{app_id}'. \
         Make sure the redirect URI sent in the request matches one added to your application exactly"
    )]
    UnregisteredRedirectUri {
        /// The URI sent.
        uri: String,
        /// The application.
        app_id: Uuid,
    },
    /// A `response_mode` other than query, fragment and form_post (AADSTS900144).
    #[error("The response_mode '{0}' is not supported: use query, fragment or form_post")]
    UnsupportedResponseMode(String),
    /// A `response_type` other than `code` (AADSTS700054).
    #[error(
        "The response_type '{0}' is not enabled for the application: use the authorization code flow (response_type=code)"
    )]
    UnsupportedResponseType(String),
    /// No `response_type` (AADSTS900144).
    #[error("The request body must contain the following parameter: 'response_type'")]
    MissingResponseType,
    /// The `scope` was refused.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The PKCE challenge was refused (AADSTS501491).
    #[error("{0}")]
    Pkce(pkce::PkceError),
    /// A public client without PKCE (AADSTS9002325).
    #[error(
        "Proof Key for Code Exchange is required for public clients: send code_challenge and code_challenge_method=S256"
    )]
    PkceRequired,
    /// A `prompt` we do not know (AADSTS90023).
    #[error("The prompt '{0}' is not supported: use login, none, create, select_account or consent")]
    UnsupportedPrompt(String),
}

impl From<RequestError> for OAuthError {
    fn from(e: RequestError) -> Self {
        let (kind, code) = match e {
            RequestError::Client(e) => return (*e).into(),
            RequestError::Scope(e) => return e.into(),
            RequestError::DuplicateParameter(_) | RequestError::ParameterTooLong(_) => {
                (OAuthErrorKind::InvalidRequest, 9002313)
            }
            RequestError::MissingClientId
            | RequestError::MissingRedirectUri
            | RequestError::UnsupportedResponseMode(_)
            | RequestError::MissingResponseType => (OAuthErrorKind::InvalidRequest, 900144),
            RequestError::UnregisteredRedirectUri { .. } => (OAuthErrorKind::InvalidRequest, 50011),
            RequestError::UnsupportedResponseType(_) => (OAuthErrorKind::UnsupportedResponseType, 700054),
            RequestError::Pkce(_) => (OAuthErrorKind::InvalidRequest, 501491),
            RequestError::PkceRequired => (OAuthErrorKind::InvalidRequest, 9002325),
            RequestError::UnsupportedPrompt(_) => (OAuthErrorKind::InvalidRequest, 90023),
        };
        OAuthError::new(kind, code, e.to_string())
    }
}

/// The parameters of a request, each at most once.
pub type Parameters = HashMap<String, String>;

/// Reads a query string or form body; a parameter sent twice is refused.
pub fn parse_parameters(encoded: &[u8]) -> Result<Parameters, RequestError> {
    let mut parameters = HashMap::new();
    for (key, value) in form_urlencoded::parse(encoded) {
        if parameters.contains_key(key.as_ref()) {
            return Err(RequestError::DuplicateParameter(key.chars().take(64).collect()));
        }
        if value.len() > MAX_PARAMETER_LEN {
            return Err(RequestError::ParameterTooLong(key.chars().take(64).collect()));
        }
        parameters.insert(key.into_owned(), value.into_owned());
    }
    Ok(parameters)
}

/// Whether `uri` is registered on the application: byte-for-byte equal to one of its redirect
/// URIs, or one of its plain-HTTP loopback URIs at another port (RFC 8252 §7.3; see
/// [`crate::redirect_uri::matches`]). No prefix, no other normalisation: every relaxation of
/// this rule has been an open redirect somewhere.
pub fn redirect_uri_registered(app: &AppEntry, uri: &str) -> bool {
    // Registered before the registration checked hosts strictly, a plain-HTTP URI to another
    // host than loopback is not trusted either. Checked first: a URI longer than any
    // registration takes is refused before it is parsed at all (a host name goes through
    // IDNA, costly on kilobytes of punycode), then once per registered URI.
    crate::redirect_uri::allowed(uri)
        && app
            .app
            .redirect_uris
            .iter()
            .any(|registered| crate::redirect_uri::matches(registered, uri))
}

/// Whether an application is a public client: it has no certificate and no secret, so it
/// cannot authenticate and must use PKCE.
pub fn is_public_client(app: &AppEntry) -> bool {
    app.app.key_credentials.is_empty() && app.app.password_credentials.is_empty()
}

fn shorten(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Checks an authorization request of `tenant`; returns the client and the pending request.
pub fn check(
    snapshot: &Snapshot,
    tenant: &TenantEntry,
    parameters: &Parameters,
    now: OffsetDateTime,
) -> Result<(Arc<AppEntry>, PendingRequest), AuthorizeError> {
    let get = |name: &str| parameters.get(name).map(String::as_str).filter(|v| !v.is_empty());

    // 1. The client and the redirect URI: errors on our page only.
    let client_id = get("client_id").ok_or(AuthorizeError::Page(RequestError::MissingClientId))?;
    let app = crate::client_auth::find_client(snapshot, tenant, client_id)
        .map_err(|e| AuthorizeError::Page(RequestError::Client(Box::new(e))))?;
    let redirect_uri = get("redirect_uri").ok_or(AuthorizeError::Page(RequestError::MissingRedirectUri))?;
    if !redirect_uri_registered(app, redirect_uri) {
        return Err(AuthorizeError::Page(RequestError::UnregisteredRedirectUri {
            uri: shorten(redirect_uri),
            app_id: app.app.app_id,
        }));
    }

    // 2. From here on, errors go back to the client.
    let state = get("state").map(str::to_owned);
    let mode = match get("response_mode") {
        None | Some("query") => Some(ResponseMode::Query),
        Some("fragment") => Some(ResponseMode::Fragment),
        Some("form_post") => Some(ResponseMode::FormPost),
        Some(_) => None,
    };
    let target = RedirectTarget {
        uri: redirect_uri.to_owned(),
        mode: mode.unwrap_or(ResponseMode::Query),
        state,
    };
    let fail = |e: RequestError| AuthorizeError::Redirect(target.clone(), e);
    if mode.is_none() {
        return Err(fail(RequestError::UnsupportedResponseMode(shorten(
            get("response_mode").unwrap_or_default(),
        ))));
    }
    match get("response_type") {
        Some("code") => {}
        Some(other) => return Err(fail(RequestError::UnsupportedResponseType(shorten(other)))),
        None => return Err(fail(RequestError::MissingResponseType)),
    }
    let scopes = scopes::parse(snapshot, tenant.tenant.id, get("scope").unwrap_or_default(), true)
        .map_err(|e| fail(e.into()))?;
    let code_challenge = pkce::check_challenge(get("code_challenge"), get("code_challenge_method"))
        .map_err(|e| fail(RequestError::Pkce(e)))?;
    if code_challenge.is_none() && is_public_client(app) {
        return Err(fail(RequestError::PkceRequired));
    }
    let prompt = match get("prompt") {
        None | Some("select_account" | "consent") => Prompt::Default,
        Some("login") => Prompt::Login,
        Some("none") => Prompt::None,
        Some("create") => Prompt::Create,
        Some(other) => return Err(fail(RequestError::UnsupportedPrompt(shorten(other)))),
    };
    let pending = PendingRequest {
        tenant_id: tenant.tenant.id,
        client_id: app.app.app_id,
        target,
        nonce: get("nonce").map(str::to_owned),
        scopes,
        code_challenge,
        login_hint: get("login_hint").map(|h| h.trim().to_owned()),
        prompt,
        issued: now.unix_timestamp(),
    };
    Ok((Arc::clone(app), pending))
}

fn seal_owner(tenant_id: Uuid) -> String {
    format!("keyward/authorize-request/v1/{tenant_id}")
}

impl PendingRequest {
    /// Seals the request for a hidden form field: base64url of AES-256-GCM under the master
    /// key, bound to the tenant.
    pub fn seal(&self, master: &MasterKey) -> Result<String, crate::Error> {
        let json = serde_json::to_vec(self).map_err(|e| crate::Error::Encoding {
            what: "a pending request",
            reason: e.to_string(),
        })?;
        Ok(URL_SAFE_NO_PAD.encode(master.seal(&seal_owner(self.tenant_id), &json)?))
    }

    /// Opens what [`PendingRequest::seal`] made for this tenant; `None` if it is damaged,
    /// forged, for another tenant or older than [`PENDING_LIFETIME_SECONDS`].
    pub fn open(master: &MasterKey, tenant_id: Uuid, sealed: &str, now: OffsetDateTime) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
        let json = master.open(&seal_owner(tenant_id), &bytes).ok()?;
        let request: Self = serde_json::from_slice(&json).ok()?;
        let age = now.unix_timestamp().checked_sub(request.issued)?;
        (request.tenant_id == tenant_id && (-60..=PENDING_LIFETIME_SECONDS).contains(&age)).then_some(request)
    }
}

#[cfg(test)]
mod tests;
