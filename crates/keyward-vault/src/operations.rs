//! Certificate operations (`/certificates/{name}/pending`): issuer `Self` completes at once;
//! issuer `Unknown` stays in progress with a CSR until the signed certificate is merged, and can
//! be cancelled or deleted.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_pki::{Certificate, PrivateKey};
use keyward_store::{Collection, Vault, VaultWrite};
use serde::Deserialize;

use crate::Vaults;
use crate::access::{Access, CertificatePermission};
use crate::certificates::{NewVersion, Origin, cert_key, secret_key};
use crate::documents::{CertificateDoc, OperationDoc, SecretDoc, from_json, pending_key_owner, to_json};
use crate::error::{Error, Result};
use crate::model::{Attributes, AttributesInput, CertificateOperation, OperationStatus, Tags, check_tags};
use crate::names::{check_name, new_version};
use crate::policy::Policy;
use crate::service::{item_write, retrying};

/// `POST /certificates/{name}/pending/merge`: the certificate the CSR was signed into, then its
/// chain, base64 DER.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MergeCertificate {
    /// The certificate, then its issuers.
    #[serde(default)]
    pub x5c: Vec<String>,
    /// Attributes of the new version (`enabled`).
    #[serde(default)]
    pub attributes: Option<AttributesInput>,
    /// Tags of the new version.
    #[serde(default)]
    pub tags: Option<Tags>,
}

const IN_PROGRESS_DETAILS: &str = "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later.";

fn operation_not_found(name: &str) -> Error {
    Error::OperationNotFound(name.to_owned())
}

impl Vaults {
    /// Starts an operation for issuer `Unknown`: the key is kept sealed with the operation, the
    /// CSR is returned for signing elsewhere.
    pub(crate) async fn start_operation(
        &self,
        vault: &Vault,
        name: &str,
        policy: Policy,
        key: PrivateKey,
        tags: Tags,
        enabled: bool,
    ) -> Result<CertificateOperation> {
        let spec = policy.spec(self.clock.now())?;
        let csr = spec.signing_request(&key).map_err(Error::Issuance)?;
        retrying(|| async {
            let ckey = cert_key(vault, name);
            let cert_item = self.store.vault_item(&ckey).await?;
            let old: Option<CertificateDoc> = cert_item.as_ref().map(|i| from_json(&i.document)).transpose()?;
            if let Some(item) = &cert_item
                && item.deleted
            {
                return Err(Error::DeletedButRecoverable {
                    collection: Collection::Certificates,
                    name: item.key.name.clone(),
                });
            }
            if old
                .as_ref()
                .and_then(|d| d.operation.as_ref())
                .is_some_and(|o| o.status == OperationStatus::InProgress)
            {
                return Err(Error::OperationInProgress(name.to_owned()));
            }
            if let Some(item) = self.store.vault_item(&secret_key(vault, name)).await? {
                let doc: SecretDoc = from_json(&item.document)?;
                if !doc.managed {
                    return Err(if item.deleted {
                        Error::DeletedButRecoverable {
                            collection: Collection::Secrets,
                            name: item.key.name,
                        }
                    } else {
                        Error::NameTakenBySecret(item.key.name)
                    });
                }
            }
            let now = self.unix_now();
            let request_id = new_version();
            let operation = OperationDoc {
                request_id: request_id.clone(),
                status: OperationStatus::InProgress,
                status_details: IN_PROGRESS_DETAILS.into(),
                cancellation_requested: false,
                csr: Some(STANDARD.encode(&csr)),
                sealed_key: Some(
                    STANDARD.encode(self.seal(&pending_key_owner(vault.id, name, &request_id), key.pkcs8_der())?),
                ),
                tags: tags.clone(),
                enabled: Some(enabled),
            };
            let doc = match old {
                Some(mut doc) => {
                    doc.policy = policy.clone();
                    doc.policy_attributes.enabled = policy.enabled;
                    doc.policy_attributes.updated = now;
                    doc.operation = Some(operation);
                    doc
                }
                None => CertificateDoc {
                    policy: policy.clone(),
                    policy_attributes: Attributes {
                        enabled: policy.enabled,
                        nbf: None,
                        exp: None,
                        created: now,
                        updated: now,
                    },
                    latest: None,
                    operation: Some(operation),
                    deletion: None,
                    events: Vec::new(),
                    links: Vec::new(),
                },
            };
            let write = VaultWrite {
                items: vec![item_write(cert_item.as_ref(), ckey, false, to_json(&doc)?)],
                ..VaultWrite::default()
            };
            self.store.write_vault(&write).await?;
            Ok(())
        })
        .await?;
        tracing::info!(vault = %vault.name, certificate = %name, "certificate request started (issuer Unknown)");
        self.read_operation(vault, name).await
    }

    /// The operation of a certificate, without a permission check.
    pub(crate) async fn read_operation(&self, vault: &Vault, name: &str) -> Result<CertificateOperation> {
        let (item, doc) = self
            .live_certificate(vault, name)
            .await
            .map_err(|_| operation_not_found(name))?;
        let op = doc.operation.as_ref().ok_or_else(|| operation_not_found(name))?;
        Ok(render_operation(&item.key.name, &doc, op))
    }

    /// The certificate's last operation. Needs `certificates/get`.
    pub async fn certificate_operation(&self, access: &Access, name: &str) -> Result<CertificateOperation> {
        access.require(CertificatePermission::Get)?;
        check_name(name)?;
        self.read_operation(access.vault(), name).await
    }

    /// Requests cancellation: an operation in progress is cancelled and its key dropped. Needs
    /// `certificates/update`.
    pub async fn cancel_certificate_operation(
        &self,
        access: &Access,
        name: &str,
        cancel: bool,
    ) -> Result<CertificateOperation> {
        access.require(CertificatePermission::Update)?;
        check_name(name)?;
        retrying(|| async {
            let (item, mut doc) = self
                .live_certificate(access.vault(), name)
                .await
                .map_err(|_| operation_not_found(name))?;
            let op = doc.operation.as_mut().ok_or_else(|| operation_not_found(name))?;
            if cancel && !op.cancellation_requested {
                op.cancellation_requested = true;
                if op.status == OperationStatus::InProgress {
                    op.status = OperationStatus::Cancelled;
                    op.status_details = "The certificate operation was cancelled.".into();
                    op.sealed_key = None;
                }
            }
            let write = VaultWrite {
                items: vec![item_write(Some(&item), item.key.clone(), false, to_json(&doc)?)],
                ..VaultWrite::default()
            };
            self.store.write_vault(&write).await?;
            Ok(())
        })
        .await?;
        self.read_operation(access.vault(), name).await
    }

    /// Deletes the certificate's operation and returns it as it was. A certificate that never
    /// got a version is gone with it. Needs `certificates/update`.
    pub async fn delete_certificate_operation(&self, access: &Access, name: &str) -> Result<CertificateOperation> {
        access.require(CertificatePermission::Update)?;
        check_name(name)?;
        retrying(|| async {
            let (item, mut doc) = self
                .live_certificate(access.vault(), name)
                .await
                .map_err(|_| operation_not_found(name))?;
            let op = doc.operation.take().ok_or_else(|| operation_not_found(name))?;
            let rendered = render_operation(&item.key.name, &doc, &op);
            let write = if doc.latest.is_none() {
                VaultWrite {
                    purges: vec![item.key.clone()],
                    ..VaultWrite::default()
                }
            } else {
                VaultWrite {
                    items: vec![item_write(Some(&item), item.key.clone(), false, to_json(&doc)?)],
                    ..VaultWrite::default()
                }
            };
            self.store.write_vault(&write).await?;
            Ok(rendered)
        })
        .await
    }

    /// Completes an operation in progress (issuer `Unknown`) with the certificate its CSR was
    /// signed into. Needs `certificates/create`.
    pub async fn merge_certificate(
        &self,
        access: &Access,
        name: &str,
        request: MergeCertificate,
    ) -> Result<crate::model::CertificateBundle> {
        access.require(CertificatePermission::Create)?;
        check_name(name)?;
        if let Some(tags) = &request.tags {
            check_tags(tags)?;
        }
        let vault = access.vault();
        let (_, doc) = self.live_certificate(vault, name).await?;
        let op = doc
            .operation
            .as_ref()
            .filter(|o| o.status == OperationStatus::InProgress)
            .ok_or_else(|| Error::BadParameter(format!("certificate {name} has no operation in progress to merge")))?;
        let mut certificates = Vec::new();
        for b64 in &request.x5c {
            let der = STANDARD
                .decode(b64.trim())
                .map_err(|_| Error::BadParameter("x5c holds base64 DER certificates".into()))?;
            certificates.push(Certificate::from_der(&der).map_err(Error::Certificate)?);
        }
        if certificates.is_empty() {
            return Err(Error::BadParameter("x5c needs at least the signed certificate".into()));
        }
        let sealed = STANDARD
            .decode(op.sealed_key.as_deref().unwrap_or_default())
            .map_err(Error::corrupt)?;
        let der = self.open(&pending_key_owner(vault.id, name, &op.request_id), &sealed)?;
        let key = PrivateKey::from_pkcs8_der(&der).map_err(Error::corrupt)?;
        let certificate = certificates.remove(0);
        certificate.check_key(&key).map_err(|_| {
            Error::BadParameter("the merged certificate is not for the key of the pending request".into())
        })?;
        let new = NewVersion {
            csr: None,
            certificate,
            chain: certificates,
            key,
            enabled: request
                .attributes
                .and_then(|a| a.enabled)
                .or(op.enabled)
                .unwrap_or(true),
            tags: request.tags.unwrap_or_else(|| op.tags.clone()),
        };
        let version = retrying(|| self.store_version(vault, name, None, &new, Origin::Merge)).await?;
        tracing::info!(vault = %vault.name, certificate = %name, "certificate merged");
        let (item, doc) = self.live_certificate(vault, name).await?;
        self.bundle_of(&item, &doc, Some(&version)).await
    }
}

fn render_operation(name: &str, doc: &CertificateDoc, op: &OperationDoc) -> CertificateOperation {
    CertificateOperation {
        name: name.to_owned(),
        issuer: doc.policy.issuer.name.clone(),
        csr: op.csr.as_deref().and_then(|c| STANDARD.decode(c).ok()),
        cancellation_requested: op.cancellation_requested,
        status: op.status,
        status_details: op.status_details.clone(),
        request_id: op.request_id.clone(),
    }
}
