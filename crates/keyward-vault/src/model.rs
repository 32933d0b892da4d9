//! What vault operations return and take: attributes, tags, bundles, pages. The HTTP layer
//! renders these in Key Vault's JSON; ids are built there from the request's host.

use std::collections::BTreeMap;

use keyward_pki::Certificate;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::policy::Policy;

/// Application-defined metadata: at most [`MAX_TAGS`] pairs.
pub type Tags = BTreeMap<String, String>;

/// The most tags an object may carry (Key Vault's limit).
pub const MAX_TAGS: usize = 15;
/// The longest tag name.
pub const MAX_TAG_NAME: usize = 512;
/// The longest tag value.
pub const MAX_TAG_VALUE: usize = 256;

/// How long a deleted object can be recovered, in days (Key Vault's default and maximum).
pub const RECOVERABLE_DAYS: i64 = 90;
/// The recovery level of every object: soft delete is always on, purge is allowed.
pub const RECOVERY_LEVEL: &str = "Recoverable+Purgeable";

pub(crate) fn check_tags(tags: &Tags) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(Error::BadParameter(format!(
            "an object can have at most {MAX_TAGS} tags; {} were given",
            tags.len()
        )));
    }
    for (name, value) in tags {
        if name.is_empty() || name.chars().count() > MAX_TAG_NAME || value.chars().count() > MAX_TAG_VALUE {
            return Err(Error::BadParameter(format!(
                "tag names are 1 to {MAX_TAG_NAME} characters and values at most {MAX_TAG_VALUE}"
            )));
        }
    }
    Ok(())
}

/// The management attributes of a version, times in unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    /// Whether the version can be used.
    pub enabled: bool,
    /// Not usable before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Not usable after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// When the version was made.
    pub created: i64,
    /// When it was last changed.
    pub updated: i64,
}

/// Attributes as a request gives them: any subset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AttributesInput {
    /// Enables or disables the version.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Not-before, unix seconds.
    #[serde(default)]
    pub nbf: Option<i64>,
    /// Expiry, unix seconds.
    #[serde(default)]
    pub exp: Option<i64>,
}

impl AttributesInput {
    /// Applies the given fields over `attributes`; `dates` says whether nbf and exp may be set
    /// (a certificate's come from the certificate).
    pub(crate) fn apply(&self, attributes: &mut Attributes, dates: bool, now: i64) {
        if let Some(enabled) = self.enabled {
            attributes.enabled = enabled;
        }
        if dates {
            if self.nbf.is_some() {
                attributes.nbf = self.nbf;
            }
            if self.exp.is_some() {
                attributes.exp = self.exp;
            }
        }
        attributes.updated = now;
    }
}

/// When a soft-deleted object was deleted and when it will be purged, unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deletion {
    /// When it was deleted.
    pub deleted_date: i64,
    /// When it will be purged unless recovered.
    pub scheduled_purge_date: i64,
}

/// A soft-deleted object and its deletion dates.
#[derive(Debug, Clone)]
pub struct Deleted<T> {
    /// The object as it was when deleted.
    pub item: T,
    /// The deletion dates.
    pub deletion: Deletion,
}

/// One version of a certificate (a CertificateBundle).
#[derive(Debug, Clone)]
pub struct CertificateBundle {
    /// The name as first spelled.
    pub name: String,
    /// The version id.
    pub version: String,
    /// The certificate.
    pub certificate: Certificate,
    /// Its attributes (nbf and exp are the certificate's).
    pub attributes: Attributes,
    /// Its tags.
    pub tags: Tags,
    /// The certificate's policy (one for all versions).
    pub policy: Policy,
    /// The policy's attributes.
    pub policy_attributes: Attributes,
}

/// One version of a secret (a SecretBundle). Its `Debug` hides the value.
#[derive(Clone)]
pub struct SecretBundle {
    /// The name as first spelled.
    pub name: String,
    /// The version id.
    pub version: String,
    /// The value; `None` where Key Vault does not return it (lists, updates, deletions).
    pub value: Option<Zeroizing<String>>,
    /// The content type the writer gave (or the certificate's, for a managed secret).
    pub content_type: Option<String>,
    /// Its attributes.
    pub attributes: Attributes,
    /// Its tags.
    pub tags: Tags,
    /// Whether a certificate manages it (then its `kid` is the certificate's key).
    pub managed: bool,
}

impl std::fmt::Debug for SecretBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBundle")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("content_type", &self.content_type)
            .field("managed", &self.managed)
            .finish_non_exhaustive()
    }
}

/// The status of a certificate operation, as Key Vault spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OperationStatus {
    /// Waiting for the issuer (issuer `Unknown`: for a merge).
    #[serde(rename = "inProgress")]
    InProgress,
    /// Done: the certificate version exists.
    #[serde(rename = "completed")]
    Completed,
    /// Cancelled before completion.
    #[serde(rename = "cancelled")]
    Cancelled,
}

impl OperationStatus {
    /// `inProgress`, `completed` or `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "inProgress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A certificate's creation, as `/certificates/{name}/pending` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateOperation {
    /// The certificate's name.
    pub name: String,
    /// The issuer's name (`Self`, `Unknown`).
    pub issuer: String,
    /// The certificate signing request (DER).
    pub csr: Option<Vec<u8>>,
    /// Whether cancellation was requested.
    pub cancellation_requested: bool,
    /// Where it stands.
    pub status: OperationStatus,
    /// Words for people.
    pub status_details: String,
    /// The request id.
    pub request_id: String,
}

/// A policy with its attributes.
#[derive(Debug, Clone)]
pub struct PolicyBundle {
    /// The certificate's name.
    pub name: String,
    /// The policy.
    pub policy: Policy,
    /// Its attributes (enabled, created, updated).
    pub attributes: Attributes,
}

/// The most items a page holds, and the default (Key Vault's).
pub const MAX_PAGE: usize = 25;

/// Which page of a list to return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many items (1 to [`MAX_PAGE`]); `None` for [`MAX_PAGE`].
    pub max: Option<usize>,
    /// Where to continue: the `$skiptoken` of the previous page's `nextLink`.
    pub skip_token: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The `$skiptoken` of the next page, if there is one.
    pub next: Option<String>,
}

/// Something a lifetime action did that has no other trace: an EmailContacts trigger (no mail
/// is sent; the event is the record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifetimeEvent {
    /// The action (`EmailContacts`).
    pub action: crate::policy::ActionType,
    /// The version whose lifetime triggered it.
    pub version: String,
    /// When it was recorded, unix seconds.
    pub recorded: i64,
    /// When the trigger was due, unix seconds.
    pub due: i64,
}
