//! The in-memory token cache: one slot per (authority, client, scopes), read without waiting,
//! refreshed by one caller at a time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::token::AccessToken;

/// A cache key: the authority URL, the client id and the normalised scopes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey(String);

impl CacheKey {
    /// `prefix` identifies the authority and client (`"{authority}|{client_id}|"`).
    pub(crate) fn new(prefix: &str, scopes: &[&str]) -> Self {
        let mut key = String::with_capacity(prefix.len() + scopes.iter().map(|s| s.len() + 1).sum::<usize>());
        key.push_str(prefix);
        if let [scope] = scopes {
            // The common case, without sorting.
            key.push_str(&scope.trim().to_ascii_lowercase());
            return Self(key);
        }
        let mut normalised: Vec<String> = scopes.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
        normalised.sort();
        normalised.dedup();
        key.push_str(&normalised.join(" "));
        Self(key)
    }
}

/// One cached token and the lock that lets only one caller fetch a new one.
#[derive(Default)]
pub(crate) struct Slot {
    pub token: Mutex<Option<AccessToken>>,
    pub refresh: tokio::sync::Mutex<()>,
}

impl Slot {
    pub(crate) fn current(&self) -> Option<AccessToken> {
        match self.token.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn store(&self, token: AccessToken) {
        match self.token.lock() {
            Ok(mut guard) => *guard = Some(token),
            Err(poisoned) => *poisoned.into_inner() = Some(token),
        }
    }
}

/// All slots.
#[derive(Default)]
pub(crate) struct TokenCache {
    slots: RwLock<HashMap<CacheKey, Arc<Slot>>>,
}

impl TokenCache {
    pub(crate) fn slot(&self, key: &CacheKey) -> Arc<Slot> {
        if let Some(slot) = self.slots.read().ok().and_then(|s| s.get(key).cloned()) {
            return slot;
        }
        let mut slots = match self.slots.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(slots.entry(key.clone()).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_normalised_in_the_key() {
        let a = CacheKey::new("https://x/t|c|", &["api://B/.default", "api://a/.default"]);
        let b = CacheKey::new(
            "https://x/t|c|",
            &["api://a/.default", " api://b/.default", "api://a/.default"],
        );
        assert_eq!(a, b);
        let one = CacheKey::new("https://x/t|c|", &[" API://a/.default"]);
        assert_eq!(
            one,
            CacheKey::new("https://x/t|c|", &["api://a/.default", "api://A/.default"])
        );
        assert_ne!(
            a,
            CacheKey::new("https://x/t|other|", &["api://a/.default", "api://b/.default"])
        );
    }
}
