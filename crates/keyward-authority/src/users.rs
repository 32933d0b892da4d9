//! Customer accounts of a tenant: created by sign-up or by an administrator, disabled,
//! enabled, given a new password, deleted. Disabling an account or resetting its password
//! revokes everything handed out to it (sessions, codes, refresh tokens).

use keyward_store::{User, UserCursor};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::authority::Authority;
use crate::email;
use crate::error::{AccountError, Error, Result};
use crate::password;

/// The longest email accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 256;
/// Deleted accounts keep their row (the store keeps users) under an email in this reserved
/// domain, which no one can sign up with; they are never listed or found.
const DELETED_DOMAIN: &str = "deleted.keyward.invalid";

/// What a new account starts with.
pub struct NewUser {
    /// The sign-in email.
    pub email: String,
    /// The display name; the email's local part when `None`.
    pub display_name: Option<String>,
    /// The password, checked against the policy.
    pub password: Zeroizing<String>,
    /// Whether it can sign in at once.
    pub enabled: bool,
    /// Whether the email is known to be the person's: proved by a one-time code, or vouched
    /// for by the administrator who made the account. The ID token's `email_verified`.
    pub email_verified: bool,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("enabled", &self.enabled)
            .field("email_verified", &self.email_verified)
            .finish_non_exhaustive()
    }
}

/// A change to an account; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChange {
    /// A new display name.
    pub display_name: Option<String>,
    /// A new sign-in email.
    pub email: Option<String>,
    /// Enable or disable. Disabling revokes the account's sessions and tokens.
    pub enabled: Option<bool>,
    /// A new password. Revokes the account's sessions and tokens.
    pub password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for UserChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserChange")
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("enabled", &self.enabled)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Checks and normalises a sign-in email: trimmed, lowercase, `local@domain.tld`, printable
/// ASCII only ([`email::check_characters`]: no invisible characters, no full-width or other
/// look-alike forms), no spaces or characters that need quoting.
pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim();
    if email.len() <= MAX_EMAIL_LEN * 4 {
        email::check_characters(email)?;
    }
    let email = email.to_ascii_lowercase();
    let invalid = || AccountError::InvalidEmail(shorten(&email));
    if email.is_empty() {
        return Err(AccountError::EmailRequired.into());
    }
    if email.len() > MAX_EMAIL_LEN {
        return Err(AccountError::EmailTooLong(MAX_EMAIL_LEN).into());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"@".contains(c);
    if local.is_empty()
        || local.len() > 64
        || local.chars().any(bad_char)
        || domain.chars().any(bad_char)
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || domain.ends_with(".invalid")
    {
        return Err(invalid().into());
    }
    Ok(email)
}

/// Checks a display name: trimmed, 1 to 256 characters, no control characters. Any other
/// text is allowed (it is escaped wherever it is shown).
pub fn check_display_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AccountError::DisplayNameRequired.into());
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(AccountError::DisplayNameTooLong(MAX_DISPLAY_NAME_CHARS).into());
    }
    if name.chars().any(char::is_control) {
        return Err(AccountError::DisplayNameControlCharacter.into());
    }
    Ok(name.to_owned())
}

fn shorten(s: &str) -> String {
    s.chars().take(80).collect()
}

pub(crate) fn is_deleted(user: &User) -> bool {
    user.email.ends_with(DELETED_DOMAIN)
}

impl Authority {
    /// Creates an account. The email must be free in the tenant, the password must meet the
    /// policy ([`password::check_policy`]).
    pub async fn create_user(&self, tenant_id: Uuid, new: NewUser) -> Result<User> {
        self.create_user_with_id(tenant_id, new, None).await
    }

    /// As [`create_user`](Self::create_user), with a fixed object id when `id` is given (the
    /// declarative state's `[[user]] id` or its derived one).
    pub async fn create_user_with_id(&self, tenant_id: Uuid, new: NewUser, id: Option<Uuid>) -> Result<User> {
        self.snapshot()
            .tenant_by_id(tenant_id)
            .ok_or_else(|| Error::TenantNotFound(tenant_id.to_string()))?;
        let email = normalize_email(&new.email)?;
        let display_name = match new.display_name.as_deref() {
            Some(name) => check_display_name(name)?,
            None => email.split('@').next().unwrap_or_default().to_owned(),
        };
        password::check_policy(&new.password, &email)?;
        if self.store.user_by_email(tenant_id, &email).await?.is_some() {
            return Err(Error::UserExists(email));
        }
        let password_hash = self.passwords.hash(new.password).await?;
        let user = User {
            id: id.unwrap_or_else(Uuid::new_v4),
            tenant_id,
            email: email.clone(),
            display_name,
            password_hash,
            enabled: new.enabled,
            email_verified: new.email_verified,
            directory_roles: Vec::new(),
            created: self.now(),
            version: 1,
        };
        match self.store.insert_user(&user).await {
            Ok(()) => Ok(user),
            Err(keyward_store::Error::Conflict(_)) => Err(Error::UserExists(email)),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `password` is the user's current password (an Argon2 verification: slow on
    /// purpose). What the declarative state compares before it resets a password.
    pub async fn password_matches(&self, user: &User, password: Zeroizing<String>) -> Result<bool> {
        self.passwords.verify(password, Some(user.password_hash.clone())).await
    }

    /// Every account of a tenant, by email.
    pub async fn users(&self, tenant_id: Uuid) -> Result<Vec<User>> {
        let mut users = self.store.users(tenant_id).await?;
        users.retain(|u| !is_deleted(u));
        Ok(users)
    }

    /// The accounts of a tenant that hold a directory role, by email: the few administrators of
    /// a tenant of a million customers, read without the customers.
    pub async fn users_with_directory_roles(&self, tenant_id: Uuid) -> Result<Vec<User>> {
        let mut users = self.store.users_with_directory_roles(tenant_id).await?;
        users.retain(|u| !is_deleted(u));
        Ok(users)
    }

    /// A page of a tenant's accounts, by email: at most `limit`, those after `after`, and where
    /// the next page starts when there may be one. Deleted accounts are left out after the page
    /// is read, so a page may hold fewer than `limit` and still have a next.
    pub async fn users_page(
        &self,
        tenant_id: Uuid,
        after: Option<&UserCursor>,
        limit: u32,
    ) -> Result<(Vec<User>, Option<UserCursor>)> {
        let mut users = self.store.users_page(tenant_id, after, limit.saturating_add(1)).await?;
        let next = if users.len() > limit as usize {
            users.truncate(limit as usize);
            users.last().map(UserCursor::after)
        } else {
            None
        };
        users.retain(|u| !is_deleted(u));
        Ok((users, next))
    }

    /// An account by id.
    pub async fn user(&self, tenant_id: Uuid, id: Uuid) -> Result<User> {
        self.store
            .user(tenant_id, id)
            .await?
            .filter(|u| !is_deleted(u))
            .ok_or_else(|| Error::UserNotFound(id.to_string()))
    }

    /// An account by email (any case).
    pub async fn user_by_email(&self, tenant_id: Uuid, email: &str) -> Result<User> {
        let key = email.trim().to_lowercase();
        self.store
            .user_by_email(tenant_id, &key)
            .await?
            .filter(|u| !is_deleted(u))
            .ok_or_else(|| Error::UserNotFound(shorten(email.trim())))
    }

    /// Changes an account. Disabling it or giving it a new password revokes its sessions,
    /// codes and refresh tokens, after the change is stored.
    pub async fn update_user(&self, tenant_id: Uuid, id: Uuid, change: UserChange) -> Result<User> {
        let mut user = self.user(tenant_id, id).await?;
        if let Some(name) = change.display_name.as_deref() {
            user.display_name = check_display_name(name)?;
        }
        if let Some(email) = change.email.as_deref() {
            let email = normalize_email(email)?;
            if email != user.email && self.store.user_by_email(tenant_id, &email).await?.is_some() {
                return Err(Error::UserExists(email));
            }
            user.email = email;
        }
        let mut revoke = false;
        if let Some(enabled) = change.enabled {
            revoke |= user.enabled && !enabled;
            user.enabled = enabled;
        }
        if let Some(password) = change.password {
            password::check_policy(&password, &user.email)?;
            user.password_hash = self.passwords.hash(password).await?;
            revoke = true;
        }
        user.version += 1;
        match self.store.update_user(&user).await {
            Ok(()) => {}
            Err(keyward_store::Error::Conflict(_)) => return Err(Error::UserExists(user.email)),
            Err(e) => return Err(e.into()),
        }
        if revoke {
            let revoked = self.store.revoke_user_grants(tenant_id, id).await?;
            tracing::info!(user = %id, revoked, "user's sessions and tokens revoked");
        }
        Ok(user)
    }

    /// Enables or disables an account (disabling revokes its sessions and tokens).
    pub async fn set_user_enabled(&self, tenant_id: Uuid, id: Uuid, enabled: bool) -> Result<User> {
        let change = UserChange {
            enabled: Some(enabled),
            ..UserChange::default()
        };
        self.update_user(tenant_id, id, change).await
    }

    /// Gives an account a new password (revoking its sessions and tokens).
    pub async fn reset_password(&self, tenant_id: Uuid, id: Uuid, password: Zeroizing<String>) -> Result<User> {
        let change = UserChange {
            password: Some(password),
            ..UserChange::default()
        };
        self.update_user(tenant_id, id, change).await
    }

    /// Deletes an account: it can no longer sign in or refresh tokens, its email is free
    /// again, it holds no directory role, and it is no longer listed.
    pub async fn delete_user(&self, tenant_id: Uuid, id: Uuid) -> Result<()> {
        let mut user = self.user(tenant_id, id).await?;
        user.email = format!("{}@{DELETED_DOMAIN}", user.id.simple());
        user.display_name = String::new();
        user.password_hash = String::new();
        user.directory_roles.clear();
        user.enabled = false;
        user.version += 1;
        self.store.update_user(&user).await?;
        self.store.revoke_user_grants(tenant_id, id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused_with_a_reason() {
        assert_eq!(normalize_email("  Alice@Example.COM ").unwrap(), "alice@example.com");
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@localhost",
            "a b@example.com",
            "alice@example..com",
            "alice@.example.com",
            "<a>@example.com",
            "alice@x.invalid",
            "alice@exa\u{0}mple.com",
            "ann@example.com\u{200b}",
            "\u{ff41}nn@example.com",
            "\u{430}nn@example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn display_names_keep_markup_but_not_control_characters() {
        assert_eq!(
            check_display_name(" <script>alert(1)</script> ").unwrap(),
            "<script>alert(1)</script>"
        );
        assert!(check_display_name("   ").is_err());
        assert!(check_display_name("a\nb").is_err());
        assert!(check_display_name(&"é".repeat(256)).is_ok());
        assert!(check_display_name(&"é".repeat(257)).is_err());
    }
}
