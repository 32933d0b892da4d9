//! The PostgreSQL backend: several servers sharing one database. Ids are `uuid`, documents
//! `jsonb`, times RFC 3339 text as on SQLite.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use uuid::Uuid;

use crate::conflict::database;
use crate::sql::{Backend, SqlStore};
use crate::{Cluster, ClusterStore, Error, Result};

impl Backend for Postgres {
    /// `uuid`.
    type Id = Uuid;

    fn id(uuid: Uuid) -> Uuid {
        uuid
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// Connects to the database `url` names and migrates it.
pub(crate) async fn open(url: &str) -> Result<SqlStore<Postgres>> {
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
    Ok(SqlStore::new(pool))
}

impl ClusterStore for SqlStore<Postgres> {
    /// Several servers may share a PostgreSQL database.
    fn cluster(&self) -> Option<Cluster> {
        Some(Cluster::new(self.pool.clone()))
    }
}
