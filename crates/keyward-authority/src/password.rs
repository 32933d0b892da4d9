//! Customer passwords: the policy a new password must meet, and argon2id hashing and
//! verification off the async threads, a few at a time.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`) with OWASP's parameters.
//! Verification of an unknown account runs against a dummy hash, so that a wrong email and a
//! wrong password take the same time.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};
use zeroize::Zeroizing;

use crate::error::{AccountError, Error, Result};

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted, in characters (hashing cost grows with length).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// OWASP's argon2id parameters: 19 MiB, two passes, one lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
const SALT_LEN: usize = 16;

/// Checks a new password: length, and not the account's own email. The error says what is
/// wrong, in words a person can act on.
pub fn check_policy(password: &str, email: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AccountError::PasswordTooShort(MIN_PASSWORD_CHARS).into());
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AccountError::PasswordTooLong(MAX_PASSWORD_CHARS).into());
    }
    if password.chars().any(char::is_control) {
        return Err(AccountError::PasswordControlCharacter.into());
    }
    if !email.is_empty() && password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err(AccountError::PasswordIsEmail.into());
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's limits; `Params::new` cannot refuse them.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and verifies passwords on the blocking pool, at most `concurrency` at once: each
/// takes 19 MiB and tens of milliseconds, so an unbounded burst of sign-ins would exhaust
/// memory and starve everything else.
pub struct Passwords {
    permits: Arc<Semaphore>,
    dummy: OnceCell<String>,
}

impl Passwords {
    /// A hasher running at most `concurrency` (at least one) hashes at a time.
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: OnceCell::new(),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(|_| Error::PasswordHasherStopped)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::PasswordHashing(e.to_string()))
    }

    /// Hashes a password into a PHC string with a fresh random salt.
    pub async fn hash(&self, password: Zeroizing<String>) -> Result<String> {
        let mut salt = [0u8; SALT_LEN];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| Error::NoRandomness)?;
        self.run(move || {
            argon2()
                .hash_password_with_salt(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| Error::PasswordHashing(e.to_string()))
        })
        .await?
    }

    /// Whether `password` matches `hash`. With no hash (an unknown account) it verifies against
    /// a dummy hash and answers `false`, taking as long as a real check.
    pub async fn verify(&self, password: Zeroizing<String>, hash: Option<String>) -> Result<bool> {
        let (hash, real) = match hash {
            Some(hash) => (hash, true),
            None => (self.dummy_hash().await?, false),
        };
        let matched = self
            .run(move || argon2().verify_password(password.as_bytes(), hash.as_str()).is_ok())
            .await?;
        Ok(real && matched)
    }

    /// Makes the dummy hash ahead of the first unknown account.
    pub async fn warm(&self) -> Result<()> {
        self.dummy_hash().await.map(drop)
    }

    async fn dummy_hash(&self) -> Result<String> {
        self.dummy
            .get_or_try_init(|| async {
                let mut random = Zeroizing::new([0u8; 24]);
                aws_lc_rs::rand::fill(&mut *random).map_err(|_| Error::NoRandomness)?;
                let password: String = random.iter().map(|b| format!("{b:02x}")).collect();
                self.hash(Zeroizing::new(password)).await
            })
            .await
            .cloned()
    }
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_what_is_wrong() {
        let short = check_policy("short", "a@b.example").unwrap_err().to_string();
        assert!(short.contains("too short"), "{short}");
        let long = check_policy(&"x".repeat(257), "a@b.example").unwrap_err().to_string();
        assert!(long.contains("too long"), "{long}");
        assert!(check_policy(&"x".repeat(256), "a@b.example").is_ok());
        assert!(check_policy("eight ch", "a@b.example").is_ok());
        let email = check_policy("Alice@Example.com", "alice@example.com")
            .unwrap_err()
            .to_string();
        assert!(email.contains("email"), "{email}");
        assert!(check_policy("tab\there!", "a@b.example").is_err());
        // Characters, not bytes: eight non-ASCII characters are enough.
        assert!(check_policy("ééééééée", "a@b.example").is_ok());
        assert!(check_policy("éééé", "a@b.example").is_err());
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let passwords = Passwords::new(2);
        let hash = passwords.hash(Zeroizing::new("correct horse".into())).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(
            passwords
                .verify(Zeroizing::new("correct horse".into()), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify(Zeroizing::new("correct horsE".into()), Some(hash.clone()))
                .await
                .unwrap()
        );
        // Unknown account: never true, whatever the password.
        assert!(
            !passwords
                .verify(Zeroizing::new("correct horse".into()), None)
                .await
                .unwrap()
        );
        // A damaged stored hash is a failed check, not a panic.
        assert!(
            !passwords
                .verify(Zeroizing::new("x".into()), Some("garbage".into()))
                .await
                .unwrap()
        );
    }
}
