//! The vault service: vaults and their access policies. Certificates, secrets, soft delete and
//! renewal add their operations in their own files.

use std::future::Future;
use std::sync::Arc;

use keyward_pki::sealing::MasterKey;
use keyward_pki::{Certificate, CertificateSpec, KeyType, PrivateKey};
use keyward_store::{AccessPolicy, Collection, ItemKey, ItemWrite, Vault, VaultItem, VaultStore};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::access::{Access, Administration};
use crate::error::{Error, Result};
use crate::{Applications, Caller, Clock, Tokens, access};

/// How often an operation is retried when another writer got there first.
const RETRIES: usize = 5;

/// Runs `op` again from a fresh read when it lost a race with another writer.
pub(crate) async fn retrying<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    for _ in 1..RETRIES {
        match op().await {
            Err(e) if e.is_write_race() => continue,
            other => return other,
        }
    }
    match op().await {
        Err(e) if e.is_write_race() => Err(Error::Busy),
        other => other,
    }
}

/// The write of an item over its current state: an insert when there is none, else a replace of
/// the revision that was read.
pub(crate) fn item_write(
    current: Option<&VaultItem>,
    key: ItemKey,
    deleted: bool,
    document: serde_json::Value,
) -> ItemWrite {
    let key = current.map(|c| c.key.clone()).unwrap_or(key);
    ItemWrite {
        item: VaultItem {
            key,
            deleted,
            document,
            revision: current.map_or(1, |c| c.revision + 1),
        },
        expected_revision: current.map(|c| c.revision),
    }
}

/// Generates a key off the async threads (an RSA key takes tens to hundreds of milliseconds).
pub(crate) async fn generate_key(key_type: KeyType) -> Result<PrivateKey> {
    tokio::task::spawn_blocking(move || PrivateKey::generate(key_type))
        .await
        .map_err(|_| Error::Task)?
        .map_err(Error::Issuance)
}

/// Self-signs a certificate off the async threads.
pub(crate) async fn self_sign(spec: CertificateSpec, key: PrivateKey) -> Result<(Certificate, PrivateKey)> {
    tokio::task::spawn_blocking(move || spec.self_signed(&key).map(|c| (c, key)))
        .await
        .map_err(|_| Error::Task)?
        .map_err(Error::Issuance)
}

/// The vault service: every vault of the server, their certificates and secrets.
pub struct Vaults {
    pub(crate) store: Arc<dyn VaultStore>,
    pub(crate) master: Arc<MasterKey>,
    pub(crate) tokens: Arc<dyn Tokens>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The directory linked certificates are added to, if the binary gave one.
    pub(crate) applications: Option<Arc<dyn Applications>>,
}

impl std::fmt::Debug for Vaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vaults").finish_non_exhaustive()
    }
}

impl Vaults {
    /// The service over the vault's rows of a store (an `Arc<dyn keyward_store::Store>` coerces to
    /// the `Arc<dyn VaultStore>` it takes), sealing secret material with `master`, validating
    /// callers with `tokens` and reading the time from `clock`.
    pub fn new(
        store: Arc<dyn VaultStore>,
        master: Arc<MasterKey>,
        tokens: Arc<dyn Tokens>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            master,
            tokens,
            clock,
            applications: None,
        }
    }

    /// `caller` acting on the vault `vault`: what every certificate and secret operation takes.
    /// [`Error::VaultNotFound`] if there is no such vault.
    pub async fn access(&self, vault: &str, caller: Caller) -> Result<Access> {
        Ok(Access::new(self.vault(vault).await?, caller))
    }

    /// An administrator of `tenant_id` acting on the vault `vault` with `administration`,
    /// outside its access policies (the admin center). [`Error::VaultNotFound`] if there is no
    /// such vault or it belongs to another tenant.
    pub async fn administer(&self, tenant_id: Uuid, vault: &str, administration: Administration) -> Result<Access> {
        match self.find_vault(vault).await? {
            Some(v) if v.tenant_id == tenant_id => Ok(Access::administrator(v, administration)),
            _ => Err(Error::VaultNotFound(vault.chars().take(64).collect())),
        }
    }

    pub(crate) fn item_key(vault: &Vault, collection: Collection, name: &str) -> ItemKey {
        ItemKey {
            vault_id: vault.id,
            collection,
            name: name.to_owned(),
        }
    }

    pub(crate) fn seal(&self, owner: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        Ok(self.master.seal(owner, plaintext)?)
    }

    pub(crate) fn open(&self, owner: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        Ok(self.master.open(owner, sealed)?)
    }

    /// Now, in whole unix seconds.
    pub(crate) fn unix_now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// The token validator this service was built with.
    pub fn tokens(&self) -> &dyn Tokens {
        self.tokens.as_ref()
    }

    /// The clock this service reads.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Creates the vault `name` for `tenant_id` unless it exists, and returns it.
    /// [`Error::VaultOfAnotherTenant`] if the name is taken by another tenant's vault.
    pub async fn ensure_vault(&self, tenant_id: Uuid, name: &str) -> Result<Vault> {
        let name = vault_name(name)?;
        for _ in 0..RETRIES {
            if let Some(vault) = self.find_vault(&name).await? {
                return if vault.tenant_id == tenant_id {
                    Ok(vault)
                } else {
                    Err(Error::VaultOfAnotherTenant(name))
                };
            }
            let vault = Vault {
                id: Uuid::new_v4(),
                tenant_id,
                name: name.clone(),
                access_policies: Vec::new(),
                created: self.clock.now(),
                version: 1,
            };
            match self.store.insert_vault(&vault).await {
                Ok(()) => {
                    tracing::info!(vault = %vault.name, tenant = %tenant_id, "vault created");
                    return Ok(vault);
                }
                // Created concurrently: read it on the next round.
                Err(keyward_store::Error::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Busy)
    }

    /// Every vault, by name.
    pub async fn vaults(&self) -> Result<Vec<Vault>> {
        let mut vaults = self.store.vaults().await?;
        vaults.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(vaults)
    }

    /// The vault with this name (compared in lowercase), if any.
    pub async fn find_vault(&self, name: &str) -> Result<Option<Vault>> {
        let name = name.to_ascii_lowercase();
        Ok(self.store.vaults().await?.into_iter().find(|v| v.name == name))
    }

    /// The vault with this name, or [`Error::VaultNotFound`].
    pub async fn vault(&self, name: &str) -> Result<Vault> {
        self.find_vault(name)
            .await?
            .ok_or_else(|| Error::VaultNotFound(name.chars().take(64).collect()))
    }

    /// Replaces the access policy of `policy.object_id` in vault `vault` (adds it if the
    /// principal had none). Permission names are checked and normalised (lowercase, `all`
    /// expanded); an unknown name is [`Error::UnknownPermission`] and changes nothing.
    pub async fn set_access_policy(&self, vault: &str, policy: AccessPolicy) -> Result<Vault> {
        let policy = access::normalize(policy)?;
        self.update_vault(vault, |v| {
            v.access_policies.retain(|p| p.object_id != policy.object_id);
            v.access_policies.push(policy.clone());
        })
        .await
    }

    /// Removes every access policy of the principal `object_id` from vault `vault`.
    pub async fn remove_access_policy(&self, vault: &str, object_id: Uuid) -> Result<Vault> {
        self.update_vault(vault, |v| v.access_policies.retain(|p| p.object_id != object_id))
            .await
    }

    async fn update_vault(&self, name: &str, change: impl Fn(&mut Vault)) -> Result<Vault> {
        for _ in 0..RETRIES {
            let mut vault = self.vault(name).await?;
            change(&mut vault);
            vault.version += 1;
            match self.store.update_vault(&vault).await {
                Ok(()) => return Ok(vault),
                Err(keyward_store::Error::VersionMismatch { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Busy)
    }

    /// Runs [`Vaults::renew_due`] every `every`, forever, logging what it did and any error.
    /// With a `lease` (servers sharing one database), a pass runs only while this server holds
    /// it, so that the actions run once, not once per server; the holder keeps it by taking it
    /// again each pass, and another server takes over when it lapses. A move of the clock (time
    /// travel) runs a pass at once.
    pub async fn run_lifetime_actions(
        self: Arc<Self>,
        every: std::time::Duration,
        lease: Option<keyward_store::Lease>,
    ) {
        let mut ticks = keyward_clock::Ticks::new(self.clock.as_ref(), every, tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Some(lease) = &lease {
                match lease.take().await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot take the lifetime actions' lease; trying again at the next pass");
                        continue;
                    }
                }
            }
            match self.renew_due().await {
                Ok(0) => {}
                Ok(made) => tracing::info!(versions = made, "lifetime actions made new certificate versions"),
                Err(e) => tracing::error!(error = %e, "lifetime actions failed"),
            }
        }
    }
}

/// Checks a vault name: the first label of a host name, 1 to 63 letters, digits and hyphens,
/// not starting or ending with a hyphen. Returned in lowercase.
pub fn vault_name(name: &str) -> Result<String> {
    let ok = (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(Error::InvalidVaultName(name.chars().take(64).collect()))
    }
}
