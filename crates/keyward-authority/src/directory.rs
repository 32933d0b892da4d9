//! The in-memory directory the token endpoint reads: tenants by every alias, applications by
//! client id with what is needed of their certificates (thumbprints, dates, public keys), role
//! grants, and each tenant's signing key. Never the database.
//!
//! A [`Snapshot`] is immutable. Every write builds the next snapshot (sharing the unchanged
//! entries and most of the maps) and swaps it in after the database has acknowledged the write,
//! so a request sees either all of a change or none of it, and a removed credential is gone for
//! the next request. Sized for 100,000 applications with ten certificates each: a write costs
//! O(log n), a reload by another server reads only what changed, and an entry holds about 600
//! bytes per certificate instead of the certificate.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use keyward_jose::VerifyingKey;
use keyward_pki::{Certificate, Thumbprint, Thumbprints};
use keyward_store::{AppRoleAssignment, Application, KeyCredential, PasswordCredential, Tenant};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::signing::TenantKeys;

/// The current snapshot, swapped atomically.
#[derive(Default)]
pub struct Directory {
    current: RwLock<Arc<Snapshot>>,
}

impl Directory {
    /// The snapshot to answer one request from.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub(crate) fn replace(&self, next: Snapshot) {
        let next = Arc::new(next);
        match self.current.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
}

/// A tenant, its signing keys, and the URLs derived from it, built once.
pub struct TenantEntry {
    /// The stored tenant.
    pub tenant: Tenant,
    /// Its token-signing keys: the active one and those still published.
    pub keys: TenantKeys,
    /// `https://HOST:PORT/{tenant-guid}/v2.0`.
    pub issuer: String,
    /// The token endpoint under every alias: what a client assertion's `aud` may be.
    pub token_endpoints: Vec<String>,
}

/// A registered certificate as the token endpoint needs it: its dates, thumbprints and public
/// key, not the certificate (which stays in the database: a million RSA-2048 certificates are
/// 830 MB of DER, a million of these about 450 MB).
pub struct CertificateEntry {
    /// The credential's `keyId`.
    pub key_id: Uuid,
    /// When it becomes usable.
    pub start: OffsetDateTime,
    /// When it stops being usable.
    pub end: OffsetDateTime,
    /// The certificate's SHA-1 and SHA-256 thumbprints.
    pub thumbprints: Thumbprints,
    spki: Box<[u8]>,
    /// Boxed: most entries never build one, and an empty slot is then 8 bytes, not 200.
    verifier: OnceLock<Box<Result<VerifyingKey, String>>>,
}

impl CertificateEntry {
    /// Reads what the token endpoint needs from a stored credential's certificate.
    fn of(credential: &KeyCredential) -> Result<Self, String> {
        // Checked whole when it was registered; here only walked to its key (a million of them
        // are read at start).
        let spki = Certificate::spki_of(&credential.certificate_der).map_err(|e| e.to_string())?;
        Ok(Self {
            key_id: credential.key_id,
            start: credential.start,
            end: credential.end,
            thumbprints: Thumbprints::of(&credential.certificate_der),
            spki: spki.into(),
            verifier: OnceLock::new(),
        })
    }

    /// The key that checks what the certificate's key signed, built at the first call (most
    /// registered certificates never sign anything while a server runs).
    pub fn verifier(&self) -> Result<&VerifyingKey, &str> {
        self.verifier
            .get_or_init(|| Box::new(VerifyingKey::from_spki_der(&self.spki).map_err(|e| e.to_string())))
            .as_ref()
            .as_ref()
            .map_err(String::as_str)
    }

    /// Whether it is usable at `now`.
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        self.start <= now && now <= self.end
    }
}

/// An application with its credentials ready for use.
pub struct AppEntry {
    /// The stored document, but for its certificates: each key credential's `certificate_der`
    /// is empty here (the certificates stay in the database; [`AppEntry::certificates`] has what
    /// is needed of them). Code that writes the document reads it from the store first
    /// ([`crate::Authority::update_application`] does).
    pub app: Application,
    certificates: Vec<CertificateEntry>,
}

impl AppEntry {
    /// The entry for a stored application: its certificates are read (and then dropped from
    /// the document); one that no longer parses is left out, and logged.
    pub fn new(mut app: Application) -> Self {
        let mut certificates = Vec::with_capacity(app.key_credentials.len());
        for credential in &mut app.key_credentials {
            match CertificateEntry::of(credential) {
                Ok(entry) => certificates.push(entry),
                Err(reason) => {
                    tracing::warn!(app_id = %app.app_id, key_id = %credential.key_id, %reason, "stored certificate skipped");
                }
            }
            credential.certificate_der = Vec::new();
        }
        Self { app, certificates }
    }

    /// Its certificates, in the document's order (less any that did not parse).
    pub fn certificates(&self) -> &[CertificateEntry] {
        &self.certificates
    }

    /// The registered certificate with this thumbprint (SHA-1 or SHA-256).
    pub fn certificate(&self, thumbprint: &Thumbprint) -> Option<&CertificateEntry> {
        self.certificates.iter().find(|c| c.thumbprints.matches(thumbprint))
    }

    /// The registered certificate with this key id.
    pub fn certificate_by_key_id(&self, key_id: Uuid) -> Option<&CertificateEntry> {
        self.certificates.iter().find(|c| c.key_id == key_id)
    }

    /// Whether this entry was made from `other`'s document: the same document and the same
    /// certificates.
    pub fn same_as(&self, other: &AppEntry) -> bool {
        self.app == other.app
            && self.certificates.len() == other.certificates.len()
            && self
                .certificates
                .iter()
                .zip(&other.certificates)
                .all(|(a, b)| a.key_id == b.key_id && a.thumbprints == b.thumbprints)
    }

    /// Secrets valid at `now`.
    pub fn secrets_valid_at(&self, now: OffsetDateTime) -> impl Iterator<Item = &PasswordCredential> {
        self.app
            .password_credentials
            .iter()
            .filter(move |p| p.start <= now && now <= p.end)
    }
}

/// A name in lowercase, letter by letter (Unicode), as names are compared.
fn lowercase(name: &str) -> String {
    name.chars().flat_map(char::to_lowercase).collect()
}

/// Everything the token service needs, indexed.
///
/// The applications and their indexes are persistent maps: cloning the snapshot shares them,
/// and adding or replacing one application makes new paths to it only (O(log n)), so that a
/// write to one application of 100,000 costs what it costs in a directory of ten. Tenants and
/// role assignments are few, and rebuilt whole when they change.
#[derive(Clone, Default)]
pub struct Snapshot {
    tenants: HashMap<Uuid, Arc<TenantEntry>>,
    aliases: HashMap<String, Uuid>,
    /// Applications by (tenant, appId): Microsoft Graph has the same appId in every tenant.
    apps: imbl::HashMap<(Uuid, Uuid), Arc<AppEntry>>,
    by_object_id: imbl::HashMap<Uuid, (Uuid, Uuid)>,
    by_service_principal: imbl::HashMap<Uuid, (Uuid, Uuid)>,
    by_identifier: imbl::HashMap<(Uuid, String), Uuid>,
    /// AppIds by (tenant, display name in lowercase): names are not unique.
    by_name: imbl::HashMap<(Uuid, String), Vec<Uuid>>,
    assignments: Arc<Vec<AppRoleAssignment>>,
    roles: Arc<HashMap<(Uuid, Uuid), Vec<Uuid>>>,
}

impl Snapshot {
    /// Builds a snapshot and its indexes.
    pub fn new(
        tenants: impl IntoIterator<Item = Arc<TenantEntry>>,
        apps: impl IntoIterator<Item = Arc<AppEntry>>,
        assignments: Vec<AppRoleAssignment>,
    ) -> Self {
        let mut snapshot = Self::default();
        snapshot.set_tenants(tenants);
        for entry in apps {
            snapshot.put_app(entry);
        }
        snapshot.set_assignments(assignments);
        snapshot
    }

    fn set_tenants(&mut self, tenants: impl IntoIterator<Item = Arc<TenantEntry>>) {
        self.tenants = tenants.into_iter().map(|t| (t.tenant.id, t)).collect();
        self.aliases.clear();
        for (id, entry) in &self.tenants {
            for alias in [
                id.to_string(),
                entry.tenant.name.to_lowercase(),
                entry.tenant.domain.to_lowercase(),
            ] {
                self.aliases.insert(alias, *id);
            }
        }
    }

    fn set_assignments(&mut self, assignments: Vec<AppRoleAssignment>) {
        let mut roles: HashMap<(Uuid, Uuid), Vec<Uuid>> = HashMap::new();
        for a in &assignments {
            roles
                .entry((a.principal_id, a.resource_id))
                .or_default()
                .push(a.app_role_id);
        }
        self.roles = Arc::new(roles);
        self.assignments = Arc::new(assignments);
    }

    /// The names an application is found by: its appId and its identifier URIs.
    fn identifiers(app: &Application) -> impl Iterator<Item = (Uuid, String)> + '_ {
        std::iter::once(app.app_id.to_string())
            .chain(
                app.identifier_uris
                    .iter()
                    .map(|uri| uri.trim_end_matches('/').to_lowercase()),
            )
            .map(|name| (app.tenant_id, name))
    }

    /// Adds `entry`, or replaces the application with its (tenant, appId), with its indexes.
    fn put_app(&mut self, entry: Arc<AppEntry>) {
        let key = (entry.app.tenant_id, entry.app.app_id);
        if let Some(old) = self.apps.get(&key).cloned() {
            self.unindex(&old);
        }
        let app = &entry.app;
        self.by_object_id.insert(app.id, key);
        self.by_service_principal.insert(app.service_principal_id, key);
        for identifier in Self::identifiers(app) {
            self.by_identifier.insert(identifier, app.app_id);
        }
        self.by_name
            .entry((app.tenant_id, lowercase(&app.display_name)))
            .or_default()
            .push(app.app_id);
        self.apps.insert(key, entry);
    }

    /// Removes an application and what indexes it.
    fn remove_app(&mut self, key: (Uuid, Uuid)) -> Option<Arc<AppEntry>> {
        let old = self.apps.remove(&key)?;
        self.unindex(&old);
        Some(old)
    }

    /// Removes the index entries that point at `old`, and only those: another application
    /// may hold one of its identifier URIs by now.
    fn unindex(&mut self, old: &AppEntry) {
        let app = &old.app;
        let key = (app.tenant_id, app.app_id);
        if self.by_object_id.get(&app.id) == Some(&key) {
            self.by_object_id.remove(&app.id);
        }
        if self.by_service_principal.get(&app.service_principal_id) == Some(&key) {
            self.by_service_principal.remove(&app.service_principal_id);
        }
        for identifier in Self::identifiers(app) {
            if self.by_identifier.get(&identifier) == Some(&app.app_id) {
                self.by_identifier.remove(&identifier);
            }
        }
        let name = (app.tenant_id, lowercase(&app.display_name));
        if let Some(named) = self.by_name.get_mut(&name) {
            named.retain(|id| *id != app.app_id);
            if named.is_empty() {
                self.by_name.remove(&name);
            }
        }
    }

    /// The same snapshot with `entry` added or replaced.
    pub fn with_app(&self, entry: Arc<AppEntry>) -> Self {
        let mut next = self.clone();
        next.put_app(entry);
        next
    }

    /// The same snapshot without the application and the grants naming its service principal.
    pub fn without_app(&self, tenant_id: Uuid, app_id: Uuid) -> Self {
        let mut next = self.clone();
        if let Some(entry) = next.remove_app((tenant_id, app_id)) {
            let sp = entry.app.service_principal_id;
            let assignments = next
                .assignments
                .iter()
                .filter(|a| a.principal_id != sp && a.resource_id != sp)
                .cloned()
                .collect();
            next.set_assignments(assignments);
        }
        next
    }

    /// The same snapshot with what a reload read: all tenants and role assignments, and the
    /// applications removed (by object id) and written since the last one.
    pub fn with_changes(
        &self,
        tenants: impl IntoIterator<Item = Arc<TenantEntry>>,
        removed: &[Uuid],
        written: impl IntoIterator<Item = Arc<AppEntry>>,
        assignments: Vec<AppRoleAssignment>,
    ) -> Self {
        let mut next = self.clone();
        next.set_tenants(tenants);
        for id in removed {
            if let Some(key) = next.by_object_id.get(id).copied() {
                next.remove_app(key);
            }
        }
        for entry in written {
            // An application whose object id now names another (tenant, appId) leaves first.
            if let Some(key) = next.by_object_id.get(&entry.app.id).copied()
                && key != (entry.app.tenant_id, entry.app.app_id)
            {
                next.remove_app(key);
            }
            next.put_app(entry);
        }
        next.set_assignments(assignments);
        next
    }

    /// The same snapshot with `entry` added or replaced.
    pub fn with_tenant(&self, entry: Arc<TenantEntry>) -> Self {
        let mut next = self.clone();
        let mut tenants: Vec<_> = next.tenants.values().cloned().collect();
        tenants.retain(|t| t.tenant.id != entry.tenant.id);
        tenants.push(entry);
        next.set_tenants(tenants);
        next
    }

    /// The same snapshot with other role assignments.
    pub fn with_assignments(&self, assignments: Vec<AppRoleAssignment>) -> Self {
        let mut next = self.clone();
        next.set_assignments(assignments);
        next
    }

    /// A tenant by GUID, name or domain, in any case.
    pub fn tenant(&self, alias: &str) -> Option<&Arc<TenantEntry>> {
        let id = self.aliases.get(&alias.to_lowercase())?;
        self.tenants.get(id)
    }

    /// Every tenant, in no particular order.
    pub fn tenants(&self) -> impl Iterator<Item = &Arc<TenantEntry>> {
        self.tenants.values()
    }

    /// A tenant by id.
    pub fn tenant_by_id(&self, id: Uuid) -> Option<&Arc<TenantEntry>> {
        self.tenants.get(&id)
    }

    /// An application by client id (`appId`), in its tenant.
    pub fn app_in_tenant(&self, tenant_id: Uuid, app_id: Uuid) -> Option<&Arc<AppEntry>> {
        self.apps.get(&(tenant_id, app_id))
    }

    /// An application by object id, in its tenant.
    pub fn app_by_object_id(&self, tenant_id: Uuid, id: Uuid) -> Option<&Arc<AppEntry>> {
        self.by_object_id
            .get(&id)
            .filter(|(t, _)| *t == tenant_id)
            .and_then(|key| self.apps.get(key))
    }

    /// An application by its service principal id, in its tenant.
    pub fn app_by_service_principal(&self, tenant_id: Uuid, sp: Uuid) -> Option<&Arc<AppEntry>> {
        self.by_service_principal
            .get(&sp)
            .filter(|(t, _)| *t == tenant_id)
            .and_then(|key| self.apps.get(key))
    }

    /// The resource application a scope names: by an identifier URI or by its appId.
    pub fn resource(&self, tenant_id: Uuid, identifier: &str) -> Option<&Arc<AppEntry>> {
        let key = (tenant_id, identifier.trim_end_matches('/').to_lowercase());
        self.by_identifier
            .get(&key)
            .and_then(|app_id| self.app_in_tenant(tenant_id, *app_id))
    }

    /// Applications of a tenant, oldest first.
    pub fn apps_of(&self, tenant_id: Uuid) -> Vec<&Arc<AppEntry>> {
        let mut apps: Vec<_> = self.apps.values().filter(|a| a.app.tenant_id == tenant_id).collect();
        apps.sort_by_key(|a| (a.app.created, a.app.id));
        apps
    }

    /// Applications of a tenant whose display name is `name`, without regard to case, oldest
    /// first.
    pub fn apps_named(&self, tenant_id: Uuid, name: &str) -> Vec<&Arc<AppEntry>> {
        let ids = self.by_name.get(&(tenant_id, lowercase(name)));
        let mut apps: Vec<_> = ids
            .into_iter()
            .flatten()
            .filter_map(|app_id| self.app_in_tenant(tenant_id, *app_id))
            .collect();
        apps.sort_by_key(|a| (a.app.created, a.app.id));
        apps
    }

    /// Role assignments of a tenant.
    pub fn assignments_of(&self, tenant_id: Uuid) -> impl Iterator<Item = &AppRoleAssignment> {
        self.assignments.iter().filter(move |a| a.tenant_id == tenant_id)
    }

    /// All role assignments.
    pub fn assignments(&self) -> &[AppRoleAssignment] {
        &self.assignments
    }

    /// The enabled role values `client` holds on `resource`, for the `roles` claim.
    pub fn roles(&self, client: &AppEntry, resource: &AppEntry) -> Vec<String> {
        let Some(ids) = self
            .roles
            .get(&(client.app.service_principal_id, resource.app.service_principal_id))
        else {
            return Vec::new();
        };
        let mut values: Vec<String> = resource
            .app
            .app_roles
            .iter()
            .filter(|r| r.is_enabled && ids.contains(&r.id))
            .map(|r| r.value.clone())
            .collect();
        values.sort();
        values
    }
}

#[cfg(test)]
mod tests;
