//! The PostgreSQL backend: several servers sharing one database. Ids are `uuid`, documents
//! `jsonb`, times RFC 3339 text as on SQLite. Each family of the store is implemented in a file
//! of its own.

mod directory;
mod sign_in;
mod vault;

use std::str::FromStr;
use std::time::Duration;

use serde_json::value::RawValue;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;
use uuid::Uuid;

use crate::conflict::database;
use crate::{Error, Result};

/// An id as PostgreSQL stores it (and as it is bound to a statement): `uuid`.
type Id = Uuid;

/// A document as PostgreSQL stores it: `jsonb`.
type Document = Json<Box<RawValue>>;

/// A [`crate::Store`] in a PostgreSQL database.
pub(crate) struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database `url` names and migrates it.
    pub(crate) async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url).map_err(database)?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(database)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| Error::Database(format!("migrating the PostgreSQL schema: {e}")))?;
        Ok(Self { pool })
    }
}
