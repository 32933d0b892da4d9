//! Credential usage, kept off the token endpoint's path: when each certificate or client secret
//! last authenticated a client (and from which address), and the service-principal sign-in
//! records of a confidential client's token requests: one per refusal, and the successes of one
//! credential from one address between two writes as one record with their count.
//!
//! The token endpoint only notes what happened in memory ([`Usage::note_use`],
//! [`Usage::note_sign_in`]): a short lock on a map or a bounded buffer, never a wait on the
//! database. [`crate::Authority::run_usage`], a background task, writes them: sign-in records
//! in one batch every tick, and the last use of a credential at most once a minute (a credential
//! used a thousand times a second costs one write a minute). A full buffer drops records and
//! counts them rather than slow the token endpoint. Reads merge what is noted but not yet
//! written, so that a server shows its own uses at once; other servers sharing the database see
//! them within a minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward_store::{CredentialUse, ServicePrincipalSignIn, SignInQuery};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::authority::Authority;
use crate::error::Result;

/// The least time between two writes of one credential's last use.
pub const LAST_USE_WRITE_INTERVAL: Duration = Duration::from_secs(60);

/// The most sign-in records waiting to be written; more are dropped (and counted).
pub const SIGN_IN_BUFFER: usize = 20_000;

/// A credential: its tenant, its application's object id, its key id.
type CredentialKey = (Uuid, Uuid, Uuid);

/// A credential's last use as noted in memory.
#[derive(Debug, Clone, Copy)]
struct Noted {
    at: OffsetDateTime,
    address: Option<IpAddr>,
    /// Whether `at` is newer than what was last written.
    dirty: bool,
    /// When it was last written, if ever by this process.
    written: Option<Instant>,
}

/// Successes that count into one record: tenant, client id, credential key id, thumbprint,
/// client address.
type SuccessKey = (Uuid, Uuid, Option<Uuid>, Option<String>, Option<String>);

/// The sign-in records noted since the last write.
#[derive(Debug, Default)]
struct PendingSignIns {
    records: Vec<ServicePrincipalSignIn>,
    /// Where each kind of success is in `records`, to count the next one into it.
    successes: HashMap<SuccessKey, usize>,
}

/// What the token endpoint notes and the background task writes.
#[derive(Debug)]
pub(crate) struct Usage {
    last_uses: Mutex<HashMap<CredentialKey, Noted>>,
    sign_ins: Mutex<PendingSignIns>,
    capacity: usize,
}

impl Default for Usage {
    fn default() -> Self {
        Self::with_capacity(SIGN_IN_BUFFER)
    }
}

impl Usage {
    /// Room for `capacity` sign-in records between writes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            last_uses: Mutex::new(HashMap::new()),
            sign_ins: Mutex::new(PendingSignIns::default()),
            capacity,
        }
    }

    /// Notes that a credential authenticated a client `at`, from `address`.
    pub(crate) fn note_use(&self, key: (Uuid, Uuid, Uuid), at: OffsetDateTime, address: Option<IpAddr>) {
        let mut uses = self.last_uses.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let noted = uses.entry(key).or_insert(Noted {
            at,
            address,
            dirty: true,
            written: None,
        });
        if at >= noted.at {
            noted.at = at;
            noted.address = address;
            noted.dirty = true;
        }
    }

    /// Notes a sign-in record: a success like one already noted (same credential, same
    /// address) only counts into it. Returns `false` (and keeps nothing) when the buffer is full.
    pub(crate) fn note_sign_in(&self, record: ServicePrincipalSignIn) -> bool {
        let mut pending = self.sign_ins.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let PendingSignIns { records, successes } = &mut *pending;
        let key = record.succeeded.then(|| {
            (
                record.tenant_id,
                record.app_id,
                record.key_id,
                record.thumbprint.clone(),
                record.client_address.clone(),
            )
        });
        if let Some(&at) = key.as_ref().and_then(|key| successes.get(key)) {
            let counted = &mut records[at].requests;
            *counted = counted.saturating_add(record.requests);
            return true;
        }
        if records.len() >= self.capacity {
            return false;
        }
        if let Some(key) = key {
            successes.insert(key, records.len());
        }
        records.push(record);
        true
    }

    /// The sign-in records noted since the last call.
    pub(crate) fn take_sign_ins(&self) -> Vec<ServicePrincipalSignIn> {
        let mut pending = self.sign_ins.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut *pending).records
    }

    /// The last uses due for writing at `now`: those noted since their last write, written
    /// [`LAST_USE_WRITE_INTERVAL`] ago or never (every noted one when `all`, at shutdown). They
    /// count as written from now on; [`Usage::unwritten`] puts them back if the write fails.
    pub(crate) fn take_due(&self, now: Instant, all: bool) -> Vec<CredentialUse> {
        let mut uses = self.last_uses.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut due = Vec::new();
        for (&(tenant_id, application_id, key_id), noted) in uses.iter_mut() {
            let rested = noted
                .written
                .is_none_or(|written| now.saturating_duration_since(written) >= LAST_USE_WRITE_INTERVAL);
            if noted.dirty && (rested || all) {
                noted.dirty = false;
                noted.written = Some(now);
                due.push(CredentialUse {
                    tenant_id,
                    application_id,
                    key_id,
                    at: noted.at,
                    client_address: noted.address.map(|a| a.to_string()),
                });
            }
        }
        due
    }

    /// Marks uses whose write failed as still to be written.
    pub(crate) fn unwritten(&self, failed: &[CredentialUse]) {
        let mut uses = self.last_uses.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for usage in failed {
            if let Some(noted) = uses.get_mut(&(usage.tenant_id, usage.application_id, usage.key_id)) {
                noted.dirty = true;
            }
        }
    }

    /// The last uses noted in memory of an application's credentials (written or not).
    pub(crate) fn noted(&self, tenant_id: Uuid, application_id: Uuid) -> Vec<CredentialUse> {
        let uses = self.last_uses.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        uses.iter()
            .filter(|((tenant, application, _), _)| *tenant == tenant_id && *application == application_id)
            .map(|(&(tenant_id, application_id, key_id), noted)| CredentialUse {
                tenant_id,
                application_id,
                key_id,
                at: noted.at,
                client_address: noted.address.map(|a| a.to_string()),
            })
            .collect()
    }
}

impl Authority {
    /// Notes (in memory) that a credential of an application authenticated a client.
    pub(crate) fn note_credential_use(
        &self,
        tenant_id: Uuid,
        application_id: Uuid,
        key_id: Uuid,
        at: OffsetDateTime,
        address: Option<IpAddr>,
    ) {
        self.usage.note_use((tenant_id, application_id, key_id), at, address);
    }

    /// Notes (in memory) a sign-in record; a full buffer drops it and counts the drop.
    pub(crate) fn note_sign_in(&self, record: ServicePrincipalSignIn) {
        if !self.usage.note_sign_in(record) {
            self.metrics().sign_in_dropped();
        }
    }

    /// Writes what the token endpoint noted: the sign-in records in one batch, and the last uses
    /// that are due (each credential at most once a minute; every noted one when `all`, as at
    /// shutdown). A failed write of last uses is tried again at the next call; failed sign-in
    /// records are dropped and counted, so that a database outage cannot grow the buffer.
    pub async fn flush_usage(&self, all: bool) -> Result<()> {
        let records = self.flush_sign_ins().await;
        let due = self.usage.take_due(Instant::now(), all);
        if !due.is_empty() {
            if let Err(e) = self.store.record_credential_uses(&due).await {
                self.usage.unwritten(&due);
                return Err(e.into());
            }
            self.metrics().last_uses_written(due.len() as u64);
        }
        records
    }

    /// Writes the sign-in records noted so far, in one batch.
    async fn flush_sign_ins(&self) -> Result<()> {
        let records = self.usage.take_sign_ins();
        if records.is_empty() {
            return Ok(());
        }
        match self.store.append_sign_ins(&records).await {
            Ok(()) => {
                self.metrics()
                    .sign_ins_written(records.iter().map(|r| u64::from(r.requests)).sum());
                Ok(())
            }
            Err(e) => {
                // Dropped knowingly, not kept: an outage must not grow memory or stall the
                // token endpoint. Counted as dropped in /metrics.
                tracing::warn!(error = %e, dropped = records.len(), "sign-in records could not be written and are dropped");
                for _ in &records {
                    self.metrics().sign_in_dropped();
                }
                Err(e.into())
            }
        }
    }

    /// Deletes the sign-in records older than `retention`; returns how many.
    pub async fn prune_sign_ins(&self, retention: Duration) -> Result<u64> {
        let retention = time::Duration::try_from(retention).unwrap_or(time::Duration::MAX);
        let cut = self.now().checked_sub(retention).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Ok(self.store.delete_sign_ins_before(cut).await?)
    }

    /// The background task of credential usage: every `every`, writes what the token endpoint
    /// noted ([`Authority::flush_usage`]); every `retention / 10` (between `every` and an hour),
    /// prunes sign-in records older than `retention`. Runs until the process ends; failures are
    /// logged and the work is tried again at the next tick.
    pub async fn run_usage(self: Arc<Self>, every: Duration, retention: Duration) {
        let prune_every = (retention / 10).clamp(every, Duration::from_secs(3600));
        let mut last_prune: Option<Instant> = None;
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            if let Err(e) = self.flush_usage(false).await {
                tracing::warn!(error = %e, "writing credential usage failed; last uses are retried at the next tick");
            }
            if last_prune.is_none_or(|at| at.elapsed() >= prune_every) {
                last_prune = Some(Instant::now());
                match self.prune_sign_ins(retention).await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::debug!(pruned, "old sign-in records deleted"),
                    Err(e) => tracing::warn!(error = %e, "pruning sign-in records failed; retrying later"),
                }
            }
        }
    }

    /// The last use of each credential of an application (by its object id), by key id: the
    /// stored ones merged with those noted here and not yet written (the later wins).
    pub async fn credential_uses(&self, tenant_id: Uuid, application_id: Uuid) -> Result<HashMap<Uuid, CredentialUse>> {
        let stored = self.store.credential_uses(tenant_id, application_id).await?;
        Ok(latest(stored, self.usage.noted(tenant_id, application_id)))
    }

    /// The sign-in records of a client (by appId) of a tenant, newest first. Records noted but
    /// not yet written are written first, so that the list is complete up to now.
    pub async fn sign_ins(
        &self,
        tenant_id: Uuid,
        app_id: Uuid,
        query: SignInQuery,
    ) -> Result<Vec<ServicePrincipalSignIn>> {
        self.flush_sign_ins().await?;
        Ok(self.store.sign_ins(tenant_id, app_id, query).await?)
    }
}

/// The later of each credential's uses in `stored` and `noted`, by key id.
pub(crate) fn latest(stored: Vec<CredentialUse>, noted: Vec<CredentialUse>) -> HashMap<Uuid, CredentialUse> {
    let mut latest: HashMap<Uuid, CredentialUse> = HashMap::new();
    for usage in stored.into_iter().chain(noted) {
        match latest.get(&usage.key_id) {
            Some(known) if known.at >= usage.at => {}
            _ => {
                latest.insert(usage.key_id, usage);
            }
        }
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> (Uuid, Uuid, Uuid) {
        (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4())
    }

    #[test]
    fn a_busy_credential_is_due_once_a_minute() {
        let usage = Usage::default();
        let (a, b) = (key(), key());
        let start = Instant::now();
        let now = OffsetDateTime::now_utc();
        for i in 0..1000 {
            usage.note_use(a, now + time::Duration::milliseconds(i), None);
        }
        let due = usage.take_due(start, false);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].at, now + time::Duration::milliseconds(999));
        // Used again at once: not due before a minute has passed.
        usage.note_use(a, now + time::Duration::seconds(2), Some("127.0.0.1".parse().unwrap()));
        usage.note_use(b, now, None);
        let due = usage.take_due(start + Duration::from_secs(30), false);
        assert_eq!(due.iter().map(|u| u.key_id).collect::<Vec<_>>(), vec![b.2]);
        let due = usage.take_due(start + Duration::from_secs(60), false);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].client_address.as_deref(), Some("127.0.0.1"));
        // Nothing new: nothing due, however long it waits.
        assert!(usage.take_due(start + Duration::from_secs(600), false).is_empty());
    }

    #[test]
    fn shutdown_writes_everything_noted_and_a_failed_write_is_retried() {
        let usage = Usage::default();
        let a = key();
        let start = Instant::now();
        usage.note_use(a, OffsetDateTime::now_utc(), None);
        let due = usage.take_due(start, false);
        usage.note_use(a, OffsetDateTime::now_utc(), None);
        assert!(usage.take_due(start + Duration::from_secs(1), false).is_empty());
        assert_eq!(usage.take_due(start + Duration::from_secs(1), true).len(), 1);
        usage.unwritten(&due);
        assert_eq!(usage.take_due(start + Duration::from_secs(61), false).len(), 1);
    }

    #[test]
    fn an_older_use_noted_late_changes_nothing() {
        let usage = Usage::default();
        let a = key();
        let now = OffsetDateTime::now_utc();
        usage.note_use(a, now, Some("192.0.2.1".parse().unwrap()));
        usage.note_use(a, now - time::Duration::seconds(5), Some("192.0.2.2".parse().unwrap()));
        let noted = usage.noted(a.0, a.1);
        assert_eq!(noted.len(), 1);
        assert_eq!(
            (noted[0].at, noted[0].client_address.as_deref()),
            (now, Some("192.0.2.1"))
        );
    }

    #[test]
    fn successes_of_one_credential_and_address_count_into_one_record() {
        let usage = Usage::default();
        let (tenant_id, app_id, key_id) = (Uuid::new_v4(), Uuid::new_v4(), Some(Uuid::new_v4()));
        let record = |address: &str, error_code: Option<u32>| ServicePrincipalSignIn {
            id: Uuid::new_v4(),
            tenant_id,
            at: OffsetDateTime::now_utc(),
            app_id,
            key_id,
            thumbprint: Some("AB".into()),
            succeeded: error_code.is_none(),
            error_code,
            correlation_id: Some(Uuid::new_v4()),
            client_address: Some(address.into()),
            requests: 1,
        };
        for _ in 0..5 {
            assert!(usage.note_sign_in(record("192.0.2.1", None)));
        }
        assert!(usage.note_sign_in(record("192.0.2.2", None)));
        assert!(usage.note_sign_in(record("192.0.2.1", Some(700027))));
        assert!(usage.note_sign_in(record("192.0.2.1", Some(700027))));
        let taken = usage.take_sign_ins();
        let counts: Vec<(bool, u32)> = taken.iter().map(|r| (r.succeeded, r.requests)).collect();
        assert_eq!(counts, [(true, 5), (true, 1), (false, 1), (false, 1)]);
        // After a write, the next success starts a new record.
        assert!(usage.note_sign_in(record("192.0.2.1", None)));
        assert_eq!(usage.take_sign_ins()[0].requests, 1);
    }

    #[test]
    fn a_full_buffer_drops() {
        let usage = Usage::with_capacity(2);
        let record = |code| ServicePrincipalSignIn {
            id: Uuid::new_v4(),
            tenant_id: Uuid::new_v4(),
            at: OffsetDateTime::now_utc(),
            app_id: Uuid::new_v4(),
            key_id: None,
            thumbprint: None,
            succeeded: false,
            error_code: Some(code),
            correlation_id: None,
            client_address: None,
            requests: 1,
        };
        assert!(usage.note_sign_in(record(1)));
        assert!(usage.note_sign_in(record(2)));
        assert!(!usage.note_sign_in(record(3)));
        assert_eq!(usage.take_sign_ins().len(), 2);
        assert!(usage.note_sign_in(record(4)));
    }
}
