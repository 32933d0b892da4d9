//! What several servers sharing one PostgreSQL database coordinate through it: notifications of
//! directory changes (`LISTEN/NOTIFY`), failed sign-ins counted across servers (and the other
//! per-client limits, which use the same buckets), the networks each account signed in from,
//! when each device code was last polled, and leases for work one server does at a time. A database one server owns (SQLite) has no [`Cluster`]: there
//! the callers keep this state in memory.
//!
//! Times here are the database's (`clock_timestamp()`, in milliseconds), so that servers whose
//! clocks differ still agree on when a lock or a lease ends.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::Result;
use crate::conflict::database;

/// The channel the directory's changes are notified on (see the `cluster` migration).
const DIRECTORY_CHANNEL: &str = "keyward_directory";

/// The database's clock, in milliseconds since the Unix epoch.
const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// The coordination of the servers sharing one PostgreSQL database. Cheap to clone (it holds the
/// store's pool).
#[derive(Clone)]
pub struct Cluster {
    pool: PgPool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

/// One bucket a sign-in attempt counts in (an account for one source, a client address), with
/// the failures it may have before it is locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptBucket {
    /// The bucket's name, unique across buckets.
    pub name: String,
    /// Failures allowed before a lock.
    pub free: u32,
}

/// How failed sign-ins lock a bucket.
#[derive(Debug, Clone, Copy)]
pub struct AttemptLimits {
    /// The first lock; each further failure doubles it.
    pub lockout: Duration,
    /// The longest lock.
    pub max_lockout: Duration,
    /// Failures older than this (and not locked) are forgotten.
    pub forget_after: Duration,
}

/// What the next directory notification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryChange {
    /// Another writer (or this one) changed the directory.
    Changed,
    /// The connection was lost and made again: notifications sent meanwhile are lost, so the
    /// directory may have changed.
    Lost,
}

/// The notifications of directory changes in this database's schema, from
/// [`Cluster::directory_changes`].
pub struct DirectoryChanges {
    listener: PgListener,
    schema: String,
}

impl std::fmt::Debug for DirectoryChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryChanges")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl DirectoryChanges {
    /// Waits for the next change of this schema's directory (changes notified together count as
    /// one), or for the news that the connection was lost (and made again). An error means the
    /// connection could not be made again; calling again tries again.
    pub async fn next(&mut self) -> Result<DirectoryChange> {
        loop {
            match self.listener.try_recv().await.map_err(database)? {
                Some(notification) if notification.payload() == self.schema => {
                    // A burst of changes is one: what arrived meanwhile is seen by the same reload.
                    while self.listener.next_buffered().is_some() {}
                    return Ok(DirectoryChange::Changed);
                }
                // Another schema's servers in the same database.
                Some(_) => {}
                None => return Ok(DirectoryChange::Lost),
            }
        }
    }
}

/// A lease on work one server does at a time, named and held by one holder (a server) for a
/// time; see [`Cluster::lease`].
#[derive(Debug, Clone)]
pub struct Lease {
    cluster: Cluster,
    name: String,
    holder: Uuid,
    hold: Duration,
}

impl Lease {
    /// Takes the lease, or extends it if this holder has it: `true` if this holder now holds
    /// it for the next `hold`; `false` if another holder does and its time has not run out.
    pub async fn take(&self) -> Result<bool> {
        let held: Option<Uuid> = sqlx::query_scalar(&format!(
            "INSERT INTO leases (name, holder, until) VALUES ($1, $2, {NOW_MS} + $3) \
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until \
             WHERE leases.holder = EXCLUDED.holder OR leases.until < {NOW_MS} \
             RETURNING holder"
        ))
        .bind(&self.name)
        .bind(self.holder)
        .bind(millis(self.hold))
        .fetch_optional(&self.cluster.pool)
        .await
        .map_err(database)?;
        Ok(held.is_some())
    }
}

impl Cluster {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Starts listening for directory changes on a connection of its own.
    pub async fn directory_changes(&self) -> Result<DirectoryChanges> {
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&self.pool)
            .await
            .map_err(database)?;
        let mut listener = PgListener::connect_with(&self.pool).await.map_err(database)?;
        // Named in `pg_stat_activity` (until a lost connection is made again).
        sqlx::query("SELECT set_config('application_name', $1, false)")
            .bind(format!("keyward listener {schema}"))
            .execute(&mut listener)
            .await
            .map_err(database)?;
        listener.listen(DIRECTORY_CHANNEL).await.map_err(database)?;
        Ok(DirectoryChanges { listener, schema })
    }

    /// The lease `name` as held by `holder`, for `hold` each time it is taken.
    pub fn lease(&self, name: &str, holder: Uuid, hold: Duration) -> Lease {
        Lease {
            cluster: self.clone(),
            name: name.to_owned(),
            holder,
            hold,
        }
    }

    /// Starts a sign-in attempt in every bucket, counted as a failure from now on (the caller
    /// takes it back with [`Cluster::clear_attempts`] or [`Cluster::release_attempt`]), in one
    /// transaction: `Some(wait)` and nothing counted while a bucket is locked; otherwise the
    /// attempt is counted in each, and a bucket it brings to its free failures is locked at once,
    /// for the lockout doubled by each failure beyond, so that concurrent attempts on any server
    /// cannot outrun the limit.
    pub async fn begin_attempt(&self, buckets: &[AttemptBucket], limits: AttemptLimits) -> Result<Option<Duration>> {
        let mut buckets: Vec<&AttemptBucket> = buckets.iter().collect();
        // One lock order for every transaction: no deadlock between two attempts.
        buckets.sort_by(|a, b| a.name.cmp(&b.name));
        buckets.dedup_by(|a, b| a.name == b.name);
        let mut tx = self.pool.begin().await.map_err(database)?;
        let now: i64 = sqlx::query_scalar(&format!("SELECT {NOW_MS}"))
            .fetch_one(&mut *tx)
            .await
            .map_err(database)?;
        let mut rows = Vec::with_capacity(buckets.len());
        for bucket in &buckets {
            rows.push(locked_row(&mut tx, &bucket.name, now).await?);
        }
        let locked = rows
            .iter()
            .filter_map(|r| r.locked_until)
            .filter(|until| *until > now)
            .max();
        if let Some(until) = locked {
            tx.rollback().await.map_err(database)?;
            return Ok(Some(Duration::from_millis(u64::try_from(until - now).unwrap_or(0))));
        }
        let forget = millis(limits.forget_after);
        for (bucket, row) in buckets.iter().zip(rows) {
            let counted = if row.last < now - forget { 0 } else { row.failures };
            let failures = counted.saturating_add(1);
            let free = i32::try_from(bucket.free).unwrap_or(i32::MAX);
            let locked_until = (failures >= free).then(|| {
                let doublings = u32::try_from(failures - free).unwrap_or(0).min(16);
                let lockout = limits.lockout.saturating_mul(1 << doublings).min(limits.max_lockout);
                now + millis(lockout)
            });
            sqlx::query("UPDATE sign_in_throttle SET failures = $2, locked_until = $3, last = $4 WHERE bucket = $1")
                .bind(&bucket.name)
                .bind(failures)
                .bind(locked_until)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(database)?;
        }
        tx.commit().await.map_err(database)?;
        Ok(None)
    }

    /// An attempt that succeeded: the bucket it came through (its account's) starts afresh.
    pub async fn clear_attempts(&self, bucket: &str) -> Result<()> {
        sqlx::query("DELETE FROM sign_in_throttle WHERE bucket = $1")
            .bind(bucket)
            .execute(&self.pool)
            .await
            .map_err(database)?;
        Ok(())
    }

    /// An attempt that proved nothing either way: it stops counting in its buckets, and a lock
    /// it brought about is lifted (one the remaining failures justify stays).
    pub async fn release_attempt(&self, buckets: &[AttemptBucket]) -> Result<()> {
        for bucket in buckets {
            sqlx::query(
                "UPDATE sign_in_throttle SET failures = GREATEST(failures - 1, 0), \
                 locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END \
                 WHERE bucket = $1",
            )
            .bind(&bucket.name)
            .bind(i32::try_from(bucket.free).unwrap_or(i32::MAX))
            .execute(&self.pool)
            .await
            .map_err(database)?;
        }
        Ok(())
    }

    /// Deletes the buckets whose failures are forgotten and that are not locked; returns how
    /// many.
    pub async fn forget_attempts(&self, forget_after: Duration) -> Result<u64> {
        let done = sqlx::query(&format!(
            "DELETE FROM sign_in_throttle WHERE last < {NOW_MS} - $1 \
             AND (locked_until IS NULL OR locked_until <= {NOW_MS})"
        ))
        .bind(millis(forget_after))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(done.rows_affected())
    }

    /// How long ago `account` last signed in successfully from `source` (a network), if it did
    /// within `within`.
    pub async fn familiar_source(&self, account: &str, source: &str, within: Duration) -> Result<Option<Duration>> {
        let age: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT {NOW_MS} - last FROM familiar_sources WHERE account = $1 AND source = $2 AND last > {NOW_MS} - $3"
        ))
        .bind(account)
        .bind(source)
        .bind(millis(within))
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        Ok(age.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
    }

    /// Notes a successful sign-in of `account` from `source` now; the account keeps its `keep`
    /// most recent sources, the others are forgotten.
    pub async fn remember_familiar_source(&self, account: &str, source: &str, keep: usize) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        sqlx::query(&format!(
            "INSERT INTO familiar_sources (account, source, last) VALUES ($1, $2, {NOW_MS}) \
             ON CONFLICT (account, source) DO UPDATE SET last = EXCLUDED.last"
        ))
        .bind(account)
        .bind(source)
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        sqlx::query(
            "DELETE FROM familiar_sources WHERE account = $1 AND source NOT IN \
             (SELECT source FROM familiar_sources WHERE account = $1 ORDER BY last DESC LIMIT $2)",
        )
        .bind(account)
        .bind(i64::try_from(keep).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)
    }

    /// Notes a poll of the device code `device` (its hash) now; returns how long ago the poll
    /// before it was, if one is remembered. Concurrent polls of one code, on any server, are
    /// ordered by its row lock: each sees the one before, and only the first sees none.
    pub async fn note_device_poll(&self, device: &str) -> Result<Option<Duration>> {
        let mut tx = self.pool.begin().await.map_err(database)?;
        sqlx::query("INSERT INTO device_polls (device, last) VALUES ($1, NULL) ON CONFLICT (device) DO NOTHING")
            .bind(device)
            .execute(&mut *tx)
            .await
            .map_err(database)?;
        let before: Option<i64> = sqlx::query_scalar("SELECT last FROM device_polls WHERE device = $1 FOR UPDATE")
            .bind(device)
            .fetch_one(&mut *tx)
            .await
            .map_err(database)?;
        let now: i64 = sqlx::query_scalar(&format!(
            "UPDATE device_polls SET last = {NOW_MS} WHERE device = $1 RETURNING last"
        ))
        .bind(device)
        .fetch_one(&mut *tx)
        .await
        .map_err(database)?;
        tx.commit().await.map_err(database)?;
        Ok(before.map(|before| Duration::from_millis(u64::try_from(now - before).unwrap_or(0))))
    }

    /// Deletes familiar sources not used within `familiar_for` and device polls older than
    /// `polls_for`; returns how many rows went.
    pub async fn forget_sources_and_polls(&self, familiar_for: Duration, polls_for: Duration) -> Result<u64> {
        let sources = sqlx::query(&format!("DELETE FROM familiar_sources WHERE last < {NOW_MS} - $1"))
            .bind(millis(familiar_for))
            .execute(&self.pool)
            .await
            .map_err(database)?;
        let polls = sqlx::query(&format!(
            "DELETE FROM device_polls WHERE last IS NULL OR last < {NOW_MS} - $1"
        ))
        .bind(millis(polls_for))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(sources.rows_affected() + polls.rows_affected())
    }
}

/// A bucket's row, made if missing, locked until the transaction ends.
struct BucketRow {
    failures: i32,
    locked_until: Option<i64>,
    last: i64,
}

async fn locked_row(tx: &mut Transaction<'_, Postgres>, bucket: &str, now: i64) -> Result<BucketRow> {
    sqlx::query(
        "INSERT INTO sign_in_throttle (bucket, failures, last) VALUES ($1, 0, $2) ON CONFLICT (bucket) DO NOTHING",
    )
    .bind(bucket)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(database)?;
    let (failures, locked_until, last): (i32, Option<i64>, i64) =
        sqlx::query_as("SELECT failures, locked_until, last FROM sign_in_throttle WHERE bucket = $1 FOR UPDATE")
            .bind(bucket)
            .fetch_one(&mut **tx)
            .await
            .map_err(database)?;
    Ok(BucketRow {
        failures,
        locked_until,
        last,
    })
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
