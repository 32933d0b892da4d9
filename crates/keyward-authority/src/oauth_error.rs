//! Errors of the token service as Entra names them: the OAuth `error`, the AADSTS code and a
//! message. The HTTP layer renders them (`http/oauth.rs`) exactly as Entra does: HTTP status,
//! `error`, an `error_description` that starts with the AADSTS code, `error_codes`, timestamp,
//! trace and correlation ids.

use uuid::Uuid;

/// The OAuth `error` values we return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorKind {
    /// The request is malformed.
    InvalidRequest,
    /// Client authentication failed (HTTP 401).
    InvalidClient,
    /// The client is unknown in this tenant.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The scope is malformed.
    InvalidScope,
    /// The resource named by the scope does not exist in the tenant.
    InvalidResource,
    /// The tenant does not exist.
    InvalidTenant,
    /// An authorization code or refresh token is invalid, expired, revoked, replayed or bound
    /// to another client, redirect URI or PKCE verifier.
    InvalidGrant,
    /// The authorization request asked for a response type other than `code`.
    UnsupportedResponseType,
    /// `prompt=none` and no usable sign-in session.
    LoginRequired,
    /// Something failed on our side.
    ServerError,
    /// The directory's database is unavailable for now (an outage): HTTP 503 with
    /// `Retry-After`; the same request may succeed later (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
    /// Device authorization grant (RFC 8628 §3.5): the user has not yet entered the code and
    /// decided; poll again.
    AuthorizationPending,
    /// Device authorization grant: polled sooner than `interval`; poll again, more slowly.
    SlowDown,
    /// Device authorization grant: the user denied the request (Entra's name for RFC 8628's
    /// `access_denied`).
    AuthorizationDeclined,
    /// Device authorization grant: the device code's `expires_in` has passed.
    ExpiredToken,
    /// Device authorization grant: the device code is not one we issued (or is long gone).
    BadVerificationCode,
}

impl OAuthErrorKind {
    /// The `error` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidResource => "invalid_resource",
            Self::InvalidTenant => "invalid_tenant",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AuthorizationDeclined => "authorization_declined",
            Self::ExpiredToken => "expired_token",
            Self::BadVerificationCode => "bad_verification_code",
        }
    }
}

/// One token-service error: what Entra calls an AADSTS error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The OAuth error.
    pub kind: OAuthErrorKind,
    /// The AADSTS number, e.g. 700027.
    pub code: u32,
    /// What happened, for the developer; never secret material.
    pub message: String,
    /// The client's `client-request-id`, echoed as Entra does; a new id when absent.
    pub correlation_id: Option<Uuid>,
}

impl OAuthError {
    /// An error with its AADSTS code and message.
    pub fn new(kind: OAuthErrorKind, code: u32, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            correlation_id: None,
        }
    }

    /// Echoes the client's request id as the correlation id.
    pub fn with_correlation_id(mut self, id: Option<Uuid>) -> Self {
        self.correlation_id = id;
        self
    }

    /// AADSTS90033, `temporarily_unavailable`: the store is unavailable (a database outage), so
    /// what the request needs to read or write cannot be; answered 503 with `Retry-After`.
    pub(crate) fn unavailable() -> Self {
        Self::new(
            OAuthErrorKind::TemporarilyUnavailable,
            90033,
            "The directory's database is temporarily unavailable. Retry the request after the delay in the Retry-After header",
        )
    }

    /// AADSTS90002: no tenant is known by `alias` (quoted, cut at 64 characters); `place` is where
    /// the caller named it (`the authority URL`, `the address`).
    pub(crate) fn tenant_not_found(alias: &str, place: &str) -> Self {
        Self::new(
            OAuthErrorKind::InvalidTenant,
            90002,
            format!(
                "Tenant '{}' not found. Check the tenant in {place}",
                alias.chars().take(64).collect::<String>()
            ),
        )
    }
}

impl OAuthError {
    /// The `error_description` of a redirect: the AADSTS code and the message.
    pub fn description(&self) -> String {
        format!(
            "AADSTS{}: {}",
            self.code,
            self.message.trim_end_matches('.').to_owned() + "."
        )
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AADSTS{}: {}", self.code, self.message)
    }
}

impl std::error::Error for OAuthError {}
