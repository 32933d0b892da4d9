//! Users and grants.

/// The columns of a grant besides its kind and id, as [`crate::rows::GrantRow`] reads them.
macro_rules! grant_columns {
    () => {
        "tenant_id, family, user_id, document, created, expires"
    };
}

/// Adds a user: id, tenant, lowercase email, version, document.
pub(crate) const INSERT_USER: &str =
    "INSERT INTO users (id, tenant_id, email_lower, version, document) VALUES ($1, $2, $3, $4, $5)";

/// Replaces a user of a version: lowercase email, new version, document, id, tenant, previous
/// version.
pub(crate) const UPDATE_USER: &str = "UPDATE users SET email_lower = $1, version = $2, document = $3 \
     WHERE id = $4 AND tenant_id = $5 AND version = $6";

/// A user's document: tenant, id.
pub(crate) const USER: &str = "SELECT document FROM users WHERE tenant_id = $1 AND id = $2";

/// A user's document: tenant, lowercase email.
pub(crate) const USER_BY_EMAIL: &str = "SELECT document FROM users WHERE tenant_id = $1 AND email_lower = $2";

/// The documents of a tenant's users: tenant.
pub(crate) const USERS: &str = "SELECT document FROM users WHERE tenant_id = $1 ORDER BY email_lower, id";

/// The users that hold a user's id or its email in its tenant, as
/// [`crate::rows::UserHolderRow`]s: id, tenant, lowercase email.
pub(crate) const USER_HOLDERS: &str =
    "SELECT id, email_lower FROM users WHERE id = $1 OR (tenant_id = $2 AND email_lower = $3)";

/// Adds a grant, neither redeemed nor revoked: kind, id, tenant, family, user, document,
/// created, expires.
pub(crate) const INSERT_GRANT: &str = "INSERT INTO grants \
     (kind, id, tenant_id, family, user_id, document, created, expires, redeemed, revoked) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, false)";

/// Redeems a grant that is neither redeemed, revoked nor expired, in one statement (of two
/// redemptions, the second finds it redeemed), and reads it: kind, id, now.
pub(crate) const REDEEM_GRANT: &str = concat!(
    "UPDATE grants SET redeemed = true \
     WHERE kind = $1 AND id = $2 AND NOT redeemed AND NOT revoked AND expires > $3 RETURNING ",
    grant_columns!()
);

/// A grant redeemed before and not revoked, expired or not: kind, id.
pub(crate) const REDEEMED_GRANT: &str = concat!(
    "SELECT ",
    grant_columns!(),
    " FROM grants WHERE kind = $1 AND id = $2 AND redeemed AND NOT revoked"
);

/// A grant that is neither redeemed, revoked nor expired: kind, id, now.
pub(crate) const LIVE_GRANT: &str = concat!(
    "SELECT ",
    grant_columns!(),
    " FROM grants WHERE kind = $1 AND id = $2 AND NOT redeemed AND NOT revoked AND expires > $3"
);

/// Revokes a family's grants and reads whether each was redeemed: family.
pub(crate) const REVOKE_FAMILY: &str =
    "UPDATE grants SET revoked = true WHERE family = $1 AND NOT revoked RETURNING redeemed";

/// Revokes a user's grants and reads whether each was redeemed: tenant, user.
pub(crate) const REVOKE_USER_GRANTS: &str =
    "UPDATE grants SET revoked = true WHERE tenant_id = $1 AND user_id = $2 AND NOT revoked RETURNING redeemed";

/// Deletes the grants that expired before a time: the time.
pub(crate) const DELETE_EXPIRED_GRANTS: &str = "DELETE FROM grants WHERE expires < $1";
