//! Certificates: create from a policy, import, read, list, update, and the policy. Every version
//! has its managed secret, written in the same transaction.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_pki::{Certificate, PrivateKey};
use keyward_store::{Collection, ItemKey, Vault, VaultItem, VaultVersion, VaultWrite};
use serde::Deserialize;

use crate::Vaults;
use crate::access::{Access, CertificatePermission};
use crate::documents::{
    CertificateDoc, CertificateVersionDoc, OperationDoc, SecretDoc, SecretVersionDoc, from_json, to_json, version_owner,
};
use crate::error::{Error, Result};
use crate::import::read_import;
use crate::model::{
    Attributes, AttributesInput, CertificateBundle, CertificateOperation, OperationStatus, Page, PageRequest,
    PolicyBundle, Tags, check_tags,
};
use crate::names::{check_name, new_version, version_key};
use crate::paging::{page_by_offset, page_of_names};
use crate::policy::{ContentType, Policy, PolicyInput};
use crate::secret_value::managed_secret_value;
use crate::service::{generate_key, item_write, retrying, self_sign};

/// `POST /certificates/{name}/create`: a policy (sparse; Key Vault's defaults fill the rest),
/// attributes and tags.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CreateCertificate {
    /// The policy.
    #[serde(default)]
    pub policy: Option<PolicyInput>,
    /// Attributes of the new version (`enabled`).
    #[serde(default)]
    pub attributes: Option<AttributesInput>,
    /// Tags of the new version.
    #[serde(default)]
    pub tags: Option<Tags>,
}

/// `POST /certificates/{name}/import`. Its `Debug` shows neither the value nor the password.
#[derive(Clone, Default, Deserialize)]
pub struct ImportCertificate {
    /// PEM text, or base64 of a PFX or PEM file.
    #[serde(default)]
    pub value: Option<String>,
    /// The PFX's (or encrypted key's) password; used to read the file, never stored.
    #[serde(default)]
    pub pwd: Option<String>,
    /// The policy; by default what the certificate says, issuer `Unknown`.
    #[serde(default)]
    pub policy: Option<PolicyInput>,
    /// Attributes of the new version (`enabled`).
    #[serde(default)]
    pub attributes: Option<AttributesInput>,
    /// Tags of the new version.
    #[serde(default)]
    pub tags: Option<Tags>,
}

impl std::fmt::Debug for ImportCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportCertificate")
            .field("policy", &self.policy)
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

/// `PATCH /certificates/{name}/{version}`: any of these.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateCertificate {
    /// Policy fields to change.
    #[serde(default)]
    pub policy: Option<PolicyInput>,
    /// Attributes to change (`enabled`).
    #[serde(default)]
    pub attributes: Option<AttributesInput>,
    /// New tags (replacing the old ones).
    #[serde(default)]
    pub tags: Option<Tags>,
}

/// A certificate version about to be stored, with its key.
pub(crate) struct NewVersion {
    /// The request the certificate answers, shown by the operation.
    pub csr: Option<Vec<u8>>,
    pub certificate: Certificate,
    pub chain: Vec<Certificate>,
    pub key: PrivateKey,
    pub enabled: bool,
    pub tags: Tags,
}

/// Where a new version comes from, for what it may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A create or import by a caller: refused while an operation is in progress.
    Caller,
    /// A merge completing the operation in progress.
    Merge,
    /// A renewal by the lifetime actions: only of a live certificate.
    Renewal,
}

pub(crate) fn cert_key(vault: &Vault, name: &str) -> ItemKey {
    Vaults::item_key(vault, Collection::Certificates, name)
}

pub(crate) fn secret_key(vault: &Vault, name: &str) -> ItemKey {
    Vaults::item_key(vault, Collection::Secrets, name)
}

fn not_found(name: &str) -> Error {
    Error::CertificateNotFound {
        name: name.to_owned(),
        deleted: false,
    }
}

impl Vaults {
    /// Creates a certificate (or a new version of one) from a policy. Issuer `Self` completes at
    /// once; issuer `Unknown` leaves an operation in progress with a CSR, completed by
    /// [`Vaults::merge_certificate`]. Needs `certificates/create`.
    pub async fn create_certificate(
        &self,
        access: &Access,
        name: &str,
        request: CreateCertificate,
    ) -> Result<CertificateOperation> {
        access.require(CertificatePermission::Create)?;
        check_name(name)?;
        let tags = request.tags.unwrap_or_default();
        check_tags(&tags)?;
        let policy = request.policy.unwrap_or_default().apply(&Policy::defaults())?;
        let enabled = request.attributes.and_then(|a| a.enabled).unwrap_or(true);
        let now = self.clock.now();
        let key = generate_key(policy.key_type()?).await?;
        if !policy.self_issued() {
            return self
                .start_operation(access.vault(), name, policy, key, tags, enabled)
                .await;
        }
        let spec = policy.spec(now)?;
        let csr = spec.signing_request(&key).map_err(Error::Issuance)?;
        let (certificate, key) = self_sign(spec, key).await?;
        let new = NewVersion {
            csr: Some(csr),
            certificate,
            chain: Vec::new(),
            key,
            enabled,
            tags,
        };
        retrying(|| self.store_version(access.vault(), name, Some(&policy), &new, Origin::Caller)).await?;
        tracing::info!(vault = %access.vault().name, certificate = %name, "certificate created");
        self.read_operation(access.vault(), name).await
    }

    /// Imports a certificate with its private key (PEM text, or base64 of a PFX or PEM file;
    /// the password opens the file and is dropped). Needs `certificates/import`.
    pub async fn import_certificate(
        &self,
        access: &Access,
        name: &str,
        request: ImportCertificate,
    ) -> Result<CertificateBundle> {
        access.require(CertificatePermission::Import)?;
        check_name(name)?;
        let tags = request.tags.clone().unwrap_or_default();
        check_tags(&tags)?;
        let value = request
            .value
            .as_deref()
            .ok_or_else(|| Error::BadParameter("the import needs the certificate in 'value'".into()))?;
        let imported = read_import(value, request.pwd.as_deref())?;
        let content_type = if imported.pem {
            ContentType::Pem
        } else {
            ContentType::Pkcs12
        };
        let base = Policy::for_import(&imported.certificate, content_type);
        // The policy may change what the vault does with the certificate, not what it is.
        let policy = match &request.policy {
            Some(input) => input.apply_to_import(&base)?,
            None => base,
        };
        let new = NewVersion {
            csr: None,
            certificate: imported.certificate,
            chain: imported.chain,
            key: imported.key,
            enabled: request.attributes.and_then(|a| a.enabled).unwrap_or(true),
            tags,
        };
        let version =
            retrying(|| self.store_version(access.vault(), name, Some(&policy), &new, Origin::Caller)).await?;
        tracing::info!(vault = %access.vault().name, certificate = %name, "certificate imported");
        self.read_bundle(access.vault(), name, Some(&version)).await
    }

    /// Writes a new version of a certificate and of its managed secret, in one transaction, and
    /// returns its id. `policy` replaces the certificate's (a create or import), or `None` keeps
    /// it (a renewal or merge).
    pub(crate) async fn store_version(
        &self,
        vault: &Vault,
        name: &str,
        policy: Option<&Policy>,
        new: &NewVersion,
        origin: Origin,
    ) -> Result<String> {
        let ckey = cert_key(vault, name);
        let skey = secret_key(vault, name);
        let cert_item = self.store.vault_item(&ckey).await?;
        let secret_item = self.store.vault_item(&skey).await?;
        let old: Option<CertificateDoc> = cert_item.as_ref().map(|i| from_json(&i.document)).transpose()?;
        let secret_doc: Option<SecretDoc> = secret_item.as_ref().map(|i| from_json(&i.document)).transpose()?;
        if let Some(item) = &cert_item
            && item.deleted
        {
            return Err(Error::DeletedButRecoverable {
                collection: Collection::Certificates,
                name: item.key.name.clone(),
            });
        }
        let in_progress = old
            .as_ref()
            .and_then(|d| d.operation.as_ref())
            .is_some_and(|o| o.status == OperationStatus::InProgress);
        match origin {
            Origin::Caller if in_progress => return Err(Error::OperationInProgress(name.to_owned())),
            Origin::Renewal if old.is_none() || in_progress => return Err(not_found(name)),
            _ => {}
        }
        if let (Some(item), Some(doc)) = (&secret_item, &secret_doc)
            && !doc.managed
        {
            return Err(if item.deleted {
                Error::DeletedButRecoverable {
                    collection: Collection::Secrets,
                    name: item.key.name.clone(),
                }
            } else {
                Error::NameTakenBySecret(item.key.name.clone())
            });
        }
        let policy = match (policy, &old) {
            (Some(p), _) => p.clone(),
            (None, Some(doc)) => doc.policy.clone(),
            (None, None) => return Err(not_found(name)),
        };
        let now = self.unix_now();
        let version = new_version();
        let info = new.certificate.info();
        let attributes = Attributes {
            enabled: new.enabled,
            nbf: Some(info.not_before.unix_timestamp()),
            exp: Some(info.not_after.unix_timestamp()),
            created: now,
            updated: now,
        };
        let spelling = cert_item.as_ref().map_or(name, |i| i.key.name.as_str());
        let ckey = cert_key(vault, spelling);
        let skey = secret_key(vault, spelling);

        let cert_version = VaultVersion {
            key: ckey.clone(),
            version: version.clone(),
            created: self.clock.now(),
            document: to_json(&CertificateVersionDoc {
                cer: STANDARD.encode(new.certificate.der()),
                chain: new.chain.iter().map(|c| STANDARD.encode(c.der())).collect(),
                attributes: attributes.clone(),
                tags: new.tags.clone(),
                exportable: policy.exportable,
            })?,
            sealed: self.seal(&version_owner(&ckey, &version), new.key.pkcs8_der())?,
        };
        let key_for_value = policy.exportable.then_some(&new.key);
        let value = managed_secret_value(policy.content_type, &new.certificate, &new.chain, key_for_value)?;
        let secret_version = VaultVersion {
            key: skey.clone(),
            version: version.clone(),
            created: self.clock.now(),
            document: to_json(&SecretVersionDoc {
                content_type: Some(policy.content_type.as_str().to_owned()),
                attributes,
                tags: new.tags.clone(),
                managed: true,
            })?,
            sealed: self.seal(&version_owner(&skey, &version), value.as_bytes())?,
        };

        let operation = match origin {
            Origin::Caller | Origin::Merge => Some(OperationDoc {
                request_id: old
                    .as_ref()
                    .and_then(|d| d.operation.as_ref())
                    .filter(|_| origin == Origin::Merge)
                    .map_or_else(new_version, |o| o.request_id.clone()),
                status: OperationStatus::Completed,
                status_details: String::new(),
                cancellation_requested: false,
                csr: match &new.csr {
                    Some(csr) => Some(STANDARD.encode(csr)),
                    None => old
                        .as_ref()
                        .and_then(|d| d.operation.as_ref())
                        .filter(|_| origin == Origin::Merge)
                        .and_then(|o| o.csr.clone()),
                },
                sealed_key: None,
                tags: Tags::new(),
                enabled: None,
            }),
            Origin::Renewal => old.as_ref().and_then(|d| d.operation.clone()),
        };
        let policy_attributes = match &old {
            Some(doc) if doc.policy == policy => doc.policy_attributes.clone(),
            Some(doc) => Attributes {
                enabled: policy.enabled,
                updated: now,
                ..doc.policy_attributes.clone()
            },
            None => Attributes {
                enabled: policy.enabled,
                nbf: None,
                exp: None,
                created: now,
                updated: now,
            },
        };
        let (events, links) = old.map(|d| (d.events, d.links)).unwrap_or_default();
        let doc = CertificateDoc {
            policy,
            policy_attributes,
            latest: Some(version.clone()),
            operation,
            deletion: None,
            events,
            links,
        };
        let secret_doc = SecretDoc {
            managed: true,
            latest: Some(version.clone()),
            deletion: None,
        };
        let write = VaultWrite {
            items: vec![
                item_write(cert_item.as_ref(), ckey, false, to_json(&doc)?),
                item_write(secret_item.as_ref(), skey, false, to_json(&secret_doc)?),
            ],
            versions: vec![cert_version, secret_version],
            purges: Vec::new(),
        };
        self.store.write_vault(&write).await?;
        if !doc.links.is_empty() {
            self.add_to_linked(vault, spelling, &version, &new.certificate, &doc.links)
                .await;
        }
        Ok(version)
    }

    /// A live (not deleted) certificate name and its document.
    pub(crate) async fn live_certificate(&self, vault: &Vault, name: &str) -> Result<(VaultItem, CertificateDoc)> {
        check_name(name)?;
        match self.store.vault_item(&cert_key(vault, name)).await? {
            Some(item) if !item.deleted => {
                let doc = from_json(&item.document)?;
                Ok((item, doc))
            }
            _ => Err(not_found(name)),
        }
    }

    /// One version (`None` or empty: the latest) of a certificate, deleted or not.
    pub(crate) async fn bundle_of(
        &self,
        item: &VaultItem,
        doc: &CertificateDoc,
        version: Option<&str>,
    ) -> Result<CertificateBundle> {
        let name = &item.key.name;
        let version = match version.filter(|v| !v.is_empty()) {
            None => doc.latest.clone().ok_or_else(|| not_found(name))?,
            Some(v) => version_key(v).ok_or_else(|| not_found(name))?,
        };
        let stored = self
            .store
            .vault_version(&item.key, &version)
            .await?
            .ok_or_else(|| not_found(name))?;
        self.bundle_from(item, doc, &stored)
    }

    fn bundle_from(&self, item: &VaultItem, doc: &CertificateDoc, stored: &VaultVersion) -> Result<CertificateBundle> {
        let vdoc: CertificateVersionDoc = from_json(&stored.document)?;
        Ok(CertificateBundle {
            name: item.key.name.clone(),
            version: stored.version.clone(),
            certificate: vdoc.certificate()?,
            attributes: vdoc.attributes,
            tags: vdoc.tags,
            policy: doc.policy.clone(),
            policy_attributes: doc.policy_attributes.clone(),
        })
    }

    async fn read_bundle(&self, vault: &Vault, name: &str, version: Option<&str>) -> Result<CertificateBundle> {
        let (item, doc) = self.live_certificate(vault, name).await?;
        self.bundle_of(&item, &doc, version).await
    }

    /// A certificate version; `None` (or an empty version) for the latest. Needs
    /// `certificates/get`.
    pub async fn certificate(&self, access: &Access, name: &str, version: Option<&str>) -> Result<CertificateBundle> {
        access.require(CertificatePermission::Get)?;
        self.read_bundle(access.vault(), name, version).await
    }

    /// The latest version of every certificate, a page at a time. Needs `certificates/list`.
    pub async fn certificates(&self, access: &Access, page: &PageRequest) -> Result<Page<CertificateBundle>> {
        access.require(CertificatePermission::List)?;
        let items = self
            .store
            .vault_items(access.vault().id, Collection::Certificates, false)
            .await?;
        let (items, next) = page_of_names(items, page)?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let doc: CertificateDoc = from_json(&item.document)?;
            if doc.latest.is_some() {
                out.push(self.bundle_of(item, &doc, None).await?);
            }
        }
        Ok(Page { items: out, next })
    }

    /// Every version of a certificate, oldest first, a page at a time. Needs
    /// `certificates/list`.
    pub async fn certificate_versions(
        &self,
        access: &Access,
        name: &str,
        page: &PageRequest,
    ) -> Result<Page<CertificateBundle>> {
        access.require(CertificatePermission::List)?;
        let (item, doc) = self.live_certificate(access.vault(), name).await?;
        let versions = self.store.vault_versions(&item.key).await?;
        let (versions, next) = page_by_offset(versions, page)?;
        let items = versions
            .iter()
            .map(|v| self.bundle_from(&item, &doc, v))
            .collect::<Result<_>>()?;
        Ok(Page { items, next })
    }

    /// Changes a version's attributes (`enabled`) and tags, and the policy if one is given; the
    /// managed secret's version follows. Needs `certificates/update`.
    pub async fn update_certificate(
        &self,
        access: &Access,
        name: &str,
        version: Option<&str>,
        update: UpdateCertificate,
    ) -> Result<CertificateBundle> {
        access.require(CertificatePermission::Update)?;
        if let Some(tags) = &update.tags {
            check_tags(tags)?;
        }
        let version = retrying(|| self.try_update_certificate(access.vault(), name, version, &update)).await?;
        self.read_bundle(access.vault(), name, Some(&version)).await
    }

    async fn try_update_certificate(
        &self,
        vault: &Vault,
        name: &str,
        version: Option<&str>,
        update: &UpdateCertificate,
    ) -> Result<String> {
        let (item, mut doc) = self.live_certificate(vault, name).await?;
        let current = self.bundle_of(&item, &doc, version).await?;
        let now = self.unix_now();
        if let Some(input) = &update.policy {
            self.change_policy(&mut doc, input, now)?;
        }
        let mut stored = self
            .store
            .vault_version(&item.key, &current.version)
            .await?
            .ok_or_else(|| not_found(name))?;
        let mut vdoc: CertificateVersionDoc = from_json(&stored.document)?;
        if let Some(attributes) = &update.attributes {
            attributes.apply(&mut vdoc.attributes, false, now);
        } else {
            vdoc.attributes.updated = now;
        }
        if let Some(tags) = &update.tags {
            vdoc.tags = tags.clone();
        }
        stored.document = to_json(&vdoc)?;
        let mut versions = vec![stored];
        let skey = secret_key(vault, &item.key.name);
        if let Some(mut secret) = self.store.vault_version(&skey, &current.version).await? {
            let mut sdoc: SecretVersionDoc = from_json(&secret.document)?;
            sdoc.attributes.enabled = vdoc.attributes.enabled;
            sdoc.attributes.updated = now;
            sdoc.tags = vdoc.tags.clone();
            secret.document = to_json(&sdoc)?;
            versions.push(secret);
        }
        let write = VaultWrite {
            items: vec![item_write(Some(&item), item.key.clone(), false, to_json(&doc)?)],
            versions,
            purges: Vec::new(),
        };
        self.store.write_vault(&write).await?;
        Ok(current.version)
    }

    fn change_policy(&self, doc: &mut CertificateDoc, input: &PolicyInput, now: i64) -> Result<()> {
        let policy = input.merge(&doc.policy)?;
        // A policy the vault issues from must be complete; an imported certificate's describes
        // a certificate made elsewhere, whose subject the vault need not be able to write.
        if policy.self_issued() {
            policy.validate()?;
        } else {
            policy.key_type()?;
        }
        doc.policy = policy;
        doc.policy_attributes.enabled = doc.policy.enabled;
        doc.policy_attributes.updated = now;
        Ok(())
    }

    /// A certificate's policy. Needs `certificates/get`.
    pub async fn certificate_policy(&self, access: &Access, name: &str) -> Result<PolicyBundle> {
        access.require(CertificatePermission::Get)?;
        let (item, doc) = self.live_certificate(access.vault(), name).await?;
        Ok(PolicyBundle {
            name: item.key.name,
            policy: doc.policy,
            attributes: doc.policy_attributes,
        })
    }

    /// Changes the given fields of a certificate's policy; the next versions follow it. Needs
    /// `certificates/update`.
    pub async fn update_certificate_policy(
        &self,
        access: &Access,
        name: &str,
        input: PolicyInput,
    ) -> Result<PolicyBundle> {
        access.require(CertificatePermission::Update)?;
        retrying(|| async {
            let (item, mut doc) = self.live_certificate(access.vault(), name).await?;
            self.change_policy(&mut doc, &input, self.unix_now())?;
            let write = VaultWrite {
                items: vec![item_write(Some(&item), item.key.clone(), false, to_json(&doc)?)],
                ..VaultWrite::default()
            };
            self.store.write_vault(&write).await?;
            Ok(PolicyBundle {
                name: item.key.name.clone(),
                policy: doc.policy,
                attributes: doc.policy_attributes,
            })
        })
        .await
    }

    /// The private key of a certificate version, opened: for renewals that reuse the key and
    /// for tests.
    pub(crate) async fn certificate_key(&self, key: &ItemKey, version: &str) -> Result<PrivateKey> {
        let stored = self
            .store
            .vault_version(key, version)
            .await?
            .ok_or_else(|| not_found(&key.name))?;
        let der = self.open(&version_owner(key, version), &stored.sealed)?;
        PrivateKey::from_pkcs8_der(&der).map_err(Error::corrupt)
    }
}
