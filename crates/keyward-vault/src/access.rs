//! Who may do what: Key Vault's permission names, access policies per principal, deny by
//! default, and the [`Access`] every vault operation checks before it looks anything up.
//! An administrator of the vault's tenant (the admin center) acts outside the access policies,
//! with the [`Administration`] their directory role gives.

use keyward_store::{AccessPolicy, Collection, Vault};
use uuid::Uuid;

use crate::Caller;
use crate::error::{Error, Result};

/// A caller's standing in one vault: what every certificate and secret operation takes, and
/// checks against the vault's access policies before it reads anything.
#[derive(Debug, Clone)]
pub struct Access {
    vault: Vault,
    who: Who,
}

/// Who acts through an [`Access`].
#[derive(Debug, Clone, Copy)]
enum Who {
    /// A principal with a vault token, under the vault's access policies.
    Principal(Caller),
    /// An administrator of the vault's tenant, under their role.
    Administrator(Administration),
}

/// What an administrator of a vault's tenant may do in it, whatever its access policies say:
/// how the admin center acts. Built only by [`crate::Vaults::administer`], which checks the
/// tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Administration {
    /// Everything (a Global or Application Administrator).
    Manage,
    /// Lists and metadata only (a Global Reader): certificates' public parts, their policies,
    /// the names and attributes of secrets and of deleted objects; never a secret's value, so
    /// never a private key.
    Read,
}

impl Administration {
    /// Whether this standing allows `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use CertificatePermission as C;
        match self {
            Self::Manage => true,
            Self::Read => matches!(
                permission,
                Permission::Certificates(C::Get | C::List | C::GetIssuers | C::ListIssuers)
                    | Permission::Secrets(SecretPermission::List)
            ),
        }
    }
}

impl Access {
    /// `caller` acting on `vault`, under its access policies.
    pub fn new(vault: Vault, caller: Caller) -> Self {
        Self {
            vault,
            who: Who::Principal(caller),
        }
    }

    /// An administrator of the vault's tenant acting on `vault` (the caller checked the tenant).
    pub(crate) fn administrator(vault: Vault, administration: Administration) -> Self {
        Self {
            vault,
            who: Who::Administrator(administration),
        }
    }

    /// The vault.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The caller, when a principal with a vault token acts (not an administrator).
    pub fn caller(&self) -> Option<&Caller> {
        match &self.who {
            Who::Principal(caller) => Some(caller),
            Who::Administrator(_) => None,
        }
    }

    /// The administrator's standing, when an administrator acts.
    pub fn administration(&self) -> Option<Administration> {
        match self.who {
            Who::Principal(_) => None,
            Who::Administrator(administration) => Some(administration),
        }
    }

    /// [`Error::Forbidden`] unless the caller holds `permission` in this vault.
    pub fn require(&self, permission: impl Into<Permission>) -> Result<()> {
        let permission = permission.into();
        let (allowed, principal, app_id) = match &self.who {
            Who::Principal(caller) => {
                let app_id = caller.app_id.map(|a| a.to_string());
                (
                    allows(&self.vault, caller.object_id, permission),
                    format!(
                        "appid={};oid={}",
                        app_id.as_deref().unwrap_or_default(),
                        caller.object_id
                    ),
                    app_id,
                )
            }
            Who::Administrator(administration) => (
                administration.allows(permission),
                format!("administrator ({administration:?})"),
                None,
            ),
        };
        if allowed {
            return Ok(());
        }
        Err(Error::Forbidden {
            principal,
            permission,
            vault: self.vault.name.clone(),
            app_id,
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

    fn vault(policies: Vec<AccessPolicy>) -> Vault {
        Vault {
            id: Uuid::new_v4(),
            tenant_id: Uuid::new_v4(),
            name: "default".into(),
            access_policies: policies,
            created: time::OffsetDateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    #[test]
    fn an_administrator_acts_outside_the_policies_and_a_reader_never_reads_values() {
        let manage = Access::administrator(vault(Vec::new()), Administration::Manage);
        for p in CertificatePermission::ALL {
            manage.require(*p).unwrap();
        }
        for p in SecretPermission::ALL {
            manage.require(*p).unwrap();
        }
        assert!(manage.caller().is_none());
        assert_eq!(manage.administration(), Some(Administration::Manage));

        let read = Access::administrator(vault(Vec::new()), Administration::Read);
        read.require(CertificatePermission::Get).unwrap();
        read.require(CertificatePermission::List).unwrap();
        read.require(SecretPermission::List).unwrap();
        for refused in [
            Permission::Secrets(SecretPermission::Get),
            Permission::Secrets(SecretPermission::Set),
            Permission::Secrets(SecretPermission::Backup),
            Permission::Certificates(CertificatePermission::Create),
            Permission::Certificates(CertificatePermission::Backup),
            Permission::Certificates(CertificatePermission::Purge),
        ] {
            let err = read.require(refused).unwrap_err();
            assert!(matches!(err, Error::Forbidden { permission, .. } if permission == refused));
        }

        // A principal still needs a policy.
        let caller = Caller {
            object_id: Uuid::new_v4(),
            app_id: None,
        };
        let principal = Access::new(vault(Vec::new()), caller);
        assert!(principal.require(SecretPermission::List).is_err());
        assert_eq!(principal.caller(), Some(&caller));
        assert!(principal.administration().is_none());
    }
}
