//! Secrets: set (a new version), read, list, update. The secrets behind certificates are listed
//! and read like any other, and changed only through their certificate.

use keyward_store::{Collection, Vault, VaultItem, VaultVersion, VaultWrite};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::Vaults;
use crate::access::{Access, SecretPermission};
use crate::certificates::secret_key;
use crate::documents::{SecretDoc, SecretVersionDoc, from_json, to_json, version_owner};
use crate::error::{Error, Result};
use crate::model::{Attributes, AttributesInput, Page, PageRequest, SecretBundle, Tags, check_tags};
use crate::names::{check_name, new_version, version_key};
use crate::paging::{page_by_offset, page_of_names};
use crate::service::{item_write, retrying};

/// The largest secret value, in bytes (Key Vault's limit: 25 KiB).
pub const MAX_SECRET_VALUE: usize = 25 * 1024;
/// The longest content type.
pub const MAX_CONTENT_TYPE: usize = 255;

/// `PUT /secrets/{name}`. Its `Debug` hides the value.
#[derive(Clone, Default, Deserialize)]
pub struct SetSecret {
    /// The value.
    #[serde(default)]
    pub value: Option<String>,
    /// A content type for the reader, e.g. `text/plain`.
    #[serde(default, rename = "contentType")]
    pub content_type: Option<String>,
    /// Attributes of the new version.
    #[serde(default)]
    pub attributes: Option<AttributesInput>,
    /// Tags of the new version.
    #[serde(default)]
    pub tags: Option<Tags>,
}

impl std::fmt::Debug for SetSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetSecret")
            .field("content_type", &self.content_type)
            .field("attributes", &self.attributes)
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

/// `PATCH /secrets/{name}/{version}`: any of these.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateSecret {
    /// A new content type.
    #[serde(default, rename = "contentType")]
    pub content_type: Option<String>,
    /// Attributes to change.
    #[serde(default)]
    pub attributes: Option<AttributesInput>,
    /// New tags (replacing the old ones).
    #[serde(default)]
    pub tags: Option<Tags>,
}

fn not_found(name: &str) -> Error {
    Error::SecretNotFound {
        name: name.to_owned(),
        deleted: false,
    }
}

pub(crate) fn check_content_type(content_type: Option<&str>) -> Result<()> {
    match content_type {
        Some(c) if c.chars().count() > MAX_CONTENT_TYPE => Err(Error::BadParameter(format!(
            "contentType is longer than {MAX_CONTENT_TYPE} characters"
        ))),
        _ => Ok(()),
    }
}

impl Vaults {
    /// Stores a new version of a secret. Refused for a certificate's secret
    /// ([`Error::ManagedSecret`]) and for a deleted name. Needs `secrets/set`.
    pub async fn set_secret(&self, access: &Access, name: &str, request: SetSecret) -> Result<SecretBundle> {
        access.require(SecretPermission::Set)?;
        check_name(name)?;
        let value = Zeroizing::new(
            request
                .value
                .clone()
                .ok_or_else(|| Error::BadParameter("the secret needs a 'value'".into()))?,
        );
        if value.len() > MAX_SECRET_VALUE {
            return Err(Error::SecretTooLarge {
                size: value.len(),
                limit: MAX_SECRET_VALUE,
            });
        }
        check_content_type(request.content_type.as_deref())?;
        let tags = request.tags.clone().unwrap_or_default();
        check_tags(&tags)?;
        let vault = access.vault();
        let (item, version) = retrying(|| async {
            let key = secret_key(vault, name);
            let current = self.store.vault_item(&key).await?;
            let doc: SecretDoc = match &current {
                Some(item) => from_json(&item.document)?,
                None => SecretDoc::default(),
            };
            if doc.managed {
                return Err(Error::ManagedSecret {
                    operation: "set",
                    name: name.to_owned(),
                });
            }
            if let Some(item) = &current
                && item.deleted
            {
                return Err(Error::DeletedButRecoverable {
                    collection: Collection::Secrets,
                    name: item.key.name.clone(),
                });
            }
            let now = self.unix_now();
            let mut attributes = Attributes {
                enabled: true,
                nbf: None,
                exp: None,
                created: now,
                updated: now,
            };
            if let Some(input) = &request.attributes {
                input.apply(&mut attributes, true, now);
            }
            let version = new_version();
            let write_item = item_write(
                current.as_ref(),
                key.clone(),
                false,
                to_json(&SecretDoc {
                    managed: false,
                    latest: Some(version.clone()),
                    deletion: None,
                })?,
            );
            let key = write_item.item.key.clone();
            let stored = VaultVersion {
                key: key.clone(),
                version: version.clone(),
                created: self.clock.now(),
                document: to_json(&SecretVersionDoc {
                    content_type: request.content_type.clone(),
                    attributes,
                    tags: tags.clone(),
                    managed: false,
                })?,
                sealed: self.seal(&version_owner(&key, &version), value.as_bytes())?,
            };
            let item = write_item.item.clone();
            self.store
                .write_vault(&VaultWrite {
                    items: vec![write_item],
                    versions: vec![stored],
                    purges: Vec::new(),
                })
                .await?;
            Ok((item, version))
        })
        .await?;
        self.secret_bundle(&item, Some(&version), true).await
    }

    /// A live secret name and its document.
    pub(crate) async fn live_secret(&self, vault: &Vault, name: &str) -> Result<(VaultItem, SecretDoc)> {
        check_name(name)?;
        match self.store.vault_item(&secret_key(vault, name)).await? {
            Some(item) if !item.deleted => {
                let doc = from_json(&item.document)?;
                Ok((item, doc))
            }
            _ => Err(not_found(name)),
        }
    }

    /// One version (`None` or empty: the latest) of a secret, with its value if `value`.
    pub(crate) async fn secret_bundle(
        &self,
        item: &VaultItem,
        version: Option<&str>,
        value: bool,
    ) -> Result<SecretBundle> {
        let name = &item.key.name;
        let doc: SecretDoc = from_json(&item.document)?;
        let version = match version.filter(|v| !v.is_empty()) {
            None => doc.latest.clone().ok_or_else(|| not_found(name))?,
            Some(v) => version_key(v).ok_or_else(|| not_found(name))?,
        };
        let stored = self
            .store
            .vault_version(&item.key, &version)
            .await?
            .ok_or_else(|| not_found(name))?;
        self.secret_from(item, &stored, value)
    }

    fn secret_from(&self, item: &VaultItem, stored: &VaultVersion, value: bool) -> Result<SecretBundle> {
        let vdoc: SecretVersionDoc = from_json(&stored.document)?;
        let value = if value {
            let plain = self.open(&version_owner(&item.key, &stored.version), &stored.sealed)?;
            Some(Zeroizing::new(
                String::from_utf8(plain.to_vec()).map_err(Error::corrupt)?,
            ))
        } else {
            None
        };
        Ok(SecretBundle {
            name: item.key.name.clone(),
            version: stored.version.clone(),
            value,
            content_type: vdoc.content_type,
            attributes: vdoc.attributes,
            tags: vdoc.tags,
            managed: vdoc.managed,
        })
    }

    /// A secret version with its value; `None` (or an empty version) for the latest. A disabled
    /// version is [`Error::SecretDisabled`]. Needs `secrets/get`.
    pub async fn secret(&self, access: &Access, name: &str, version: Option<&str>) -> Result<SecretBundle> {
        access.require(SecretPermission::Get)?;
        let (item, _) = self.live_secret(access.vault(), name).await?;
        let bundle = self.secret_bundle(&item, version, false).await?;
        if !bundle.attributes.enabled {
            return Err(Error::SecretDisabled(item.key.name));
        }
        self.secret_bundle(&item, Some(&bundle.version), true).await
    }

    /// The latest version of every secret (those behind certificates included), without values,
    /// a page at a time. Needs `secrets/list`.
    pub async fn secrets(&self, access: &Access, page: &PageRequest) -> Result<Page<SecretBundle>> {
        access.require(SecretPermission::List)?;
        let items = self
            .store
            .vault_items(access.vault().id, Collection::Secrets, false)
            .await?;
        let (items, next) = page_of_names(items, page)?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            out.push(self.secret_bundle(item, None, false).await?);
        }
        Ok(Page { items: out, next })
    }

    /// Every version of a secret, oldest first, without values. Needs `secrets/list`.
    pub async fn secret_versions(&self, access: &Access, name: &str, page: &PageRequest) -> Result<Page<SecretBundle>> {
        access.require(SecretPermission::List)?;
        let (item, _) = self.live_secret(access.vault(), name).await?;
        let versions = self.store.vault_versions(&item.key).await?;
        let (versions, next) = page_by_offset(versions, page)?;
        let items = versions
            .iter()
            .map(|v| self.secret_from(&item, v, false))
            .collect::<Result<_>>()?;
        Ok(Page { items, next })
    }

    /// Changes a version's content type, attributes and tags (not its value). Refused for a
    /// certificate's secret. Needs `secrets/set`.
    pub async fn update_secret(
        &self,
        access: &Access,
        name: &str,
        version: Option<&str>,
        update: UpdateSecret,
    ) -> Result<SecretBundle> {
        access.require(SecretPermission::Set)?;
        check_content_type(update.content_type.as_deref())?;
        if let Some(tags) = &update.tags {
            check_tags(tags)?;
        }
        retrying(|| async {
            let (item, doc) = self.live_secret(access.vault(), name).await?;
            if doc.managed {
                return Err(Error::ManagedSecret {
                    operation: "update",
                    name: item.key.name.clone(),
                });
            }
            let current = self.secret_bundle(&item, version, false).await?;
            let mut stored = self
                .store
                .vault_version(&item.key, &current.version)
                .await?
                .ok_or_else(|| not_found(name))?;
            let mut vdoc: SecretVersionDoc = from_json(&stored.document)?;
            let now = self.unix_now();
            match &update.attributes {
                Some(input) => input.apply(&mut vdoc.attributes, true, now),
                None => vdoc.attributes.updated = now,
            }
            if update.content_type.is_some() {
                vdoc.content_type = update.content_type.clone();
            }
            if let Some(tags) = &update.tags {
                vdoc.tags = tags.clone();
            }
            stored.document = to_json(&vdoc)?;
            let write = VaultWrite {
                items: vec![item_write(Some(&item), item.key.clone(), false, item.document.clone())],
                versions: vec![stored.clone()],
                purges: Vec::new(),
            };
            self.store.write_vault(&write).await?;
            self.secret_from(&item, &stored, false)
        })
        .await
    }
}
