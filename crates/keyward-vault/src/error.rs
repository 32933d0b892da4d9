//! The one error type of this crate.

use keyward_pki::sealing::SealError;
use keyward_store::Collection;

use crate::access::Permission;

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a vault operation can refuse or fail with. Messages never contain secret values,
/// keys or passwords.
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
    /// The caller's access policy does not grant the permission the operation needs.
    #[error("The user, group or application '{principal}' does not have {} {} permission on key vault '{vault}'.", .permission.noun(), .permission.name())]
    Forbidden {
        /// The caller, as Key Vault names it: `appid=...;oid=...`.
        principal: String,
        /// What was needed.
        permission: Permission,
        /// The vault's name.
        vault: String,
        /// The caller's own application id, when it is an application: the 403 names the
        /// `keyward vault grant` that would allow it (the caller knows its own id; nothing else
        /// about the vault's policies is told).
        app_id: Option<String>,
    },
    /// An object name is not 1 to 127 letters, digits and hyphens.
    #[error("the request URI contains an invalid name: {0:?}")]
    InvalidName(String),
    /// A request is malformed or asks for something Key Vault refuses (a bad policy, a body
    /// that is not JSON, an unsupported key type).
    #[error("{0}")]
    BadParameter(String),
    /// No such certificate (or version); `deleted` when looking among deleted certificates.
    #[error("{} not found: {name}", if *.deleted { "Deleted Certificate" } else { "Certificate" })]
    CertificateNotFound {
        /// The name asked for.
        name: String,
        /// Whether the deleted certificates were searched.
        deleted: bool,
    },
    /// No such secret (or version); `deleted` when looking among deleted secrets.
    #[error("{} not found: {name}", if *.deleted { "Deleted Secret" } else { "Secret" })]
    SecretNotFound {
        /// The name asked for.
        name: String,
        /// Whether the deleted secrets were searched.
        deleted: bool,
    },
    /// The certificate has no pending operation.
    #[error("Pending certificate not found: {0}")]
    OperationNotFound(String),
    /// The name is soft-deleted: it can only be recovered or purged.
    #[error("{} {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the {} can only be recovered or purged.", kind(*.collection, true), kind(*.collection, false))]
    DeletedButRecoverable {
        /// The collection the name is in.
        collection: Collection,
        /// The name.
        name: String,
    },
    /// A certificate cannot take a name that a plain secret already has.
    #[error("a secret named {0} already exists and is not managed by a certificate: choose another certificate name")]
    NameTakenBySecret(String),
    /// A certificate operation is still in progress.
    #[error("certificate {0} has an operation in progress: complete, cancel or delete it first")]
    OperationInProgress(String),
    /// The secret belongs to a certificate and changes only through it.
    #[error("Operation \"{operation}\" is not allowed as this object's lifetime is managed by Key Vault.")]
    ManagedSecret {
        /// `set`, `update`, `delete`, `recover` or `purge`.
        operation: &'static str,
        /// The secret's name.
        name: String,
    },
    /// A disabled secret's value is not served.
    #[error("Operation get is not allowed on a disabled secret.")]
    SecretDisabled(String),
    /// A secret value is larger than Key Vault allows.
    #[error("the secret value is {size} bytes; Key Vault allows at most {limit} bytes")]
    SecretTooLarge {
        /// The value's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A certificate or key given by the caller could not be read or used.
    #[error("{0}")]
    Certificate(keyward_pki::Error),
    /// Making a key or certificate failed on our side.
    #[error("certificate issuance failed: {0}")]
    Issuance(keyward_pki::Error),
    /// Sealed material could not be sealed or opened (wrong master key, damaged row).
    #[error("sealed vault data: {0}")]
    Sealing(#[from] SealError),
    /// A stored document cannot be read back.
    #[error("stored vault document is unreadable: {0}")]
    Corrupt(String),
    /// Concurrent writers kept changing the same object; the caller may retry.
    #[error("the object was changed concurrently too many times; retry")]
    Busy,
    /// A background task (key generation) did not finish.
    #[error("a background task failed")]
    Task,
    /// No application of the vault's tenant has this client id.
    #[error("no application with client id {0} in the vault's tenant")]
    ApplicationNotFound(uuid::Uuid),
    /// The certificate is not linked to this application.
    #[error("certificate {certificate} is not linked to the application {app_id}")]
    LinkNotFound {
        /// The certificate's name.
        certificate: String,
        /// The application's client id.
        app_id: uuid::Uuid,
    },
    /// This server's vault was built without a directory to link certificates to.
    #[error("certificate links are not available on this vault")]
    LinksUnavailable,
    /// The directory refused to add a linked certificate to an application.
    #[error("the certificate could not be added to the application {app_id}: {detail}")]
    LinkedApplication {
        /// The application's client id.
        app_id: uuid::Uuid,
        /// What the directory said.
        detail: String,
    },
    /// The storage failed or refused the write.
    #[error(transparent)]
    Store(#[from] keyward_store::Error),
}

fn kind(collection: Collection, capital: bool) -> &'static str {
    match (collection, capital) {
        (Collection::Certificates, true) => "Certificate",
        (Collection::Certificates, false) => "certificate",
        (Collection::Secrets, true) => "Secret",
        (Collection::Secrets, false) => "secret",
    }
}

impl Error {
    /// Whether the storage is unavailable for now (a database outage): nothing was written and
    /// the request may succeed later. Answered 503 with `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_unavailable())
    }

    /// Whether the error is a lost race with another writer, worth retrying from a fresh read.
    pub(crate) fn is_write_race(&self) -> bool {
        matches!(
            self,
            Self::Store(
                keyward_store::Error::VersionMismatch { .. }
                    | keyward_store::Error::Conflict(_)
                    | keyward_store::Error::NotFound(_)
            )
        )
    }

    pub(crate) fn corrupt(detail: impl std::fmt::Display) -> Self {
        Self::Corrupt(detail.to_string())
    }
}
