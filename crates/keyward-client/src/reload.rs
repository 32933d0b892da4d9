//! A certificate credential that changes without a restart: re-read from its files when they
//! change, or from a vault when the current certificate nears its expiry, and from either when
//! the token endpoint refuses it with AADSTS700027 (the certificate is no longer registered).
//!
//! The switch is atomic: a request signs with one consistent certificate and key pair, taken
//! whole from an `Arc`. A new pair that cannot be used (a half-written file, a certificate
//! whose key is not yet in place) is not switched to: the old pair stays until the next check.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::credential::{CertificateCredential, read_file};
use crate::error::Result;
use crate::vault::VaultClient;

/// How often files are compared with what was loaded, by default.
pub const DEFAULT_FILE_CHECK: Duration = Duration::from_secs(10);

/// How often, at most, a vault is asked for a newer version of a certificate near its expiry.
pub const DEFAULT_VAULT_CHECK: Duration = Duration::from_secs(60);

/// Where a [`ReloadingCertificate`] reads its certificate and key.
#[derive(Clone)]
pub enum CertificateSource {
    /// Files on disk, e.g. mounted from a secret store or written by a deployment.
    Files {
        /// The certificate (PEM or DER), or a PFX / PEM holding the certificate and the key.
        certificate: PathBuf,
        /// The private key, when it is not in `certificate`.
        private_key: Option<PathBuf>,
        /// Opens an encrypted key or a PFX.
        passphrase: Option<Zeroizing<String>>,
    },
    /// The latest version of a vault certificate and its managed secret (the key must be
    /// exportable).
    Vault {
        /// The vault, with the identity that reads it.
        vault: VaultClient,
        /// The certificate's name in the vault.
        name: String,
    },
}

impl fmt::Debug for CertificateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Files {
                certificate,
                private_key,
                passphrase,
            } => f
                .debug_struct("Files")
                .field("certificate", certificate)
                .field("private_key", private_key)
                .field("passphrase", &passphrase.as_ref().map(|_| "(set)"))
                .finish(),
            Self::Vault { vault, name } => f
                .debug_struct("Vault")
                .field("vault", &vault.url())
                .field("name", name)
                .finish(),
        }
    }
}

/// A certificate credential that is re-read from its [`CertificateSource`] while the client
/// runs, for certificate rotation without a restart. Cheap to clone; clones share the current
/// certificate.
///
/// - **Files** are compared with what was loaded (a SHA-256 of their bytes) at most every
///   [`check_every`](Self::check_every) (default [`DEFAULT_FILE_CHECK`]), on the way to a
///   token request, and at once after an AADSTS700027 refusal.
/// - **A vault** is asked for the latest version when the current certificate has less than a
///   tenth of its lifetime left (at most every [`DEFAULT_VAULT_CHECK`]), and at once after an
///   AADSTS700027 refusal.
///
/// After a refusal that a newer certificate explains, the client retries the request once with
/// it, so the caller sees no failure. A new certificate must be registered on the application
/// before it is deployed (the old one removed after): a certificate that is read but not yet
/// registered is refused like any other.
///
/// ```no_run
/// use keyward_client::{ConfidentialClient, ReloadingCertificate};
///
/// # fn run() -> Result<(), keyward_client::Error> {
/// let credential = ReloadingCertificate::from_files(
///     "ciam-client-app.pem".as_ref(),
///     Some("ciam-client-app.key".as_ref()),
///     None,
/// )?;
/// let client = ConfidentialClient::builder(
///     "https://localhost:8443/contoso",
///     "00000000-0000-0000-0000-000000000000",
///     credential,
/// )
/// .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ReloadingCertificate {
    inner: Arc<Inner>,
}

struct Inner {
    source: CertificateSource,
    current: RwLock<Arc<CertificateCredential>>,
    /// The SHA-256 of the files' bytes that were last loaded (files only).
    loaded_digest: Mutex<Vec<u8>>,
    /// When the source was last looked at.
    last_check: Mutex<Instant>,
    check_every: Duration,
    sha1: bool,
    send_chain: bool,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
}

impl fmt::Debug for ReloadingCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCertificate")
            .field("source", &self.inner.source)
            .field("current", &self.current())
            .finish_non_exhaustive()
    }
}

impl ReloadingCertificate {
    /// Reads a certificate file and a key file (or one file holding both, `private_key`
    /// `None`), and reads them again when they change.
    pub fn from_files(certificate: &Path, private_key: Option<&Path>, passphrase: Option<&str>) -> Result<Self> {
        let (credential, digest) = load_files(certificate, private_key, passphrase)?;
        let source = CertificateSource::Files {
            certificate: certificate.to_path_buf(),
            private_key: private_key.map(Path::to_path_buf),
            passphrase: passphrase.map(|p| Zeroizing::new(p.to_owned())),
        };
        Ok(Self::new(source, credential, digest, DEFAULT_FILE_CHECK))
    }

    /// Reads the latest version of the vault certificate `name` with its private key, and reads
    /// it again when it nears its expiry or is refused.
    pub async fn from_vault(vault: VaultClient, name: &str) -> Result<Self> {
        let credential = vault.certificate_credential(name).await?;
        let source = CertificateSource::Vault {
            vault,
            name: name.to_owned(),
        };
        Ok(Self::new(source, credential, Vec::new(), DEFAULT_VAULT_CHECK))
    }

    fn new(source: CertificateSource, credential: CertificateCredential, digest: Vec<u8>, every: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                current: RwLock::new(Arc::new(credential)),
                loaded_digest: Mutex::new(digest),
                last_check: Mutex::new(Instant::now()),
                check_every: every,
                sha1: false,
                send_chain: false,
                reloading: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// How often, at most, the source is looked at on the way to a token request (files: their
    /// bytes compared; a vault: asked only when the certificate nears its expiry). Call before
    /// sharing the credential.
    pub fn check_every(self, every: Duration) -> Self {
        self.rebuild(|inner| inner.check_every = every)
    }

    /// Signs with RS256 and `x5t` (SHA-1), for this and every later certificate: see
    /// [`CertificateCredential::legacy_sha1`].
    pub fn legacy_sha1(self) -> Result<Self> {
        let current = (*self.current()).clone().legacy_sha1()?;
        *write(&self.inner.current) = Arc::new(current);
        Ok(self.rebuild(|inner| inner.sha1 = true))
    }

    /// Sends the certificate chain in `x5c`, for this and every later certificate.
    pub fn send_certificate_chain(self, send: bool) -> Self {
        let current = (*self.current()).clone().send_certificate_chain(send);
        *write(&self.inner.current) = Arc::new(current);
        self.rebuild(|inner| inner.send_chain = send)
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner {
            source: self.inner.source.clone(),
            current: RwLock::new(self.current()),
            loaded_digest: Mutex::new(lock(&self.inner.loaded_digest).clone()),
            last_check: Mutex::new(*lock(&self.inner.last_check)),
            check_every: self.inner.check_every,
            sha1: self.inner.sha1,
            send_chain: self.inner.send_chain,
            reloading: tokio::sync::Mutex::new(()),
        };
        change(&mut inner);
        Self { inner: Arc::new(inner) }
    }

    /// Where the certificate is read from.
    pub fn source(&self) -> &CertificateSource {
        &self.inner.source
    }

    /// The certificate and key in use now: one consistent pair.
    pub fn current(&self) -> Arc<CertificateCredential> {
        Arc::clone(&read(&self.inner.current))
    }

    /// Reads the source now and switches to what it holds if that is a different, usable
    /// certificate. Returns whether it switched. A pair that cannot be used (unreadable, or a
    /// key that is not the certificate's) is an error and changes nothing.
    pub async fn reload(&self) -> Result<bool> {
        let used = self.current();
        let _one = self.inner.reloading.lock().await;
        if !Arc::ptr_eq(&used, &self.current()) {
            return Ok(true);
        }
        self.reload_locked(&used).await
    }

    /// The certificate to sign with now: the current one, after a look at the source when one
    /// is due. A failed look is logged nowhere and keeps the current certificate: the next one
    /// tries again.
    pub(crate) async fn for_request(&self) -> Arc<CertificateCredential> {
        let current = self.current();
        if !self.check_due(&current) {
            return current;
        }
        // Someone else is looking: go on with the current one.
        let Ok(_one) = self.inner.reloading.try_lock() else {
            return current;
        };
        *lock(&self.inner.last_check) = Instant::now();
        let _ = self.reload_locked(&current).await;
        self.current()
    }

    /// After the token endpoint refused `used` with AADSTS700027: the certificate to retry
    /// with, if the source now holds another one.
    pub(crate) async fn after_refusal(&self, used: &Arc<CertificateCredential>) -> Option<Arc<CertificateCredential>> {
        let _one = self.inner.reloading.lock().await;
        let current = self.current();
        if !Arc::ptr_eq(used, &current) {
            // Another request switched while this one was refused.
            return Some(current);
        }
        *lock(&self.inner.last_check) = Instant::now();
        match self.reload_locked(used).await {
            Ok(true) => Some(self.current()),
            _ => None,
        }
    }

    fn check_due(&self, current: &CertificateCredential) -> bool {
        if lock(&self.inner.last_check).elapsed() < self.inner.check_every {
            return false;
        }
        match &self.inner.source {
            CertificateSource::Files { .. } => true,
            CertificateSource::Vault { .. } => nears_expiry(current, OffsetDateTime::now_utc()),
        }
    }

    /// Loads from the source and switches if it holds another usable certificate. Called with
    /// `reloading` held.
    async fn reload_locked(&self, used: &Arc<CertificateCredential>) -> Result<bool> {
        let fresh = match &self.inner.source {
            CertificateSource::Files {
                certificate,
                private_key,
                passphrase,
            } => {
                let (credential, digest) = load_files(
                    certificate,
                    private_key.as_deref(),
                    passphrase.as_deref().map(String::as_str),
                )?;
                let mut loaded = lock(&self.inner.loaded_digest);
                if *loaded == digest {
                    return Ok(false);
                }
                *loaded = digest;
                credential
            }
            // Boxed: reading the vault gets a token, which may come back here.
            CertificateSource::Vault { vault, name } => vault_credential(vault, name).await?,
        };
        let same = fresh.certificate().thumbprints().sha256_hex() == used.certificate().thumbprints().sha256_hex();
        if same {
            return Ok(false);
        }
        let mut fresh = fresh.send_certificate_chain(self.inner.send_chain);
        if self.inner.sha1 {
            fresh = fresh.legacy_sha1()?;
        }
        *write(&self.inner.current) = Arc::new(fresh);
        Ok(true)
    }
}

/// The vault's credential, as a boxed future: the vault's token request may reload a
/// certificate from a vault in turn, and a recursive future needs a known size.
fn vault_credential<'a>(
    vault: &'a VaultClient,
    name: &'a str,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<CertificateCredential>> + Send + 'a>> {
    Box::pin(vault.certificate_credential(name))
}

/// Whether a certificate has less than a tenth of its lifetime left at `now`.
fn nears_expiry(credential: &CertificateCredential, now: OffsetDateTime) -> bool {
    let info = credential.certificate().info();
    let lifetime = info.not_after - info.not_before;
    info.not_after - now < lifetime / 10
}

/// Reads the files of a [`CertificateSource::Files`]: the credential and the SHA-256 of the
/// bytes it came from. A key that is not the certificate's is an error.
fn load_files(
    certificate: &Path,
    private_key: Option<&Path>,
    passphrase: Option<&str>,
) -> Result<(CertificateCredential, Vec<u8>)> {
    let certificate_bytes = Zeroizing::new(read_file(certificate)?);
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(&certificate_bytes);
    let credential = match private_key {
        Some(path) => {
            let key_bytes = Zeroizing::new(read_file(path)?);
            context.update(&(certificate_bytes.len() as u64).to_be_bytes());
            context.update(&key_bytes);
            CertificateCredential::from_pem(&certificate_bytes, &key_bytes, passphrase)?
        }
        None => CertificateCredential::from_bundle(&certificate_bytes, passphrase)?,
    };
    Ok((credential, context.finish().as_ref().to_vec()))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
