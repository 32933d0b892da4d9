//! Managed identities: access tokens for an application that holds no credential, issued to
//! whoever the platform's local endpoint vouches for (App Service's `IDENTITY_ENDPOINT`, a VM's
//! IMDS). The endpoint itself (who may ask, on which address) is the server's; here is what it
//! issues.

use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::authority::Authority;
use crate::client_auth::{AuthenticatedClient, ClientAuthMethod};
use crate::directory::AppEntry;
use crate::token::{TokenError, TokenResponse};

impl Authority {
    /// The application a managed identity endpoint serves, named by its client ID or its
    /// display name (which must then be unique in the tenant).
    pub fn managed_identity_app(&self, tenant_id: Uuid, name: &str) -> Option<Arc<AppEntry>> {
        let snapshot = self.snapshot();
        if let Ok(app_id) = Uuid::parse_str(name) {
            return snapshot.app_in_tenant(tenant_id, app_id).cloned();
        }
        let mut named = snapshot
            .apps_of(tenant_id)
            .into_iter()
            .filter(|a| a.app.display_name == name && !crate::authority::is_builtin(a.app.app_id));
        match (named.next(), named.next()) {
            (Some(app), None) => Some(Arc::clone(app)),
            _ => None,
        }
    }

    /// An access token for `app` to `resource` (an identifier URI or app ID, with or without
    /// `/.default`), as a managed identity: no credential is checked, the caller of this
    /// function has vouched for the app. Its `iss` is Entra's form at
    /// `login.microsoftonline.com` in the Azure host names mode, the server's own otherwise.
    pub fn managed_identity_token(
        &self,
        app: &Arc<AppEntry>,
        resource: &str,
        now: OffsetDateTime,
    ) -> Result<TokenResponse, TokenError> {
        let snapshot = self.snapshot();
        let tenant = snapshot
            .tenant_by_id(app.app.tenant_id)
            .cloned()
            .ok_or_else(|| TokenError::NotIssued("the application's tenant is gone".into()))?;
        let resource = resource.trim();
        let scope = if resource.ends_with("/.default") {
            resource.to_owned()
        } else {
            format!("{}/.default", resource.trim_end_matches('/'))
        };
        let issuer = if self.config.azure_hosts {
            format!(
                "https://{}/{}/v2.0",
                crate::azure_hosts::LOGIN_HOSTS[0],
                tenant.tenant.id
            )
        } else {
            tenant.issuer.clone()
        };
        let client = AuthenticatedClient {
            app: Arc::clone(app),
            method: ClientAuthMethod::ManagedIdentity,
            credential: None,
        };
        crate::token::client_credentials(
            &snapshot,
            &tenant,
            &client,
            Some(&scope),
            &issuer,
            self.config.token_lifetime,
            now,
        )
    }
}
