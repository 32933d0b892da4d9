//! The sample web app of Microsoft's "Use client certificate for authentication in your Node.js
//! web app" (External ID), in Rust: customers sign up, sign in and sign out; the app redeems
//! the authorization code, and renews tokens, with a **certificate** credential instead of a
//! client secret, through `keyward-client`.
//!
//! It is configured by the variables of the article's `authConfig.js` (see [`config`]), works
//! against Keyward (`AUTHORITY=https://localhost:8443/contoso/`) and External ID
//! (`TENANT_SUBDOMAIN=contoso`), and runs as its own binary (`webapp`) or inside
//! `keyward quickstart`:
//!
//! ```no_run
//! # async fn start(config: webapp::Config) -> Result<(), webapp::Error> {
//! let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
//! webapp::run(config, listener).await
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
mod credential;
pub mod dotenv;
mod pages;
mod routes;
mod session;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use keyward_client::{ConfidentialClient, ReloadingCertificate};
use tokio::net::TcpListener;

pub use config::{Config, ConfigError, CredentialSource, VaultAccess};

/// Why the app cannot start.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing or unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The certificate or key cannot be loaded, or the client cannot be built.
    #[error("the certificate credential: {0}")]
    Credential(#[from] keyward_client::Error),
    /// `PRIVATE_KEY_PASSPHRASE` is wrong for the key (or PFX), or missing for an encrypted one.
    #[error(
        "{detail}: PRIVATE_KEY_PASSPHRASE {} {file} (set it in the environment or the .env file to the key's password)",
        if *given { "does not open" } else { "is not set, and it is needed to open" }
    )]
    Passphrase {
        /// The encrypted file: PRIVATE_KEY_PATH, or CERTIFICATE_PATH when it holds the key.
        file: PathBuf,
        /// Whether a passphrase was given at all.
        given: bool,
        /// What the key reader said.
        detail: String,
    },
    /// The CA file to trust cannot be read.
    #[error("cannot read the CA file {path}: {detail}")]
    TrustedCa {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The certificate could not be read from the vault.
    #[error("cannot read the certificate {certificate_name} from the vault {url}: {source}")]
    Vault {
        /// The vault.
        url: String,
        /// The certificate's name.
        certificate_name: String,
        /// Why.
        source: keyward_client::Error,
    },
    /// A file of the Keyward data directory (the vault reader's credential) is missing or damaged.
    #[error("{path}: {detail} (is KEYWARD_DATA the server's data directory?)")]
    KeywardData {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The listener failed.
    #[error("the web server: {0}")]
    Io(#[from] std::io::Error),
}

/// The app's confidential client: the certificate loaded from its source (files, or a vault
/// read over the network) and read again when it is rotated, the CA trusted.
pub async fn client(config: &Config) -> Result<ConfidentialClient, Error> {
    Ok(client_and_credential(config).await?.0)
}

async fn client_and_credential(config: &Config) -> Result<(ConfidentialClient, ReloadingCertificate), Error> {
    let ca = config.trusted_ca.as_deref().map(credential::read_ca).transpose()?;
    let certificate = credential::load(&config.credential, ca.as_deref()).await?;
    let mut builder = ConfidentialClient::builder(&config.authority, &config.client_id, certificate.clone());
    if let Some(ca) = &ca {
        builder = builder.trust_ca(ca);
    }
    Ok((builder.build()?, certificate))
}

/// The app, ready to serve: the credential loaded and the client built.
pub struct App {
    state: Arc<routes::AppState>,
    credential: ReloadingCertificate,
}

impl App {
    /// Loads the credential and builds the client (no traffic to the authority until the
    /// first sign-in).
    pub async fn new(config: Config) -> Result<Self, Error> {
        let (client, credential) = client_and_credential(&config).await?;
        let state = routes::AppState {
            config,
            client,
            sessions: session::Sessions::default(),
        };
        Ok(Self {
            state: Arc::new(state),
            credential,
        })
    }

    /// The app's confidential client.
    pub fn client(&self) -> &ConfidentialClient {
        &self.state.client
    }

    /// The app's certificate credential, which its client reads again when it is rotated.
    pub fn credential(&self) -> &ReloadingCertificate {
        &self.credential
    }

    /// The app's routes.
    pub fn router(&self) -> axum::Router {
        routes::router(Arc::clone(&self.state))
    }

    /// Serves the app on `listener` until `shutdown` completes, then finishes the requests in
    /// flight.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

/// Serves the app on `listener` until the process ends.
pub async fn run(config: Config, listener: TcpListener) -> Result<(), Error> {
    App::new(config).await?.serve(listener, std::future::pending()).await
}
