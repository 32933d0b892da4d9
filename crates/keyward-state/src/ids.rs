//! Deterministic ids for what the document does not fix: UUID version 5 (SHA-1, RFC 9562
//! §5.5) of [`NAMESPACE`] and a path naming the object (`contoso/app/daemon/app-id`). The same
//! document applied to an empty server twice gives the same ids.
//!
//! Objects are named by their tenant's *name*, not its id, so an app's ids do not change when
//! its tenant's id is fixed later.

use sha1::{Digest, Sha1};
use uuid::{Builder, Uuid, uuid};

use crate::schema::Document;

/// The namespace of every derived id.
pub const NAMESPACE: Uuid = uuid!("5c1f6a3e-8d2b-4f7a-9e0c-6b4d2a1f3e58");

/// UUID v5 of [`NAMESPACE`] and the parts joined with `/`.
pub fn derive(parts: &[&str]) -> Uuid {
    let mut hasher = Sha1::new();
    hasher.update(NAMESPACE.as_bytes());
    hasher.update(parts.join("/").as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Builder::from_sha1_bytes(bytes).into_uuid()
}

/// A tenant's id when the document gives none.
pub fn tenant_id(tenant: &str) -> Uuid {
    derive(&["tenant", &tenant.to_ascii_lowercase()])
}

/// An app's application (client) id.
pub fn app_id(tenant: &str, app: &str) -> Uuid {
    derive(&[&tenant.to_ascii_lowercase(), "app", app, "app-id"])
}

/// An app's object id.
pub fn app_object_id(tenant: &str, app: &str) -> Uuid {
    derive(&[&tenant.to_ascii_lowercase(), "app", app, "object-id"])
}

/// An app's service principal id.
pub fn service_principal_id(tenant: &str, app: &str) -> Uuid {
    derive(&[&tenant.to_ascii_lowercase(), "app", app, "service-principal-id"])
}

/// An app role's id.
pub fn role_id(tenant: &str, app: &str, value: &str) -> Uuid {
    derive(&[&tenant.to_ascii_lowercase(), "app", app, "role", value])
}

/// A client secret's key id.
pub fn secret_key_id(tenant: &str, app: &str, name: &str) -> Uuid {
    derive(&[&tenant.to_ascii_lowercase(), "app", app, "secret", name])
}

/// A certificate credential's key id.
pub fn certificate_key_id(tenant: &str, app: &str, name: &str) -> Uuid {
    derive(&[&tenant.to_ascii_lowercase(), "app", app, "certificate", name])
}

/// A user's object id.
pub fn user_id(tenant: &str, email: &str) -> Uuid {
    derive(&[&tenant.to_ascii_lowercase(), "user", &email.trim().to_ascii_lowercase()])
}

impl Document {
    /// The tenant an object names, or the only tenant when it names none.
    pub fn tenant_of<'a>(&'a self, named: Option<&'a str>) -> Option<&'a str> {
        match named {
            Some(name) => Some(name),
            None if self.tenants.len() == 1 => Some(&self.tenants[0].name),
            None => None,
        }
    }

    /// Fills in what the document leaves to defaults: every object's tenant (when the
    /// document has one tenant) and every id except tenants' (a tenant without an id keeps
    /// the id it has on the server). Fixed ids are kept. Idempotent.
    pub fn fill_ids(&mut self) {
        let only_tenant = (self.tenants.len() == 1).then(|| self.tenants[0].name.clone());
        for app in &mut self.apps {
            if app.tenant.is_none() {
                app.tenant.clone_from(&only_tenant);
            }
            let Some(tenant) = app.tenant.clone() else { continue };
            let name = app.name.clone();
            app.app_id.get_or_insert_with(|| app_id(&tenant, &name));
            app.object_id.get_or_insert_with(|| app_object_id(&tenant, &name));
            app.service_principal_id
                .get_or_insert_with(|| service_principal_id(&tenant, &name));
            for role in &mut app.roles {
                role.id.get_or_insert_with(|| role_id(&tenant, &name, &role.value));
            }
            for secret in &mut app.secrets {
                secret
                    .key_id
                    .get_or_insert_with(|| secret_key_id(&tenant, &name, &secret.name));
            }
            for cert in &mut app.certificates {
                cert.key_id
                    .get_or_insert_with(|| certificate_key_id(&tenant, &name, &cert.name));
            }
        }
        for user in &mut self.users {
            if user.tenant.is_none() {
                user.tenant.clone_from(&only_tenant);
            }
            let Some(tenant) = user.tenant.clone() else { continue };
            user.id.get_or_insert_with(|| user_id(&tenant, &user.email));
        }
        for vault in &mut self.vaults {
            if vault.tenant.is_none() {
                vault.tenant.clone_from(&only_tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_version_5() {
        let id = app_id("contoso", "daemon");
        assert_eq!(id, app_id("Contoso", "daemon"), "tenant names compare in lowercase");
        assert_eq!(id.get_version_num(), 5);
        assert_ne!(id, app_object_id("contoso", "daemon"));
        assert_ne!(id, app_id("fabrikam", "daemon"));
        // Pinned, and equal to Python's uuid.uuid5(NAMESPACE, "contoso/app/daemon/app-id"): a
        // change here changes the derived ids of every document.
        assert_eq!(tenant_id("contoso").to_string(), "1a0304c2-7e30-5af7-b465-fbac9841ec46");
        assert_eq!(id.to_string(), "b0ce3cb9-c0f8-5f31-bd04-2745aee9702a");
        assert_eq!(user_id("t", " Alice@Example.com "), user_id("t", "alice@example.com"));
    }
}
