//! The rows the vault keeps. The store knows vaults, the names in their two collections and the
//! versions behind each name; what a name or a version holds (policies, attributes, tags, the
//! certificate) is a JSON document owned by the vault, and the secret material is sealed by the
//! vault before it gets here.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A vault: certificates and secrets of one tenant, with the access policies that say who may
/// do what with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vault {
    /// Its id.
    pub id: Uuid,
    /// The tenant whose principals it serves (the authority named in its challenge).
    pub tenant_id: Uuid,
    /// Its name, the first label of its host name (`myvault` in `myvault.localhost`); unique,
    /// lowercase. The bare host serves the vault named `default`.
    pub name: String,
    /// Who may do what. No policy, no access.
    #[serde(default)]
    pub access_policies: Vec<AccessPolicy>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Bumped by every update; an update naming an older version is refused.
    pub version: i64,
}

/// The permissions of one principal (a service principal's object id, the `oid` of its tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    /// The principal's object id.
    pub object_id: Uuid,
    /// Certificate permissions, Key Vault's names in lowercase (`get`, `list`, `create`, ...).
    #[serde(default)]
    pub certificates: Vec<String>,
    /// Secret permissions (`get`, `list`, `set`, `delete`, ...).
    #[serde(default)]
    pub secrets: Vec<String>,
}

/// The two collections of a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Collection {
    /// `/certificates/...`
    Certificates,
    /// `/secrets/...` (including the managed secrets behind certificates).
    Secrets,
}

impl Collection {
    /// The name used in URLs and in the database: `certificates` or `secrets`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Certificates => "certificates",
            Self::Secrets => "secrets",
        }
    }
}

/// Where one name lives: a vault, a collection and the name. Names compare case-insensitively,
/// as in Key Vault: the store keys them by their ASCII lowercase form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemKey {
    /// The vault.
    pub vault_id: Uuid,
    /// The collection.
    pub collection: Collection,
    /// The name, as the caller spelled it.
    pub name: String,
}

/// One name in a collection: `/certificates/my-cert` with its state (a certificate's policy and
/// pending operation, for example) and whether it is soft-deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultItem {
    /// Where it lives; `key.name` keeps the spelling it was created with.
    pub key: ItemKey,
    /// Soft-deleted: listed only among the deleted items until recovered or purged.
    pub deleted: bool,
    /// The vault's document for the name.
    pub document: serde_json::Value,
    /// Bumped by every write; see [`ItemWrite`].
    pub revision: i64,
}

/// One version behind a name: `/secrets/my-secret/{32 hex}`.
#[derive(Clone, PartialEq, Eq)]
pub struct VaultVersion {
    /// The name it belongs to.
    pub key: ItemKey,
    /// The version id (32 lowercase hex digits); unique within its name.
    pub version: String,
    /// When it was made; versions are listed oldest first, ties broken by version id. The store
    /// keeps the instant, not the offset: it reads back in UTC.
    pub created: OffsetDateTime,
    /// The vault's document for the version (attributes, tags, the certificate, ...).
    pub document: serde_json::Value,
    /// The sealed secret material (a secret's value, a certificate's private key); may be empty.
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for VaultVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultVersion")
            .field("key", &self.key)
            .field("version", &self.version)
            .finish()
    }
}

/// A write of one name: insert it (`expected_revision: None`, refused with
/// [`crate::Error::Conflict`] if the name exists, deleted or not) or replace it when its stored
/// revision is `expected_revision` (refused with [`crate::Error::VersionMismatch`] otherwise, or
/// [`crate::Error::NotFound`] if it is gone). The stored revision becomes `item.revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemWrite {
    /// The new state of the name.
    pub item: VaultItem,
    /// See the type's documentation.
    pub expected_revision: Option<i64>,
}

/// Everything one vault operation writes, applied in one transaction: all of it or nothing.
/// A certificate's creation, for example, writes two names (the certificate and its managed
/// secret) and a version of each. Applied in this order: `purges`, `items`, `versions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultWrite {
    /// Names inserted or replaced.
    pub items: Vec<ItemWrite>,
    /// Versions inserted, or replaced when one with the same name and version id exists. The
    /// name must exist after `items` are applied ([`crate::Error::NotFound`] otherwise).
    pub versions: Vec<VaultVersion>,
    /// Names deleted for good, with all their versions (a purge). A missing name is no error.
    pub purges: Vec<ItemKey>,
}
