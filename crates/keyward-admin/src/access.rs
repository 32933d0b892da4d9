//! Who may do what: the [`Admin`] extractor (a signed-in user of the tenant holding a directory
//! role, looked up afresh on every request) and the [`Permission`] each action needs.
//!
//! | role | reads | apps, credentials, consent, vault | users, roles, signing keys |
//! |---|---|---|---|
//! | Global Administrator | yes | yes | yes |
//! | Application Administrator | yes | yes | no |
//! | Global Reader | yes | no | no |

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use keyward_authority::{DirectoryRole, TenantEntry};
use keyward_store::{GrantKind, User};

use crate::AdminCenter;
use crate::error::AdminError;
use crate::security::Nonce;
use crate::session::SessionCookie;

/// What an action changes, and so which roles may do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// App registrations, their credentials, roles and consent; the vault.
    ManageApplications,
    /// Users, their passwords and roles; the tenant's signing keys.
    ManageDirectory,
}

impl Permission {
    /// Whether `role` allows it.
    pub fn allowed_for(self, role: DirectoryRole) -> bool {
        match self {
            Self::ManageApplications => matches!(
                role,
                DirectoryRole::GlobalAdministrator | DirectoryRole::ApplicationAdministrator
            ),
            Self::ManageDirectory => role == DirectoryRole::GlobalAdministrator,
        }
    }

    /// The least role that allows it, for the refusal's text.
    pub fn least_role(self) -> DirectoryRole {
        match self {
            Self::ManageApplications => DirectoryRole::ApplicationAdministrator,
            Self::ManageDirectory => DirectoryRole::GlobalAdministrator,
        }
    }
}

/// A signed-in administrator: the session is live, the user exists, is enabled and holds a
/// directory role now (a role removed during a session takes effect on the next request).
pub struct Admin {
    /// The user.
    pub user: User,
    /// Their most powerful role.
    pub role: DirectoryRole,
    /// Their tenant: the one the admin center shows.
    pub tenant: Arc<TenantEntry>,
    /// The nonce of this response's Content Security Policy.
    pub nonce: Nonce,
    session: SessionCookie,
    csrf: String,
}

impl Admin {
    /// Refuses unless the administrator's role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AdminError> {
        if permission.allowed_for(self.role) {
            Ok(())
        } else {
            Err(AdminError::Forbidden {
                role: self.role,
                needed: permission.least_role(),
            })
        }
    }

    /// Whether the role allows `permission` (pages hide what it does not).
    pub fn may(&self, permission: Permission) -> bool {
        permission.allowed_for(self.role)
    }

    /// The session's CSRF token, for the page's forms.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The id the session's row is stored under.
    pub fn session_id(&self) -> String {
        self.session.id()
    }

    /// The tenant's id.
    pub fn tenant_id(&self) -> uuid::Uuid {
        self.tenant.tenant.id
    }
}

impl FromRequestParts<Arc<AdminCenter>> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, center: &Arc<AdminCenter>) -> Result<Self, AdminError> {
        let return_to = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .filter(|_| parts.method == axum::http::Method::GET);
        let sign_in = || AdminError::SignInRequired {
            return_to: return_to.clone(),
        };
        let nonce = parts.extensions.get::<Nonce>().cloned().unwrap_or_default();
        let session = parts.extensions.get::<SessionCookie>().cloned().ok_or_else(sign_in)?;
        let now = center.now();
        let grant = center
            .store
            .live_grant(GrantKind::AdminSession, &session.id(), now)
            .await
            .map_err(AdminError::Store)?
            .ok_or_else(sign_in)?;
        let tenant = center
            .authority
            .snapshot()
            .tenant_by_id(grant.tenant_id)
            .cloned()
            .ok_or_else(sign_in)?;
        let user = center
            .store
            .user(grant.tenant_id, grant.user_id)
            .await
            .map_err(AdminError::Store)?
            .filter(|u| u.enabled)
            .ok_or_else(sign_in)?;
        let role = keyward_authority::directory_roles::roles_of(&user)
            .first()
            .copied()
            .ok_or_else(|| AdminError::NoRole {
                user: user.email.clone(),
            })?;
        let csrf = session.csrf_token(center);
        Ok(Self {
            user,
            role,
            tenant,
            nonce,
            session,
            csrf,
        })
    }
}
