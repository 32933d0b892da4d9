//! The one error type of this crate.

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a vault operation can refuse or fail with.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No vault has this name.
    #[error("vault {0:?} not found")]
    VaultNotFound(String),
    /// The vault name is not a host name label.
    #[error("invalid vault name {0:?}: use 1 to 63 letters, digits and hyphens")]
    InvalidVaultName(String),
    /// The vault exists and belongs to another tenant.
    #[error("the vault {0:?} belongs to another tenant")]
    VaultOfAnotherTenant(String),
    /// An access policy names a permission Key Vault does not have.
    #[error("unknown {collection} permission {name:?}")]
    UnknownPermission {
        /// `certificates` or `secrets`.
        collection: &'static str,
        /// The name given.
        name: String,
    },
    /// Concurrent writers kept changing the same object; the caller may retry.
    #[error("the object was changed concurrently too many times; retry")]
    Busy,
    /// The storage failed or refused the write.
    #[error(transparent)]
    Store(#[from] keyward_store::Error),
}
