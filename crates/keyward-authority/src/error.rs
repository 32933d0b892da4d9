//! The domain error of the authority, for everything but the token endpoint (whose errors are
//! [`crate::OAuthError`]).

/// What can go wrong in the authority's own operations.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Storage failed or refused a write.
    #[error(transparent)]
    Store(#[from] keyward_store::Error),
    /// A sealed private key could not be opened: the master key does not match the database.
    #[error("a stored private key cannot be decrypted ({0}); is this the data directory's own master key?")]
    Seal(#[from] keyward_pki::sealing::SealError),
    /// A key or certificate was refused.
    #[error(transparent)]
    Pki(#[from] keyward_pki::Error),
    /// Signing or verifying failed.
    #[error(transparent)]
    Jose(#[from] keyward_jose::Error),
    /// No tenant has this id or alias.
    #[error("tenant {0:?} not found")]
    TenantNotFound(String),
    /// No application has this id or appId in the tenant.
    #[error("application {0:?} not found")]
    ApplicationNotFound(String),
    /// No credential has this key id or thumbprint on the application.
    #[error("credential {0:?} not found on the application")]
    CredentialNotFound(String),
    /// No user has this id or email in the tenant.
    #[error("user {0:?} not found")]
    UserNotFound(String),
    /// Another user of the tenant has this email.
    #[error("a user with the email {0} already exists")]
    UserExists(String),
    /// The request is well-formed but not acceptable; the message says why.
    #[error("{0}")]
    Invalid(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
