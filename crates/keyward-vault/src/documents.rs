//! The JSON documents the vault keeps in the store, one per name and one per version, and the
//! owner strings that bind sealed material to its row. These shapes are persisted: fields are
//! only ever added, with defaults.
//!
//! A certificate name (`/certificates/{name}`):
//! `{"policy": Policy, "policyAttributes": Attributes, "latest": "32hex"|null,
//!   "operation": {"requestId", "status", "statusDetails", "cancellationRequested", "csr"?,
//!                 "sealedKey"?, "version"?}|null,
//!   "deletion": {"deletedDate", "scheduledPurgeDate"}|null,
//!   "events": [{"kind": "EmailContacts", "version", "at", "due"}]}`
//!
//! A certificate version: `{"cer": base64 DER, "chain": [base64 DER], "attributes": Attributes,
//! "tags": {}, "exportable": bool}`, sealed: the PKCS#8 private key.
//!
//! A secret name (`/secrets/{name}`): `{"managed": bool, "latest": "32hex", "deletion": ...}`.
//!
//! A secret version: `{"contentType"?, "attributes": Attributes, "tags": {}, "managed": bool}`,
//! sealed: the value (UTF-8).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_pki::Certificate;
use keyward_store::ItemKey;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{Attributes, Deletion, OperationStatus, Tags};
use crate::policy::Policy;

/// The document of a certificate name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertificateDoc {
    pub policy: Policy,
    pub policy_attributes: Attributes,
    /// The newest version; `None` while the first one is pending.
    #[serde(default)]
    pub latest: Option<String>,
    #[serde(default)]
    pub operation: Option<OperationDoc>,
    #[serde(default)]
    pub deletion: Option<Deletion>,
    #[serde(default)]
    pub events: Vec<EventDoc>,
    /// The applications (client ids) each new version is added to: see `links.rs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Uuid>,
}

/// The last certificate operation of a name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperationDoc {
    pub request_id: String,
    pub status: OperationStatus,
    #[serde(default)]
    pub status_details: String,
    #[serde(default)]
    pub cancellation_requested: bool,
    /// The CSR, base64 DER.
    #[serde(default)]
    pub csr: Option<String>,
    /// While in progress (issuer `Unknown`): the new key, sealed for
    /// [`pending_key_owner`], base64.
    #[serde(default)]
    pub sealed_key: Option<String>,
    /// While in progress: the tags and attributes the version will get.
    #[serde(default)]
    pub tags: Tags,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Something a lifetime action did that has no other trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventDoc {
    /// `EmailContacts`.
    pub kind: String,
    /// The version the trigger was about.
    pub version: String,
    /// When it was recorded, unix seconds.
    pub at: i64,
    /// When the trigger was due, unix seconds.
    pub due: i64,
}

/// The document of a certificate version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertificateVersionDoc {
    pub cer: String,
    #[serde(default)]
    pub chain: Vec<String>,
    pub attributes: Attributes,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default = "yes")]
    pub exportable: bool,
}

fn yes() -> bool {
    true
}

impl CertificateVersionDoc {
    pub fn certificate(&self) -> Result<Certificate> {
        decode_certificate(&self.cer)
    }
}

fn decode_certificate(b64: &str) -> Result<Certificate> {
    let der = STANDARD.decode(b64).map_err(Error::corrupt)?;
    Certificate::from_der(&der).map_err(Error::corrupt)
}

/// The document of a secret name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretDoc {
    #[serde(default)]
    pub managed: bool,
    #[serde(default)]
    pub latest: Option<String>,
    #[serde(default)]
    pub deletion: Option<Deletion>,
}

/// The document of a secret version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretVersionDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub attributes: Attributes,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default)]
    pub managed: bool,
}

pub(crate) fn to_json<T: Serialize>(doc: &T) -> Result<serde_json::Value> {
    serde_json::to_value(doc).map_err(Error::corrupt)
}

pub(crate) fn from_json<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T> {
    T::deserialize(value).map_err(Error::corrupt)
}

/// The owner string sealed material of a version is bound to:
/// `vault/{vault_id}/{collection}/{lowercase name}/{version}`.
pub(crate) fn version_owner(key: &ItemKey, version: &str) -> String {
    format!(
        "vault/{}/{}/{}/{}",
        key.vault_id,
        key.collection.as_str(),
        key.name.to_ascii_lowercase(),
        version
    )
}

/// The owner string of a pending certificate's key: `vault/{vault_id}/certificates/{name}/pending/{request_id}`.
pub(crate) fn pending_key_owner(vault_id: Uuid, name: &str, request_id: &str) -> String {
    format!(
        "vault/{vault_id}/certificates/{}/pending/{request_id}",
        name.to_ascii_lowercase()
    )
}
