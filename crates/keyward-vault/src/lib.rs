//! A Key Vault-compatible store of certificates and secrets: the domain service ([`Vaults`]) and
//! its HTTP adapters ([`router`]), speaking the wire protocol the unmodified Azure Key Vault SDKs
//! use.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access;
mod certificates;
mod clock;
mod deletion;
mod documents;
mod error;
mod http;
mod import;
mod model;
mod names;
mod operations;
mod paging;
mod policy;
mod renewal;
mod secret_value;
mod secrets;
mod service;

pub use access::{Access, CERTIFICATE_PERMISSIONS, Permission, SECRET_PERMISSIONS};
pub use certificates::{CreateCertificate, ImportCertificate, UpdateCertificate};
pub use clock::{Clock, ShiftedClock, SystemClock};
pub use error::{Error, Result};
pub use http::{AdminError, ApiError, DEFAULT_VAULT, MAX_BODY, MAX_IMPORT_BODY, MISSING_TOKEN, router, vault_for_host};
pub use import::MAX_IMPORT_VALUE;
pub use model::{
    Attributes, AttributesInput, CertificateBundle, CertificateOperation, Deleted, Deletion, LifetimeEvent, MAX_PAGE,
    MAX_TAGS, OperationStatus, Page, PageRequest, PolicyBundle, RECOVERABLE_DAYS, RECOVERY_LEVEL, SecretBundle, Tags,
};
pub use names::MAX_NAME_LEN;
pub use operations::MergeCertificate;
pub use policy::{
    ActionInput, ActionType, ContentType, IssuerInput, IssuerParameters, KeyPropsInput, LifetimeAction,
    LifetimeActionInput, Policy, PolicyInput, SansInput, SecretPropsInput, SubjectAlternativeNames, Trigger,
    TriggerInput, X509PropsInput,
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
