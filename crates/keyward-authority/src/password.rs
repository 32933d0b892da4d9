//! Customer passwords: the policy a new password must meet, and argon2id hashing and
//! verification off the async threads, a few at a time.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`) with OWASP's parameters.
//! Verification of an unknown account runs against a dummy hash, so that a wrong email and a
//! wrong password take the same time.
//!
//! The work runs on a small fixed pool of threads, as many as the concurrency allowed, each
//! holding one argon2 memory block (19 MiB) that it reuses for every hash. The limit is the
//! pool itself, so it holds for as long as the work runs: a caller that goes away (a
//! cancelled request) does not free a place while its hash still runs, and a hash whose
//! caller went away before its turn is not run at all. Memory stays at one block per thread
//! however many requests come, instead of a fresh allocation per hash.

use std::sync::{Arc, Mutex, mpsc};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OnceCell, oneshot};
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
const OUTPUT_LEN: usize = 32;

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

fn params() -> Params {
    // The parameters are constants within argon2's limits; `Params::new` cannot refuse them.
    Params::new(MEMORY_KIB, PASSES, LANES, Some(OUTPUT_LEN)).unwrap_or_default()
}

/// The argon2 memory of one hashing thread, allocated on its first hash and reused.
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    /// Runs `argon2` into `out` in this memory; in a temporary allocation when its parameters
    /// (those of a stored hash) ask for more than ours, so that the kept block never grows.
    fn hash_into(&mut self, argon2: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
        let needed = argon2.params().block_count();
        let ours = params().block_count();
        if needed > ours {
            return argon2.hash_password_into(password, salt, out);
        }
        if self.0.len() < ours {
            self.0 = vec![Block::new(); ours];
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut self.0[..])
    }

    /// A new PHC string for `password` with our parameters.
    fn hash(&mut self, password: &[u8], salt: &[u8]) -> std::result::Result<String, String> {
        let params = params();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut out = Zeroizing::new([0u8; OUTPUT_LEN]);
        self.hash_into(&argon2, password, salt, &mut out[..])
            .map_err(|e| e.to_string())?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
            salt: Some(Salt::new(salt).map_err(|e| e.to_string())?),
            hash: Some(Output::new(&out[..]).map_err(|e| e.to_string())?),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` matches the PHC string `hash` (with whatever parameters it names).
    /// A malformed hash matches nothing.
    fn verify(&mut self, password: &[u8], hash: &str) -> bool {
        let Ok(hash) = PasswordHash::new(hash) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(version), Ok(params)) = (
            Algorithm::try_from(hash.algorithm.as_str()),
            hash.version.map_or(Ok(Version::default()), Version::try_from),
            Params::try_from(&hash),
        ) else {
            return false;
        };
        let argon2 = Argon2::new(algorithm, version, params);
        let mut out = Zeroizing::new(vec![0u8; expected.len()]);
        if self.hash_into(&argon2, password, salt, &mut out).is_err() {
            return false;
        }
        // `Output`'s comparison runs in constant time.
        Output::new(&out).is_ok_and(|computed| computed == *expected)
    }
}

/// A unit of work for a hashing thread.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// What a hashing thread does: takes jobs until the [`Passwords`] that feeds it is dropped.
fn hashing_thread(jobs: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut memory = Memory::default();
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            // A panic would be a bug in argon2; it costs its caller an error, not the thread.
            Ok(job) => {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut memory))).is_err() {
                    memory = Memory::default();
                }
            }
            Err(mpsc::RecvError) => return,
        }
    }
}

/// Hashes and verifies passwords on a pool of `concurrency` threads of its own: each hash
/// takes 19 MiB and tens of milliseconds, so an unbounded burst of sign-ins would exhaust
/// memory and starve everything else. Dropping it ends the threads once their work is done.
pub struct Passwords {
    jobs: mpsc::Sender<Job>,
    threads: usize,
    dummy: OnceCell<String>,
}

impl Passwords {
    /// A hasher running at most `concurrency` (at least one) hashes at a time.
    pub fn new(concurrency: usize) -> Self {
        let (jobs, queue) = mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        let mut threads = 0;
        for _ in 0..concurrency.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name("keyward-argon2".into())
                .spawn(move || hashing_thread(queue));
            match spawned {
                Ok(_) => threads += 1,
                Err(e) => tracing::error!(error = %e, "cannot start a password hashing thread"),
            }
        }
        Self {
            jobs,
            threads,
            dummy: OnceCell::new(),
        }
    }

    /// Runs `work` on a hashing thread, in its turn. If this future is dropped before the
    /// turn comes, the work is not run; once it runs, it holds its thread to the end.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce(&mut Memory) -> T + Send + 'static) -> Result<T> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            if !answer.is_closed() {
                answer.send(work(memory)).ok();
            }
        });
        self.jobs.send(job).map_err(|_| Error::PasswordHasherStopped)?;
        answered
            .await
            .map_err(|_| Error::PasswordHashing("the hashing thread stopped".into()))
    }

    /// Hashes a password into a PHC string with a fresh random salt.
    pub async fn hash(&self, password: Zeroizing<String>) -> Result<String> {
        let mut salt = [0u8; SALT_LEN];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| Error::NoRandomness)?;
        self.run(move |memory| memory.hash(password.as_bytes(), &salt).map_err(Error::PasswordHashing))
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
            .run(move |memory| memory.verify(password.as_bytes(), &hash))
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
        f.debug_struct("Passwords").field("threads", &self.threads).finish()
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

    #[tokio::test]
    async fn phc_strings_are_those_of_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let passwords = Passwords::new(1);
        // Ours verify with the crate's own verifier.
        let ours = passwords.hash(Zeroizing::new("correct horse".into())).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"correct horsE", &parsed).is_err());
        // The crate's, with other parameters (smaller, two lanes; larger than our block;
        // argon2i), verify with ours.
        let salt = b"a salt of 16 b!!";
        for (algorithm, params) in [
            (Algorithm::Argon2id, Params::new(64, 1, 2, None).unwrap()),
            (Algorithm::Argon2id, Params::new(MEMORY_KIB + 1024, 1, 1, None).unwrap()),
            (Algorithm::Argon2i, Params::new(256, 3, 1, Some(16)).unwrap()),
        ] {
            let theirs = Argon2::new(algorithm, Version::V0x13, params)
                .hash_password_with_salt(b"staple", salt)
                .unwrap()
                .to_string();
            assert!(
                passwords
                    .verify(Zeroizing::new("staple".into()), Some(theirs.clone()))
                    .await
                    .unwrap(),
                "{theirs}"
            );
            assert!(
                !passwords
                    .verify(Zeroizing::new("stapler".into()), Some(theirs.clone()))
                    .await
                    .unwrap(),
                "{theirs}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pool_bounds_the_work_and_skips_what_nobody_waits_for() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let passwords = Arc::new(Passwords::new(2));
        // Never more than two at once.
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (passwords, running, most) = (passwords.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    passwords
                        .run(move |_| {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                        .unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // (Both threads may not overlap on a loaded machine; what matters is the bound.)
        assert!((1..=2).contains(&most.load(Ordering::SeqCst)));

        // Both threads busy; a request queued behind them and then abandoned (a cancelled
        // sign-in) never runs.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let busy = Arc::new(AtomicUsize::new(0));
        let blockers: Vec<_> = (0..2)
            .map(|_| {
                let (passwords, released, busy) = (passwords.clone(), released.clone(), busy.clone());
                tokio::spawn(async move {
                    passwords
                        .run(move |_| {
                            busy.fetch_add(1, Ordering::SeqCst);
                            released.lock().unwrap().recv().ok();
                        })
                        .await
                        .unwrap();
                })
            })
            .collect();
        // Only once both threads hold a blocker is the next request sure to queue behind them.
        while busy.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        let ran = Arc::new(AtomicUsize::new(0));
        let mut abandoned = Box::pin(passwords.run({
            let ran = ran.clone();
            move |_| {
                ran.fetch_add(1, Ordering::SeqCst);
            }
        }));
        tokio::select! {
            biased;
            _ = &mut abandoned => panic!("the threads were busy"),
            () = std::future::ready(()) => {}
        }
        drop(abandoned);
        release.send(()).unwrap();
        release.send(()).unwrap();
        for blocker in blockers {
            blocker.await.unwrap();
        }
        // Work queued after it runs, and it did not.
        passwords.run(|_| ()).await.unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }
}
