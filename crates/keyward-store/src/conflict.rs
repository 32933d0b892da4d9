//! What a refused write means, the same for both backends. The database says only *that* a unique
//! value was taken (`DatabaseError::is_unique_violation`); the store then looks up who holds
//! which value, and the functions here turn that into an [`Error::Conflict`] naming it.

use uuid::Uuid;

use crate::{
    AppRoleAssignment, Application, Collection, Error, GrantKind, ItemKey, SigningKey, Tenant, User, Vault,
    VaultVersion,
};

/// Why a write failed.
pub(crate) enum Failure {
    /// A unique constraint refused it: some value is taken.
    Unique,
    /// A foreign key refused it: the row it names (its tenant; for vault rows, its vault or its
    /// name) does not exist.
    MissingParent,
    /// Anything else, already an [`Error`].
    Other(Error),
}

impl Failure {
    /// The error to return when the failure is not [`Failure::Unique`], or when it is but the
    /// caller could not find out more: `tenant_id` is the tenant the write named.
    pub(crate) fn into_error(self, tenant_id: Uuid) -> Error {
        match self {
            Failure::Unique => Error::Conflict(String::from("a unique value")),
            Failure::MissingParent => Error::NotFound(format!("tenant {tenant_id}")),
            Failure::Other(e) => e,
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Failure::Unique,
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => Failure::MissingParent,
            _ => Failure::Other(database(e)),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Other(e)
    }
}

/// A database failure as an [`Error`]. A column that cannot be decoded is [`Error::Corrupt`]:
/// with the schemas as they are, that is a document that is not JSON (on SQLite, where documents
/// are text). An outage (see [`outage`]) is [`Error::Unavailable`].
pub(crate) fn database(e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::ColumnDecode { source, .. } => Error::Corrupt {
            what: "row",
            detail: source.to_string(),
        },
        e => match outage(&e) {
            Some(why) => Error::Unavailable(format!("{why}: {e}")),
            None => Error::Database(e.to_string()),
        },
    }
}

/// Why a failure is an outage of the database rather than a refusal of the statement, if it is
/// one: nothing was written, and the same statement may succeed once the database is back.
///
/// - No connection in time (the pool's acquire timeout: the server is down or every connection
///   is busy), the connection broke (I/O), the pool is closing or SQLite's worker stopped.
/// - PostgreSQL (SQLSTATE): class `08` (connection exception), `53` (insufficient resources:
///   disk full, out of memory, too many connections), `57P01`-`57P03` (shutting down, crashed,
///   starting up), `58030` (I/O error).
/// - SQLite (primary result code): `SQLITE_FULL` (disk full), `SQLITE_IOERR`, `SQLITE_BUSY` and
///   `SQLITE_LOCKED` (still locked after the busy timeout), `SQLITE_NOMEM`, `SQLITE_CANTOPEN`.
fn outage(e: &sqlx::Error) -> Option<&'static str> {
    match e {
        sqlx::Error::PoolTimedOut => Some("no database connection within the acquire timeout"),
        sqlx::Error::PoolClosed => Some("the database pool is closed"),
        sqlx::Error::WorkerCrashed => Some("the database worker stopped"),
        sqlx::Error::Io(_) => Some("the database connection failed"),
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                postgres_outage(pg.code())
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_outage(db.code()?.parse().ok()?)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Whether a PostgreSQL SQLSTATE is an outage (see [`outage`]).
fn postgres_outage(sqlstate: &str) -> Option<&'static str> {
    match sqlstate {
        s if s.starts_with("08") => Some("the database connection failed"),
        "53100" => Some("the database's disk is full"),
        s if s.starts_with("53") => Some("the database is out of resources"),
        "57P01" | "57P02" | "57P03" => Some("the database is shutting down or starting up"),
        "58030" => Some("the database had an I/O error"),
        _ => None,
    }
}

/// Whether a SQLite extended result code is an outage (see [`outage`]).
fn sqlite_outage(extended: i32) -> Option<&'static str> {
    // The primary result code is the low byte of the extended one.
    match extended & 0xff {
        13 => Some("the database's disk is full"),
        10 => Some("the database had an I/O error"),
        5 | 6 => Some("the database stayed locked"),
        7 => Some("the database is out of memory"),
        14 => Some("the database file cannot be opened"),
        _ => None,
    }
}

/// A tenant's id, name or domain is taken; `holders` are (id, name, domain) of the tenants that
/// hold one of them.
pub(crate) fn tenant(tenant: &Tenant, holders: &[(Uuid, String, String)]) -> Error {
    let what = holders.iter().find_map(|(id, name, domain)| {
        if *id == tenant.id {
            Some(format!("tenant {id}"))
        } else if *name == tenant.name {
            Some(format!("a tenant named {name:?}"))
        } else if *domain == tenant.domain {
            Some(format!("a tenant with domain {domain:?}"))
        } else {
            None
        }
    });
    Error::Conflict(what.unwrap_or_else(|| format!("tenant {} or its name or domain", tenant.id)))
}

/// An application's id, or its appId, service principal id or an identifier URI within its
/// tenant, is taken. `rows` are (id, appId, service principal id) of the applications that
/// share one of the first three (the application itself when it is being updated); `uris` are
/// (uri, application id) of identifier URIs of the tenant that the application lists.
pub(crate) fn application(
    app: &Application,
    updating: bool,
    rows: &[(Uuid, Uuid, Uuid)],
    uris: &[(String, Uuid)],
) -> Error {
    let row = rows.iter().find_map(|&(id, app_id, service_principal_id)| {
        if id == app.id {
            (!updating).then(|| format!("application {id}"))
        } else if app_id == app.app_id {
            Some(format!(
                "an application with appId {app_id} in tenant {}",
                app.tenant_id
            ))
        } else if service_principal_id == app.service_principal_id {
            Some(format!(
                "an application with service principal {service_principal_id} in tenant {}",
                app.tenant_id
            ))
        } else {
            None
        }
    });
    let uri = || {
        uris.iter()
            .find(|(_, owner)| *owner != app.id)
            .map(|(uri, owner)| format!("identifier URI {uri:?} (of application {owner})"))
    };
    Error::Conflict(row.or_else(uri).unwrap_or_else(|| {
        format!(
            "application {} or its appId, service principal or an identifier URI",
            app.id
        )
    }))
}

/// A role assignment's id, or the same grant, is taken; `holders` are the ids of the
/// assignments that hold one of them.
pub(crate) fn role_assignment(assignment: &AppRoleAssignment, holders: &[Uuid]) -> Error {
    let what = if holders.contains(&assignment.id) {
        format!("role assignment {}", assignment.id)
    } else {
        format!(
            "the assignment of app role {} on resource {} to principal {}",
            assignment.app_role_id, assignment.resource_id, assignment.principal_id
        )
    };
    Error::Conflict(what)
}

/// A signing key's kid is taken in its tenant, or the tenant already has an active key;
/// `holders` are (kid, active) of the tenant's keys that hold one of them.
pub(crate) fn signing_key(key: &SigningKey, holders: &[(String, bool)]) -> Error {
    let what = if holders.iter().any(|(kid, _)| *kid == key.kid) {
        format!("signing key {:?} of tenant {}", key.kid, key.tenant_id)
    } else {
        format!("an active signing key of tenant {}", key.tenant_id)
    };
    Error::Conflict(what)
}

/// A user's id, or its email within its tenant, is taken; `holders` are (id, lowercase email)
/// of the users that hold one of them (the user itself when it is being updated).
pub(crate) fn user(user: &User, updating: bool, holders: &[(Uuid, String)]) -> Error {
    let what = holders.iter().find_map(|(id, _)| {
        if *id == user.id {
            (!updating).then(|| format!("user {id}"))
        } else {
            Some(format!(
                "a user with email {:?} in tenant {}",
                user.email, user.tenant_id
            ))
        }
    });
    Error::Conflict(what.unwrap_or_else(|| format!("user {} or its email", user.id)))
}

/// A grant's id is taken among the grants of its kind. The id (a hash of the handle) is not
/// named: it is of no use to the reader.
pub(crate) fn grant(kind: GrantKind) -> Error {
    Error::Conflict(format!("a grant of kind {} with this id", kind.as_str()))
}

/// A vault's id or name is taken; `holders` are the ids of the vaults that hold one of them (the
/// vault itself when it is being updated).
pub(crate) fn vault(vault: &Vault, updating: bool, holders: &[Uuid]) -> Error {
    let what = holders.iter().find_map(|id| {
        if *id == vault.id {
            (!updating).then(|| format!("vault {id}"))
        } else {
            Some(format!("a vault named {:?}", vault.name))
        }
    });
    Error::Conflict(what.unwrap_or_else(|| format!("vault {} or its name", vault.id)))
}

/// Why an update that named the stored version of a row (a `what` with this id) changed
/// nothing: the row is at another version, or it `exists` no more.
pub(crate) fn not_updated(what: &'static str, id: Uuid, exists: bool) -> Error {
    if exists {
        Error::VersionMismatch { what }
    } else {
        Error::NotFound(format!("{what} {id}"))
    }
}

/// Why a new name could not be inserted: it is taken, or its vault does not exist.
pub(crate) fn item_refused(key: &ItemKey, failure: Failure) -> Error {
    match failure {
        Failure::Unique => Error::Conflict(item(key)),
        Failure::MissingParent => Error::NotFound(format!("vault {}", key.vault_id)),
        Failure::Other(e) => e,
    }
}

/// Why a version could not be written: its name does not exist, or the version is taken.
pub(crate) fn version_refused(version: &VaultVersion, failure: Failure) -> Error {
    match failure {
        Failure::MissingParent => Error::NotFound(item(&version.key)),
        Failure::Unique => Error::Conflict(format!("version {} of {}", version.version, item(&version.key))),
        Failure::Other(e) => e,
    }
}

/// A name of a vault, for messages: `certificate "My-Cert" in vault {id}`.
pub(crate) fn item(key: &ItemKey) -> String {
    format!("{} {:?} in vault {}", item_kind(key.collection), key.name, key.vault_id)
}

/// What a name of a collection is called: `certificate` or `secret`.
pub(crate) fn item_kind(collection: Collection) -> &'static str {
    match collection {
        Collection::Certificates => "certificate",
        Collection::Secrets => "secret",
    }
}

/// [`Error::Invalid`] when an application lists an identifier URI twice.
pub(crate) fn check_identifier_uris(app: &Application) -> Result<(), Error> {
    for (i, uri) in app.identifier_uris.iter().enumerate() {
        if app.identifier_uris[..i].contains(uri) {
            return Err(Error::Invalid(format!("identifier URI {uri:?} is listed twice")));
        }
    }
    Ok(())
}

/// [`Error::Invalid`] unless `retired` and `new` are a rotation: two keys of one tenant, the
/// first inactive, the second active.
pub(crate) fn check_rotation(retired: &SigningKey, new: &SigningKey) -> Result<(), Error> {
    let problem = if retired.tenant_id != new.tenant_id {
        "the retired and the new key belong to different tenants"
    } else if retired.kid == new.kid {
        "the retired and the new key have the same kid"
    } else if retired.active {
        "the retired key is still marked active"
    } else if !new.active {
        "the new key is not marked active"
    } else {
        return Ok(());
    };
    Err(Error::Invalid(format!("signing key rotation: {problem}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_of_postgresql_is_unavailable() {
        for sqlstate in ["08006", "08001", "57P01", "57P02", "57P03", "53100", "53300", "58030"] {
            assert!(postgres_outage(sqlstate).is_some(), "{sqlstate}");
        }
        // Refusals of the statement are not outages.
        for sqlstate in ["23505", "23503", "40001", "42P01", "22P02"] {
            assert!(postgres_outage(sqlstate).is_none(), "{sqlstate}");
        }
    }

    #[test]
    fn an_outage_of_sqlite_is_unavailable() {
        // SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, SQLITE_CANTOPEN.
        for code in [13, 778, 5, 517, 14] {
            assert!(sqlite_outage(code).is_some(), "{code}");
        }
        // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CORRUPT, SQLITE_ERROR, SQLITE_READONLY.
        for code in [2067, 11, 1, 8] {
            assert!(sqlite_outage(code).is_none(), "{code}");
        }
    }

    #[test]
    fn a_pool_timeout_or_a_broken_connection_is_unavailable() {
        assert!(database(sqlx::Error::PoolTimedOut).is_unavailable());
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(database(sqlx::Error::Io(reset)).is_unavailable());
        assert!(!database(sqlx::Error::RowNotFound).is_unavailable());
        assert!(matches!(database(sqlx::Error::RowNotFound), Error::Database(_)));
    }
}
