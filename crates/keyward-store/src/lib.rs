//! Persistence for Keyward: a storage trait per family of rows ([`DirectoryStore`] for the
//! authority's directory, [`SignInStore`] for customer sign-in, [`VaultStore`] for the vault,
//! [`AuditStore`] for the audit log), implemented for SQLite (the embedded default, WAL mode) and
//! PostgreSQL (several servers sharing one database), chosen once at start-up from the database
//! URL by [`open`], which returns a [`Store`]: all five families in one.
//!
//! Inside, the families are written once, in SQL both databases run: `sql.rs` and a file per
//! family (`sql/directory.rs`, `sql/sign_in.rs`, `sql/vault.rs`, `sql/audit.rs`,
//! `sql/usage.rs`), generic over
//! the backend.
//! `sqlite.rs` and `postgres.rs` hold what sets each apart: how it connects, its migrations and
//! how it stores ids (text on SQLite, `uuid` on PostgreSQL). Around them: how a value becomes a
//! column and comes back (`columns.rs`), how a row becomes a model (`rows.rs`) and what a refused
//! write means (`conflict.rs`). [`open`] picks the backend; no method asks which one it runs on.
//! What servers sharing a PostgreSQL database coordinate through it (notifications, shared
//! sign-in failure counts, leases) is [`Cluster`] (`cluster.rs`), which only that backend has.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit_model;
mod cluster;
mod columns;
mod conflict;
mod model;
mod policy_model;
mod postgres;
mod rows;
mod sql;
mod sqlite;
mod usage_model;
mod user_model;
mod vault_model;

pub use audit_model::AuditEvent;
pub use cluster::{AttemptBucket, AttemptLimits, Cluster, DirectoryChange, DirectoryChanges, Lease};
pub use model::{
    AppRole, AppRoleAssignment, Application, ApplicationChanges, KeyCredential, PasswordCredential, SigningKey, Tenant,
};
pub use policy_model::{AppManagementPolicy, AppliedState, CredentialRestriction};
pub use usage_model::{CredentialUse, ServicePrincipalSignIn, SignInQuery};
pub use user_model::{Grant, GrantKind, Redemption, User, UserCursor};
pub use vault_model::{AccessPolicy, Collection, ItemKey, ItemWrite, Vault, VaultItem, VaultVersion, VaultWrite};

use std::sync::Arc;

use time::OffsetDateTime;
use uuid::Uuid;

/// Opens the database a URL names, creating and migrating its schema as needed, and returns the
/// store for it. This is the one place where the backend is chosen.
///
/// - `sqlite://PATH` (or `sqlite:PATH`): a file, created if missing (its directory must exist),
///   in WAL mode with `synchronous = FULL`, foreign keys on and a 5 s busy timeout.
///   `sqlite::memory:` is a private in-memory database, for tests.
/// - `postgres://...` or `postgresql://...`: a PostgreSQL connection URL (user, password,
///   host, port, database, `sslmode`, `options`), e.g.
///   `postgres://keyward@db.internal/keyward?sslmode=require`. TLS uses rustls. At start it
///   waits up to 30 s for the server to accept connections; afterwards a statement that gets no
///   connection within [`ACQUIRE_TIMEOUT`] fails with [`Error::Unavailable`], and the pool
///   reconnects by itself once the server is back.
///
/// Anything else is [`Error::UnsupportedUrl`].
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") => Ok(Arc::new(sqlite::open(url).await?)),
        Some("postgres" | "postgresql") => Ok(Arc::new(postgres::open(url).await?)),
        _ => Err(Error::UnsupportedUrl(without_password(url))),
    }
}

/// The URL with the password of its user info, if any, replaced by `***`, fit for a message.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
            let hidden = if user.len() == user_info.len() { "" } else { ":***" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// What can go wrong in storage.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database URL names no backend we support.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// A unique value (tenant name, appId, identifier URI) is taken, or a row already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// An update named a version that is no longer current: someone else wrote first.
    #[error("the {what} was changed by someone else; read it again and retry")]
    VersionMismatch {
        /// What was being updated.
        what: &'static str,
    },
    /// The row to update does not exist, or the tenant a new row names does not.
    #[error("{0} not found")]
    NotFound(String),
    /// The request contradicts itself or cannot be written as given: a rotation whose new key is
    /// not active, an identifier URI listed twice, a date outside the years 0 to 9999.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A stored document cannot be read back.
    #[error("stored {what} is unreadable: {detail}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(String),
    /// The database cannot be reached or cannot take writes for now: it is down or restarting,
    /// no connection came free within the acquire timeout, or its disk is full. Nothing was
    /// written; the same request may succeed once the database is back (the pool reconnects by
    /// itself). Servers answer it with 503 and `Retry-After`.
    #[error("the database is unavailable ({0}); retry in a few seconds")]
    Unavailable(String),
}

impl Error {
    /// Whether this is [`Error::Unavailable`]: an outage, worth retrying later, not a refusal.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// How long a connection may take to come free (or be made) before a statement fails with
/// [`Error::Unavailable`]: short, so that a database outage answers requests with an error at
/// once instead of holding them.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The `Retry-After` (seconds) servers send with their answer to [`Error::Unavailable`].
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything Keyward persists, the five families in one: what [`open`] returns and what the
/// authority takes. Every type that implements the five families is a `Store`; an
/// `Arc<dyn Store>` becomes the `Arc<dyn VaultStore>` (say) of a service that needs only one of
/// them by coercion.
pub trait Store: DirectoryStore + SignInStore + VaultStore + AuditStore + UsageStore + ClusterStore {}

impl<T: DirectoryStore + SignInStore + VaultStore + AuditStore + UsageStore + ClusterStore + ?Sized> Store for T {}

/// Whether other servers may share the database, and how they coordinate if so.
pub trait ClusterStore: Send + Sync + 'static {
    /// The coordination of the servers sharing this database (PostgreSQL), or `None` when one
    /// server owns it (SQLite): then directory changes, sign-in failures and one-at-a-time work
    /// stay in that server's memory.
    fn cluster(&self) -> Option<Cluster>;
}

/// The authority's directory: tenants, applications, role assignments and signing keys. Every
/// write is durable when it returns (an acknowledged write survives `kill -9`).
#[async_trait::async_trait]
pub trait DirectoryStore: Send + Sync + 'static {
    /// Adds a tenant. [`Error::Conflict`] if its id, name or domain is taken.
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()>;
    /// Every tenant.
    async fn tenants(&self) -> Result<Vec<Tenant>>;

    /// Adds an application. [`Error::Conflict`] if its id, or its appId, service principal id or
    /// one of its identifier URIs within its tenant, is taken. (An appId is unique per tenant, not
    /// globally: Microsoft Graph has the same appId in every tenant.) [`Error::NotFound`] if its
    /// tenant does not exist, [`Error::Invalid`] if it lists an identifier URI twice.
    async fn insert_application(&self, app: &Application) -> Result<()>;
    /// Replaces an application whose stored version is `app.version - 1`; the stored version
    /// becomes `app.version`. [`Error::VersionMismatch`] otherwise, [`Error::NotFound`] if gone
    /// (or in another tenant), [`Error::Conflict`] as for an insert; a refused update changes
    /// nothing.
    async fn update_application(&self, app: &Application) -> Result<()>;
    /// Deletes an application and the role assignments that name its service principal.
    /// Returns whether it existed.
    async fn delete_application(&self, tenant_id: Uuid, id: Uuid) -> Result<bool>;
    /// Every application of every tenant.
    async fn applications(&self) -> Result<Vec<Application>>;
    /// Up to `limit` applications of every tenant, in object id order, after the one with
    /// object id `after` (from the first when `None`): how a server reads a directory of
    /// 100,000 applications, about a gigabyte of documents, without holding it all at once.
    async fn applications_after(&self, after: Option<Uuid>, limit: u32) -> Result<Vec<Application>>;
    /// The applications written and removed after directory revision `since` (a value
    /// [`DirectoryStore::directory_revision`] returned): reading only these keeps a reload
    /// proportional to what changed.
    async fn applications_changed_since(&self, since: i64) -> Result<ApplicationChanges>;
    /// One application of a tenant, by object id, as stored (certificates included).
    async fn application(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<Application>>;

    /// Adds a role assignment. [`Error::Conflict`] if its id is taken or the same principal
    /// already has that role on that resource; [`Error::NotFound`] if its tenant does not exist.
    async fn insert_role_assignment(&self, assignment: &AppRoleAssignment) -> Result<()>;
    /// Deletes a role assignment; returns whether it existed.
    async fn delete_role_assignment(&self, tenant_id: Uuid, id: Uuid) -> Result<bool>;
    /// Every role assignment of every tenant.
    async fn role_assignments(&self) -> Result<Vec<AppRoleAssignment>>;

    /// Adds a signing key. [`Error::Conflict`] if its kid is taken in its tenant, or if it is
    /// active and the tenant already has an active key; [`Error::NotFound`] if its tenant does
    /// not exist.
    async fn insert_signing_key(&self, key: &SigningKey) -> Result<()>;
    /// Rotation, in one transaction: stores `retired` (the old key, now inactive with a
    /// `publish_until`) over its previous row and inserts `new` (active), so that a tenant never
    /// has two active keys or none. [`Error::Invalid`] unless both keys belong to one tenant,
    /// `retired` is inactive and `new` active; [`Error::NotFound`] if `retired` is not stored;
    /// [`Error::Conflict`] if `new`'s kid is taken or another key of the tenant is still active.
    /// A refused rotation changes nothing.
    async fn rotate_signing_key(&self, retired: &SigningKey, new: &SigningKey) -> Result<()>;
    /// Deletes a signing key; returns whether it existed.
    async fn delete_signing_key(&self, tenant_id: Uuid, kid: &str) -> Result<bool>;
    /// Every signing key of every tenant.
    async fn signing_keys(&self) -> Result<Vec<SigningKey>>;
    /// A number that changes whenever tenants, applications, role assignments or signing keys
    /// change, by this process or another one sharing the database: a server compares it with
    /// the value it read before its last reload to know whether to reload.
    async fn directory_revision(&self) -> Result<i64>;

    /// A tenant's default app management policy, if one was ever set.
    async fn app_management_policy(&self, tenant_id: Uuid) -> Result<Option<AppManagementPolicy>>;
    /// Sets a tenant's default app management policy, replacing the one it had.
    /// [`Error::NotFound`] if its tenant does not exist.
    async fn put_app_management_policy(&self, policy: &AppManagementPolicy) -> Result<()>;

    /// What the last declarative state apply manages; empty if none ever ran.
    async fn applied_state(&self) -> Result<AppliedState>;
    /// Replaces what the declarative state applies manage.
    async fn put_applied_state(&self, state: &AppliedState) -> Result<()>;

    /// Adds many applications in one transaction, writing for each exactly what
    /// [`DirectoryStore::insert_application`] writes: all of them or, on any error, none. The
    /// errors are those of `insert_application`, for the first application refused (a value
    /// two of them share is a conflict too). For filling a directory in bulk (imports, the scale
    /// benchmark); a server that is running learns of them at its next directory reload.
    async fn insert_applications(&self, apps: &[Application]) -> Result<()>;
}

/// Customer sign-in: users, and the grants (authorization codes, refresh tokens, sessions) issued
/// to them. Every write is durable when it returns.
#[async_trait::async_trait]
pub trait SignInStore: Send + Sync + 'static {
    /// Adds a user. [`Error::Conflict`] if its id, or its email within its tenant, is taken;
    /// [`Error::NotFound`] if its tenant does not exist.
    async fn insert_user(&self, user: &User) -> Result<()>;
    /// Replaces a user whose stored version is `user.version - 1`, as for applications.
    async fn update_user(&self, user: &User) -> Result<()>;
    /// The user of a tenant with this id.
    async fn user(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<User>>;
    /// The user of a tenant with this email (compared in lowercase).
    async fn user_by_email(&self, tenant_id: Uuid, email: &str) -> Result<Option<User>>;
    /// Every user of a tenant, by email.
    async fn users(&self, tenant_id: Uuid) -> Result<Vec<User>>;
    /// A page of a tenant's users in the order of [`SignInStore::users`]: at most `limit`, those
    /// after `after` (the last user of the previous page), so that a tenant of a million users
    /// is listed without reading it whole.
    async fn users_page(&self, tenant_id: Uuid, after: Option<&UserCursor>, limit: u32) -> Result<Vec<User>>;
    /// The users of a tenant that hold a directory role, by email: the few administrators of a
    /// tenant of a million customers, found without reading the customers.
    async fn users_with_directory_roles(&self, tenant_id: Uuid) -> Result<Vec<User>>;

    /// Adds a grant. [`Error::Conflict`] if one of its kind has its id; [`Error::NotFound`] if its
    /// tenant does not exist.
    async fn insert_grant(&self, grant: &Grant) -> Result<()>;
    /// Redeems a grant atomically: of two concurrent redemptions exactly one gets
    /// [`Redemption::Redeemed`], the other [`Redemption::Replayed`]. Expired (at `now`) or
    /// revoked grants are [`Redemption::Unusable`]. A grant redeemed before is
    /// [`Redemption::Replayed`] even once expired (so that a late replay still revokes its family),
    /// but not once revoked.
    async fn redeem_grant(&self, kind: GrantKind, id: &str, now: OffsetDateTime) -> Result<Redemption> {
        self.redeem_grant_of(kind, id, None, now).await
    }
    /// As [`SignInStore::redeem_grant`], for the `client` that presents the grant: only a grant
    /// whose document names that client (its `client_id` member, a UUID string) is redeemed,
    /// in the same statement; one issued to another client, live or redeemed before, is
    /// [`Redemption::OtherClient`] and left as it was. With no client, any grant.
    async fn redeem_grant_of(
        &self,
        kind: GrantKind,
        id: &str,
        client: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Redemption>;
    /// A grant that is neither redeemed, revoked nor expired at `now` (a live session, say).
    async fn live_grant(&self, kind: GrantKind, id: &str, now: OffsetDateTime) -> Result<Option<Grant>>;
    /// Revokes every grant of a family; returns how many were live (neither redeemed nor revoked
    /// before, expired or not).
    async fn revoke_family(&self, family: Uuid) -> Result<u64>;
    /// Revokes every grant of a user (disabled, password reset); returns how many were live, as
    /// for [`SignInStore::revoke_family`].
    async fn revoke_user_grants(&self, tenant_id: Uuid, user_id: Uuid) -> Result<u64>;
    /// Deletes grants that expired before `before`; returns how many.
    async fn delete_expired_grants(&self, before: OffsetDateTime) -> Result<u64>;

    /// Adds many users in one transaction, writing for each exactly what
    /// [`SignInStore::insert_user`] writes: all of them or, on any error, none. The errors are
    /// those of `insert_user`, for the first user refused (an id or email two of them share is
    /// a conflict too).
    async fn insert_users(&self, users: &[User]) -> Result<()>;
}

/// The vault: vaults, the names in their collections and the versions behind each name. Every
/// write is durable when it returns.
#[async_trait::async_trait]
pub trait VaultStore: Send + Sync + 'static {
    /// Adds a vault. [`Error::Conflict`] if its id or name is taken; [`Error::NotFound`] if its
    /// tenant does not exist.
    async fn insert_vault(&self, vault: &Vault) -> Result<()>;
    /// Replaces a vault whose stored version is `vault.version - 1`, as for applications.
    async fn update_vault(&self, vault: &Vault) -> Result<()>;
    /// Every vault.
    async fn vaults(&self) -> Result<Vec<Vault>>;

    /// Applies a [`VaultWrite`] in one transaction; a refused write changes nothing.
    async fn write_vault(&self, write: &VaultWrite) -> Result<()>;
    /// One name, deleted or not.
    async fn vault_item(&self, key: &ItemKey) -> Result<Option<VaultItem>>;
    /// The names of a collection that are (`deleted: true`) or are not soft-deleted, ordered by
    /// their lowercase form.
    async fn vault_items(&self, vault_id: Uuid, collection: Collection, deleted: bool) -> Result<Vec<VaultItem>>;
    /// Every version of a name, oldest first (empty if the name does not exist). Their keys spell
    /// the name as [`VaultStore::vault_item`] does.
    async fn vault_versions(&self, key: &ItemKey) -> Result<Vec<VaultVersion>>;
    /// One version of a name.
    async fn vault_version(&self, key: &ItemKey, version: &str) -> Result<Option<VaultVersion>>;
}

/// The audit log: who changed what in a tenant's directory or vault, and when. Append-only:
/// events are never updated or deleted through the store. Every append is durable when it
/// returns.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Appends one event, its text fields bounded as [`AuditEvent`] says (a long `detail` is cut
    /// to [`AuditEvent::MAX_DETAIL_CHARS`] characters, the others to
    /// [`AuditEvent::MAX_FIELD_CHARS`]). [`Error::Conflict`] if its id is taken;
    /// [`Error::NotFound`] if its tenant does not exist; [`Error::Invalid`] if `at` is outside
    /// the years 0 to 9999.
    async fn append_audit(&self, event: &AuditEvent) -> Result<()>;
    /// A tenant's events, newest first (by `at`; events of one instant, last appended first), at
    /// most `limit`; only those of one target when `target` is `Some((kind, id))` (compared
    /// exactly, after the bounding an append applies).
    async fn audit_events(&self, tenant_id: Uuid, target: Option<(&str, &str)>, limit: u32) -> Result<Vec<AuditEvent>>;
}

/// Credential usage: when each credential last authenticated a client, and the service-principal
/// sign-in records. Written in batches, off the token endpoint's path; writing never moves the
/// directory revision. Every write is durable when it returns.
#[async_trait::async_trait]
pub trait UsageStore: Send + Sync + 'static {
    /// Records uses in one transaction: each becomes its credential's last use unless the stored
    /// one is later (so that of several servers sharing the database, the latest use wins,
    /// whatever order they write in). Returns how many rows were written (a use older than the
    /// stored one writes nothing). [`Error::NotFound`] if a tenant does not exist (nothing is
    /// written then); [`Error::Invalid`] if a time is outside the years 0 to 9999.
    async fn record_credential_uses(&self, uses: &[CredentialUse]) -> Result<u64>;
    /// The last uses of an application's credentials (by its object id), in no set order.
    async fn credential_uses(&self, tenant_id: Uuid, application_id: Uuid) -> Result<Vec<CredentialUse>>;
    /// Appends sign-in records in one transaction. [`Error::Conflict`] if an id is taken,
    /// [`Error::NotFound`] if a tenant does not exist (nothing is appended then).
    async fn append_sign_ins(&self, records: &[ServicePrincipalSignIn]) -> Result<()>;
    /// The sign-in records of one client (by appId) of a tenant, newest first, as `query` says.
    async fn sign_ins(&self, tenant_id: Uuid, app_id: Uuid, query: SignInQuery) -> Result<Vec<ServicePrincipalSignIn>>;
    /// Deletes the sign-in records of every tenant from before `before`; returns how many.
    async fn delete_sign_ins_before(&self, before: OffsetDateTime) -> Result<u64>;
}
