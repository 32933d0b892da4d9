//! Soft delete, always on: a deleted certificate or secret keeps its versions for
//! [`RECOVERABLE_DAYS`] days, listed among the deleted ones, until it is recovered or purged. A
//! certificate's secret is deleted, recovered and purged with it, never on its own.

use keyward_store::{Collection, ItemKey, VaultItem, VaultWrite};

use crate::Vaults;
use crate::access::{Access, CertificatePermission, SecretPermission};
use crate::certificates::{cert_key, secret_key};
use crate::documents::{CertificateDoc, SecretDoc, from_json};
use crate::error::{Error, Result};
use crate::model::{CertificateBundle, Deleted, Deletion, Page, PageRequest, RECOVERABLE_DAYS, SecretBundle};
use crate::names::check_name;
use crate::paging::page_of_names;
use crate::service::{item_write, retrying};

fn deleted_certificate_not_found(name: &str) -> Error {
    Error::CertificateNotFound {
        name: name.to_owned(),
        deleted: true,
    }
}

fn deleted_secret_not_found(name: &str) -> Error {
    Error::SecretNotFound {
        name: name.to_owned(),
        deleted: true,
    }
}

/// Sets or clears the `deletion` of a name's document.
fn with_deletion(item: &VaultItem, deletion: Option<Deletion>) -> Result<serde_json::Value> {
    let mut document = item.document.clone();
    let object = document
        .as_object_mut()
        .ok_or_else(|| Error::corrupt("a vault document is not an object"))?;
    match deletion {
        Some(d) => object.insert("deletion".into(), serde_json::to_value(d).map_err(Error::corrupt)?),
        None => object.remove("deletion"),
    };
    Ok(document)
}

impl Vaults {
    fn deletion_now(&self) -> Deletion {
        let now = self.unix_now();
        Deletion {
            deleted_date: now,
            scheduled_purge_date: now + RECOVERABLE_DAYS * 86_400,
        }
    }

    async fn deleted_item(&self, key: &ItemKey) -> Result<Option<VaultItem>> {
        Ok(self.store.vault_item(key).await?.filter(|i| i.deleted))
    }

    // --- Certificates ---------------------------------------------------------------------

    /// Soft-deletes a certificate with its secret; returns its latest version. Needs
    /// `certificates/delete`.
    pub async fn delete_certificate(&self, access: &Access, name: &str) -> Result<Deleted<CertificateBundle>> {
        access.require(CertificatePermission::Delete)?;
        let vault = access.vault();
        let deleted = retrying(|| async {
            let (item, doc) = self.live_certificate(vault, name).await?;
            if doc.latest.is_none() {
                // Nothing was ever issued: only the operation can go.
                return Err(Error::OperationInProgress(item.key.name.clone()));
            }
            let bundle = self.bundle_of(&item, &doc, None).await?;
            let deletion = self.deletion_now();
            let mut items = vec![item_write(
                Some(&item),
                item.key.clone(),
                true,
                with_deletion(&item, Some(deletion))?,
            )];
            if let Some(secret) = self.store.vault_item(&secret_key(vault, &item.key.name)).await? {
                items.push(item_write(
                    Some(&secret),
                    secret.key.clone(),
                    true,
                    with_deletion(&secret, Some(deletion))?,
                ));
            }
            self.store
                .write_vault(&VaultWrite {
                    items,
                    ..VaultWrite::default()
                })
                .await?;
            Ok(Deleted { item: bundle, deletion })
        })
        .await?;
        tracing::info!(vault = %vault.name, certificate = %name, "certificate deleted");
        Ok(deleted)
    }

    async fn deleted_certificate_of(&self, item: &VaultItem) -> Result<Deleted<CertificateBundle>> {
        let doc: CertificateDoc = from_json(&item.document)?;
        let deletion = doc
            .deletion
            .ok_or_else(|| Error::corrupt("a deleted certificate without deletion dates"))?;
        Ok(Deleted {
            item: self.bundle_of(item, &doc, None).await?,
            deletion,
        })
    }

    /// A deleted certificate. Needs `certificates/get`.
    pub async fn deleted_certificate(&self, access: &Access, name: &str) -> Result<Deleted<CertificateBundle>> {
        access.require(CertificatePermission::Get)?;
        check_name(name)?;
        let item = self
            .deleted_item(&cert_key(access.vault(), name))
            .await?
            .ok_or_else(|| deleted_certificate_not_found(name))?;
        self.deleted_certificate_of(&item).await
    }

    /// The deleted certificates, a page at a time. Needs `certificates/list`.
    pub async fn deleted_certificates(
        &self,
        access: &Access,
        page: &PageRequest,
    ) -> Result<Page<Deleted<CertificateBundle>>> {
        access.require(CertificatePermission::List)?;
        let items = self
            .store
            .vault_items(access.vault().id, Collection::Certificates, true)
            .await?;
        let (items, next) = page_of_names(items, page)?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            out.push(self.deleted_certificate_of(item).await?);
        }
        Ok(Page { items: out, next })
    }

    /// Recovers a deleted certificate with its secret; returns its latest version. Needs
    /// `certificates/recover`.
    pub async fn recover_certificate(&self, access: &Access, name: &str) -> Result<CertificateBundle> {
        access.require(CertificatePermission::Recover)?;
        check_name(name)?;
        let vault = access.vault();
        retrying(|| async {
            let item = self
                .deleted_item(&cert_key(vault, name))
                .await?
                .ok_or_else(|| deleted_certificate_not_found(name))?;
            let mut items = vec![item_write(
                Some(&item),
                item.key.clone(),
                false,
                with_deletion(&item, None)?,
            )];
            if let Some(secret) = self.deleted_item(&secret_key(vault, &item.key.name)).await? {
                items.push(item_write(
                    Some(&secret),
                    secret.key.clone(),
                    false,
                    with_deletion(&secret, None)?,
                ));
            }
            self.store
                .write_vault(&VaultWrite {
                    items,
                    ..VaultWrite::default()
                })
                .await
                .map_err(Error::from)
        })
        .await?;
        tracing::info!(vault = %vault.name, certificate = %name, "certificate recovered");
        let (item, doc) = self.live_certificate(vault, name).await?;
        self.bundle_of(&item, &doc, None).await
    }

    /// Purges a deleted certificate and its secret, every version, for good. Needs
    /// `certificates/purge`.
    pub async fn purge_certificate(&self, access: &Access, name: &str) -> Result<()> {
        access.require(CertificatePermission::Purge)?;
        check_name(name)?;
        let vault = access.vault();
        let item = self
            .deleted_item(&cert_key(vault, name))
            .await?
            .ok_or_else(|| deleted_certificate_not_found(name))?;
        self.purge(vec![item.key.clone(), secret_key(vault, &item.key.name)])
            .await?;
        tracing::info!(vault = %vault.name, certificate = %name, "certificate purged");
        Ok(())
    }

    pub(crate) async fn purge(&self, keys: Vec<ItemKey>) -> Result<()> {
        self.store
            .write_vault(&VaultWrite {
                purges: keys,
                ..VaultWrite::default()
            })
            .await?;
        Ok(())
    }

    // --- Secrets --------------------------------------------------------------------------

    /// Soft-deletes a secret; returns its latest version without the value. Refused for a
    /// certificate's secret. Needs `secrets/delete`.
    pub async fn delete_secret(&self, access: &Access, name: &str) -> Result<Deleted<SecretBundle>> {
        access.require(SecretPermission::Delete)?;
        let vault = access.vault();
        let deleted = retrying(|| async {
            let (item, doc) = self.live_secret(vault, name).await?;
            if doc.managed {
                return Err(Error::ManagedSecret {
                    operation: "delete",
                    name: item.key.name.clone(),
                });
            }
            let bundle = self.secret_bundle(&item, None, false).await?;
            let deletion = self.deletion_now();
            self.store
                .write_vault(&VaultWrite {
                    items: vec![item_write(
                        Some(&item),
                        item.key.clone(),
                        true,
                        with_deletion(&item, Some(deletion))?,
                    )],
                    ..VaultWrite::default()
                })
                .await?;
            Ok(Deleted { item: bundle, deletion })
        })
        .await?;
        tracing::info!(vault = %vault.name, secret = %name, "secret deleted");
        Ok(deleted)
    }

    async fn deleted_secret_of(&self, item: &VaultItem) -> Result<Deleted<SecretBundle>> {
        let doc: SecretDoc = from_json(&item.document)?;
        let deletion = doc
            .deletion
            .ok_or_else(|| Error::corrupt("a deleted secret without deletion dates"))?;
        Ok(Deleted {
            item: self.secret_bundle(item, None, false).await?,
            deletion,
        })
    }

    /// A deleted secret, without its value. Needs `secrets/get`.
    pub async fn deleted_secret(&self, access: &Access, name: &str) -> Result<Deleted<SecretBundle>> {
        access.require(SecretPermission::Get)?;
        check_name(name)?;
        let item = self
            .deleted_item(&secret_key(access.vault(), name))
            .await?
            .ok_or_else(|| deleted_secret_not_found(name))?;
        self.deleted_secret_of(&item).await
    }

    /// The deleted secrets (those behind deleted certificates included), a page at a time.
    /// Needs `secrets/list`.
    pub async fn deleted_secrets(&self, access: &Access, page: &PageRequest) -> Result<Page<Deleted<SecretBundle>>> {
        access.require(SecretPermission::List)?;
        let items = self
            .store
            .vault_items(access.vault().id, Collection::Secrets, true)
            .await?;
        let (items, next) = page_of_names(items, page)?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            out.push(self.deleted_secret_of(item).await?);
        }
        Ok(Page { items: out, next })
    }

    /// Recovers a deleted secret; returns its latest version without the value. Refused for a
    /// certificate's secret (recover the certificate). Needs `secrets/recover`.
    pub async fn recover_secret(&self, access: &Access, name: &str) -> Result<SecretBundle> {
        access.require(SecretPermission::Recover)?;
        check_name(name)?;
        let vault = access.vault();
        let item = retrying(|| async {
            let item = self
                .deleted_item(&secret_key(vault, name))
                .await?
                .ok_or_else(|| deleted_secret_not_found(name))?;
            let doc: SecretDoc = from_json(&item.document)?;
            if doc.managed {
                return Err(Error::ManagedSecret {
                    operation: "recover",
                    name: item.key.name.clone(),
                });
            }
            let write = item_write(Some(&item), item.key.clone(), false, with_deletion(&item, None)?);
            let recovered = write.item.clone();
            self.store
                .write_vault(&VaultWrite {
                    items: vec![write],
                    ..VaultWrite::default()
                })
                .await?;
            Ok(recovered)
        })
        .await?;
        tracing::info!(vault = %vault.name, secret = %name, "secret recovered");
        self.secret_bundle(&item, None, false).await
    }

    /// Purges a deleted secret, every version, for good. Refused for a certificate's secret
    /// (purge the certificate). Needs `secrets/purge`.
    pub async fn purge_secret(&self, access: &Access, name: &str) -> Result<()> {
        access.require(SecretPermission::Purge)?;
        check_name(name)?;
        let vault = access.vault();
        let item = self
            .deleted_item(&secret_key(vault, name))
            .await?
            .ok_or_else(|| deleted_secret_not_found(name))?;
        let doc: SecretDoc = from_json(&item.document)?;
        if doc.managed {
            return Err(Error::ManagedSecret {
                operation: "purge",
                name: item.key.name,
            });
        }
        self.purge(vec![item.key]).await?;
        tracing::info!(vault = %vault.name, secret = %name, "secret purged");
        Ok(())
    }
}
