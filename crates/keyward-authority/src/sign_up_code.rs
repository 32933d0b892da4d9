//! The one-time code that proves a person signing up reads mail at the address they gave.
//!
//! The account does not exist until the code is entered: until then, what the form sent (the
//! email, the display name, the password already hashed) and the code travel sealed under the
//! master key in the "enter the code" page ([`PendingSignUp::seal`]), as the authorization
//! request does. The code is 8 random digits from aws-lc-rs, good for [`CODE_LIFETIME_SECONDS`],
//! compared in constant time. What a sealed page cannot hold — how many wrong codes were tried,
//! whether the code was used — is kept in memory by the server that checks it ([`CodeAttempts`],
//! keyed by the pending sign-up's random id): [`MAX_CODE_ATTEMPTS`] wrong codes end the sign-up,
//! and a code creates one account at most. Servers sharing one PostgreSQL database also count
//! every code tried in its attempt buckets ([`shared_bucket`]) before checking it, so that the
//! limit holds across servers (the "tries left" a server shows counts its own); that one
//! account at most is created holds there through the database's unique email.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::constant_time;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_pki::sealing::MasterKey;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;

/// How long a code may be used, in seconds: 10 minutes.
pub const CODE_LIFETIME_SECONDS: i64 = 600;
/// Wrong codes tried before the sign-up must start over.
pub const MAX_CODE_ATTEMPTS: u32 = 5;
/// Digits in a code.
pub const CODE_DIGITS: usize = 8;
/// Pending sign-ups remembered at once by one server.
const MAX_TRACKED: usize = 100_000;

/// How servers sharing a database count a pending sign-up's wrong codes: the bucket locks at
/// [`MAX_CODE_ATTEMPTS`] for longer than the code lives.
pub(crate) const SHARED_LIMITS: keyward_store::AttemptLimits = keyward_store::AttemptLimits {
    lockout: Duration::from_secs(CODE_LIFETIME_SECONDS.unsigned_abs() + 120),
    max_lockout: Duration::from_secs(CODE_LIFETIME_SECONDS.unsigned_abs() + 120),
    forget_after: Duration::from_secs(CODE_LIFETIME_SECONDS.unsigned_abs() + 120),
};

/// The shared bucket of `pending`'s code tries, named by its random id.
pub(crate) fn shared_bucket(pending: &PendingSignUp) -> keyward_store::AttemptBucket {
    keyward_store::AttemptBucket {
        name: format!("sign-up-code/{}", pending.id),
        free: MAX_CODE_ATTEMPTS,
    }
}

/// A sign-up waiting for its code.
#[derive(Serialize, Deserialize)]
pub struct PendingSignUp {
    /// A random id: the key of its attempts.
    pub id: String,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The email, normalised.
    pub email: String,
    /// The display name, checked.
    pub display_name: String,
    /// The password's argon2id hash.
    pub password_hash: String,
    /// The code sent.
    code: String,
    /// When the code was sent (Unix seconds).
    pub issued: i64,
}

impl Drop for PendingSignUp {
    fn drop(&mut self) {
        self.code.zeroize();
        self.password_hash.zeroize();
    }
}

impl std::fmt::Debug for PendingSignUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignUp")
            .field("id", &self.id)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

fn seal_owner(tenant_id: Uuid) -> String {
    format!("keyward/sign-up/v1/{tenant_id}")
}

/// A new random code of [`CODE_DIGITS`] digits.
pub fn new_code() -> Result<Zeroizing<String>, Error> {
    let mut code = Zeroizing::new(String::with_capacity(CODE_DIGITS));
    while code.len() < CODE_DIGITS {
        let mut byte = [0u8; 1];
        aws_lc_rs::rand::fill(&mut byte).map_err(|_| Error::NoRandomness)?;
        // 250 = 25 * 10: rejection keeps every digit equally likely.
        if byte[0] < 250 {
            code.push(char::from(b'0' + byte[0] % 10));
        }
    }
    Ok(code)
}

impl PendingSignUp {
    /// A pending sign-up with a fresh id, waiting for `code`.
    pub fn new(
        tenant_id: Uuid,
        email: String,
        display_name: String,
        password_hash: String,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<Self, Error> {
        let mut id = [0u8; 16];
        aws_lc_rs::rand::fill(&mut id).map_err(|_| Error::NoRandomness)?;
        Ok(Self {
            id: URL_SAFE_NO_PAD.encode(id),
            tenant_id,
            email,
            display_name,
            password_hash,
            code: code.to_owned(),
            issued: now.unix_timestamp(),
        })
    }

    /// Sealed for a hidden form field: base64url of AES-256-GCM under the master key, bound
    /// to the tenant.
    pub fn seal(&self, master: &MasterKey) -> Result<String, Error> {
        let json = Zeroizing::new(serde_json::to_vec(self).map_err(|e| Error::Encoding {
            what: "a pending sign-up",
            reason: e.to_string(),
        })?);
        Ok(URL_SAFE_NO_PAD.encode(master.seal(&seal_owner(self.tenant_id), &json)?))
    }

    /// Opens what [`PendingSignUp::seal`] made for this tenant; `None` if it is damaged, forged
    /// or for another tenant. Whether it expired is [`PendingSignUp::expired`].
    pub fn open(master: &MasterKey, tenant_id: Uuid, sealed: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
        let json = master.open(&seal_owner(tenant_id), &bytes).ok()?;
        let pending: Self = serde_json::from_slice(&json).ok()?;
        (pending.tenant_id == tenant_id).then_some(pending)
    }

    /// Whether the code's lifetime has passed at `now`.
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        let age = now.unix_timestamp().saturating_sub(self.issued);
        !(-60..=CODE_LIFETIME_SECONDS).contains(&age)
    }

    /// Whether `entered` is the code, compared in constant time (spaces and dashes a person
    /// may type between digits are ignored).
    pub fn code_matches(&self, entered: &str) -> bool {
        let entered: Zeroizing<String> = Zeroizing::new(entered.chars().filter(|c| !matches!(c, ' ' | '-')).collect());
        constant_time::verify_slices_are_equal(entered.as_bytes(), self.code.as_bytes()).is_ok()
    }
}

/// Why a code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// The code was wrong; this many tries are left.
    Wrong(u32),
    /// Too many wrong codes: start over.
    TooManyAttempts,
    /// The code was used already.
    Used,
    /// The server remembers too many pending sign-ups to take another now.
    Busy,
}

#[derive(Debug, Clone, Copy)]
struct Tracked {
    wrong: u32,
    used: bool,
    forget_at: Instant,
}

/// Wrong tries and used codes of pending sign-ups, in memory.
#[derive(Debug, Default)]
pub struct CodeAttempts {
    tracked: Mutex<HashMap<String, Tracked>>,
}

impl CodeAttempts {
    /// Checks `entered` against the pending sign-up and records the outcome, atomically: `Ok`
    /// once for the right code (then it is used), a refusal otherwise.
    pub fn check(&self, pending: &PendingSignUp, entered: &str, now: Instant) -> Result<(), CodeRefusal> {
        let mut tracked = match self.tracked.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if tracked.len() >= MAX_TRACKED {
            tracked.retain(|_, t| t.forget_at > now);
            if tracked.len() >= MAX_TRACKED {
                return Err(CodeRefusal::Busy);
            }
        }
        // Kept a little longer than the code lives, so a used code stays used.
        let forget_at = now + Duration::from_secs(CODE_LIFETIME_SECONDS.unsigned_abs() + 120);
        let entry = tracked.entry(pending.id.clone()).or_insert(Tracked {
            wrong: 0,
            used: false,
            forget_at,
        });
        if entry.used {
            return Err(CodeRefusal::Used);
        }
        if entry.wrong >= MAX_CODE_ATTEMPTS {
            return Err(CodeRefusal::TooManyAttempts);
        }
        if pending.code_matches(entered) {
            entry.used = true;
            return Ok(());
        }
        entry.wrong += 1;
        match MAX_CODE_ATTEMPTS - entry.wrong {
            0 => Err(CodeRefusal::TooManyAttempts),
            left => Err(CodeRefusal::Wrong(left)),
        }
    }

    /// Makes a code usable again after the account it was to create could not be stored.
    pub fn unuse(&self, pending: &PendingSignUp) {
        if let Ok(mut tracked) = self.tracked.lock()
            && let Some(entry) = tracked.get_mut(&pending.id)
        {
            entry.used = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(code: &str) -> PendingSignUp {
        PendingSignUp::new(
            Uuid::new_v4(),
            "ann@example.com".into(),
            "Ann".into(),
            "$argon2id$...".into(),
            code,
            OffsetDateTime::now_utc(),
        )
        .unwrap()
    }

    #[test]
    fn codes_are_eight_random_digits() {
        let a = new_code().unwrap();
        let b = new_code().unwrap();
        assert_eq!(a.len(), CODE_DIGITS);
        assert!(a.chars().all(|c| c.is_ascii_digit()));
        assert_ne!(*a, *b);
    }

    #[test]
    fn sealed_pending_sign_ups_open_only_for_their_tenant_and_expire() {
        let master = MasterKey::from_bytes(&[7u8; 32]).unwrap();
        let p = pending("12345678");
        let sealed = p.seal(&master).unwrap();
        assert!(!sealed.contains("12345678"));
        let opened = PendingSignUp::open(&master, p.tenant_id, &sealed).unwrap();
        assert_eq!(
            (opened.email.as_str(), opened.id.as_str()),
            ("ann@example.com", p.id.as_str())
        );
        assert!(PendingSignUp::open(&master, Uuid::new_v4(), &sealed).is_none());
        assert!(PendingSignUp::open(&master, p.tenant_id, &sealed[1..]).is_none());
        let now = OffsetDateTime::now_utc();
        assert!(!opened.expired(now + time::Duration::seconds(599)));
        assert!(opened.expired(now + time::Duration::seconds(601)));
        assert!(!format!("{opened:?}").contains("12345678"));
    }

    #[test]
    fn five_wrong_codes_end_it_and_a_right_code_works_once() {
        let attempts = CodeAttempts::default();
        let now = Instant::now();
        let p = pending("12345678");
        assert_eq!(attempts.check(&p, "00000000", now), Err(CodeRefusal::Wrong(4)));
        assert_eq!(attempts.check(&p, "1234 5678", now), Ok(()));
        assert_eq!(attempts.check(&p, "12345678", now), Err(CodeRefusal::Used));
        attempts.unuse(&p);
        assert_eq!(attempts.check(&p, "12345678", now), Ok(()));

        let q = pending("87654321");
        for left in (1..5).rev() {
            assert_eq!(attempts.check(&q, "1", now), Err(CodeRefusal::Wrong(left)));
        }
        assert_eq!(attempts.check(&q, "1", now), Err(CodeRefusal::TooManyAttempts));
        assert_eq!(attempts.check(&q, "87654321", now), Err(CodeRefusal::TooManyAttempts));
    }
}
