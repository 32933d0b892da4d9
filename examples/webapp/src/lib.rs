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
pub mod dotenv;
mod pages;
mod routes;
mod session;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use keyward_client::{CertificateCredential, ConfidentialClient};
use tokio::net::TcpListener;

pub use config::{Config, ConfigError, CredentialSource};

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
    /// The CA file to trust cannot be read.
    #[error("cannot read the CA file {path}: {detail}")]
    TrustedCa {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// The certificate is to come from a vault, and this build has no vault client yet.
    #[error(
        "KEY_VAULT_URL: reading the certificate {certificate_name} from the vault {url} is not available in this build yet; \
         download it (keyward vault cert download) and set CERTIFICATE_PATH and PRIVATE_KEY_PATH instead"
    )]
    VaultUnavailable {
        /// The vault.
        url: String,
        /// The certificate's name.
        certificate_name: String,
    },
    /// The listener failed.
    #[error("the web server: {0}")]
    Io(#[from] std::io::Error),
}

/// The app's confidential client: the certificate loaded from its source, the CA trusted.
pub async fn client(config: &Config) -> Result<ConfidentialClient, Error> {
    let credential = load_credential(&config.credential).await?;
    let mut builder = ConfidentialClient::builder(&config.authority, &config.client_id, credential);
    if let Some(path) = &config.trusted_ca {
        let ca = std::fs::read(path).map_err(|e| Error::TrustedCa {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        builder = builder.trust_ca(&ca);
    }
    Ok(builder.build()?)
}

async fn load_credential(source: &CredentialSource) -> Result<CertificateCredential, Error> {
    match source {
        CredentialSource::Files {
            certificate,
            private_key,
            passphrase,
            thumbprint,
        } => {
            let passphrase = passphrase.as_deref().map(String::as_str);
            let credential = match private_key {
                Some(key) => CertificateCredential::from_files(certificate, key, passphrase)?,
                None => CertificateCredential::from_bundle_file(certificate, passphrase)?,
            };
            Ok(match thumbprint {
                Some(thumbprint) => credential.expect_thumbprint(thumbprint)?,
                None => credential,
            })
        }
        // TODO(vault): when `keyward_client::vault` lands, fetch the certificate (its x5t and
        // the PEM/PFX secret behind it) with the vault client here, as the article's
        // getKeyAndThumbprint() does with CertificateClient and SecretClient.
        CredentialSource::KeyVault { url, certificate_name } => Err(Error::VaultUnavailable {
            url: url.clone(),
            certificate_name: certificate_name.clone(),
        }),
    }
}

/// The app's routes, ready to serve: loads the credential and builds the client (no network
/// traffic until the first sign-in).
pub async fn router(config: Config) -> Result<axum::Router, Error> {
    let client = client(&config).await?;
    let state = routes::AppState {
        config,
        client,
        sessions: session::Sessions::default(),
    };
    Ok(routes::router(Arc::new(state)))
}

/// Serves the app on `listener` until the process ends.
pub async fn run(config: Config, listener: TcpListener) -> Result<(), Error> {
    run_until(config, listener, std::future::pending()).await
}

/// Serves the app on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn run_until(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let app = router(config).await?;
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}
