//! Key Vault's error shape: `{"error":{"code","message","innererror"?:{"code"}}}`, and the
//! challenge of a 401.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::DEFAULT_VAULT;
use crate::error::Error;

/// The message of a 401 to a request without a token, word for word Key Vault's: clients show it.
pub const MISSING_TOKEN: &str = "AKV10000: Request is missing a Bearer or PoP token.";

/// An error response of the vault API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    inner: Option<&'static str>,
    challenge: Option<String>,
    /// Seconds for the `Retry-After` header, if any.
    retry_after: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            inner: None,
            challenge: None,
            retry_after: None,
        }
    }

    /// A 503 `ServiceUnavailable` with `Retry-After`, as Key Vault answers when it cannot serve
    /// for now (the Azure SDKs retry it after the delay): here, a database outage.
    pub(crate) fn unavailable() -> Self {
        Self {
            retry_after: Some(keyward_store::RETRY_AFTER_SECONDS),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The vault is temporarily unavailable: its database cannot take requests right now (it is down, unreachable or out of space). Retry after the delay in the Retry-After header.",
            )
        }
    }

    fn inner(mut self, code: &'static str) -> Self {
        self.inner = Some(code);
        self
    }

    /// A 400 `BadParameter`.
    pub(crate) fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadParameter", message)
    }

    /// A 401 with the `WWW-Authenticate` challenge, if one could be built.
    pub(crate) fn unauthorized(message: impl Into<String>, challenge: Option<String>) -> Self {
        Self {
            challenge,
            ..Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        if e.is_unavailable() {
            tracing::warn!(error = %message, "vault request: the store is unavailable");
            return Self::unavailable();
        }
        match e {
            Error::InvalidName(_)
            | Error::BadParameter(_)
            | Error::Certificate(_)
            | Error::UnknownPermission { .. }
            | Error::InvalidVaultName(_) => Self::bad_parameter(message),
            Error::SecretTooLarge { .. } | Error::LinkedApplication { .. } => Self::bad_parameter(message),
            Error::ApplicationNotFound(_) | Error::LinkNotFound { .. } => {
                Self::new(StatusCode::NOT_FOUND, "NotFound", message)
            }
            Error::LinksUnavailable => Self::new(StatusCode::NOT_IMPLEMENTED, "NotImplemented", message),
            Error::Forbidden {
                permission,
                vault,
                app_id,
                ..
            } => {
                // Key Vault's text word for word, then the command that grants it: it names only
                // what the caller already knows (its own application id and what it asked for).
                let grant = app_id.map_or_else(String::new, |app| {
                    let vault = if vault == DEFAULT_VAULT {
                        String::new()
                    } else {
                        format!(" --vault {vault}")
                    };
                    format!(
                        " Keyward: an administrator allows it with `keyward vault grant {app} --{} {}{vault}` \
                         (grant replaces the application's permissions in the vault: list every one it needs).",
                        permission.noun(),
                        permission.name()
                    )
                });
                Self::new(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    format!(
                        "{message} For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287{grant}"
                    ),
                )
                .inner("ForbiddenByPolicy")
            }
            Error::ManagedSecret { .. } => {
                Self::new(StatusCode::FORBIDDEN, "Forbidden", message).inner("SecretManagedByKeyVault")
            }
            Error::SecretDisabled(_) => Self::new(StatusCode::FORBIDDEN, "Forbidden", message).inner("SecretDisabled"),
            Error::CertificateNotFound { .. } => Self::new(StatusCode::NOT_FOUND, "CertificateNotFound", message),
            Error::SecretNotFound { .. } => Self::new(StatusCode::NOT_FOUND, "SecretNotFound", message),
            Error::OperationNotFound(_) => Self::new(StatusCode::NOT_FOUND, "PendingCertificateNotFound", message),
            Error::VaultNotFound(_) => Self::new(
                StatusCode::NOT_FOUND,
                "VaultNotFound",
                "No vault is served at this host name.",
            ),
            Error::DeletedButRecoverable { .. } => {
                Self::new(StatusCode::CONFLICT, "Conflict", message).inner("ObjectIsDeletedButRecoverable")
            }
            Error::NameTakenBySecret(_) | Error::OperationInProgress(_) | Error::VaultOfAnotherTenant(_) => {
                Self::new(StatusCode::CONFLICT, "Conflict", message)
            }
            Error::Busy => Self::new(StatusCode::CONFLICT, "Conflict", message).inner("ObjectIsBeingModified"),
            Error::Issuance(_) | Error::Sealing(_) | Error::Corrupt(_) | Error::Task | Error::Store(_) => {
                tracing::error!(error = %message, "vault request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    "The request failed on the server.",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(inner) = self.inner {
            error["innererror"] = json!({"code": inner});
        }
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
