//! The rows of customer sign-in: users, and the grants handed out to them (authorization codes,
//! refresh tokens, sign-in sessions). A grant is found by the hash of the handle its holder
//! presents, never by the handle itself.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A customer account of a tenant.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The object id: the `oid` and `sub` of the user's tokens.
    pub id: Uuid,
    /// The tenant it belongs to.
    pub tenant_id: Uuid,
    /// The sign-in name, lowercase; unique within the tenant.
    pub email: String,
    /// Graph `displayName`: any text the user chose (escape it when rendering).
    pub display_name: String,
    /// The password hash, an argon2id PHC string.
    pub password_hash: String,
    /// Graph `accountEnabled`: a disabled user cannot sign in or refresh tokens.
    pub enabled: bool,
    /// Whether the person who made the account proved the email is theirs (a one-time code
    /// sent to it), or an administrator said so: the ID token's `email_verified`. Accounts
    /// stored before it existed read as `false`.
    #[serde(default)]
    pub email_verified: bool,
    /// The directory roles it holds (Global Administrator, ...), by Entra's role template id,
    /// each once. The store keeps them as given; the authority says what they mean. Accounts
    /// stored before it existed hold none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directory_roles: Vec<Uuid>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Bumped by every update; an update naming an older version is refused.
    pub version: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("enabled", &self.enabled)
            .field("directory_roles", &self.directory_roles)
            .finish()
    }
}

/// Where a page of users ends: the sort key of its last user (the email as users are ordered
/// by, then the id), from which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCursor {
    /// The email in the form the users are sorted and found by.
    pub email_key: String,
    /// The user's id, which orders users of one email key (there is at most one per tenant).
    pub id: Uuid,
}

impl UserCursor {
    /// The cursor just past `user`.
    pub fn after(user: &User) -> Self {
        Self {
            email_key: crate::columns::email_key(&user.email),
            id: user.id,
        }
    }
}

/// What a grant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    /// An authorization code: redeemed once.
    AuthorizationCode,
    /// A refresh token: redeemed once, for a new one of the same family.
    RefreshToken,
    /// A sign-in (SSO) session behind a cookie: "consumed" when the user signs out.
    Session,
    /// An administrator's session in the admin center: "consumed" at sign-out.
    AdminSession,
    /// A device code of the device authorization grant (RFC 8628): redeemed once, when its
    /// client polls after the user approved.
    DeviceCode,
    /// The user code that stands for a device code on the verification page: "consumed" when
    /// the user approves or denies.
    UserCode,
    /// The user's answer to a device code (approved or denied), under the device code's id:
    /// inserted once, so that of two answers only the first counts.
    DeviceApproval,
    /// A proof of possession an application sent to roll its own keys (Graph's `addKey`,
    /// `removeKey`), under the hash of its `jti` or signature: inserted once, so that a replayed
    /// proof is refused. Its user is the application's object id (no user is involved).
    KeyProof,
}

impl GrantKind {
    /// The name used in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::Session => "session",
            Self::AdminSession => "admin_session",
            Self::DeviceCode => "device_code",
            Self::UserCode => "user_code",
            Self::DeviceApproval => "device_approval",
            Self::KeyProof => "key_proof",
        }
    }
}

/// A code, refresh token or session.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    /// What it is.
    pub kind: GrantKind,
    /// The hash of the handle its holder presents (hex SHA-256); unique per kind.
    pub id: String,
    /// The tenant it was issued in.
    pub tenant_id: Uuid,
    /// The family: a code and the refresh tokens that descend from it share one, so that a
    /// replay can revoke them all.
    pub family: Uuid,
    /// The user it was issued to.
    pub user_id: Uuid,
    /// What the issuer needs to honour it (client, redirect URI, PKCE challenge, scopes, nonce).
    pub document: serde_json::Value,
    /// When it was issued. The store keeps the instant, not the offset: it reads back in UTC.
    pub created: OffsetDateTime,
    /// When it stops being usable (read back in UTC, as `created`).
    pub expires: OffsetDateTime,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("kind", &self.kind)
            .field("family", &self.family)
            .field("user_id", &self.user_id)
            .finish()
    }
}

/// What became of a grant presented for redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// It was live and is now used up: honour it.
    Redeemed(Grant),
    /// It had been redeemed before: a replay. Its family should be revoked.
    Replayed(Grant),
    /// Unknown, expired or revoked.
    Unusable,
    /// Issued to another client than the one named: left unredeemed, and not a replay, so
    /// that one client cannot use up or revoke what was issued to another.
    OtherClient,
}

/// How many of the grants just revoked (given whether each was redeemed) were live.
pub(crate) fn live(redeemed: &[bool]) -> u64 {
    redeemed.iter().filter(|&&redeemed| !redeemed).count() as u64
}
