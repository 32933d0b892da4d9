//! Graph's error shape, `{"error": {"code", "message", "innerError"}}`, and the one mapping from
//! the domain's [`Error`] to it.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::Error;
use crate::key_rotation::{KeyProofError, KeyRollError};

/// An error of the management API in Graph's shape.
#[derive(Debug)]
pub struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for the `Retry-After` header, if any.
    retry_after: Option<u32>,
}

/// What the management API's handlers return.
pub(crate) type GraphResult<T = Response> = Result<T, GraphError>;

impl GraphError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 503 `serviceNotAvailable` with `Retry-After`, as Graph answers when it cannot serve for
    /// now: here, a database outage.
    pub(crate) fn unavailable() -> Self {
        Self {
            retry_after: Some(keyward_store::RETRY_AFTER_SECONDS),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable: its database cannot take requests right now (it is down, unreachable or out of space). Retry after the delay in the Retry-After header.",
            )
        }
    }

    /// A 400 `Request_BadRequest`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    /// A 404 `Request_ResourceNotFound` for `what`.
    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{what}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// A 401 `InvalidAuthenticationToken`, with the `Bearer` challenge.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message)
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<Error> for GraphError {
    fn from(e: Error) -> Self {
        match e {
            Error::ApplicationNotFound(what)
            | Error::CredentialNotFound(what)
            | Error::TenantNotFound(what)
            | Error::DirectoryRoleAssignmentNotFound(what)
            | Error::UserNotFound(what) => Self::not_found(&what),
            Error::UserExists(email) => Self::new(
                StatusCode::BAD_REQUEST,
                "Request_MultipleObjectsWithSameKeyValue",
                format!("Another object with the same value for property identities already exists: {email}."),
            ),
            Error::Application(_)
            | Error::Credential(_)
            | Error::Account(_)
            | Error::DirectoryRole(_)
            | Error::InvalidTenantName(_)
            | Error::RoleAssignmentNotFound(_)
            | Error::Pki(_)
            | Error::Policy(_) => Self::bad_request(e.to_string()),
            Error::Store(keyward_store::Error::Conflict(what)) => Self::new(
                StatusCode::BAD_REQUEST,
                "Request_MultipleObjectsWithSameKeyValue",
                format!("{what} already exists"),
            ),
            Error::Store(keyward_store::Error::Invalid(message)) => Self::bad_request(message),
            Error::Store(keyward_store::Error::NotFound(what)) => Self::not_found(&what),
            Error::Store(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "management request: the store is unavailable");
                Self::unavailable()
            }
            Error::Store(keyward_store::Error::VersionMismatch { .. }) => Self::new(
                StatusCode::CONFLICT,
                "Request_Conflict",
                "the object was changed by another request; retry",
            ),
            other => {
                tracing::error!(error = %other, "management request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Service_InternalServerError",
                    "the request failed on the server",
                )
            }
        }
    }
}

/// The one mapping of a refused proof of possession: an unreadable one is a bad request; one that
/// proves nothing (wrong key, issuer, audience, time, or used before) is denied.
impl From<KeyProofError> for GraphError {
    fn from(e: KeyProofError) -> Self {
        match e {
            KeyProofError::NotAJwt(_) | KeyProofError::UnreadableClaims(_) | KeyProofError::NoCertificateHeader => {
                Self::bad_request(e.to_string())
            }
            _ => Self::new(StatusCode::FORBIDDEN, "Authorization_RequestDenied", e.to_string()),
        }
    }
}

impl From<KeyRollError> for GraphError {
    fn from(e: KeyRollError) -> Self {
        match e {
            KeyRollError::Proof(e) => e.into(),
            KeyRollError::Directory(e) => e.into(),
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
        let id = Uuid::new_v4().to_string();
        let body = json!({"error": {"code": self.code, "message": self.message,
            "innerError": {"date": now, "request-id": id, "client-request-id": id}}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}
