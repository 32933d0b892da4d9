//! The vault on the server's origin: the authority validates its tokens, and the default vault
//! exists from the first start with the admin application allowed to do everything in it (the
//! CLI's `keyward vault` commands use that credential).

use std::sync::Arc;
use std::time::Duration;

use keyward_authority::access::Audience;
use keyward_authority::{
    APPLICATION_READ_WRITE_ALL, Authority, GRAPH_APP_ID, GRAPH_IDENTIFIER, KEY_VAULT_APP_ID, KEY_VAULT_IDENTIFIER,
    TenantEntry,
};
use keyward_store::{AccessPolicy, Store};
use keyward_vault::{CERTIFICATE_PERMISSIONS, Caller, DEFAULT_VAULT, SECRET_PERMISSIONS, SystemClock, Tokens, Vaults};
use uuid::Uuid;

use crate::data_dir::{AdminInfo, DataDir};
use crate::error::{Error, Result};

/// How often certificates are checked for due lifetime actions (auto-renewal).
pub(crate) const LIFETIME_ACTIONS_EVERY: Duration = Duration::from_secs(60);

/// Tokens for the vault, validated by the authority that issued them.
struct AuthorityTokens(Arc<Authority>);

impl Tokens for AuthorityTokens {
    fn vault_caller(&self, tenant_id: Uuid, token: &str) -> Option<Caller> {
        let audience = Audience {
            app_id: KEY_VAULT_APP_ID,
            identifier: KEY_VAULT_IDENTIFIER,
        };
        let caller = self.0.validate_access_token(token, audience)?;
        (caller.tenant_id == tenant_id).then_some(Caller {
            object_id: caller.object_id,
            app_id: caller.app_id,
        })
    }

    fn admin_caller(&self, token: &str) -> Option<Uuid> {
        let audience = Audience {
            app_id: GRAPH_APP_ID,
            identifier: GRAPH_IDENTIFIER,
        };
        let caller = self.0.validate_access_token(token, audience)?;
        caller
            .roles
            .iter()
            .any(|r| r == APPLICATION_READ_WRITE_ALL)
            .then_some(caller.tenant_id)
    }

    fn authorization(&self, tenant_id: Uuid) -> Option<String> {
        self.0.snapshot().tenant_by_id(tenant_id)?;
        Some(format!("{}/{tenant_id}", self.0.config().public_url))
    }

    fn resource(&self) -> String {
        KEY_VAULT_IDENTIFIER.to_owned()
    }
}

/// The vault service: the default vault of `tenant`, and the admin's access to it. The caller
/// runs [`Vaults::run_lifetime_actions`] every [`LIFETIME_ACTIONS_EVERY`].
pub(crate) async fn open(
    authority: &Arc<Authority>,
    store: Arc<dyn Store>,
    master: keyward_pki::sealing::MasterKey,
    tenant: &TenantEntry,
    dir: &DataDir,
) -> Result<Arc<Vaults>> {
    let tokens = Arc::new(AuthorityTokens(Arc::clone(authority)));
    let vaults = Arc::new(Vaults::new(store, Arc::new(master), tokens, Arc::new(SystemClock)));
    vaults
        .ensure_vault(tenant.tenant.id, DEFAULT_VAULT)
        .await
        .map_err(Error::DefaultVault)?;
    let admin: AdminInfo = dir.read_json("admin/admin.json")?;
    let app_id =
        Uuid::parse_str(&admin.app_id).map_err(|_| Error::Inconsistent("admin/admin.json has no valid app_id"))?;
    let principal = authority
        .snapshot()
        .app_in_tenant(tenant.tenant.id, app_id)
        .map(|app| app.app.service_principal_id)
        .ok_or(Error::Inconsistent("the admin application is missing"))?;
    let everything = AccessPolicy {
        object_id: principal,
        certificates: CERTIFICATE_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
        secrets: SECRET_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
    };
    let current = vaults.vault(DEFAULT_VAULT).await?;
    if !current.access_policies.contains(&everything) {
        vaults.set_access_policy(DEFAULT_VAULT, everything).await?;
    }
    Ok(vaults)
}
