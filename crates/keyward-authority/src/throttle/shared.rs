//! Failed sign-ins counted across the servers sharing one PostgreSQL database.
//!
//! Each attempt is first reserved in this server's [`Throttle`] (its familiar networks choose
//! the account's bucket, and its attempts in flight count; a network the database remembers as
//! familiar, from a success on any server, is learnt first), then in the database, in one
//! transaction per attempt ([`keyward_store::Cluster::begin_attempt`]): there it counts as a
//! failure from the start, and a bucket it brings to its free failures is locked at once. So the
//! same limits hold for guesses spread over every server as for guesses sent to one, attempts in
//! flight on any server included. A success clears the account's bucket in both places; an
//! attempt that proves nothing is taken back from both. An attempt abandoned midway (its client
//! gone, its server killed) stays a failure, as in memory.
//!
//! On SQLite, which one server owns, only the memory counts.

use std::time::{Duration, Instant};

use keyward_store::{AttemptBucket, AttemptLimits, Cluster};

use super::{Attempt, Reservation, Throttle, ThrottlePolicy};
use crate::error::Error;

/// Why an attempt may not start.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The account (for the attempt's source) or the address is locked, or attempts in flight
    /// take up its free attempts: try again after this long.
    Throttled(Duration),
    /// The shared count could not be read or written.
    Server(Error),
}

/// A sign-in attempt begun in this server's throttle and, when the database is shared, in the
/// database's count. A failure unless resolved otherwise, also when dropped unresolved.
#[derive(Debug)]
#[must_use = "an attempt dropped unresolved counts as a failure"]
pub(crate) struct Attempting<'a> {
    local: Reservation<'a>,
    shared: Option<(Cluster, Vec<AttemptBucket>)>,
}

/// Begins `attempt`: in `throttle`, then in `cluster`'s count when there is one.
pub(crate) async fn begin<'a>(
    throttle: &'a Throttle,
    cluster: Option<&Cluster>,
    attempt: &Attempt,
) -> Result<Attempting<'a>, Refused> {
    let Some(cluster) = cluster else {
        let local = throttle.begin(attempt, Instant::now()).map_err(Refused::Throttled)?;
        return Ok(Attempting { local, shared: None });
    };
    learn_familiar_source(throttle, cluster, attempt).await;
    let local = throttle.begin(attempt, Instant::now()).map_err(Refused::Throttled)?;
    let buckets = local.buckets();
    match cluster.begin_attempt(&buckets, limits(&throttle.policy)).await {
        Ok(None) => Ok(Attempting {
            local,
            shared: Some((cluster.clone(), buckets)),
        }),
        Ok(Some(wait)) => {
            local.release();
            Err(Refused::Throttled(wait))
        }
        Err(e) => {
            local.release();
            Err(Refused::Server(e.into()))
        }
    }
}

/// Learns from the database whether the attempt's network is familiar to its account (a
/// success from there on any server), unless this server knows it already. Unread, it stays
/// unfamiliar: the stricter bucket.
async fn learn_familiar_source(throttle: &Throttle, cluster: &Cluster, attempt: &Attempt) {
    let Some((account, source)) = attempt.shared_source() else {
        return;
    };
    let now = Instant::now();
    if throttle.knows_source(attempt, now) {
        return;
    }
    match cluster
        .familiar_source(&account, &source, throttle.policy.familiar_for)
        .await
    {
        Ok(Some(age)) => throttle.learn_source(attempt, now.checked_sub(age).unwrap_or(now)),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "the shared familiar networks could not be read"),
    }
}

fn limits(policy: &ThrottlePolicy) -> AttemptLimits {
    AttemptLimits {
        lockout: policy.lockout,
        max_lockout: policy.max_lockout,
        forget_after: policy.forget_after,
    }
}

impl Attempting<'_> {
    /// The password was wrong (or the account unknown): a failure (already counted in the
    /// database).
    pub(crate) fn failed(self) {
        self.local.failed();
    }

    /// The password was right: the account's bucket for this source starts afresh, here and in
    /// the database, and its network becomes familiar to the account on every server.
    pub(crate) async fn succeeded(self) {
        if let Some((cluster, _)) = &self.shared {
            if let Some(bucket) = self.local.account_bucket()
                && let Err(e) = cluster.clear_attempts(&bucket).await
            {
                tracing::warn!(error = %e, "clearing the shared sign-in failures of an account failed");
            }
            if let Some((account, source)) = self.local.shared_source()
                && let Err(e) = cluster
                    .remember_familiar_source(&account, &source, self.local.policy().familiar_per_account)
                    .await
            {
                tracing::warn!(error = %e, "the network of a successful sign-in could not be shared");
            }
        }
        self.local.succeeded();
    }

    /// The attempt proved nothing either way: taken back here and in the database.
    pub(crate) async fn release(self) {
        if let Some((cluster, buckets)) = &self.shared
            && let Err(e) = cluster.release_attempt(buckets).await
        {
            tracing::warn!(error = %e, "taking back a shared sign-in attempt failed; it counts as a failure");
        }
        self.local.release();
    }
}
