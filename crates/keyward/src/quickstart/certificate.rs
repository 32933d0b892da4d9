//! The app's certificate, as `keyward cert new` makes it, kept in the data directory's
//! `quickstart/` folder with the sample app's `.env`, and reused while it has months to live.

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PfxEncryption, PrivateKey, Validity};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::files::{self, Access};

/// A certificate due to expire within this time is replaced.
const RENEW_BEFORE: Duration = Duration::days(30);

/// The app certificate's files.
pub struct AppCertificate {
    /// The certificate.
    pub certificate: Certificate,
    /// `PREFIX.cer`: what is uploaded to the app registration.
    pub cer: PathBuf,
    /// `PREFIX.pem`: the certificate the sample app reads (`CERTIFICATE_PATH`).
    pub pem: PathBuf,
    /// `PREFIX.key`: the encrypted private key (`PRIVATE_KEY_PATH`).
    pub key: PathBuf,
    /// The key's passphrase (`PRIVATE_KEY_PASSPHRASE`).
    pub passphrase: Zeroizing<String>,
    /// Whether it was made just now.
    pub new: bool,
}

fn paths(dir: &Path, name: &str) -> [PathBuf; 4] {
    ["cer", "pem", "key", "pfx"].map(|ext| dir.join(format!("{name}.{ext}")))
}

/// The certificate in `dir` when it is there, opens with `passphrase` and is not near expiry;
/// else a new one (RSA 2048, 12 months, the key encrypted with a new random passphrase).
pub fn ensure(dir: &Path, name: &str, passphrase: Option<Zeroizing<String>>) -> anyhow::Result<AppCertificate> {
    let [cer, pem, key, pfx] = paths(dir, name);
    if let Some(passphrase) = passphrase
        && let Some(certificate) = existing(&pem, &key, &passphrase)
        && certificate.info().not_after > OffsetDateTime::now_utc() + RENEW_BEFORE
    {
        return Ok(AppCertificate {
            certificate,
            cer,
            pem,
            key,
            passphrase,
            new: false,
        });
    }
    let passphrase = new_passphrase()?;
    let private_key = PrivateKey::generate(KeyType::Rsa2048)?;
    let certificate = CertificateSpec::new(Name::parse(&format!("CN={name}"))?)
        .validity(Validity::default())
        .self_signed(&private_key)?;
    let key_pem = Zeroizing::new(private_key.to_pkcs8_pem(Some(&passphrase))?);
    let pfx_der = keyward_pki::write_pfx(&certificate, &[], &private_key, &passphrase, PfxEncryption::Aes256)?;
    files::write_new(&cer, certificate.der(), Access::Public, true)?;
    files::write_new(&pem, certificate.pem().as_bytes(), Access::Public, true)?;
    files::write_new(&key, key_pem.as_bytes(), Access::OwnerOnly, true)?;
    files::write_new(&pfx, &pfx_der, Access::OwnerOnly, true)?;
    Ok(AppCertificate {
        certificate,
        cer,
        pem,
        key,
        passphrase,
        new: true,
    })
}

fn existing(pem: &Path, key: &Path, passphrase: &str) -> Option<Certificate> {
    let certificate = keyward_pki::read(&std::fs::read(pem).ok()?, None).ok()?;
    let private_key = keyward_pki::read(&std::fs::read(key).ok()?, Some(passphrase))
        .ok()?
        .private_key?;
    let contents = certificate.with_private_key(private_key).ok()?;
    contents.certificate().cloned()
}

/// 244 random bits (two version 4 UUIDs, from the operating system's generator), base64url.
fn new_passphrase() -> anyhow::Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    Ok(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
}

/// Creates `dir` private to the owner.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_reused_and_remade_without_its_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure(dir.path(), "ciam-client-app", None).unwrap();
        assert!(first.new);
        assert_eq!(first.certificate.info().subject, "CN=ciam-client-app");
        let key = std::fs::read_to_string(&first.key).unwrap();
        assert!(key.contains("ENCRYPTED PRIVATE KEY"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&first.key).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let again = ensure(dir.path(), "ciam-client-app", Some(first.passphrase.clone())).unwrap();
        assert!(!again.new);
        assert_eq!(again.certificate.der(), first.certificate.der());

        let wrong = ensure(dir.path(), "ciam-client-app", Some(Zeroizing::new("wrong".into()))).unwrap();
        assert!(wrong.new);
        assert_ne!(wrong.certificate.der(), first.certificate.der());
    }
}
