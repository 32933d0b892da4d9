//! Client credentials: a certificate (the thumbprint computed from it, never typed), a secret,
//! or a callback that returns an assertion (workload identity federation).

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_jose::{Algorithm, Header, SigningKey};
use keyward_pki::{Certificate, KeyAlgorithm, PrivateKey, Thumbprint};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::reload::ReloadingCertificate;

/// How long an assertion we make is valid, as MSAL does.
pub const ASSERTION_LIFETIME_SECONDS: i64 = 600;

/// A certificate and its private key, ready to sign client assertions.
///
/// By default assertions are PS256 with `x5t#S256`, what Entra recommends now; [`legacy_sha1`]
/// switches to RS256 with `x5t`. [`send_certificate_chain`] adds `x5c`.
///
/// [`legacy_sha1`]: CertificateCredential::legacy_sha1
/// [`send_certificate_chain`]: CertificateCredential::send_certificate_chain
#[derive(Clone)]
pub struct CertificateCredential {
    certificate: Certificate,
    chain: Vec<Certificate>,
    signer: Arc<SigningKey>,
    key: PrivateKey,
    sha1: bool,
    send_chain: bool,
}

impl fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateCredential")
            .field("subject", &self.certificate.info().subject)
            .field("thumbprint", &self.certificate.thumbprints().sha1_hex())
            .finish_non_exhaustive()
    }
}

impl CertificateCredential {
    /// From a certificate (PEM or DER, chain allowed) and a private key (any format
    /// `keyward_pki::read` takes; `passphrase` opens an encrypted one).
    pub fn from_pem(certificate: &[u8], private_key: &[u8], passphrase: Option<&str>) -> Result<Self> {
        let key = keyward_pki::read(private_key, passphrase)?
            .private_key
            .ok_or(keyward_pki::Error::MissingPrivateKey)?;
        let contents = keyward_pki::read(certificate, None)?.with_private_key(key)?;
        Self::from_contents(contents)
    }

    /// From one file holding both, e.g. a PEM with certificate and key, or a PFX (`password`
    /// opens it; Key Vault's PFX files have none).
    pub fn from_bundle(bytes: &[u8], password: Option<&str>) -> Result<Self> {
        Self::from_contents(keyward_pki::read(bytes, password)?)
    }

    /// Reads a certificate file and a key file (explicitly: the library reads nothing else).
    pub fn from_files(certificate: &Path, private_key: &Path, passphrase: Option<&str>) -> Result<Self> {
        Self::from_pem(&read_file(certificate)?, &read_file(private_key)?, passphrase)
    }

    /// Reads a PFX or a PEM holding certificate and key.
    pub fn from_bundle_file(path: &Path, password: Option<&str>) -> Result<Self> {
        Self::from_bundle(&read_file(path)?, password)
    }

    /// From parsed parts. The key must be the certificate's.
    pub fn new(certificate: Certificate, chain: Vec<Certificate>, key: PrivateKey) -> Result<Self> {
        certificate.check_key(&key)?;
        let signer = Arc::new(SigningKey::new(&key, algorithm(&key, false))?);
        Ok(Self {
            certificate,
            chain,
            signer,
            key,
            sha1: false,
            send_chain: false,
        })
    }

    fn from_contents(contents: keyward_pki::Contents) -> Result<Self> {
        let (certificate, key) = contents.certificate_and_key()?;
        let chain = contents.certificates.iter().skip(1).cloned().collect();
        Self::new(certificate.clone(), chain, key.clone())
    }

    /// Checks a thumbprint the caller has (SHA-1 or SHA-256, any common form) against the
    /// certificate's own.
    pub fn expect_thumbprint(self, thumbprint: &str) -> Result<Self> {
        let thumbprints = self.certificate.thumbprints();
        let matches = Thumbprint::parse(thumbprint).is_ok_and(|t| thumbprints.matches(&t));
        if !matches {
            return Err(Error::ThumbprintMismatch {
                given: thumbprint.chars().take(100).collect(),
                sha1: thumbprints.sha1_hex(),
                sha256: thumbprints.sha256_hex(),
            });
        }
        Ok(self)
    }

    /// Signs with RS256 and names the certificate by its SHA-1 `x5t`, as older MSAL versions do.
    pub fn legacy_sha1(mut self) -> Result<Self> {
        self.sha1 = true;
        self.signer = Arc::new(SigningKey::new(&self.key, algorithm(&self.key, true))?);
        Ok(self)
    }

    /// Sends the certificate chain in `x5c` (needed for subject name and issuer authentication).
    pub fn send_certificate_chain(mut self, send: bool) -> Self {
        self.send_chain = send;
        self
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// A signed client assertion for `audience` (the token endpoint), valid from `now`.
    pub fn assertion(&self, client_id: &str, audience: &str, now: i64) -> Result<String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            nbf: i64,
            iat: i64,
            exp: i64,
        }
        let thumbprints = self.certificate.thumbprints();
        let mut header = Header::new(self.signer.algorithm()).with_typ("JWT");
        header = if self.sha1 {
            header.with_x5t(thumbprints.x5t())
        } else {
            header.with_x5t_s256(thumbprints.x5t_s256())
        };
        if self.send_chain {
            let chain = std::iter::once(&self.certificate)
                .chain(&self.chain)
                .map(|c| STANDARD.encode(c.der()))
                .collect();
            header = header.with_x5c(chain);
        }
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECONDS,
        };
        Ok(self.signer.sign(&header, &claims)?)
    }
}

fn algorithm(key: &PrivateKey, sha1: bool) -> Algorithm {
    match key.algorithm() {
        KeyAlgorithm::Ec(_) => Algorithm::Es256,
        KeyAlgorithm::Rsa { .. } if sha1 => Algorithm::Rs256,
        KeyAlgorithm::Rsa { .. } => Algorithm::Ps256,
    }
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::File {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    if meta.len() > keyward_pki::MAX_INPUT as u64 {
        return Err(Error::File {
            path: path.display().to_string(),
            detail: "larger than any certificate or key file".into(),
        });
    }
    std::fs::read(path).map_err(|e| Error::File {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// A future that yields an assertion, for [`ClientCredential::Assertion`].
pub type AssertionFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// How the client proves who it is.
#[derive(Clone)]
pub enum ClientCredential {
    /// A certificate: signed client assertions (`azpacr` 2).
    Certificate(Box<CertificateCredential>),
    /// A client secret (`azpacr` 1). Kept in memory only; never printed.
    Secret(Arc<Zeroizing<String>>),
    /// A certificate re-read from its files or its vault while the client runs: see
    /// [`ReloadingCertificate`].
    Reloading(ReloadingCertificate),
    /// A callback that returns an assertion made elsewhere, e.g. a Kubernetes service account
    /// token for workload identity federation. Called for every token request.
    Assertion(Arc<dyn Fn() -> AssertionFuture + Send + Sync>),
}

impl ClientCredential {
    /// A secret credential.
    pub fn secret(secret: impl Into<String>) -> Self {
        Self::Secret(Arc::new(Zeroizing::new(secret.into())))
    }
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Certificate(c) => c.fmt(f),
            Self::Reloading(c) => c.fmt(f),
            Self::Secret(_) => f.write_str("Secret(..)"),
            Self::Assertion(_) => f.write_str("Assertion(callback)"),
        }
    }
}

impl From<CertificateCredential> for ClientCredential {
    fn from(c: CertificateCredential) -> Self {
        Self::Certificate(Box::new(c))
    }
}

impl From<ReloadingCertificate> for ClientCredential {
    fn from(c: ReloadingCertificate) -> Self {
        Self::Reloading(c)
    }
}
