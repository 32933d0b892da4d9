//! A Key Vault-compatible store of certificates and secrets: the domain service ([`Vaults`]) and
//! its HTTP adapters ([`router`]), speaking the wire protocol the unmodified Azure Key Vault SDKs
//! use (`@azure/keyvault-certificates`, `@azure/keyvault-secrets`, `azure-keyvault-certificates`,
//! `azure-keyvault-secrets`).
//!
//! - **Vaults** belong to a tenant and are chosen by host name: `{name}.localhost[:port]` is the
//!   vault `name`, every other host the vault [`DEFAULT_VAULT`]. Object ids are built from the
//!   request's `Host` header, port included, as the SDKs parse them.
//! - **Auth.** Every vault request needs a bearer token of the vault's tenant for the vault
//!   resource ([`Tokens::vault_caller`]); without one the answer is Key Vault's 401 challenge.
//!   Then the vault's access policies decide, per principal, deny by default, before anything is
//!   looked up: a caller without permission gets the same 403 for objects that exist and objects
//!   that do not. Clients on `localhost` must turn off the SDKs' challenge resource verification
//!   (`disableChallengeResourceVerification` / `verify_challenge_resource=False`), because the
//!   resource's host is not a parent of `localhost`.
//! - **Certificates** are made from a policy (Key Vault's defaults fill sparse ones) or imported
//!   (PEM text, base64 of a PEM file or of a PFX; the password is used and dropped). Every
//!   version has its managed secret, same name and version: the PKCS#8 key and the certificate
//!   as PEM, or a PFX with an empty password, per the policy's content type.
//! - **Secrets** are versioned values of at most 25 KiB.
//! - **Soft delete** is always on: 90 days, then purged by [`Vaults::renew_due`], unless
//!   recovered or purged first.
//! - **Lifetime actions** ([`Vaults::renew_due`], run every minute by
//!   [`Vaults::run_lifetime_actions`]): AutoRenew makes a new version; EmailContacts is recorded
//!   as an event ([`Vaults::certificate_events`]) and logged.
//! - **Links** (opt-in, [`Vaults::link_certificate`]): each new version of a certificate linked
//!   to an application of the vault's tenant is added to the application's certificate
//!   credentials through [`Applications`], which the binary implements over the authority.
//! - **At rest**, private keys and secret values are sealed with the master key, bound to their
//!   row (`vault/{vault_id}/{collection}/{name}/{version}`); they appear in no log and no `Debug`.
//! - **Management** (`/admin/api/vaults`): create and list a tenant's vaults, set and remove
//!   access policies, with a management token ([`Tokens::admin_caller`]).
//! - **Administration** (the admin center): [`Vaults::administer`] gives an administrator of the
//!   vault's tenant an [`Access`] outside the access policies, [`Administration::Manage`] or
//!   [`Administration::Read`] (lists and metadata, never a secret's value or a private key);
//!   another tenant's vault is [`Error::VaultNotFound`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access;
mod certificates;
mod deletion;
mod documents;
mod error;
/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod import;
mod links;
mod model;
mod names;
mod operations;
mod paging;
mod policy;
mod renewal;
mod secret_value;
mod secrets;
mod service;

pub use access::normalize as normalize_access_policy;
pub use access::{
    Access, Administration, CERTIFICATE_PERMISSIONS, CertificatePermission, Permission, SECRET_PERMISSIONS,
    SecretPermission,
};
pub use certificates::{CreateCertificate, ImportCertificate, UpdateCertificate};
pub use keyward_clock::{Clock, Now, ShiftedClock, SystemClock};

/// Azure Key Vault's resource identifier: what its challenge names at `*.vault.azure.net`, and
/// an identifier URI of the vault resource in every tenant.
pub const AZURE_KEY_VAULT_RESOURCE: &str = "https://vault.azure.net";
pub use error::{Error, Result};
pub use http::{AdminError, ApiError, DEFAULT_VAULT, MAX_BODY, MAX_IMPORT_BODY, MISSING_TOKEN, router, vault_for_host};
pub use import::MAX_IMPORT_VALUE;
pub use links::{Applications, BoxFuture, CertificateLink};
pub use model::{
    Attributes, AttributesInput, CertificateBundle, CertificateOperation, Deleted, Deletion, LifetimeEvent, MAX_PAGE,
    MAX_TAGS, OperationStatus, Page, PageRequest, PolicyBundle, RECOVERABLE_DAYS, RECOVERY_LEVEL, SecretBundle, Tags,
};
pub use names::MAX_NAME_LEN;
pub use operations::MergeCertificate;
pub use policy::{
    ActionInput, ActionType, ContentType, IssuerInput, IssuerParameters, KeyPropsInput, LifetimeAction,
    LifetimeActionInput, MAX_LIFETIME_ACTIONS, Policy, PolicyInput, SansInput, SecretPropsInput,
    SubjectAlternativeNames, Trigger, TriggerInput, X509PropsInput,
};
pub use secrets::{MAX_SECRET_VALUE, SetSecret, UpdateSecret};
pub use service::{Vaults, vault_name};

use uuid::Uuid;

/// What the vault needs from the authority; the binary implements it over keyward-authority.
pub trait Tokens: Send + Sync + 'static {
    /// Validates a bearer token presented to a vault of `tenant_id` (signature, issuer,
    /// audience = the vault resource, lifetime). The caller if valid.
    fn vault_caller(&self, tenant_id: Uuid, token: &str) -> Option<Caller>;
    /// Validates a management (admin) token; the tenant it may manage if valid.
    fn admin_caller(&self, token: &str) -> Option<Uuid>;
    /// The challenge's `authorization` for a tenant: `https://HOST:PORT/{tenant-guid}`.
    fn authorization(&self, tenant_id: Uuid) -> Option<String>;
    /// The challenge's `resource`.
    fn resource(&self) -> String;
}

/// Who called: the principal a valid vault token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The principal's object id (the token's `oid`), which access policies name.
    pub object_id: Uuid,
    /// The application's client id (`appid` or `azp`), when the token has one.
    pub app_id: Option<Uuid>,
}
