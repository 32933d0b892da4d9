//! Directory changes: applications (with their credentials and app roles) and app role
//! assignments. Every change is checked whole against the rules an application obeys
//! (`check_application`) before anything is written; then it is stored, then published to the
//! in-memory directory.

use std::sync::Arc;

use keyward_store::{AppRole, AppRoleAssignment, Application, KeyCredential};
use uuid::Uuid;

use crate::authority::{Authority, GRAPH_APP_ID};
use crate::directory::{AppEntry, Snapshot};
use crate::error::{ApplicationError, Error, Result};

/// What a new application starts with.
#[derive(Debug, Clone, Default)]
pub struct NewApplication {
    /// Its display name.
    pub display_name: String,
    /// Identifier URIs; `api://{appId}` is added when empty.
    pub identifier_uris: Vec<String>,
    /// Redirect URIs of the web platform.
    pub redirect_uris: Vec<String>,
    /// App roles it defines.
    pub app_roles: Vec<AppRole>,
    /// Certificate credentials it starts with, checked by
    /// [`certificate_credential`](crate::credentials::certificate_credential).
    pub key_credentials: Vec<KeyCredential>,
}

/// A change to an application; `None` leaves a field as it is. Checked whole before anything
/// is written.
#[derive(Debug, Clone, Default)]
pub struct ApplicationChange {
    /// A new display name (not blank).
    pub display_name: Option<String>,
    /// New identifier URIs.
    pub identifier_uris: Option<Vec<String>>,
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// A new front-channel logout URL (Graph `web.logoutUrl`); `Some(None)` removes it.
    pub logout_url: Option<Option<String>>,
    /// New app roles.
    pub app_roles: Option<Vec<AppRole>>,
    /// The new list of certificate credentials (Graph's `keyCredentials`): what is not listed
    /// is removed.
    pub key_credentials: Option<Vec<KeyCredentialChange>>,
}

/// One entry of a new list of certificate credentials.
#[derive(Debug, Clone)]
pub enum KeyCredentialChange {
    /// A new certificate.
    Add(KeyCredential),
    /// The existing credential with this key id stays.
    Keep(Uuid),
}

impl ApplicationChange {
    /// Applies the change to `app`; fails, leaving nothing half-done for the caller to store,
    /// when a kept credential does not exist or the display name is blank.
    pub fn apply(self, app: &mut Application) -> Result<()> {
        if let Some(name) = self.display_name {
            if name.trim().is_empty() {
                return Err(ApplicationError::DisplayNameEmpty.into());
            }
            app.display_name = name;
        }
        if let Some(uris) = self.identifier_uris {
            app.identifier_uris = uris;
        }
        if let Some(uris) = self.redirect_uris {
            app.redirect_uris = uris;
        }
        if let Some(url) = self.logout_url {
            app.logout_url = url;
        }
        if let Some(roles) = self.app_roles {
            app.app_roles = roles;
        }
        if let Some(keys) = self.key_credentials {
            let mut next = Vec::with_capacity(keys.len());
            for key in keys {
                match key {
                    KeyCredentialChange::Add(credential) => next.push(credential),
                    KeyCredentialChange::Keep(key_id) => {
                        let existing = app
                            .key_credentials
                            .iter()
                            .find(|k| k.key_id == key_id)
                            .ok_or_else(|| Error::CredentialNotFound(key_id.to_string()))?;
                        next.push(existing.clone());
                    }
                }
            }
            app.key_credentials = next;
        }
        Ok(())
    }
}

impl Authority {
    /// Registers an application (with its service principal and its certificates) in a tenant.
    /// The whole document is checked before it is stored: a refused one leaves nothing behind.
    pub async fn create_application(&self, tenant_id: Uuid, new: NewApplication) -> Result<Arc<AppEntry>> {
        let name = new.display_name.trim();
        if name.is_empty() || name.chars().count() > 256 {
            return Err(ApplicationError::DisplayNameRequired.into());
        }
        let _guard = self.writes.lock().await;
        let snapshot = self.snapshot();
        snapshot
            .tenant_by_id(tenant_id)
            .ok_or_else(|| Error::TenantNotFound(tenant_id.to_string()))?;
        let app_id = Uuid::new_v4();
        let identifier_uris = if new.identifier_uris.is_empty() {
            vec![format!("api://{app_id}")]
        } else {
            new.identifier_uris
        };
        let app = Application {
            id: Uuid::new_v4(),
            tenant_id,
            app_id,
            service_principal_id: Uuid::new_v4(),
            display_name: name.to_owned(),
            identifier_uris,
            redirect_uris: new.redirect_uris,
            logout_url: None,
            key_credentials: new.key_credentials,
            password_credentials: Vec::new(),
            app_roles: new.app_roles,
            created: self.now(),
            version: 1,
        };
        check_application(&snapshot, &app)?;
        self.check_credential_policy(&app, None).await?;
        self.store.insert_application(&app).await?;
        let entry = Arc::new(AppEntry::new(app));
        self.directory.replace(snapshot.with_app(Arc::clone(&entry)));
        Ok(entry)
    }

    /// Registers a whole application document as given, ids included: how the declarative
    /// state registers an app with a fixed `appId`, object id and service principal id, its
    /// secrets (hashed) and certificates. The ids must not be another application's; the
    /// document is checked as [`create_application`](Self::create_application) checks one
    /// (and the tenant's app management policy) before it is stored.
    pub async fn insert_application(&self, mut app: Application) -> Result<Arc<AppEntry>> {
        let name = app.display_name.trim();
        if name.is_empty() || name.chars().count() > 256 {
            return Err(ApplicationError::DisplayNameRequired.into());
        }
        app.display_name = name.to_owned();
        let _guard = self.writes.lock().await;
        let snapshot = self.snapshot();
        self.check_application_ids(&snapshot, &app)?;
        check_application(&snapshot, &app)?;
        self.check_credential_policy(&app, None).await?;
        app.version = 1;
        self.store.insert_application(&app).await?;
        let entry = Arc::new(AppEntry::new(app));
        self.directory.replace(snapshot.with_app(Arc::clone(&entry)));
        Ok(entry)
    }

    /// Whether `app` could be stored as it is (a new one when `current` is `None`, else a
    /// change of `current`): its ids free, its document valid, its credentials within the
    /// tenant's app management policy. Changes nothing: what the declarative state checks
    /// before it writes anything.
    pub async fn check_application_document(&self, app: &Application, current: Option<&Application>) -> Result<()> {
        let snapshot = self.snapshot();
        if current.is_none() {
            self.check_application_ids(&snapshot, app)?;
        }
        check_application(&snapshot, app)?;
        self.check_credential_policy(app, current).await
    }

    fn check_application_ids(&self, snapshot: &Snapshot, app: &Application) -> Result<()> {
        snapshot
            .tenant_by_id(app.tenant_id)
            .ok_or_else(|| Error::TenantNotFound(app.tenant_id.to_string()))?;
        for tenant in snapshot.tenants() {
            let t = tenant.tenant.id;
            let taken = [
                ("appId", app.app_id, snapshot.app_in_tenant(t, app.app_id)),
                ("object id", app.id, snapshot.app_by_object_id(t, app.id)),
                ("object id", app.id, snapshot.app_by_service_principal(t, app.id)),
                (
                    "service principal id",
                    app.service_principal_id,
                    snapshot.app_by_service_principal(t, app.service_principal_id),
                ),
                (
                    "service principal id",
                    app.service_principal_id,
                    snapshot.app_by_object_id(t, app.service_principal_id),
                ),
            ];
            for (what, id, holder) in taken {
                if let Some(holder) = holder {
                    return Err(Error::IdTaken {
                        what,
                        id,
                        holder: holder.app.display_name.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// An application as stored, certificates included (the directory's entries hold what the
    /// token endpoint needs of them, not the certificates): for code that writes a whole
    /// document, or shows a certificate.
    pub async fn stored_application(&self, tenant_id: Uuid, object_id: Uuid) -> Result<Option<Application>> {
        Ok(self.store.application(tenant_id, object_id).await?)
    }

    /// Changes an application with `change`, which sees the current document. The change is
    /// stored, then published; a removed credential is refused from the next request on.
    pub async fn update_application<T>(
        &self,
        tenant_id: Uuid,
        object_id: Uuid,
        change: impl FnOnce(&mut Application) -> Result<T>,
    ) -> Result<(Arc<AppEntry>, T)> {
        let _guard = self.writes.lock().await;
        let snapshot = self.snapshot();
        snapshot
            .app_by_object_id(tenant_id, object_id)
            .ok_or_else(|| Error::ApplicationNotFound(object_id.to_string()))?;
        // The document as stored, certificates included: the directory's copy has none.
        let current = self
            .store
            .application(tenant_id, object_id)
            .await?
            .ok_or_else(|| Error::ApplicationNotFound(object_id.to_string()))?;
        let mut app = current.clone();
        let output = change(&mut app)?;
        app.id = current.id;
        app.tenant_id = current.tenant_id;
        app.app_id = current.app_id;
        app.service_principal_id = current.service_principal_id;
        app.version = current.version + 1;
        check_application(&snapshot, &app)?;
        self.check_credential_policy(&app, Some(&current)).await?;
        self.store.update_application(&app).await?;
        let entry = Arc::new(AppEntry::new(app));
        self.directory.replace(snapshot.with_app(Arc::clone(&entry)));
        Ok((entry, output))
    }

    /// Changes an application as Graph's PATCH does.
    pub async fn change_application(
        &self,
        tenant_id: Uuid,
        object_id: Uuid,
        change: ApplicationChange,
    ) -> Result<Arc<AppEntry>> {
        let (entry, ()) = self
            .update_application(tenant_id, object_id, |app| change.apply(app))
            .await?;
        Ok(entry)
    }

    /// Deletes an application and the role grants naming it.
    pub async fn delete_application(&self, tenant_id: Uuid, object_id: Uuid) -> Result<()> {
        let _guard = self.writes.lock().await;
        let snapshot = self.snapshot();
        let entry = snapshot
            .app_by_object_id(tenant_id, object_id)
            .ok_or_else(|| Error::ApplicationNotFound(object_id.to_string()))?;
        if entry.app.app_id == GRAPH_APP_ID {
            return Err(ApplicationError::BuiltIn(entry.app.display_name.clone()).into());
        }
        self.store.delete_application(tenant_id, object_id).await?;
        self.directory
            .replace(snapshot.without_app(tenant_id, entry.app.app_id));
        Ok(())
    }

    /// Grants `role_id` of the resource to the client's service principal.
    pub async fn grant_role(
        &self,
        tenant_id: Uuid,
        principal_id: Uuid,
        resource_id: Uuid,
        role_id: Uuid,
    ) -> Result<AppRoleAssignment> {
        let _guard = self.writes.lock().await;
        let snapshot = self.snapshot();
        snapshot
            .app_by_service_principal(tenant_id, principal_id)
            .ok_or_else(|| Error::ApplicationNotFound(format!("service principal {principal_id}")))?;
        let resource = snapshot
            .app_by_service_principal(tenant_id, resource_id)
            .ok_or_else(|| Error::ApplicationNotFound(format!("service principal {resource_id}")))?;
        let role = resource.app.app_roles.iter().find(|r| r.id == role_id).ok_or_else(|| {
            ApplicationError::UnknownAppRole {
                resource: resource.app.display_name.clone(),
                role_id,
            }
        })?;
        if !role.allowed_member_types.iter().any(|t| t == "Application") {
            return Err(ApplicationError::RoleNotForApplications(role.value.clone()).into());
        }
        let assignment = AppRoleAssignment {
            id: Uuid::new_v4(),
            tenant_id,
            principal_id,
            resource_id,
            app_role_id: role_id,
            created: self.now(),
        };
        self.store.insert_role_assignment(&assignment).await?;
        let mut assignments = snapshot.assignments().to_vec();
        assignments.push(assignment.clone());
        self.directory.replace(snapshot.with_assignments(assignments));
        Ok(assignment)
    }

    /// Removes a role grant.
    pub async fn revoke_role(&self, tenant_id: Uuid, assignment_id: Uuid) -> Result<()> {
        let _guard = self.writes.lock().await;
        let snapshot = self.snapshot();
        if !self.store.delete_role_assignment(tenant_id, assignment_id).await? {
            return Err(Error::RoleAssignmentNotFound(assignment_id));
        }
        let assignments = snapshot
            .assignments()
            .iter()
            .filter(|a| a.id != assignment_id)
            .cloned()
            .collect();
        self.directory.replace(snapshot.with_assignments(assignments));
        Ok(())
    }
}

/// Rules every application document obeys, checked before it is stored.
fn check_application(snapshot: &Snapshot, app: &Application) -> Result<()> {
    for uri in &app.identifier_uris {
        if uri.trim().is_empty() || uri.len() > 256 {
            return Err(ApplicationError::InvalidIdentifierUri(uri.clone()).into());
        }
        if let Some(other) = snapshot.resource(app.tenant_id, uri)
            && other.app.app_id != app.app_id
        {
            return Err(ApplicationError::IdentifierUriTaken {
                uri: uri.clone(),
                owner: other.app.display_name.clone(),
            }
            .into());
        }
    }
    for uri in &app.redirect_uris {
        if let Some(problem) = crate::redirect_uri::problem(uri) {
            return Err(ApplicationError::InvalidRedirectUri {
                uri: uri.clone(),
                problem,
            }
            .into());
        }
    }
    if let Some(url) = &app.logout_url
        && let Some(problem) = crate::redirect_uri::problem(url)
    {
        return Err(ApplicationError::InvalidLogoutUrl {
            url: url.clone(),
            problem,
        }
        .into());
    }
    let mut seen = std::collections::HashSet::new();
    for credential in &app.key_credentials {
        let thumbprint = keyward_pki::Thumbprints::of(&credential.certificate_der).sha1_hex();
        if !seen.insert(thumbprint.clone()) {
            return Err(ApplicationError::DuplicateCertificate(thumbprint).into());
        }
    }
    let mut values = std::collections::HashSet::new();
    for role in &app.app_roles {
        if role.value.is_empty() || role.value.contains(char::is_whitespace) || !values.insert(role.value.as_str()) {
            return Err(ApplicationError::InvalidAppRoleValue(role.value.clone()).into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
