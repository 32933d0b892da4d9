//! Who may do what: Key Vault's permission names, access policies per principal, deny by
//! default, and the [`Access`] every vault operation checks before it looks anything up.

use keyward_store::{AccessPolicy, Collection, Vault};
use uuid::Uuid;

use crate::Caller;
use crate::error::{Error, Result};

/// A caller's standing in one vault: what every certificate and secret operation takes, and
/// checks against the vault's access policies before it reads anything.
#[derive(Debug, Clone)]
pub struct Access {
    vault: Vault,
    caller: Caller,
}

impl Access {
    /// `caller` acting on `vault`.
    pub fn new(vault: Vault, caller: Caller) -> Self {
        Self { vault, caller }
    }

    /// The vault.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The caller.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// [`Error::Forbidden`] unless the caller holds `permission` in this vault.
    pub fn require(&self, permission: Permission) -> Result<()> {
        let caller = &self.caller;
        if allows(&self.vault, caller.object_id, permission) {
            return Ok(());
        }
        let app_id = caller.app_id.map(|a| a.to_string()).unwrap_or_default();
        Err(Error::Forbidden {
            principal: format!("appid={app_id};oid={}", caller.object_id),
            permission,
            vault: self.vault.name.clone(),
        })
    }
}

/// Key Vault's certificate permissions (`all` grants every one).
pub const CERTIFICATE_PERMISSIONS: &[&str] = &[
    "get",
    "list",
    "update",
    "create",
    "import",
    "delete",
    "recover",
    "purge",
    "backup",
    "restore",
    "managecontacts",
    "manageissuers",
    "getissuers",
    "listissuers",
    "setissuers",
    "deleteissuers",
];

/// Key Vault's secret permissions (`all` grants every one).
pub const SECRET_PERMISSIONS: &[&str] = &["get", "list", "set", "delete", "recover", "purge", "backup", "restore"];

/// What an operation needs: a permission on one collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The collection the permission is on.
    pub collection: Collection,
    /// The permission's name, as in [`CERTIFICATE_PERMISSIONS`] or [`SECRET_PERMISSIONS`].
    pub name: &'static str,
}

impl Permission {
    /// A certificate permission.
    pub const fn certificates(name: &'static str) -> Self {
        Self {
            collection: Collection::Certificates,
            name,
        }
    }

    /// A secret permission.
    pub const fn secrets(name: &'static str) -> Self {
        Self {
            collection: Collection::Secrets,
            name,
        }
    }

    /// Key Vault's word for the collection in messages (`certificates`, `secrets`).
    pub fn noun(&self) -> &'static str {
        self.collection.as_str()
    }
}

/// Whether the principal `object_id` holds `permission` in `vault`.
pub fn allows(vault: &Vault, object_id: Uuid, permission: Permission) -> bool {
    vault
        .access_policies
        .iter()
        .filter(|p| p.object_id == object_id)
        .any(|p| {
            let granted = match permission.collection {
                Collection::Certificates => &p.certificates,
                Collection::Secrets => &p.secrets,
            };
            granted.iter().any(|g| g == permission.name)
        })
}

/// Checks and normalises a policy given by an administrator: lowercase names, `all` expanded,
/// duplicates removed, unknown names refused with [`Error::UnknownPermission`].
pub fn normalize(policy: AccessPolicy) -> Result<AccessPolicy> {
    Ok(AccessPolicy {
        object_id: policy.object_id,
        certificates: normalize_list(&policy.certificates, "certificates", CERTIFICATE_PERMISSIONS)?,
        secrets: normalize_list(&policy.secrets, "secrets", SECRET_PERMISSIONS)?,
    })
}

fn normalize_list(given: &[String], collection: &'static str, known: &[&'static str]) -> Result<Vec<String>> {
    let mut granted: Vec<&'static str> = Vec::new();
    for name in given {
        let lower = name.trim().to_ascii_lowercase();
        if lower == "all" {
            granted.extend_from_slice(known);
            continue;
        }
        match known.iter().find(|k| **k == lower) {
            Some(k) => granted.push(k),
            None => {
                return Err(Error::UnknownPermission {
                    collection,
                    name: name.chars().take(64).collect(),
                });
            }
        }
    }
    // Keep Key Vault's order, each name once.
    Ok(known
        .iter()
        .filter(|k| granted.contains(k))
        .map(|k| (*k).to_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_all_and_duplicates_and_refuses_unknown_names() {
        let id = Uuid::new_v4();
        let policy = normalize(AccessPolicy {
            object_id: id,
            certificates: vec!["List".into(), "GET".into(), "get".into()],
            secrets: vec!["all".into()],
        })
        .unwrap();
        assert_eq!(policy.certificates, ["get", "list"]);
        assert_eq!(policy.secrets, SECRET_PERMISSIONS);
        let err = normalize(AccessPolicy {
            object_id: id,
            certificates: vec!["get".into(), "fly".into()],
            secrets: vec![],
        })
        .unwrap_err();
        assert!(matches!(err, Error::UnknownPermission { name, .. } if name == "fly"));
    }
}
