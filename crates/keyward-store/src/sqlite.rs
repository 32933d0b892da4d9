//! The SQLite backend: the embedded default, one file in WAL mode. Ids are stored as text,
//! documents as text. Each family of the store is implemented in a file of its own.

mod directory;
mod sign_in;
mod vault;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use crate::conflict::database;
use crate::{Error, Result};

/// An id as SQLite stores it: lowercase hyphenated text.
type Id = String;

/// A document as SQLite stores it: its JSON text.
type Document = String;

/// An id as bound to a statement.
fn id(uuid: Uuid) -> Id {
    uuid.to_string()
}

/// A [`crate::Store`] in an SQLite database.
pub(crate) struct SqliteStore {
    /// One connection: SQLite has one writer at a time anyway, and a lone connection never waits
    /// for itself. It is never closed for idleness, so `sqlite::memory:` lives as long as the pool.
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database `url` names.
    pub(crate) async fn open(url: &str) -> Result<Self> {
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
        Ok(Self { pool })
    }
}
