//! The identity service: tenants, app registrations with certificate and secret credentials,
//! client authentication by RFC 7523 assertion or secret, token issuance, discovery and signing
//! keys, and a management API shaped like Microsoft Graph. Speaks Entra ID's wire protocol so
//! that MSAL and azure-identity work against it unmodified.
//!
//! Customer sign-in reproduces Entra External ID: users with argon2id passwords
//! ([`password`], [`users`]), the authorization code flow with PKCE ([`authorize`], [`pkce`],
//! [`scopes`]), hosted sign-in and sign-up pages with CSRF protection and throttling
//! ([`throttle`]), single-use codes and rotating refresh tokens, and logout.
//!
//! Domain logic lives in plain functions and types ([`client_auth`], [`token`],
//! [`credentials`], [`authorize`], [`Authority`]); [`router`] adapts them to HTTP.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
mod authority;
pub mod authorize;
pub mod client_auth;
pub mod credentials;
mod directory;
mod discovery;
mod error;
/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing;
mod grants;
mod graph;
mod graph_users;
mod metrics;
mod oauth_error;
mod pages;
pub mod password;
pub mod pkce;
pub mod redirect_uri;
mod router;
pub mod scopes;
mod signin;
mod signing;
pub mod throttle;
pub mod token;
mod user_token;
pub mod users;

pub use authority::{
    APPLICATION_READ_WRITE_ALL, Authority, Config, GRAPH_APP_ID, GRAPH_IDENTIFIER, KEY_VAULT_APP_ID,
    KEY_VAULT_IDENTIFIER, NewApplication,
};
pub use directory::{AppEntry, Snapshot, TenantEntry};
pub use error::{Error, Result};
pub use grants::{CODE_LIFETIME, Session, handle_hash};
pub use graph::GraphError;
pub use keyward_pki::sealing::{self, MasterKey};
pub use metrics::Metrics;
pub use oauth_error::{OAuthError, OAuthErrorKind};
pub use router::router;
pub use user_token::client_info;
pub use users::{NewUser, UserChange};
