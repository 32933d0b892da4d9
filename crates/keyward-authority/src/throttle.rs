//! Throttling of failed sign-ins, per account and per client address, in memory.
//!
//! An account (a tenant and an email, whether or not such a user exists, so that the answer
//! reveals nothing) gets a few free failures; after that it is locked for a time that doubles
//! with each further failure. A client address gets more free failures (many people may share
//! one), then the same. While locked, attempts are refused before any password is checked, so
//! even the right password does not get in.
//!
//! # Smart lockout: the attacker is locked, not the user
//!
//! An account's failures are not counted in one bucket but per source, as Entra's smart lockout
//! does, so that an attacker's guesses cannot lock the account's owner out:
//!
//! - **Familiar** sources: the networks (an IPv4 address's /24, an IPv6 address's /64) from
//!   which the account signed in successfully — with the right password — in the last
//!   [`ThrottlePolicy::familiar_for`] (30 days). Each has a bucket of its own with the
//!   account's free failures ([`ThrottlePolicy::account_failures`]) and the same doubling lock.
//! - **Unfamiliar**: every other address, and attempts whose address is unknown, share one
//!   bucket per account, with the same limits. One bucket, not one per address: guesses from a
//!   thousand addresses are limited as guesses from one.
//!
//! So an attacker who does not know the password, guessing from anywhere but the owner's
//! networks, locks the unfamiliar bucket; the owner signing in from home or the office is not
//! refused. The owner from a new network while the attack goes on is refused like the attacker
//! (that network is unfamiliar), as in Entra. A success clears the bucket it came through only
//! (the owner signing in at home gives an attacker's bucket no fresh attempts) and makes its
//! network familiar.
//!
//! What a distributed attacker can and cannot do: they get the unfamiliar bucket's few attempts
//! per lock, however many addresses they have, plus — only from inside one of the owner's
//! familiar networks (the same office NAT, the same /24) — that network's own few attempts, which
//! also lock the owner out *there*. They cannot make a network familiar without the password.
//! At most [`ThrottlePolicy::familiar_per_account`] networks are familiar per account, so the
//! guesses per lock period are bounded by `account_failures × (familiar networks + 1)`, besides
//! each address's own limit. Someone with many accounts of their own, signing in successfully
//! from many networks, can push other accounts out of the bounded memory
//! ([`ThrottlePolicy::max_familiar_accounts`]); those accounts then have one bucket, as before
//! smart lockout.
//!
//! On SQLite the memory of familiar networks is the server's and lost on restart (every source
//! is unfamiliar until its next success). Servers sharing one PostgreSQL database share both
//! ([`shared`]): a success on any server makes its network familiar to all (and across
//! restarts), and each bucket's failures are counted there as well, so that N servers do not
//! allow N times the guesses. The client address is the TCP peer, or,
//! behind proxies the server is told to trust, the address they forward
//! ([`crate::forwarded`]).
//!
//! # Counted before the password is checked
//!
//! An attempt counts when it starts, not when its password check ends: [`Throttle::begin`]
//! reserves it, atomically with the check (and with the choice of its bucket), and the
//! [`Reservation`] it returns is a failure unless the caller says otherwise — also when it is
//! dropped unresolved, as happens when the client goes away mid-request. Attempts in flight take
//! up the free attempts that remain, so guesses sent all at once get no more checks than guesses
//! sent one after another.

mod familiar;
pub(crate) mod shared;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use familiar::{Account, Familiar};

/// Limits of the throttle.
#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    /// Failures an account may have from one source (a familiar network, or all unfamiliar
    /// addresses together) before it is locked for that source.
    pub account_failures: u32,
    /// Failures a client address may have before it is locked.
    pub address_failures: u32,
    /// The first lockout; each further failure doubles it.
    pub lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
    /// Failures older than this (and not locked) are forgotten.
    pub forget_after: Duration,
    /// The most entries kept; past it, forgettable entries are dropped first.
    pub max_entries: usize,
    /// How long a network stays familiar to an account after its last successful sign-in there.
    pub familiar_for: Duration,
    /// The most familiar networks remembered per account (the least recently used goes).
    pub familiar_per_account: usize,
    /// The most accounts whose familiar networks are remembered.
    pub max_familiar_accounts: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            account_failures: 5,
            address_failures: 20,
            lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(3600),
            forget_after: Duration::from_secs(3600),
            max_entries: 100_000,
            familiar_for: Duration::from_secs(30 * 24 * 3600),
            familiar_per_account: 8,
            max_familiar_accounts: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// An account's failures from one source.
    Account(Uuid, String, Source),
    Address(IpAddr),
}

impl Key {
    /// The bucket's name in a shared store: `account/{tenant}/{network or *}/{email}` or
    /// `address/{ip}` (the email last, so that names of different buckets never collide).
    fn bucket_name(&self) -> String {
        match self {
            Key::Account(tenant, email, Source::Familiar(network)) => format!("account/{tenant}/{network}/{email}"),
            Key::Account(tenant, email, Source::Unfamiliar) => format!("account/{tenant}/*/{email}"),
            Key::Address(ip) => format!("address/{ip}"),
        }
    }
}

/// Where an account's attempt comes from, as far as its failures are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    /// A network the account signed in from (see [`familiar::source_of`]).
    Familiar(IpAddr),
    /// Anywhere else.
    Unfamiliar,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// Attempts begun and not yet resolved.
    pending: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

/// The in-memory record of failed sign-ins.
#[derive(Debug, Default)]
pub struct Throttle {
    policy: ThrottlePolicy,
    entries: Mutex<HashMap<Key, Entry>>,
    /// Always taken after `entries`, never before.
    familiar: Mutex<Familiar>,
}

/// The subjects of one sign-in attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    account: Option<Account>,
    address: Option<Key>,
}

/// The buckets one attempt counts in: its account's for its source, and its address's.
#[derive(Debug, Clone)]
struct Keys {
    account: Option<Key>,
    address: Option<Key>,
}

impl Keys {
    fn iter(&self) -> impl Iterator<Item = &Key> {
        self.account.iter().chain(self.address.as_ref())
    }
}

impl Attempt {
    /// An attempt on `email` of a tenant, from `address` when known. IPv6 addresses count by
    /// their /64, what one client usually holds.
    pub fn new(tenant_id: Uuid, email: &str, address: Option<IpAddr>) -> Self {
        Self {
            account: Some((tenant_id, email.trim().to_lowercase())),
            address: Self::address_key(address),
        }
    }

    /// An attempt counted against the address only (a sign-up naming a taken email).
    pub fn from_address(address: Option<IpAddr>) -> Self {
        Self {
            account: None,
            address: Self::address_key(address),
        }
    }

    fn address_key(address: Option<IpAddr>) -> Option<Key> {
        let address = address.map(|ip| match ip {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::from(octets)
            }
            IpAddr::V6(v6) => IpAddr::V4(v6.to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)),
            v4 => v4,
        });
        address.map(Key::Address)
    }

    /// The network of the attempt's address, which may be familiar to the account.
    fn source(&self) -> Option<IpAddr> {
        match self.address {
            Some(Key::Address(ip)) => Some(familiar::source_of(ip)),
            _ => None,
        }
    }

    /// The account (`{tenant}/{email}`) and the network, as a store shared with other servers
    /// names them ([`shared`]), when the attempt has both.
    fn shared_source(&self) -> Option<(String, String)> {
        let (tenant, email) = self.account.as_ref()?;
        Some((format!("{tenant}/{email}"), self.source()?.to_string()))
    }
}

impl Throttle {
    /// A throttle with these limits.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
            familiar: Mutex::new(Familiar::default()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn familiar(&self) -> std::sync::MutexGuard<'_, Familiar> {
        match self.familiar.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The buckets of `attempt` now: its account's for a familiar network or the unfamiliar
    /// one. Called with `entries` held, so that the choice and the count are one step.
    fn keys(&self, attempt: &Attempt, now: Instant) -> Keys {
        let account = attempt.account.as_ref().map(|account| {
            let source = match attempt.source() {
                Some(network) if self.familiar().knows(&self.policy, account, network, now) => {
                    Source::Familiar(network)
                }
                _ => Source::Unfamiliar,
            };
            Key::Account(account.0, account.1.clone(), source)
        });
        Keys {
            account,
            address: attempt.address.clone(),
        }
    }

    /// Whether the attempt's network is familiar to its account in this server's memory.
    fn knows_source(&self, attempt: &Attempt, now: Instant) -> bool {
        match (&attempt.account, attempt.source()) {
            (Some(account), Some(network)) => self.familiar().knows(&self.policy, account, network, now),
            _ => false,
        }
    }

    /// Learns that the attempt's account signed in from its network at `last` (told by the
    /// servers' shared store: the sign-in may have been another server's).
    fn learn_source(&self, attempt: &Attempt, last: Instant) {
        if let (Some(account), Some(network)) = (&attempt.account, attempt.source()) {
            self.familiar().remember(&self.policy, account, network, last);
        }
    }

    /// `Err(wait)` while the account (for the attempt's source) or the address is locked.
    pub fn check(&self, attempt: &Attempt, now: Instant) -> Result<(), Duration> {
        let entries = self.entries();
        let keys = self.keys(attempt, now);
        let wait = keys
            .iter()
            .filter_map(|key| entries.get(key)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Starts an attempt: `Err(wait)` while the account (for the attempt's source) or the
    /// address is locked, or while attempts already in flight take up all its remaining free
    /// attempts (once a lock has passed, one may be in flight); otherwise the attempt is
    /// reserved, atomically with the check, and counts against both until its [`Reservation`]
    /// is resolved.
    pub fn begin(&self, attempt: &Attempt, now: Instant) -> Result<Reservation<'_>, Duration> {
        let mut entries = self.entries();
        let keys = self.keys(attempt, now);
        let mut wait = None;
        for key in keys.iter() {
            let Some(entry) = entries.get(key) else {
                continue;
            };
            if let Some(until) = entry.locked_until.filter(|until| *until > now) {
                wait = wait.max(Some(until - now));
            } else if entry.pending >= self.free(key).saturating_sub(self.failures(entry, now)).max(1) {
                // The attempts in flight may all fail; then a lock follows.
                wait = wait.max(Some(self.policy.lockout));
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        if entries.len() >= self.policy.max_entries {
            self.prune(&mut entries, now);
        }
        for key in keys.iter() {
            let entry = entries.entry(key.clone()).or_insert(Entry::new(now));
            entry.pending = entry.pending.saturating_add(1);
        }
        Ok(Reservation {
            throttle: self,
            attempt: Some((attempt.clone(), keys)),
        })
    }

    /// Counts a failed attempt against the account (for the attempt's source) and the address.
    pub fn failure(&self, attempt: &Attempt, now: Instant) {
        let mut entries = self.entries();
        let keys = self.keys(attempt, now);
        self.count_failure(&mut entries, &keys, now);
    }

    /// Clears the account's failures from the attempt's source after a successful sign-in, and
    /// makes its network familiar to the account (the address keeps its count: one right
    /// password does not excuse a spray across accounts).
    pub fn success(&self, attempt: &Attempt) {
        let now = Instant::now();
        let mut entries = self.entries();
        let keys = self.keys(attempt, now);
        self.succeed(&mut entries, attempt, &keys, now);
    }

    fn free(&self, key: &Key) -> u32 {
        match key {
            Key::Account(..) => self.policy.account_failures,
            Key::Address(_) => self.policy.address_failures,
        }
    }

    /// The failures an entry still counts: none once they are forgotten (and not locked).
    fn failures(&self, entry: &Entry, now: Instant) -> u32 {
        if now.duration_since(entry.last) > self.policy.forget_after
            && entry.locked_until.is_none_or(|until| until <= now)
        {
            0
        } else {
            entry.failures
        }
    }

    fn count_failure(&self, entries: &mut HashMap<Key, Entry>, keys: &Keys, now: Instant) {
        if entries.len() >= self.policy.max_entries {
            self.prune(entries, now);
        }
        for key in keys.iter() {
            let free = self.free(key);
            let entry = entries.entry(key.clone()).or_insert(Entry::new(now));
            entry.failures = self.failures(entry, now).saturating_add(1);
            entry.last = now;
            if entry.failures >= free {
                let doublings = (entry.failures - free).min(16);
                let lockout = self
                    .policy
                    .lockout
                    .saturating_mul(1 << doublings)
                    .min(self.policy.max_lockout);
                entry.locked_until = Some(now + lockout);
            }
        }
    }

    /// A success: the bucket it came through is cleared and its network becomes familiar.
    fn succeed(&self, entries: &mut HashMap<Key, Entry>, attempt: &Attempt, keys: &Keys, now: Instant) {
        if let (Some(account), Some(network)) = (&attempt.account, attempt.source()) {
            self.familiar().remember(&self.policy, account, network, now);
        }
        let Some(account) = &keys.account else {
            return;
        };
        match entries.get_mut(account) {
            // Others' attempts still in flight keep their place.
            Some(entry) if entry.pending > 0 => {
                entry.failures = 0;
                entry.locked_until = None;
            }
            _ => {
                entries.remove(account);
            }
        }
    }

    /// Resolves a reserved attempt in the same step as it stops being in flight, so that no
    /// other attempt can find it in between, neither in flight nor counted. It resolves in the
    /// buckets it was reserved in, even if its network became familiar meanwhile.
    fn resolve(&self, attempt: &Attempt, keys: &Keys, outcome: Outcome, now: Instant) {
        let mut entries = self.entries();
        for key in keys.iter() {
            if let Some(entry) = entries.get_mut(key) {
                entry.pending = entry.pending.saturating_sub(1);
            }
        }
        match outcome {
            Outcome::Failed => self.count_failure(&mut entries, keys, now),
            Outcome::Succeeded => self.succeed(&mut entries, attempt, keys, now),
            Outcome::Released => {}
        }
        for key in keys.iter() {
            if entries
                .get(key)
                .is_some_and(|e| e.pending == 0 && e.failures == 0 && e.locked_until.is_none())
            {
                entries.remove(key);
            }
        }
    }

    fn prune(&self, entries: &mut HashMap<Key, Entry>, now: Instant) {
        let forget = self.policy.forget_after;
        entries.retain(|_, e| {
            e.pending > 0 || e.locked_until.is_some_and(|until| until > now) || now.duration_since(e.last) < forget
        });
        if entries.len() >= self.policy.max_entries {
            // Under a flood of distinct names: keep only the locked and those in flight.
            entries.retain(|_, e| e.pending > 0 || e.locked_until.is_some_and(|until| until > now));
        }
    }
}

impl Entry {
    fn new(now: Instant) -> Self {
        Self {
            failures: 0,
            pending: 0,
            locked_until: None,
            last: now,
        }
    }
}

/// An attempt begun with [`Throttle::begin`] and not yet resolved. It is a failure unless
/// resolved otherwise: dropping it unresolved (a request its client cancelled) counts it as one.
#[derive(Debug)]
#[must_use = "an attempt dropped unresolved counts as a failure"]
pub struct Reservation<'a> {
    throttle: &'a Throttle,
    attempt: Option<(Attempt, Keys)>,
}

impl Reservation<'_> {
    /// The buckets the attempt counts in, named for a store shared with other servers
    /// ([`shared`]): its account's for its source, and its address's.
    pub(crate) fn buckets(&self) -> Vec<keyward_store::AttemptBucket> {
        let Some((_, keys)) = &self.attempt else {
            return Vec::new();
        };
        keys.iter()
            .map(|key| keyward_store::AttemptBucket {
                name: key.bucket_name(),
                free: self.throttle.free(key),
            })
            .collect()
    }

    /// The attempt's account and network as a shared store names them ([`Attempt::shared_source`]).
    pub(crate) fn shared_source(&self) -> Option<(String, String)> {
        self.attempt.as_ref()?.0.shared_source()
    }

    /// The limits of the throttle it was reserved in.
    pub(crate) fn policy(&self) -> &ThrottlePolicy {
        &self.throttle.policy
    }

    /// The name of the account's bucket the attempt counts in, if it names an account.
    pub(crate) fn account_bucket(&self) -> Option<String> {
        let (_, keys) = self.attempt.as_ref()?;
        keys.account.as_ref().map(Key::bucket_name)
    }

    /// The password was wrong (or the account unknown): a failure.
    pub fn failed(mut self) {
        self.resolve(Outcome::Failed);
    }

    /// The password was right: the account's failures from this source are cleared and its
    /// network becomes familiar (the address keeps its count, as with [`Throttle::success`]).
    pub fn succeeded(mut self) {
        self.resolve(Outcome::Succeeded);
    }

    /// The attempt proved nothing either way (the password could not be checked, or it was
    /// right for a disabled account): neither a failure nor a success.
    pub fn release(mut self) {
        self.resolve(Outcome::Released);
    }

    fn resolve(&mut self, outcome: Outcome) {
        if let Some((attempt, keys)) = self.attempt.take() {
            self.throttle.resolve(&attempt, &keys, outcome, Instant::now());
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.resolve(Outcome::Failed);
    }
}

/// How a reserved attempt ended.
enum Outcome {
    Failed,
    Succeeded,
    Released,
}

#[cfg(test)]
mod smart_lockout_tests;

#[cfg(test)]
mod tests;
