//! Lifetime actions: AutoRenew makes a new version of a self-issued certificate when its
//! trigger is due (a new key unless the policy reuses it); EmailContacts is recorded once per
//! version as an event in the certificate's document and logged (there is no mail server).
//! Deleted names past their scheduled purge date are purged.

use keyward_store::{Collection, Vault, VaultItem, VaultWrite};
use time::OffsetDateTime;

use crate::Vaults;
use crate::access::{Access, CertificatePermission};
use crate::certificates::{NewVersion, Origin, secret_key};
use crate::documents::{CertificateDoc, CertificateVersionDoc, EventDoc, SecretDoc, from_json, to_json};
use crate::error::Result;
use crate::model::{LifetimeEvent, OperationStatus};
use crate::policy::ActionType;
use crate::service::{generate_key, item_write, self_sign};

/// What one certificate's lifetime actions did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Outcome {
    renewed: bool,
}

impl Vaults {
    /// What the lifetime actions recorded for a certificate (EmailContacts triggers), oldest
    /// first. Needs `certificates/get`.
    pub async fn certificate_events(&self, access: &Access, name: &str) -> Result<Vec<LifetimeEvent>> {
        access.require(CertificatePermission::Get)?;
        let (_, doc) = self.live_certificate(access.vault(), name).await?;
        Ok(doc
            .events
            .iter()
            .filter(|e| e.kind == ActionType::EmailContacts.as_str())
            .map(|e| LifetimeEvent {
                action: ActionType::EmailContacts,
                version: e.version.clone(),
                recorded: e.at,
                due: e.due,
            })
            .collect())
    }

    /// One pass of the lifetime actions at `clock.now()` over every vault; returns how many
    /// certificate versions it made. A certificate whose actions fail is logged and skipped.
    pub async fn renew_due(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut made = 0;
        for vault in self.store.vaults().await? {
            for item in self
                .store
                .vault_items(vault.id, Collection::Certificates, false)
                .await?
            {
                match self.run_actions(&vault, &item, now).await {
                    Ok(outcome) => made += usize::from(outcome.renewed),
                    // Another server on the same database acted first; the next pass decides
                    // again from what it wrote.
                    Err(e) if e.is_write_race() => tracing::debug!(
                        vault = %vault.name,
                        certificate = %item.key.name,
                        "lifetime action raced with another writer"
                    ),
                    Err(e) => tracing::warn!(
                        vault = %vault.name,
                        certificate = %item.key.name,
                        error = %e,
                        "lifetime action failed; retried on the next pass"
                    ),
                }
            }
            if let Err(e) = self.purge_expired(&vault, now).await {
                tracing::warn!(vault = %vault.name, error = %e, "purging expired deleted objects failed");
            }
        }
        Ok(made)
    }

    async fn run_actions(&self, vault: &Vault, item: &VaultItem, now: OffsetDateTime) -> Result<Outcome> {
        let mut doc: CertificateDoc = from_json(&item.document)?;
        let Some(latest) = doc.latest.clone() else {
            return Ok(Outcome::default());
        };
        if !doc.policy.enabled || doc.policy.lifetime_actions.is_empty() {
            return Ok(Outcome::default());
        }
        let stored = match self.store.vault_version(&item.key, &latest).await? {
            Some(v) => v,
            None => return Ok(Outcome::default()),
        };
        let vdoc: CertificateVersionDoc = from_json(&stored.document)?;
        let certificate = vdoc.certificate()?;
        let (not_before, not_after) = (certificate.info().not_before, certificate.info().not_after);
        let in_progress = doc
            .operation
            .as_ref()
            .is_some_and(|o| o.status == OperationStatus::InProgress);

        let mut renew = false;
        let mut events = Vec::new();
        for action in doc.policy.lifetime_actions.clone() {
            let due = action.trigger.due(not_before, not_after);
            if now < due {
                continue;
            }
            match action.action {
                ActionType::AutoRenew => renew |= doc.policy.self_issued() && !in_progress,
                ActionType::EmailContacts => {
                    let recorded = doc
                        .events
                        .iter()
                        .any(|e| e.kind == ActionType::EmailContacts.as_str() && e.version == latest);
                    if !recorded {
                        tracing::info!(
                            vault = %vault.name,
                            certificate = %item.key.name,
                            version = %latest,
                            expires = %not_after,
                            "lifetime action EmailContacts: the certificate is due for attention (no mail is sent)"
                        );
                        events.push(EventDoc {
                            kind: ActionType::EmailContacts.as_str().into(),
                            version: latest.clone(),
                            at: now.unix_timestamp(),
                            due: due.unix_timestamp(),
                        });
                    }
                }
            }
        }
        if !events.is_empty() {
            doc.events.extend(events);
            self.store
                .write_vault(&VaultWrite {
                    items: vec![item_write(Some(item), item.key.clone(), false, to_json(&doc)?)],
                    ..VaultWrite::default()
                })
                .await?;
        }
        if !renew {
            return Ok(Outcome::default());
        }
        let key = if doc.policy.reuse_key {
            self.certificate_key(&item.key, &latest).await?
        } else {
            generate_key(doc.policy.key_type()?).await?
        };
        let (certificate, key) = self_sign(doc.policy.spec(now)?, key).await?;
        let new = NewVersion {
            csr: None,
            certificate,
            chain: Vec::new(),
            key,
            enabled: true,
            tags: vdoc.tags.clone(),
        };
        // One attempt: if another writer (another server on the same database) changed the name
        // meanwhile, the next pass decides again from what is stored then.
        let version = self
            .store_version(vault, &item.key.name, None, &new, Origin::Renewal)
            .await?;
        tracing::info!(
            vault = %vault.name,
            certificate = %item.key.name,
            version = %version,
            "lifetime action AutoRenew: new certificate version"
        );
        Ok(Outcome { renewed: true })
    }

    async fn purge_expired(&self, vault: &Vault, now: OffsetDateTime) -> Result<()> {
        let now = now.unix_timestamp();
        for item in self.store.vault_items(vault.id, Collection::Certificates, true).await? {
            let doc: CertificateDoc = from_json(&item.document)?;
            if doc.deletion.is_some_and(|d| d.scheduled_purge_date <= now) {
                self.purge(vec![item.key.clone(), secret_key(vault, &item.key.name)])
                    .await?;
                tracing::info!(vault = %vault.name, certificate = %item.key.name, "deleted certificate purged after its retention");
            }
        }
        for item in self.store.vault_items(vault.id, Collection::Secrets, true).await? {
            let doc: SecretDoc = from_json(&item.document)?;
            if !doc.managed && doc.deletion.is_some_and(|d| d.scheduled_purge_date <= now) {
                self.purge(vec![item.key.clone()]).await?;
                tracing::info!(vault = %vault.name, secret = %item.key.name, "deleted secret purged after its retention");
            }
        }
        Ok(())
    }
}
