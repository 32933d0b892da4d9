//! The identity service: tenants, app registrations with certificate and secret credentials,
//! client authentication by RFC 7523 assertion or secret, token issuance, discovery and signing
//! keys, and a management API shaped like Microsoft Graph. Speaks Entra ID's wire protocol so
//! that MSAL and azure-identity work against it unmodified.
//!
//! Customer sign-in reproduces Entra External ID: users with argon2id passwords
//! ([`password`], [`users`]), the authorization code flow with PKCE ([`authorize`], [`pkce`],
//! [`scopes`]), hosted sign-in and sign-up pages with CSRF protection and throttling
//! ([`signin`], [`throttle`]; the client's address behind trusted proxies in [`forwarded`]),
//! single-use codes and rotating refresh tokens, and logout. The device authorization grant
//! (RFC 8628, [`device_code`]) signs users in on devices without a browser through the same
//! hosted sign-in.
//!
//! The domain lives in plain modules that tests call without HTTP: the in-memory directory the
//! token endpoint reads ([`Snapshot`]), client authentication ([`client_auth`]), token issuance
//! ([`token`]), grants, sign-in decisions ([`signin`]), directory changes ([`applications`],
//! [`credentials`], [`users`], [`directory_roles`]), all on the [`Authority`]. The HTTP surface
//! is `http/`, the only place axum is used; [`router`] builds it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod app_policy;
pub mod applications;
mod authority;
pub mod authorize;
pub mod azure_hosts;
pub mod client_auth;
pub use keyward_clock as clock;
pub mod credentials;
pub mod device_code;
mod directory;
pub mod directory_roles;
pub mod email;
mod error;
pub mod expiry_watch;
pub mod forwarded;
/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing;
mod grants;
mod http;
pub mod key_rotation;
pub mod managed_identity;
mod metrics;
mod oauth_error;
pub mod password;
pub mod pkce;
mod profile;
pub mod redirect_uri;
pub mod scopes;
pub mod sign_up;
pub mod sign_up_code;
pub mod sign_up_limit;
pub mod signin;
mod signing;
pub mod smtp;
pub mod test_token;
#[cfg(test)]
mod testing;
pub mod throttle;
pub mod time_travel;
pub mod token;
pub mod usage;
mod user_token;
pub mod users;

pub use app_policy::PolicyError;
pub use applications::NewApplication;
pub use authority::{
    ADMIN_CENTER_APP_ID, ADMIN_CENTER_CALLBACK, ADMIN_CENTER_SIGNED_OUT, APPLICATION_READ_WRITE_ALL, AZURE_CLI_APP_ID,
    Authority, Config, GRAPH_APP_ID, GRAPH_IDENTIFIER, KEY_VAULT_APP_ID, KEY_VAULT_IDENTIFIER, MANAGEMENT_APP_ID,
    MANAGEMENT_IDENTIFIER, is_builtin,
};
pub use directory::{AppEntry, Snapshot, TenantEntry};
pub use directory_roles::{DirectoryRole, RoleAssignment};
pub use error::{AccountError, ApplicationError, CredentialError, DirectoryRoleError, Error, Result};
pub use forwarded::{Cidr, CidrError, TrustedProxies};
pub use grants::{CODE_LIFETIME, CodeRedemption, GrantError, Session, handle_hash};
pub use http::{GraphCaller, GraphError, router};
pub use keyward_pki::sealing::{self, MasterKey};
pub use metrics::Metrics;
pub use oauth_error::{OAuthError, OAuthErrorKind};
pub use profile::Profile;
pub use user_token::client_info;
pub use users::{NewUser, UserChange};
