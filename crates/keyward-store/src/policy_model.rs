//! A tenant's default app management policy (Entra's `tenantAppManagementPolicy`): which
//! credentials may be added to its applications, and how long they may live. Kept as one
//! document per tenant; what the restrictions mean is the authority's business.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The restrictions a tenant puts on the credentials of its applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppManagementPolicy {
    /// The tenant it belongs to (one policy per tenant).
    pub tenant_id: Uuid,
    /// Whether it is enforced at all (Graph's `isEnabled`).
    pub is_enabled: bool,
    /// Restrictions on client secrets (`applicationRestrictions.passwordCredentials`).
    #[serde(default)]
    pub password_credentials: Vec<CredentialRestriction>,
    /// Restrictions on certificates (`applicationRestrictions.keyCredentials`).
    #[serde(default)]
    pub key_credentials: Vec<CredentialRestriction>,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub modified: OffsetDateTime,
}

/// One restriction of a policy, as Graph's `passwordCredentialConfiguration` and
/// `keyCredentialConfiguration` have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRestriction {
    /// What it restricts, e.g. `passwordAddition`, `passwordLifetime`, `asymmetricKeyLifetime`.
    pub restriction_type: String,
    /// Whether it is evaluated (Graph's `state`: `enabled` or `disabled`).
    pub enabled: bool,
    /// The longest lifetime allowed, an ISO 8601 duration such as `P90D`, for the lifetime
    /// restrictions.
    #[serde(default)]
    pub max_lifetime: Option<String>,
    /// Only applications created after this instant are restricted; all when `None`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub restrict_for_apps_created_after: Option<OffsetDateTime>,
}

/// What the last declarative state apply manages: every object it created or adopted, by a key
/// the applier chooses (`app:{tenant}:{objectId}`, ...), with a fingerprint of the declaration
/// it was applied from (so that `expires = "30d"` is not a change at every apply). Kept as one
/// document; what the keys mean is the server's business.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedState {
    /// Managed object key → fingerprint of its declaration.
    #[serde(default)]
    pub managed: std::collections::BTreeMap<String, String>,
}
