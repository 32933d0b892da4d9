//! The value of the secret behind a certificate, as Key Vault serves it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_pki::{Certificate, PfxEncryption, PrivateKey, write_pfx, write_pfx_certificates};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::policy::ContentType;

/// The secret value of a certificate version:
///
/// - `application/x-pem-file`: the unencrypted PKCS#8 key (`-----BEGIN PRIVATE KEY-----`, 64
///   characters a line, LF), then the certificate, then its chain; every block ends with a
///   newline.
/// - `application/x-pkcs12`: standard base64 of a PFX with an empty password, protected as Key
///   Vault protects it (3DES, SHA-1 MAC, 2000 iterations) so that old Windows reads it too.
///
/// Without `key` (a key that is not exportable) the value holds the certificates only.
pub(crate) fn managed_secret_value(
    content_type: ContentType,
    certificate: &Certificate,
    chain: &[Certificate],
    key: Option<&PrivateKey>,
) -> Result<Zeroizing<String>> {
    match content_type {
        ContentType::Pem => {
            let mut text = Zeroizing::new(String::new());
            if let Some(key) = key {
                text.push_str(&key.to_pkcs8_pem(None).map_err(Error::Issuance)?);
            }
            text.push_str(&certificate.pem());
            for c in chain {
                text.push_str(&c.pem());
            }
            Ok(text)
        }
        ContentType::Pkcs12 => {
            let pfx = match key {
                Some(key) => write_pfx(certificate, chain, key, "", PfxEncryption::Legacy3Des),
                None => {
                    let mut all = vec![certificate.clone()];
                    all.extend_from_slice(chain);
                    write_pfx_certificates(&all, "", PfxEncryption::Legacy3Des)
                }
            }
            .map_err(Error::Issuance)?;
            Ok(Zeroizing::new(STANDARD.encode(Zeroizing::new(pfx).as_slice())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_pki::{CertificateSpec, KeyType, Name};

    fn pair() -> (Certificate, PrivateKey) {
        let key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let cert = CertificateSpec::new(Name::parse("CN=shape").unwrap())
            .self_signed(&key)
            .unwrap();
        (cert, key)
    }

    #[test]
    fn pem_value_is_the_key_then_the_certificate() {
        let (cert, key) = pair();
        let value = managed_secret_value(ContentType::Pem, &cert, &[], Some(&key)).unwrap();
        let parts: Vec<&str> = value.split("-----BEGIN CERTIFICATE-----\n").collect();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(parts[0].ends_with("-----END PRIVATE KEY-----\n"));
        assert!(parts[1].ends_with("-----END CERTIFICATE-----\n"));
        assert!(!value.contains('\r'));
        assert!(value.lines().all(|l| l.len() <= 64));
        let read = keyward_pki::read(value.as_bytes(), None).unwrap();
        assert_eq!(read.certificate().unwrap(), &cert);
        assert_eq!(read.private_key.unwrap().pkcs8_der(), key.pkcs8_der());

        let no_key = managed_secret_value(ContentType::Pem, &cert, &[], None).unwrap();
        assert!(no_key.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(!no_key.contains("PRIVATE KEY"));
    }

    #[test]
    fn pkcs12_value_opens_with_an_empty_password() {
        let (cert, key) = pair();
        let value = managed_secret_value(ContentType::Pkcs12, &cert, &[], Some(&key)).unwrap();
        let der = STANDARD.decode(value.as_bytes()).unwrap();
        let read = keyward_pki::read(&der, Some("")).unwrap();
        assert_eq!(read.certificate().unwrap(), &cert);
        assert_eq!(read.private_key.unwrap().pkcs8_der(), key.pkcs8_der());

        let no_key = managed_secret_value(ContentType::Pkcs12, &cert, &[], None).unwrap();
        let read = keyward_pki::read(&STANDARD.decode(no_key.as_bytes()).unwrap(), None).unwrap();
        assert!(read.private_key.is_none());
        assert_eq!(read.certificate().unwrap(), &cert);
    }
}
