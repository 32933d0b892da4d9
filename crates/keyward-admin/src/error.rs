//! [`AdminError`]: why a page or an action of the admin center could not go on, rendered as a
//! page that says what happened and what to do.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use keyward_authority::DirectoryRole;

use crate::pages::{ErrorPage, IntoPage};

/// Why the admin center refused or could not do something.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No live session: sign in (a page is returned to afterwards).
    #[error("sign in to continue")]
    SignInRequired {
        /// The page to return to (GET requests only).
        return_to: Option<String>,
    },
    /// The sign-in state is missing, expired or not this browser's.
    #[error("the sign-in expired or was started in another window")]
    SignInExpired,
    /// The authority refused the sign-in.
    #[error("the sign-in was refused: {0}")]
    SignInRefused(String),
    /// No such tenant.
    #[error("no such tenant")]
    UnknownTenant,
    /// The signed-in user holds no directory role.
    #[error("{user} holds no directory role")]
    NoRole {
        /// Their email.
        user: String,
    },
    /// The administrator's role does not allow the action.
    #[error("the {role:?} role does not allow this")]
    Forbidden {
        /// Their role.
        role: DirectoryRole,
        /// The least role that would.
        needed: DirectoryRole,
    },
    /// A form without this session's CSRF token.
    #[error("the form's CSRF token is missing or not this session's")]
    Csrf,
    /// A state-changing request from another site.
    #[error("a request from another site")]
    CrossSite,
    /// A form that could not be read.
    #[error("the form could not be read: {0}")]
    BadForm(String),
    /// An upload larger than [`crate::MAX_UPLOAD`].
    #[error("the upload is too large")]
    UploadTooLarge,
    /// What the page names does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The authority refused or failed.
    #[error(transparent)]
    Authority(#[from] keyward_authority::Error),
    /// The vault refused or failed.
    #[error(transparent)]
    Vault(#[from] keyward_vault::Error),
    /// The store failed.
    #[error(transparent)]
    Store(keyward_store::Error),
    /// The system gave no randomness for a state, a verifier or a session.
    #[error("no randomness available")]
    NoRandomness,
}

impl AdminError {
    /// Whether the database is unavailable for now (an outage): answered 503 with
    /// `Retry-After`, nothing changed.
    fn is_unavailable(&self) -> bool {
        match self {
            Self::Authority(keyward_authority::Error::Store(e)) | Self::Store(e) => e.is_unavailable(),
            Self::Vault(e) => e.is_unavailable(),
            _ => false,
        }
    }

    /// The status, the page's heading and what to do.
    fn explain(&self) -> (StatusCode, &'static str, String) {
        use keyward_authority::Error as A;
        match self {
            e if e.is_unavailable() => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is unavailable",
                "The server cannot reach its database right now, so nothing was changed. Wait a few \
                 seconds, then try again."
                    .into(),
            ),
            Self::SignInRequired { .. } => (
                StatusCode::UNAUTHORIZED,
                "Your session has ended",
                "Sessions end after 15 minutes without activity, and at sign-out. Sign in again; \
                 what you submitted was not saved."
                    .into(),
            ),
            Self::SignInExpired => (
                StatusCode::BAD_REQUEST,
                "The sign-in could not be completed",
                "It took longer than 10 minutes or was started in another window. Sign in again.".into(),
            ),
            Self::SignInRefused(why) => (StatusCode::BAD_REQUEST, "The sign-in was refused", why.clone()),
            Self::UnknownTenant => (
                StatusCode::NOT_FOUND,
                "No such tenant",
                "This server has no tenant of that name. Check the address.".into(),
            ),
            Self::NoRole { user } => (
                StatusCode::FORBIDDEN,
                "You need the Application Administrator role",
                format!(
                    "You are signed in as {user}, who holds no administrator role in this tenant. \
                     The admin center is for users with the Application Administrator, Global \
                     Administrator or Global Reader role. A Global Administrator can give you one \
                     with: keyward user role add {user} app-admin"
                ),
            ),
            Self::Forbidden { role, needed } => (
                StatusCode::FORBIDDEN,
                "Your role does not allow this",
                format!(
                    "You are a {}. This needs the {} role{}. Nothing was changed.",
                    role.display_name(),
                    needed.display_name(),
                    if *needed == DirectoryRole::ApplicationAdministrator {
                        " (or Global Administrator)"
                    } else {
                        ""
                    }
                ),
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "It was not sent from a page of this session (it may be from before you signed in \
                 again). Go back, reload the page and submit it again. Nothing was changed."
                    .into(),
            ),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "Refused: a request from another site",
                "Changes are accepted only from the admin center's own pages. Nothing was changed.".into(),
            ),
            Self::BadForm(why) => (StatusCode::BAD_REQUEST, "The form could not be read", why.clone()),
            Self::UploadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The file is too large",
                format!(
                    "Uploads are limited to {} KiB: a certificate is a few KiB. Check that you picked \
                     the right file.",
                    crate::MAX_UPLOAD / 1024
                ),
            ),
            Self::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "Not found",
                format!("The {what} does not exist (it may have been deleted)."),
            ),
            Self::Authority(
                e @ (A::Application(_)
                | A::Credential(_)
                | A::Account(_)
                | A::DirectoryRole(_)
                | A::UserExists(_)
                | A::Pki(_)),
            ) => (StatusCode::BAD_REQUEST, "That could not be done", e.to_string()),
            Self::Authority(
                e @ (A::ApplicationNotFound(_)
                | A::CredentialNotFound(_)
                | A::UserNotFound(_)
                | A::DirectoryRoleAssignmentNotFound(_)
                | A::RoleAssignmentNotFound(_)),
            ) => (StatusCode::NOT_FOUND, "Not found", e.to_string()),
            Self::Vault(e) if vault_client_error(e) => {
                (StatusCode::BAD_REQUEST, "That could not be done", e.to_string())
            }
            Self::Authority(_) | Self::Vault(_) | Self::Store(_) | Self::NoRandomness => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not complete this. Its log says why; nothing was half-done.".into(),
            ),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        if let Self::SignInRequired { return_to: Some(path) } = &self {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("return_to", crate::session::safe_return_path(path))
                .finish();
            return Redirect::to(&format!("/admin/signin?{query}")).into_response();
        }
        let (status, title, detail) = self.explain();
        let unavailable = self.is_unavailable();
        if unavailable {
            tracing::warn!(error = %self, "admin center: the database is unavailable");
        } else if status.is_server_error() {
            tracing::error!(error = %self, "admin center");
        }
        let page = ErrorPage {
            chrome: crate::pages::Chrome::anonymous(crate::security::Nonce::default()),
            title,
            detail,
            sign_in: matches!(
                self,
                Self::SignInRequired { .. } | Self::SignInExpired | Self::SignInRefused(_) | Self::Csrf
            ),
        };
        let mut response = (status, page.into_page()).into_response();
        if unavailable {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(keyward_store::RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// Whether the vault refused for something the administrator can fix (a name, a parameter, a
/// certificate, a conflict), rather than failed.
fn vault_client_error(e: &keyward_vault::Error) -> bool {
    use keyward_vault::Error as V;
    !matches!(
        e,
        V::Issuance(_) | V::Sealing(_) | V::Corrupt(_) | V::Task | V::Store(_)
    )
}
