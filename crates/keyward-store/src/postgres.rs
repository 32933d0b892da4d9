//! The PostgreSQL backend: several servers sharing one database. Ids are `uuid`, documents
//! `jsonb`, times RFC 3339 text as on SQLite.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use uuid::Uuid;

use crate::conflict::database;
use crate::sql::{Backend, SqlStore};
use crate::{Cluster, ClusterStore, Error, Result};

impl Backend for Postgres {
    /// `uuid`.
    type Id = Uuid;

    const HAS_DIRECTORY_ROLES: &'static str = "jsonb_array_length(document -> 'directoryRoles') > 0";

    fn id(uuid: Uuid) -> Uuid {
        uuid
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// How long a starting server waits for PostgreSQL to accept connections (it may be starting
/// alongside): past this, the start fails.
const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// Connects to the database `url` names and migrates it.
pub(crate) async fn open(url: &str) -> Result<SqlStore<Postgres>> {
    let options = PgConnectOptions::from_str(url).map_err(database)?;
    // A short acquire timeout: while the database is down, statements fail within it (and
    // requests are answered 503) rather than wait. The pool tests a connection before lending
    // it, so that those broken by an outage are replaced by new ones once the database is back.
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(crate::ACQUIRE_TIMEOUT)
        .test_before_acquire(true)
        .connect_lazy_with(options);
    let deadline = Instant::now() + STARTUP_WAIT;
    loop {
        match pool.acquire().await.map_err(database) {
            Ok(_) => break,
            Err(e) if e.is_unavailable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e),
        }
    }
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
