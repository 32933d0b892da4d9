//! Directory roles: what makes a user of the tenant an administrator. Three of Entra's built-in
//! roles, known by their role template ids: Global Administrator, Application Administrator and
//! the read-only Global Reader. A user's roles are stored with the user; an assignment (a user
//! holding a role, tenant-wide) has Entra's id, derived from the two ids, so nothing else is
//! stored. ID and access tokens of a user with roles carry them in `wids`, as Entra's do.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_store::User;
use uuid::{Uuid, uuid};

use crate::authority::Authority;
use crate::error::{DirectoryRoleError, Error, Result};

/// The scope of every assignment: the whole tenant (Graph's `directoryScopeId`).
pub const TENANT_SCOPE: &str = "/";

/// A directory role a user can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirectoryRole {
    /// Global Administrator: everything.
    GlobalAdministrator,
    /// Application Administrator: app registrations, their credentials and consent.
    ApplicationAdministrator,
    /// Global Reader: sees what a Global Administrator sees, changes nothing.
    GlobalReader,
}

impl DirectoryRole {
    /// Every role, in the order they are listed.
    pub const ALL: [Self; 3] = [
        Self::GlobalAdministrator,
        Self::ApplicationAdministrator,
        Self::GlobalReader,
    ];

    /// Entra's role template id (Graph's `roleDefinitionId`, the `wids` claim's value).
    pub const fn template_id(self) -> Uuid {
        match self {
            Self::GlobalAdministrator => uuid!("62e90394-69f5-4237-9190-012177145e10"),
            Self::ApplicationAdministrator => uuid!("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"),
            Self::GlobalReader => uuid!("f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
        }
    }

    /// The name on the command line (`global-admin`), which [`Display`](fmt::Display) prints.
    pub const fn cli_name(self) -> &'static str {
        match self {
            Self::GlobalAdministrator => "global-admin",
            Self::ApplicationAdministrator => "app-admin",
            Self::GlobalReader => "global-reader",
        }
    }

    /// Entra's display name (`Global Administrator`).
    pub const fn display_name(self) -> &'static str {
        match self {
            Self::GlobalAdministrator => "Global Administrator",
            Self::ApplicationAdministrator => "Application Administrator",
            Self::GlobalReader => "Global Reader",
        }
    }

    /// Whether the role only reads: a holder sees the directory but changes nothing.
    pub const fn is_read_only(self) -> bool {
        matches!(self, Self::GlobalReader)
    }

    /// The role with this template id.
    pub fn from_template_id(id: Uuid) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.template_id() == id)
    }
}

impl fmt::Display for DirectoryRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

impl FromStr for DirectoryRole {
    type Err = DirectoryRoleError;

    /// A role by its command-line name or Entra's display name (any case), or its template id.
    fn from_str(s: &str) -> Result<Self, DirectoryRoleError> {
        let name = s.trim();
        let found = match Uuid::parse_str(name) {
            Ok(id) => Self::from_template_id(id),
            Err(_) => Self::ALL
                .into_iter()
                .find(|r| r.cli_name().eq_ignore_ascii_case(name) || r.display_name().eq_ignore_ascii_case(name)),
        };
        found.ok_or_else(|| DirectoryRoleError::Unknown(name.chars().take(64).collect()))
    }
}

/// The roles a user holds, in [`DirectoryRole::ALL`]'s order; stored ids of roles this version
/// does not know are left out.
pub fn roles_of(user: &User) -> Vec<DirectoryRole> {
    let mut roles: Vec<DirectoryRole> = user
        .directory_roles
        .iter()
        .filter_map(|id| DirectoryRole::from_template_id(*id))
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// A user holding a directory role for the whole tenant (Graph's `unifiedRoleAssignment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleAssignment {
    /// The user's object id (Graph's `principalId`).
    pub principal_id: Uuid,
    /// The role.
    pub role: DirectoryRole,
}

impl RoleAssignment {
    /// Entra's id of the assignment: the base64url of the role's template id and the user's id
    /// (each in GUID byte order), then `-1`.
    pub fn id(&self) -> String {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&self.role.template_id().to_bytes_le());
        bytes[16..].copy_from_slice(&self.principal_id.to_bytes_le());
        format!("{}-1", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The assignment an id names, if it is one of ours.
    pub fn parse_id(id: &str) -> Option<Self> {
        let encoded = id.strip_suffix("-1")?;
        if encoded.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        let role: [u8; 16] = bytes.get(..16)?.try_into().ok()?;
        let principal: [u8; 16] = bytes.get(16..)?.try_into().ok()?;
        Some(Self {
            role: DirectoryRole::from_template_id(Uuid::from_bytes_le(role))?,
            principal_id: Uuid::from_bytes_le(principal),
        })
    }
}

/// The assignments of a user, one per role.
fn assignments_of(user: &User) -> impl Iterator<Item = RoleAssignment> + '_ {
    roles_of(user).into_iter().map(|role| RoleAssignment {
        principal_id: user.id,
        role,
    })
}

impl Authority {
    /// Gives a user a role. Refused, with nothing changed, if the user is unknown or holds it.
    pub async fn assign_directory_role(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        role: DirectoryRole,
    ) -> Result<RoleAssignment> {
        let mut user = self.user(tenant_id, user_id).await?;
        if roles_of(&user).contains(&role) {
            return Err(DirectoryRoleError::AlreadyAssigned {
                user: user.email,
                role: role.display_name(),
            }
            .into());
        }
        user.directory_roles.push(role.template_id());
        user.version += 1;
        self.store.update_user(&user).await?;
        tracing::info!(user = %user_id, role = %role, "directory role assigned");
        Ok(RoleAssignment {
            principal_id: user_id,
            role,
        })
    }

    /// Takes a role from a user. Refused, with nothing changed, if the user does not hold it.
    pub async fn remove_directory_role(&self, tenant_id: Uuid, user_id: Uuid, role: DirectoryRole) -> Result<()> {
        let mut user = self.user(tenant_id, user_id).await?;
        let assignment = RoleAssignment {
            principal_id: user_id,
            role,
        };
        if !roles_of(&user).contains(&role) {
            return Err(Error::DirectoryRoleAssignmentNotFound(assignment.id()));
        }
        user.directory_roles.retain(|id| *id != role.template_id());
        user.version += 1;
        self.store.update_user(&user).await?;
        tracing::info!(user = %user_id, role = %role, "directory role removed");
        Ok(())
    }

    /// Every assignment of the tenant, by user email then role.
    /// Reads the users that hold a role only: a tenant of a million customers has a few.
    pub async fn directory_role_assignments(&self, tenant_id: Uuid) -> Result<Vec<RoleAssignment>> {
        let users = self.users_with_directory_roles(tenant_id).await?;
        Ok(users.iter().flat_map(assignments_of).collect())
    }

    /// The assignments of one user.
    pub async fn directory_roles_of(&self, tenant_id: Uuid, user_id: Uuid) -> Result<Vec<RoleAssignment>> {
        let user = self.user(tenant_id, user_id).await?;
        Ok(assignments_of(&user).collect())
    }

    /// An assignment by its id.
    pub async fn directory_role_assignment(&self, tenant_id: Uuid, id: &str) -> Result<RoleAssignment> {
        let not_found = || Error::DirectoryRoleAssignmentNotFound(id.chars().take(64).collect());
        let assignment = RoleAssignment::parse_id(id).ok_or_else(not_found)?;
        match self.user(tenant_id, assignment.principal_id).await {
            Ok(user) if roles_of(&user).contains(&assignment.role) => Ok(assignment),
            Ok(_) | Err(Error::UserNotFound(_)) => Err(not_found()),
            Err(e) => Err(e),
        }
    }

    /// Deletes an assignment by its id.
    pub async fn delete_directory_role_assignment(&self, tenant_id: Uuid, id: &str) -> Result<RoleAssignment> {
        let assignment = self.directory_role_assignment(tenant_id, id).await?;
        self.remove_directory_role(tenant_id, assignment.principal_id, assignment.role)
            .await?;
        Ok(assignment)
    }
}

#[cfg(test)]
mod tests;
