//! The sources each account signed in from: the memory that tells a familiar source (the
//! account's own) from an unfamiliar one (everyone else, an attacker among them).
//!
//! A source is an address's network: its /24 for IPv4 (a home or office router that renumbers
//! stays familiar), its /64 for IPv6 (what one client usually holds). Only a successful sign-in
//! — the right password — makes a source familiar, so an attacker who does not know the password
//! cannot add one. Bounded: a few sources per account (the least recently used is replaced),
//! a source is forgotten [`ThrottlePolicy::familiar_for`] after its last success, and at most
//! [`ThrottlePolicy::max_familiar_accounts`] accounts are remembered (past it, forgotten ones
//! go first, then the longest unseen tenth).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use uuid::Uuid;

use super::ThrottlePolicy;

/// An account: its tenant and its email, lower case.
pub(super) type Account = (Uuid, String);

/// The familiar sources of accounts, in memory.
#[derive(Debug, Default)]
pub(super) struct Familiar {
    accounts: HashMap<Account, Vec<Seen>>,
}

/// A source and the last successful sign-in from it.
#[derive(Debug, Clone, Copy)]
struct Seen {
    source: IpAddr,
    last: Instant,
}

/// The source an address belongs to: its /24 (IPv4) or /64 (IPv6). The throttle's address keys
/// are already /64 for IPv6 and plain IPv4 for IPv4-mapped ones.
pub(super) fn source_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
    }
}

impl Familiar {
    /// Whether `source` is one the account signed in from within the remembered time.
    pub(super) fn knows(&self, policy: &ThrottlePolicy, account: &Account, source: IpAddr, now: Instant) -> bool {
        self.accounts.get(account).is_some_and(|seen| {
            seen.iter()
                .any(|s| s.source == source && now.saturating_duration_since(s.last) < policy.familiar_for)
        })
    }

    /// Remembers a successful sign-in of the account from `source`.
    pub(super) fn remember(&mut self, policy: &ThrottlePolicy, account: &Account, source: IpAddr, now: Instant) {
        if policy.familiar_per_account == 0 || policy.max_familiar_accounts == 0 {
            return;
        }
        if !self.accounts.contains_key(account) && self.accounts.len() >= policy.max_familiar_accounts {
            self.prune(policy, now);
        }
        let seen = self.accounts.entry(account.clone()).or_default();
        seen.retain(|s| now.saturating_duration_since(s.last) < policy.familiar_for);
        if let Some(known) = seen.iter_mut().find(|s| s.source == source) {
            known.last = known.last.max(now);
            return;
        }
        if seen.len() >= policy.familiar_per_account
            && let Some(oldest) = seen.iter().enumerate().min_by_key(|(_, s)| s.last).map(|(i, _)| i)
        {
            seen.swap_remove(oldest);
        }
        seen.push(Seen { source, last: now });
    }

    /// How many accounts are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.accounts.len()
    }

    fn prune(&mut self, policy: &ThrottlePolicy, now: Instant) {
        let remembered = |s: &Seen| now.saturating_duration_since(s.last) < policy.familiar_for;
        self.accounts.retain(|_, seen| seen.iter().any(remembered));
        if self.accounts.len() < policy.max_familiar_accounts {
            return;
        }
        // Still full of live accounts: the longest unseen tenth goes.
        let mut lasts: Vec<Instant> = self
            .accounts
            .values()
            .filter_map(|seen| seen.iter().map(|s| s.last).max())
            .collect();
        let cut = (lasts.len() / 10).max(1).min(lasts.len().saturating_sub(1));
        let (_, threshold, _) = lasts.select_nth_unstable(cut);
        let threshold = *threshold;
        self.accounts
            .retain(|_, seen| seen.iter().map(|s| s.last).max().is_some_and(|last| last >= threshold));
        while self.accounts.len() >= policy.max_familiar_accounts {
            // Many accounts seen at the same instant: any one of them.
            let Some(any) = self.accounts.keys().next().cloned() else {
                break;
            };
            self.accounts.remove(&any);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            familiar_per_account: 2,
            max_familiar_accounts: 10,
            ..ThrottlePolicy::default()
        }
    }

    #[test]
    fn sources_are_slash_24_and_slash_64() {
        assert_eq!(
            source_of("192.0.2.77".parse().unwrap()),
            "192.0.2.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            source_of("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn sources_are_bounded_per_account_and_forgotten_in_time() {
        let policy = policy();
        let mut familiar = Familiar::default();
        let ann: Account = (Uuid::new_v4(), "ann@example.com".into());
        let now = Instant::now();
        let [a, b, c]: [IpAddr; 3] = ["192.0.2.0", "198.51.100.0", "203.0.113.0"].map(|s| s.parse().unwrap());
        familiar.remember(&policy, &ann, a, now);
        familiar.remember(&policy, &ann, b, now + Duration::from_secs(1));
        assert!(familiar.knows(&policy, &ann, a, now));
        familiar.remember(&policy, &ann, c, now + Duration::from_secs(2));
        assert!(!familiar.knows(&policy, &ann, a, now), "the least recently used went");
        assert!(familiar.knows(&policy, &ann, b, now) && familiar.knows(&policy, &ann, c, now));
        let later = now + policy.familiar_for + Duration::from_secs(3);
        assert!(!familiar.knows(&policy, &ann, c, later));
        let bob: Account = (ann.0, "bob@example.com".into());
        assert!(
            !familiar.knows(&policy, &bob, b, now),
            "another account's source is not bob's"
        );
    }

    #[test]
    fn accounts_are_bounded() {
        let policy = policy();
        let mut familiar = Familiar::default();
        let tenant = Uuid::new_v4();
        let start = Instant::now();
        let source: IpAddr = "192.0.2.0".parse().unwrap();
        for i in 0..100u64 {
            let account = (tenant, format!("user{i}@example.com"));
            familiar.remember(&policy, &account, source, start + Duration::from_secs(i));
            assert!(familiar.len() <= 10);
        }
        let newest = (tenant, "user99@example.com".to_owned());
        assert!(familiar.knows(&policy, &newest, source, start + Duration::from_secs(99)));
    }
}
