//! Links between a vault certificate and applications of the vault's tenant (opt-in): each new
//! version of a linked certificate (a create, an import, a merge, an AutoRenew) has its
//! certificate, the public part only, added to the application's certificate credentials, so
//! that a renewal reaches the app registration without a hand in between. The old certificate
//! stays on the application until it is removed there (`keyward app cert rotate`, or
//! `keyward app cert remove`), which leaves clients the time to switch.
//!
//! The vault does not know the directory: it calls [`Applications`], which the binary implements
//! over the authority (and which writes the audit rows), as it does [`crate::Tokens`].

use std::future::Future;
use std::pin::Pin;

use keyward_pki::Certificate;
use keyward_store::{Vault, VaultWrite};
use uuid::Uuid;

use crate::Vaults;
use crate::access::{Access, CertificatePermission};
use crate::certificates::cert_key;
use crate::documents::{CertificateVersionDoc, from_json, to_json};
use crate::error::{Error, Result};
use crate::service::{item_write, retrying};

/// A boxed future, for the async methods of [`Applications`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the vault needs from the directory to keep linked applications' certificates current;
/// the binary implements it over keyward-authority.
pub trait Applications: Send + Sync + 'static {
    /// The display name of the application with client id `app_id` in `tenant_id`, if any.
    fn application(&self, tenant_id: Uuid, app_id: Uuid) -> Option<String>;

    /// Adds `certificate` (its public part) to the certificate credentials of the application
    /// `app_id` of `tenant_id`, unless it is there already, and audits the addition. `source`
    /// names the vault certificate version it comes from (`vault/name/version`). Returns
    /// whether it was added. [`Error::LinkedApplication`] when the directory refuses it.
    fn add_certificate<'a>(
        &'a self,
        tenant_id: Uuid,
        app_id: Uuid,
        certificate: &'a Certificate,
        source: &'a str,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Audits that the certificate `vault/name` was linked to (`linked`) or unlinked from the
    /// application `app_id`.
    fn audit_link<'a>(&'a self, tenant_id: Uuid, app_id: Uuid, certificate: &'a str, linked: bool)
    -> BoxFuture<'a, ()>;
}

/// A link of a vault certificate to an application, as the management API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateLink {
    /// The application's client id.
    pub app_id: Uuid,
    /// Its display name; `None` when the application no longer exists.
    pub display_name: Option<String>,
}

impl Vaults {
    /// Sets the directory that linked certificates are added to; without it, links cannot be
    /// made ([`Error::LinksUnavailable`]).
    pub fn with_applications(mut self, applications: std::sync::Arc<dyn Applications>) -> Self {
        self.applications = Some(applications);
        self
    }

    fn applications(&self) -> Result<&dyn Applications> {
        self.applications.as_deref().ok_or(Error::LinksUnavailable)
    }

    /// Links the certificate `name` to the application `app_id` of the vault's tenant: its
    /// latest version is added to the application now (unless it is there), every later
    /// version when it is made. Returns whether the latest version was added now. Needs
    /// `certificates/update`.
    pub async fn link_certificate(&self, access: &Access, name: &str, app_id: Uuid) -> Result<bool> {
        access.require(CertificatePermission::Update)?;
        let applications = self.applications()?;
        let vault = access.vault();
        if applications.application(vault.tenant_id, app_id).is_none() {
            return Err(Error::ApplicationNotFound(app_id));
        }
        let changed = retrying(|| {
            self.change_links(vault, name, |links| {
                if links.contains(&app_id) {
                    false
                } else {
                    links.push(app_id);
                    true
                }
            })
        })
        .await?;
        let target = format!("{}/{name}", vault.name);
        if changed {
            applications.audit_link(vault.tenant_id, app_id, &target, true).await;
            tracing::info!(vault = %vault.name, certificate = %name, app = %app_id, "certificate linked to an application");
        }
        let (item, doc) = self.live_certificate(vault, name).await?;
        let Some(latest) = doc.latest else {
            // The first version is still pending: it is added when it is made.
            return Ok(false);
        };
        let stored = self
            .store
            .vault_version(&item.key, &latest)
            .await?
            .ok_or_else(|| Error::corrupt("the latest certificate version is missing"))?;
        let certificate = from_json::<CertificateVersionDoc>(&stored.document)?.certificate()?;
        applications
            .add_certificate(vault.tenant_id, app_id, &certificate, &format!("{target}/{latest}"))
            .await
    }

    /// Removes the link of the certificate `name` to the application `app_id`; the
    /// certificates already added stay on the application. [`Error::LinkNotFound`] if there was
    /// none. Needs `certificates/update`.
    pub async fn unlink_certificate(&self, access: &Access, name: &str, app_id: Uuid) -> Result<()> {
        access.require(CertificatePermission::Update)?;
        let vault = access.vault();
        let removed = retrying(|| {
            self.change_links(vault, name, |links| {
                let before = links.len();
                links.retain(|l| *l != app_id);
                links.len() != before
            })
        })
        .await?;
        if !removed {
            return Err(Error::LinkNotFound {
                certificate: name.to_owned(),
                app_id,
            });
        }
        if let Ok(applications) = self.applications() {
            applications
                .audit_link(vault.tenant_id, app_id, &format!("{}/{name}", vault.name), false)
                .await;
        }
        tracing::info!(vault = %vault.name, certificate = %name, app = %app_id, "certificate unlinked from an application");
        Ok(())
    }

    /// The applications the certificate `name` is linked to. Needs `certificates/get`.
    pub async fn certificate_links(&self, access: &Access, name: &str) -> Result<Vec<CertificateLink>> {
        access.require(CertificatePermission::Get)?;
        let (_, doc) = self.live_certificate(access.vault(), name).await?;
        let tenant_id = access.vault().tenant_id;
        Ok(doc
            .links
            .iter()
            .map(|app_id| CertificateLink {
                app_id: *app_id,
                display_name: self
                    .applications
                    .as_ref()
                    .and_then(|a| a.application(tenant_id, *app_id)),
            })
            .collect())
    }

    /// Changes the links of a live certificate with `change`, which says whether it changed
    /// anything (nothing is written otherwise).
    async fn change_links(&self, vault: &Vault, name: &str, change: impl Fn(&mut Vec<Uuid>) -> bool) -> Result<bool> {
        let (item, mut doc) = self.live_certificate(vault, name).await?;
        if !change(&mut doc.links) {
            return Ok(false);
        }
        self.store
            .write_vault(&VaultWrite {
                items: vec![item_write(Some(&item), cert_key(vault, name), false, to_json(&doc)?)],
                ..VaultWrite::default()
            })
            .await?;
        Ok(true)
    }

    /// After a new version of a certificate was stored: adds its certificate to every linked
    /// application. A refusal is logged, not returned: the version is made, and linking again
    /// adds it.
    pub(crate) async fn add_to_linked(
        &self,
        vault: &Vault,
        name: &str,
        version: &str,
        certificate: &Certificate,
        links: &[Uuid],
    ) {
        let Some(applications) = self.applications.as_deref() else {
            return;
        };
        let source = format!("{}/{name}/{version}", vault.name);
        for app_id in links {
            match applications
                .add_certificate(vault.tenant_id, *app_id, certificate, &source)
                .await
            {
                Ok(_) => tracing::info!(
                    vault = %vault.name,
                    certificate = %name,
                    version,
                    app = %app_id,
                    "new certificate version added to a linked application"
                ),
                Err(e) => tracing::warn!(
                    vault = %vault.name,
                    certificate = %name,
                    version,
                    app = %app_id,
                    error = %e,
                    "a new certificate version could not be added to a linked application; link it again to retry"
                ),
            }
        }
    }
}
