//! The vault on the server's origin: the authority validates its tokens, and the default vault
//! exists from the first start with the admin application allowed to do everything in it (the
//! CLI's `keyward vault` commands use that credential). The vault's certificate links reach the
//! applications through the authority too ([`Applications`], audited here).

use std::sync::Arc;
use std::time::Duration;

use keyward_authority::access::Audience;
use keyward_authority::{
    APPLICATION_READ_WRITE_ALL, Authority, GRAPH_APP_ID, GRAPH_IDENTIFIER, KEY_VAULT_APP_ID, KEY_VAULT_IDENTIFIER,
    TenantEntry,
};
use keyward_pki::Certificate;
use keyward_store::{AccessPolicy, AuditEvent, Store};
use keyward_vault::{
    Applications, BoxFuture, CERTIFICATE_PERMISSIONS, Caller, DEFAULT_VAULT, SECRET_PERMISSIONS, Tokens, Vaults,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::data_dir::{AdminInfo, DataDir};
use crate::error::{Error, Result};

/// How often certificates are checked for due lifetime actions (auto-renewal).
pub(crate) const LIFETIME_ACTIONS_EVERY: Duration = Duration::from_secs(60);
/// The lease servers sharing one database take turns with to run the lifetime actions.
pub(crate) const LIFETIME_ACTIONS_LEASE: &str = "vault lifetime actions";

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

/// The directory for the vault's certificate links: a new version of a linked certificate is
/// added to the application's certificate credentials, checked as an upload is, and audited.
struct AuthorityApplications {
    authority: Arc<Authority>,
    store: Arc<dyn Store>,
}

impl AuthorityApplications {
    async fn add(
        &self,
        tenant_id: Uuid,
        app_id: Uuid,
        certificate: &Certificate,
        source: &str,
    ) -> keyward_vault::Result<bool> {
        let refused = |detail: String| keyward_vault::Error::LinkedApplication { app_id, detail };
        let entry = self
            .authority
            .snapshot()
            .app_in_tenant(tenant_id, app_id)
            .cloned()
            .ok_or(keyward_vault::Error::ApplicationNotFound(app_id))?;
        if entry
            .certificates()
            .iter()
            .any(|c| c.thumbprints == *certificate.thumbprints())
        {
            return Ok(false);
        }
        let allow_ec = self.authority.config().assertion.allow_es256;
        let credential = keyward_authority::credentials::certificate_credential(
            certificate.der(),
            None,
            None,
            None,
            allow_ec,
            self.authority.now(),
        )
        .map_err(|e| refused(e.to_string()))?;
        let key_id = credential.key_id;
        let (entry, added) = self
            .authority
            .update_application(tenant_id, entry.app.id, |app| {
                // Added meanwhile by another writer: nothing to do.
                if app
                    .key_credentials
                    .iter()
                    .any(|k| k.certificate_der == credential.certificate_der)
                {
                    return Ok(false);
                }
                app.key_credentials.push(credential.clone());
                Ok(true)
            })
            .await
            .map_err(|e| refused(e.to_string()))?;
        if added {
            let thumbprint = certificate.thumbprints().sha1_hex();
            self.audit(
                tenant_id,
                "application.certificate.add",
                "application",
                entry.app.id.to_string(),
                format!(
                    "Added certificate \"{}\" (thumbprint {thumbprint}, key ID {key_id}) to \"{}\" from the linked vault \
                     certificate {source}",
                    credential.display_name, entry.app.display_name
                ),
            )
            .await;
        }
        Ok(added)
    }

    async fn audit(&self, tenant_id: Uuid, action: &str, target_kind: &str, target_id: String, detail: String) {
        let event = AuditEvent {
            id: Uuid::new_v4(),
            tenant_id,
            at: OffsetDateTime::now_utc(),
            actor_id: None,
            actor: "the vault (certificate link)".to_owned(),
            action: action.to_owned(),
            target_kind: target_kind.to_owned(),
            target_id,
            detail,
        };
        if let Err(e) = self.store.append_audit(&event).await {
            tracing::error!(error = %e, action, "the audit log could not be written");
        }
    }
}

impl Applications for AuthorityApplications {
    fn application(&self, tenant_id: Uuid, app_id: Uuid) -> Option<String> {
        self.authority
            .snapshot()
            .app_in_tenant(tenant_id, app_id)
            .map(|entry| entry.app.display_name.clone())
    }

    fn add_certificate<'a>(
        &'a self,
        tenant_id: Uuid,
        app_id: Uuid,
        certificate: &'a Certificate,
        source: &'a str,
    ) -> BoxFuture<'a, keyward_vault::Result<bool>> {
        Box::pin(self.add(tenant_id, app_id, certificate, source))
    }

    fn audit_link<'a>(
        &'a self,
        tenant_id: Uuid,
        app_id: Uuid,
        certificate: &'a str,
        linked: bool,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let application = self
                .application(tenant_id, app_id)
                .unwrap_or_else(|| app_id.to_string());
            let detail = if linked {
                format!(
                    "Linked the vault certificate {certificate} to \"{application}\": its new versions are added to the application"
                )
            } else {
                format!("Unlinked the vault certificate {certificate} from \"{application}\"")
            };
            let action = if linked {
                "vault.certificate.link"
            } else {
                "vault.certificate.unlink"
            };
            self.audit(tenant_id, action, "vault-certificate", certificate.to_owned(), detail)
                .await;
        })
    }
}

/// The vault service: the default vault of `tenant`, and the admin's access to it, reading the
/// time from the authority's clock (the server's one clock, which time travel moves). The caller
/// runs [`Vaults::run_lifetime_actions`] every [`LIFETIME_ACTIONS_EVERY`].
pub(crate) async fn open(
    authority: &Arc<Authority>,
    store: Arc<dyn Store>,
    master: keyward_pki::sealing::MasterKey,
    tenant: &TenantEntry,
    dir: &DataDir,
) -> Result<Arc<Vaults>> {
    let tokens = Arc::new(AuthorityTokens(Arc::clone(authority)));
    let applications = Arc::new(AuthorityApplications {
        authority: Arc::clone(authority),
        store: Arc::clone(&store),
    });
    let vaults = Arc::new(
        Vaults::new(store, Arc::new(master), tokens, authority.clock().clone()).with_applications(applications),
    );
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
