//! The SQLite backend: the embedded default, one file in WAL mode. Ids and documents are stored
//! as text.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult, SqliteSynchronous};
use uuid::Uuid;

use crate::conflict::database;
use crate::sql::{Backend, SqlStore};
use crate::{Cluster, ClusterStore, Error, Result};

impl Backend for Sqlite {
    /// Lowercase hyphenated text.
    type Id = String;

    const HAS_DIRECTORY_ROLES: &'static str = "json_array_length(document, '$.directoryRoles') > 0";

    fn id(uuid: Uuid) -> String {
        uuid.to_string()
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// Opens (creating if missing) and migrates the database `url` names.
pub(crate) async fn open(url: &str) -> Result<SqlStore<Sqlite>> {
    // Settings applied after the URL's own, so that no URL weakens durability.
    let options = SqliteConnectOptions::from_str(url)
        .map_err(database)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit has reached the disk (WAL fsync) when it returns, so an
        // acknowledged write survives kill -9 and power loss.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    // One connection: SQLite has one writer at a time anyway, and a lone connection never
    // waits for itself. It is never closed for idleness, so `sqlite::memory:` lives as long as
    // the pool.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(database)?;
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .map_err(|e| Error::Database(format!("migrating the SQLite schema: {e}")))?;
    Ok(SqlStore::new(pool))
}

impl ClusterStore for SqlStore<Sqlite> {
    /// A SQLite file belongs to one server.
    fn cluster(&self) -> Option<Cluster> {
        None
    }
}
