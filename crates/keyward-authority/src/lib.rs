//! The identity service: tenants, app registrations with certificate and secret credentials,
//! client authentication by RFC 7523 assertion or secret, token issuance, discovery and signing
//! keys, and a management API shaped like Microsoft Graph. Speaks Entra ID's wire protocol so
//! that MSAL and azure-identity work against it unmodified.
//!
//! Domain logic lives in plain functions and types ([`client_auth`], [`token`],
//! [`credentials`], [`Authority`]); [`router`] adapts them to HTTP.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
mod authority;
pub mod client_auth;
pub mod credentials;
mod directory;
mod discovery;
mod error;
mod graph;
mod metrics;
mod oauth_error;
mod router;
mod signing;
pub mod token;

pub use authority::{
    APPLICATION_READ_WRITE_ALL, Authority, Config, GRAPH_APP_ID, GRAPH_IDENTIFIER, KEY_VAULT_APP_ID,
    KEY_VAULT_IDENTIFIER, NewApplication,
};
pub use directory::{AppEntry, Snapshot, TenantEntry};
pub use error::{Error, Result};
pub use graph::GraphError;
pub use keyward_pki::sealing::{self, MasterKey};
pub use metrics::Metrics;
pub use oauth_error::{OAuthError, OAuthErrorKind};
pub use router::router;
