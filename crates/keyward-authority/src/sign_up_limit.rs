//! How many sign-ups one client address may make in a window, successful ones included: each
//! sign-up creates an account or sends an email, and neither should be free to repeat without
//! end. Apart from the failed sign-in throttle ([`crate::throttle`]); IPv6 addresses count by
//! their /64, as there.
//!
//! One server (SQLite) counts in memory, over a sliding window. Servers sharing one PostgreSQL
//! database count in its attempt buckets ([`keyward_store::Cluster::begin_attempt`]), so that N
//! servers allow what one does: there the sign-up that reaches the limit locks the address for a
//! whole window, and the count starts afresh after a window without sign-ups (a little stricter
//! than the sliding window).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keyward_store::{AttemptBucket, AttemptLimits, Cluster};

use crate::error::Error;

/// The limit on sign-ups per address.
#[derive(Debug, Clone)]
pub struct SignUpLimitPolicy {
    /// Sign-ups one address may make within `window`.
    pub per_address: u32,
    /// The window.
    pub window: Duration,
    /// The most addresses remembered; past it, those with nothing in the window are dropped.
    pub max_entries: usize,
}

impl Default for SignUpLimitPolicy {
    fn default() -> Self {
        Self {
            per_address: 10,
            window: Duration::from_secs(3600),
            max_entries: 100_000,
        }
    }
}

/// The sign-ups each address made lately.
#[derive(Debug, Default)]
pub struct SignUpLimit {
    policy: SignUpLimitPolicy,
    recent: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl SignUpLimit {
    /// A limit with this policy.
    pub fn new(policy: SignUpLimitPolicy) -> Self {
        Self {
            policy,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a sign-up from `address` at `now`, or `Err(wait)` when the address has made its
    /// share within the window (then nothing is counted). Without an address, nothing to count.
    pub fn take(&self, address: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let Some(address) = address.map(key) else {
            return Ok(());
        };
        let window = self.policy.window;
        let mut recent = match self.recent.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if recent.len() >= self.policy.max_entries {
            recent.retain(|_, times| times.back().is_some_and(|last| now.duration_since(*last) < window));
        }
        let times = recent.entry(address).or_default();
        while times.front().is_some_and(|first| now.duration_since(*first) >= window) {
            times.pop_front();
        }
        if times.len() >= self.policy.per_address as usize {
            let first = times.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.duration_since(first)));
        }
        times.push_back(now);
        Ok(())
    }

    /// Counts a sign-up from `address` as [`SignUpLimit::take`] does, in `cluster`'s shared count
    /// when the database is shared: `Ok(Err(wait))` when the address has made its share.
    pub(crate) async fn take_shared(
        &self,
        cluster: Option<&Cluster>,
        address: Option<IpAddr>,
    ) -> Result<Result<(), Duration>, Error> {
        let (Some(cluster), Some(address)) = (cluster, address) else {
            return Ok(self.take(address, Instant::now()));
        };
        let bucket = AttemptBucket {
            name: format!("sign-up/{}", key(address)),
            free: self.policy.per_address,
        };
        let window = self.policy.window;
        let limits = AttemptLimits {
            lockout: window,
            max_lockout: window,
            forget_after: window,
        };
        match cluster.begin_attempt(&[bucket], limits).await? {
            None => Ok(Ok(())),
            Some(wait) => Ok(Err(wait)),
        }
    }
}

/// The address counted: IPv6 by its /64, IPv4-mapped IPv6 as IPv4.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::from(octets)
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_per_hour_then_refused_until_the_first_leaves_the_window() {
        let limit = SignUpLimit::new(SignUpLimitPolicy::default());
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let start = Instant::now();
        for i in 0..10 {
            limit.take(Some(ip), start + Duration::from_secs(i)).unwrap();
        }
        let wait = limit.take(Some(ip), start + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(3590));
        // Others are not held back, nor callers without an address.
        limit.take(Some("203.0.113.6".parse().unwrap()), start).unwrap();
        limit.take(None, start).unwrap();
        // The same /64 is the same client.
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        for _ in 0..10 {
            limit.take(Some(a), start).unwrap();
        }
        assert!(limit.take(Some(b), start).is_err());
        // An hour after the first, one more.
        limit.take(Some(ip), start + Duration::from_secs(3600)).unwrap();
        assert!(limit.take(Some(ip), start + Duration::from_secs(3600)).is_err());
    }

    #[test]
    fn memory_is_bounded() {
        let limit = SignUpLimit::new(SignUpLimitPolicy {
            max_entries: 10,
            ..SignUpLimitPolicy::default()
        });
        let start = Instant::now();
        let later = start + Duration::from_secs(7200);
        for i in 0..10u8 {
            limit.take(Some(IpAddr::from([10, 0, 0, i])), start).unwrap();
        }
        limit.take(Some(IpAddr::from([10, 0, 1, 0])), later).unwrap();
        assert_eq!(limit.recent.lock().unwrap().len(), 1);
    }
}
