//! What MSAL is to Node, for Rust: a confidential client that gets tokens with a certificate
//! (or a secret, or an assertion callback) from Entra ID, External ID or Keyward, caches them,
//! refreshes them ahead of expiry, and explains the errors people run into.
//!
//! ```no_run
//! use keyward_client::{CertificateCredential, ConfidentialClient};
//!
//! # async fn run() -> Result<(), keyward_client::Error> {
//! let credential = CertificateCredential::from_files(
//!     "ciam-client-app.pem".as_ref(),
//!     "ciam-client-app.key".as_ref(),
//!     None,
//! )?;
//! let client = ConfidentialClient::builder(
//!     "https://login.microsoftonline.com/contoso.onmicrosoft.com",
//!     "00000000-0000-0000-0000-000000000000",
//!     credential,
//! )
//! .build()?;
//! let token = client.acquire_token_for_client(&["api://tasks/.default"]).await?;
//! println!("Bearer {}", token.secret());
//! # Ok(()) }
//! ```
//!
//! **Certificate rotation without a restart:** a [`ReloadingCertificate`] reads its files again
//! when they change, or the vault when the certificate nears its expiry, and either at once when
//! the token endpoint refuses the certificate (AADSTS700027), retrying that request with the new
//! one; the switch is atomic and a half-written pair is not used.
//!
//! ```no_run
//! use std::time::Duration;
//! use keyward_client::{ConfidentialClient, ReloadingCertificate};
//!
//! # fn run() -> Result<(), keyward_client::Error> {
//! let credential = ReloadingCertificate::from_files(
//!     "ciam-client-app.pem".as_ref(),
//!     Some("ciam-client-app.key".as_ref()),
//!     None,
//! )?
//! .check_every(Duration::from_secs(30));
//! let client = ConfidentialClient::builder(
//!     "https://localhost:8443/contoso",
//!     "00000000-0000-0000-0000-000000000000",
//!     credential,
//! )
//! .build()?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authority;
mod cache;
mod client;
mod credential;
mod error;
/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing;
mod reload;
mod token;
mod vault;
mod web;

pub use authority::Authority;
pub use client::{ConfidentialClient, ConfidentialClientBuilder, Metadata, RetryPolicy};
pub use credential::{ASSERTION_LIFETIME_SECONDS, AssertionFuture, CertificateCredential, ClientCredential};
pub use error::{Error, Result, ServerError, VaultError};
pub use reload::{CertificateSource, DEFAULT_FILE_CHECK, DEFAULT_VAULT_CHECK, ReloadingCertificate};
pub use token::AccessToken;
pub use vault::{API_VERSION, VaultCertificate, VaultClient, VaultSecret};
pub use web::{AuthCodeRequest, UserTokens, pkce_challenge, validate_id_token};
