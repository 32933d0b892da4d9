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
    pub fn require(&self, permission: impl Into<Permission>) -> Result<()> {
        let permission = permission.into();
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

/// Declares one of Key Vault's permission families: the enum, its wire names in Key Vault's
/// order, and the list of every name (what `all` grants).
macro_rules! permissions {
    ($(#[$doc:meta])* $name:ident, $wrapper:ident, $names:ident { $($variant:ident => $wire:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = concat!("`", $wire, "`")] $variant,)+
        }

        impl $name {
            /// Every permission of the family, in Key Vault's order.
            pub const ALL: &[$name] = &[$($name::$variant,)+];

            /// Key Vault's name for the permission, as stored in access policies.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// The permission with this name, compared in lowercase.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|p| p.as_str().eq_ignore_ascii_case(name))
            }
        }

        impl From<$name> for Permission {
            fn from(permission: $name) -> Self {
                Permission::$wrapper(permission)
            }
        }

        #[doc = concat!("The names of every [`", stringify!($name), "`], in Key Vault's order (`all` grants every one).")]
        pub const $names: &[&str] = &[$($wire,)+];
    };
}

permissions! {
    /// A permission on a vault's certificates.
    CertificatePermission, Certificates, CERTIFICATE_PERMISSIONS {
        Get => "get",
        List => "list",
        Update => "update",
        Create => "create",
        Import => "import",
        Delete => "delete",
        Recover => "recover",
        Purge => "purge",
        Backup => "backup",
        Restore => "restore",
        ManageContacts => "managecontacts",
        ManageIssuers => "manageissuers",
        GetIssuers => "getissuers",
        ListIssuers => "listissuers",
        SetIssuers => "setissuers",
        DeleteIssuers => "deleteissuers",
    }
}

permissions! {
    /// A permission on a vault's secrets.
    SecretPermission, Secrets, SECRET_PERMISSIONS {
        Get => "get",
        List => "list",
        Set => "set",
        Delete => "delete",
        Recover => "recover",
        Purge => "purge",
        Backup => "backup",
        Restore => "restore",
    }
}

/// What an operation needs: a permission on one collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// A permission on certificates.
    Certificates(CertificatePermission),
    /// A permission on secrets.
    Secrets(SecretPermission),
}

impl Permission {
    /// The collection the permission is on.
    pub fn collection(self) -> Collection {
        match self {
            Permission::Certificates(_) => Collection::Certificates,
            Permission::Secrets(_) => Collection::Secrets,
        }
    }

    /// Key Vault's name for the permission (`get`, `list`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Permission::Certificates(p) => p.as_str(),
            Permission::Secrets(p) => p.as_str(),
        }
    }

    /// Key Vault's word for the collection in messages (`certificates`, `secrets`).
    pub fn noun(self) -> &'static str {
        self.collection().as_str()
    }
}

/// Whether the principal `object_id` holds `permission` in `vault`.
pub fn allows(vault: &Vault, object_id: Uuid, permission: Permission) -> bool {
    let name = permission.name();
    vault
        .access_policies
        .iter()
        .filter(|p| p.object_id == object_id)
        .any(|p| {
            let granted = match permission.collection() {
                Collection::Certificates => &p.certificates,
                Collection::Secrets => &p.secrets,
            };
            granted.iter().any(|g| g == name)
        })
}

/// Checks and normalises a policy given by an administrator: lowercase names, `all` expanded,
/// duplicates removed, unknown names refused with [`Error::UnknownPermission`].
pub fn normalize(policy: AccessPolicy) -> Result<AccessPolicy> {
    Ok(AccessPolicy {
        object_id: policy.object_id,
        certificates: normalize_list(&policy.certificates, Collection::Certificates, CERTIFICATE_PERMISSIONS)?,
        secrets: normalize_list(&policy.secrets, Collection::Secrets, SECRET_PERMISSIONS)?,
    })
}

fn normalize_list(given: &[String], collection: Collection, known: &[&'static str]) -> Result<Vec<String>> {
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
                    collection: collection.as_str(),
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
