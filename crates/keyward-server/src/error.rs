//! Why a server cannot start, or stopped.

use std::path::PathBuf;

use crate::settings::SettingsError;

/// What can go wrong starting or running a server.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings were refused.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The declarative state document given at start cannot be applied.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// A file or directory of the data directory cannot be read, written, created or restricted.
    #[error("cannot {action} {}", path.display())]
    File {
        /// What was being done: `read`, `write`, `create`, `restrict`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of the data directory holds something unusable.
    #[error("{} is damaged", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A certificate or key file of the data directory cannot be read.
    #[error("{file} in the data directory")]
    DataDirCertificate {
        /// The file, relative to the data directory.
        file: &'static str,
        /// Why.
        #[source]
        source: keyward_pki::Error,
    },
    /// A key file of the data directory holds no private key.
    #[error("{file} holds no private key")]
    MissingKey {
        /// The file, relative to the data directory.
        file: &'static str,
    },
    /// Making a key or certificate (the local CA, the server's, the admin's) failed.
    #[error(transparent)]
    Pki(#[from] keyward_pki::Error),
    /// The master key cannot be had from where the settings say (see
    /// [`crate::MasterKeySource`]).
    #[error(transparent)]
    MasterKeySource(#[from] crate::master_key::MasterKeyError),
    /// The master key cannot be made.
    #[error("cannot make the master key: {0}")]
    MasterKey(#[source] keyward_pki::sealing::SealError),
    /// TLS cannot use the server's certificate.
    #[error("the server certificate is not usable for TLS")]
    Tls(#[source] rustls::Error),
    /// The database cannot be opened.
    #[error("cannot open the database {url}")]
    Database {
        /// The database URL, without its password.
        url: String,
        /// Why.
        #[source]
        source: keyward_store::Error,
    },
    /// The authority refused a start-up step (a tenant, the admin application).
    #[error(transparent)]
    Authority(#[from] keyward_authority::Error),
    /// The default vault cannot be created.
    #[error("cannot create the default vault")]
    DefaultVault(#[source] keyward_vault::Error),
    /// The vault refused a start-up step (the admin's access policy).
    #[error(transparent)]
    Vault(#[from] keyward_vault::Error),
    /// What the server made on an earlier start is missing or inconsistent (e.g. the admin
    /// application): the data directory does not belong to this database.
    #[error("{0}")]
    Inconsistent(&'static str),
    /// The listener cannot be used (made non-blocking, asked for its address).
    #[error("cannot use the listener")]
    Listener(#[source] std::io::Error),
    /// Serving failed.
    #[error("the server stopped")]
    Serve(#[source] std::io::Error),
    /// The task serving requests failed.
    #[error("the server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
