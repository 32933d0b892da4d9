//! What may be registered as a credential: certificate uploads are checked as the portal
//! checks them (and more), client secrets are made here and only their hash is kept.

use keyward_pki::{Format, KeyAlgorithm, MIN_RSA_BITS};
use keyward_store::{KeyCredential, PasswordCredential};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::client_auth::hash_secret;
use crate::error::{CredentialError, Error, Result};

/// The longest a secret may live, as Entra allows (24 months).
pub const MAX_SECRET_LIFETIME: Duration = Duration::days(730);

/// Checks an uploaded certificate (DER or PEM bytes) and makes the credential for it.
///
/// Refused: anything holding a private key (we never store a key the user did not mean to
/// upload), a certificate that has expired, an RSA key under 2048 bits, a non-RSA key unless
/// `allow_ec`, and start/end dates outside the certificate's own validity.
pub fn certificate_credential(
    bytes: &[u8],
    display_name: Option<String>,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    allow_ec: bool,
    now: OffsetDateTime,
) -> Result<KeyCredential> {
    let contents = match keyward_pki::read(bytes, None) {
        Ok(c) => c,
        Err(keyward_pki::Error::PasswordRequired { .. } | keyward_pki::Error::WrongPassword(_)) => {
            return Err(CredentialError::PrivateKeyIncluded.into());
        }
        Err(e) => return Err(CredentialError::NotACertificate(e.to_string()).into()),
    };
    if contents.private_key.is_some() || contents.format == Format::Pkcs12 || contents.format == Format::DerPrivateKey {
        return Err(CredentialError::PrivateKeyIncluded.into());
    }
    let certificate = contents.certificate().ok_or(CredentialError::NoCertificate)?;
    let info = certificate.info();
    match info.key {
        Some(KeyAlgorithm::Rsa { bits }) if bits < MIN_RSA_BITS => {
            return Err(CredentialError::WeakRsaKey {
                bits,
                min: MIN_RSA_BITS,
            }
            .into());
        }
        Some(KeyAlgorithm::Rsa { .. }) => {}
        Some(KeyAlgorithm::Ec(_)) if allow_ec => {}
        other => {
            let what = other.map(|k| k.to_string()).unwrap_or_else(|| info.key_oid.clone());
            return Err(CredentialError::UnsupportedKey(what).into());
        }
    }
    if info.not_after < now {
        return Err(CredentialError::Expired(info.not_after).into());
    }
    let start = start.unwrap_or(info.not_before);
    let end = end.unwrap_or(info.not_after);
    if start < info.not_before || end > info.not_after || start >= end {
        return Err(CredentialError::OutsideValidity {
            not_before: info.not_before,
            not_after: info.not_after,
        }
        .into());
    }
    let display_name = display_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| info.subject.clone());
    Ok(KeyCredential {
        key_id: Uuid::new_v4(),
        display_name,
        certificate_der: certificate.der().to_vec(),
        start,
        end,
    })
}

/// Makes a new client secret: 40 characters from a 61-symbol alphabet without look-alikes
/// (over 230 bits). Returns the credential (hash only) and the secret, to be shown once.
pub fn new_secret(
    display_name: Option<String>,
    end: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(PasswordCredential, String)> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.~";
    let mut random = [0u8; 64];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| Error::NoRandomness)?;
    // Rejection sampling keeps every symbol equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let secret: String = random
        .iter()
        .filter(|&&b| usize::from(b) < limit)
        .map(|&b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .take(40)
        .collect();
    if secret.len() < 40 {
        return Err(Error::NoRandomness);
    }
    let end = end.unwrap_or(now + Duration::days(180));
    if end <= now || end - now > MAX_SECRET_LIFETIME {
        return Err(CredentialError::SecretLifetime.into());
    }
    let credential = PasswordCredential {
        key_id: Uuid::new_v4(),
        display_name: display_name.unwrap_or_default(),
        hint: secret.chars().take(3).collect(),
        secret_hash: hash_secret(&secret),
        start: now,
        end,
    };
    Ok((credential, secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey, Validity};

    fn cert(key_type: KeyType, validity: Validity) -> (Vec<u8>, PrivateKey) {
        let key = PrivateKey::generate(key_type).unwrap();
        let cert = CertificateSpec::new(Name::parse("CN=upload").unwrap())
            .validity(validity)
            .self_signed(&key)
            .unwrap();
        (cert.der().to_vec(), key)
    }

    #[test]
    fn accepts_a_current_rsa_certificate_with_its_own_dates() {
        let now = OffsetDateTime::now_utc();
        let (der, _) = cert(KeyType::Rsa2048, Validity::Days(30));
        let credential = certificate_credential(&der, None, None, None, false, now).unwrap();
        assert_eq!(credential.display_name, "CN=upload");
        assert!(credential.start < now && credential.end > now + Duration::days(29));
    }

    #[test]
    fn refuses_private_keys_ec_without_opt_in_and_bad_dates() {
        let now = OffsetDateTime::now_utc();
        let (der, key) = cert(KeyType::Rsa2048, Validity::Days(30));
        let certificate = keyward_pki::Certificate::from_der(&der).unwrap();
        let pfx = keyward_pki::write_pfx(&certificate, &[], &key, "", Default::default()).unwrap();
        let err = certificate_credential(&pfx, None, None, None, false, now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("private key"), "{err}");
        let pem = format!("{}{}", certificate.pem(), key.to_pkcs8_pem(None).unwrap().as_str());
        assert!(
            certificate_credential(pem.as_bytes(), None, None, None, false, now)
                .unwrap_err()
                .to_string()
                .contains("private key")
        );
        let (ec, _) = cert(KeyType::EcP256, Validity::Days(30));
        assert!(
            certificate_credential(&ec, None, None, None, false, now)
                .unwrap_err()
                .to_string()
                .contains("RSA")
        );
        assert!(certificate_credential(&ec, None, None, None, true, now).is_ok());
        let late = now + Duration::days(400);
        assert!(certificate_credential(&der, None, None, Some(late), false, now).is_err());
        assert!(
            certificate_credential(&der, None, None, None, false, now + Duration::days(60))
                .unwrap_err()
                .to_string()
                .contains("expired")
        );
        assert!(certificate_credential(b"not a certificate", None, None, None, false, now).is_err());
    }

    #[test]
    fn secrets_are_long_random_and_stored_hashed() {
        let now = OffsetDateTime::now_utc();
        let (a, secret_a) = new_secret(None, None, now).unwrap();
        let (_, secret_b) = new_secret(None, None, now).unwrap();
        assert_eq!(secret_a.len(), 40);
        assert_ne!(secret_a, secret_b);
        assert_eq!(a.secret_hash, hash_secret(&secret_a));
        assert!(!a.secret_hash.contains(&secret_a));
        assert!(new_secret(None, Some(now + Duration::days(800)), now).is_err());
    }
}
