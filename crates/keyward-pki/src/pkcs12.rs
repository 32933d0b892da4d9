//! PKCS#12 (.pfx, .p12): reading the modern (PBES2/AES, SHA-256 MAC) and legacy (3DES, RC2-40,
//! SHA-1 MAC) protections, and writing AES-256 or legacy 3DES files.
//!
//! Reading is our own, over [`crate::asn1`]: `p12-keystore` (which writes) cannot open files
//! protected by the absent password that Key Vault and Windows use for "no password", and does
//! not tell a failed MAC from a bag that does not decrypt.

use p12_keystore::{EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain};

use crate::asn1::{self, tag};
use crate::certificate::Certificate;
use crate::error::{Error, Result, WrongPassword, corrupt};
use crate::key::PrivateKey;
use crate::pkcs8::{
    DecryptError, ENCRYPTION_ITERATIONS, MAX_ITERATIONS, PasswordBytes, decrypt_content, key_from_decrypted,
};

const FORMAT: &str = "PKCS#12 file";

/// How a PKCS#12 file is protected, read without the password.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Pkcs12Protection {
    /// The MAC's hash ("SHA-1", "SHA-256", ...), or `None` when the file has no MAC.
    pub mac: Option<String>,
    /// The MAC key derivation's iteration count.
    pub mac_iterations: u64,
    /// The encryption of each encrypted part, by name where known, e.g. "PBES2 AES-256-CBC"
    /// or "pbeWithSHAAnd3-KeyTripleDES-CBC".
    pub encryption: Vec<String>,
}

/// What a PKCS#12 file held.
pub(crate) struct Pkcs12Contents {
    pub keys: Vec<PrivateKey>,
    pub certificates: Vec<Certificate>,
    pub protection: Pkcs12Protection,
}

/// The outer structure: the authenticated contents and the MAC over them.
struct Pfx<'a> {
    /// The AuthenticatedSafe DER, which the MAC covers.
    auth_safe: &'a [u8],
    mac: Option<Mac<'a>>,
}

struct Mac<'a> {
    digest_oid: &'a [u8],
    digest: &'a [u8],
    salt: &'a [u8],
    iterations: u64,
}

/// Content type and bag OIDs, in dotted form.
const DATA: &str = "1.2.840.113549.1.7.1";
const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const SAFE_CONTENTS_BAG: &str = "1.2.840.113549.1.12.10.1.6";
const X509_CERTIFICATE: &str = "1.2.840.113549.1.9.22.1";

/// Reads a PKCS#12 file. With no password (or an empty one) both the empty password and the
/// absent one are tried, as OpenSSL does: Key Vault and Windows write files protected by the
/// absent password, OpenSSL by the empty one.
pub(crate) fn read(der: &[u8], password: Option<&str>) -> Result<Pkcs12Contents> {
    let (pfx, protection) = parse(der)?;
    let candidates = match password {
        Some(pw) if !pw.is_empty() => vec![PasswordBytes::new(pw)],
        _ => vec![PasswordBytes::new(""), PasswordBytes::absent()],
    };
    let candidates: Vec<&PasswordBytes> = match &pfx.mac {
        Some(mac) => {
            let mut verified = None;
            for candidate in &candidates {
                if mac.verify(candidate, pfx.auth_safe)? {
                    verified = Some(candidate);
                    break;
                }
            }
            match (verified, password) {
                (Some(pw), _) => vec![pw],
                (None, None) => return Err(Error::PasswordRequired { what: FORMAT }),
                (None, Some(_)) => return Err(Error::WrongPassword(WrongPassword::Pkcs12Mac)),
            }
        }
        None => candidates.iter().collect(),
    };
    let mut last_error = Error::WrongPassword(WrongPassword::Pkcs12Bag);
    for candidate in candidates {
        let mut contents = Pkcs12Contents {
            keys: Vec::new(),
            certificates: Vec::new(),
            protection: protection.clone(),
        };
        match read_safes(pfx.auth_safe, candidate, &mut contents) {
            Ok(()) => return Ok(contents),
            Err(e) => last_error = e,
        }
    }
    match (last_error, password) {
        (Error::WrongPassword(_), None) if pfx.mac.is_none() => Err(Error::PasswordRequired { what: FORMAT }),
        (e, _) => Err(e),
    }
}

impl Mac<'_> {
    /// Whether the MAC verifies under `password`. The comparison is constant-time.
    fn verify(&self, password: &PasswordBytes, data: &[u8]) -> Result<bool> {
        use aws_lc_rs::hmac;
        use pkcs12::kdf::{Pkcs12KeyType::Mac as MacKey, derive_key};
        let (pass, salt, rounds) = (password.bmp(), self.salt, self.iterations as i32);
        let (algorithm, key) = match asn1::oid_to_string(self.digest_oid).as_str() {
            "1.3.14.3.2.26" => (
                hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                derive_key::<sha1::Sha1>(pass, salt, MacKey, rounds, 20),
            ),
            "2.16.840.1.101.3.4.2.4" => (
                hmac::HMAC_SHA224,
                derive_key::<sha2::Sha224>(pass, salt, MacKey, rounds, 28),
            ),
            "2.16.840.1.101.3.4.2.1" => (
                hmac::HMAC_SHA256,
                derive_key::<sha2::Sha256>(pass, salt, MacKey, rounds, 32),
            ),
            "2.16.840.1.101.3.4.2.2" => (
                hmac::HMAC_SHA384,
                derive_key::<sha2::Sha384>(pass, salt, MacKey, rounds, 48),
            ),
            "2.16.840.1.101.3.4.2.3" => (
                hmac::HMAC_SHA512,
                derive_key::<sha2::Sha512>(pass, salt, MacKey, rounds, 64),
            ),
            other => {
                return Err(Error::UnsupportedAlgorithm {
                    what: "PKCS#12 MAC",
                    name: asn1::oid_name(other),
                    oid: other.to_owned(),
                });
            }
        };
        let key = zeroize::Zeroizing::new(key);
        Ok(hmac::verify(&hmac::Key::new(algorithm, &key), data, self.digest).is_ok())
    }
}

/// Reads the outer structure and describes the protection, decrypting nothing.
fn parse(der: &[u8]) -> Result<(Pfx<'_>, Pkcs12Protection)> {
    let bad = |e: asn1::DerError| corrupt(FORMAT, e.describe());
    // PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData MacData OPTIONAL }
    let (pfx, _) = asn1::expect(der, tag::SEQUENCE).map_err(bad)?;
    let (version, rest) = asn1::read_u64(pfx.value).map_err(bad)?;
    if version != 3 {
        return Err(corrupt(FORMAT, format!("version {version}; only version 3 exists")));
    }
    let (auth_safe, rest) = asn1::expect(rest, tag::SEQUENCE).map_err(bad)?;
    let mut protection = Pkcs12Protection::default();
    let mut mac = None;
    if !rest.is_empty() {
        // MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
        let (mac_data, _) = asn1::expect(rest, tag::SEQUENCE).map_err(bad)?;
        let (digest_info, rest) = asn1::expect(mac_data.value, tag::SEQUENCE).map_err(bad)?;
        let (alg, digest) = asn1::expect(digest_info.value, tag::SEQUENCE).map_err(bad)?;
        let (digest, _) = asn1::expect(digest, tag::OCTET_STRING).map_err(bad)?;
        let (alg_oid, _) = asn1::expect(alg.value, tag::OID).map_err(bad)?;
        let (salt, rest) = asn1::expect(rest, tag::OCTET_STRING).map_err(bad)?;
        let iterations = if rest.is_empty() {
            1
        } else {
            asn1::read_u64(rest).map_err(bad)?.0
        };
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(corrupt(
                FORMAT,
                format!("{iterations} MAC iterations is outside 1..={MAX_ITERATIONS}"),
            ));
        }
        protection.mac = Some(algorithm_name(&asn1::oid_to_string(alg_oid.value)));
        protection.mac_iterations = iterations;
        mac = Some(Mac {
            digest_oid: alg_oid.value,
            digest: digest.value,
            salt: salt.value,
            iterations,
        });
    }
    // ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }
    let (content_type, rest) = asn1::expect(auth_safe.value, tag::OID).map_err(bad)?;
    let content_type = asn1::oid_to_string(content_type.value);
    if content_type != DATA {
        let name = (content_type == "1.2.840.113549.1.7.2").then_some("public-key integrity (signedData)");
        return Err(Error::UnsupportedAlgorithm {
            what: "PKCS#12 integrity mode",
            name,
            oid: content_type,
        });
    }
    let (explicit, _) = asn1::expect(rest, 0xa0).map_err(bad)?;
    let (octets, _) = asn1::expect(explicit.value, tag::OCTET_STRING).map_err(bad)?;
    let pfx = Pfx {
        auth_safe: octets.value,
        mac,
    };
    describe_encryption(pfx.auth_safe, &mut protection).map_err(bad)?;
    Ok((pfx, protection))
}

/// Lists the encryption of each encrypted part, for [`Pkcs12Protection::encryption`].
fn describe_encryption(auth_safe: &[u8], protection: &mut Pkcs12Protection) -> Result<(), asn1::DerError> {
    for_each_content(auth_safe, |content_type, content| {
        match content_type.as_str() {
            ENCRYPTED_DATA => protection
                .encryption
                .push(encryption_name(encrypted_content(content)?.0.raw)),
            DATA => {
                let (octets, _) = asn1::expect(content, tag::OCTET_STRING)?;
                for_each_bag(octets.value, |bag_id, value| {
                    if bag_id == SHROUDED_KEY_BAG {
                        let (epki, _) = asn1::expect(value, tag::SEQUENCE)?;
                        let (alg, _) = asn1::expect(epki.value, tag::SEQUENCE)?;
                        protection.encryption.push(encryption_name(alg.raw));
                    }
                    Ok(())
                })?;
            }
            _ => {}
        }
        Ok(())
    })
}

/// Decrypts and reads every bag.
fn read_safes(auth_safe: &[u8], password: &PasswordBytes, out: &mut Pkcs12Contents) -> Result<()> {
    let bad = |e: asn1::DerError| corrupt(FORMAT, e.describe());
    let mut result = Ok(());
    for_each_content(auth_safe, |content_type, content| {
        let step = match content_type.as_str() {
            DATA => match asn1::expect(content, tag::OCTET_STRING) {
                Ok((octets, _)) => read_bags(octets.value, password, out, 0),
                Err(e) => Err(bad(e)),
            },
            ENCRYPTED_DATA => match encrypted_content(content) {
                Ok((alg, ciphertext)) => match decrypt_content(alg.raw, ciphertext, password) {
                    Ok(plaintext) => read_bags(&plaintext, password, out, 0),
                    Err(DecryptError::WrongPassword) => Err(Error::WrongPassword(WrongPassword::Pkcs12Bag)),
                    Err(DecryptError::Other(e)) => Err(e),
                },
                Err(e) => Err(bad(e)),
            },
            other => Err(Error::UnsupportedAlgorithm {
                what: "PKCS#12 content type",
                name: None,
                oid: other.to_owned(),
            }),
        };
        if result.is_ok() {
            result = step;
        }
        Ok(())
    })
    .map_err(bad)?;
    result
}

fn read_bags(safe_contents: &[u8], password: &PasswordBytes, out: &mut Pkcs12Contents, depth: u8) -> Result<()> {
    let bad = |e: asn1::DerError| corrupt(FORMAT, e.describe());
    let mut result = Ok(());
    for_each_bag(safe_contents, |bag_id, value| {
        let step = (|| -> Result<()> {
            match bag_id {
                KEY_BAG => out.keys.push(PrivateKey::from_pkcs8_der(value)?),
                SHROUDED_KEY_BAG => {
                    let (epki, _) = asn1::expect(value, tag::SEQUENCE).map_err(bad)?;
                    let (alg, rest) = asn1::expect(epki.value, tag::SEQUENCE).map_err(bad)?;
                    let (ciphertext, _) = asn1::expect(rest, tag::OCTET_STRING).map_err(bad)?;
                    let plaintext = match decrypt_content(alg.raw, ciphertext.value, password) {
                        Ok(p) => p,
                        Err(DecryptError::WrongPassword) => {
                            return Err(Error::WrongPassword(WrongPassword::Pkcs12Bag));
                        }
                        Err(DecryptError::Other(e)) => return Err(e),
                    };
                    out.keys.push(key_from_decrypted(&plaintext, WrongPassword::Pkcs12Bag)?);
                }
                CERT_BAG => {
                    // CertBag ::= SEQUENCE { certId OID, certValue [0] EXPLICIT OCTET STRING }
                    let (bag, _) = asn1::expect(value, tag::SEQUENCE).map_err(bad)?;
                    let (cert_id, rest) = asn1::expect(bag.value, tag::OID).map_err(bad)?;
                    if asn1::oid_to_string(cert_id.value) == X509_CERTIFICATE {
                        let (explicit, _) = asn1::expect(rest, 0xa0).map_err(bad)?;
                        let (octets, _) = asn1::expect(explicit.value, tag::OCTET_STRING).map_err(bad)?;
                        out.certificates.push(Certificate::from_der(octets.value)?);
                    }
                }
                SAFE_CONTENTS_BAG if depth < 4 => read_bags(value, password, out, depth + 1)?,
                _ => {}
            }
            Ok(())
        })();
        if result.is_ok() {
            result = step;
        }
        Ok(())
    })
    .map_err(bad)?;
    result
}

/// Calls `f(content type, explicit content)` for each ContentInfo of an AuthenticatedSafe.
fn for_each_content<'a>(
    auth_safe: &'a [u8],
    mut f: impl FnMut(String, &'a [u8]) -> Result<(), asn1::DerError>,
) -> Result<(), asn1::DerError> {
    let (safes, _) = asn1::expect(auth_safe, tag::SEQUENCE)?;
    let mut rest = safes.value;
    while !rest.is_empty() {
        let (content_info, after) = asn1::expect(rest, tag::SEQUENCE)?;
        rest = after;
        let (content_type, content) = asn1::expect(content_info.value, tag::OID)?;
        let (explicit, _) = asn1::expect(content, 0xa0)?;
        f(asn1::oid_to_string(content_type.value), explicit.value)?;
    }
    Ok(())
}

/// Calls `f(bag id, bag value)` for each SafeBag of a SafeContents.
fn for_each_bag<'a>(
    safe_contents: &'a [u8],
    mut f: impl FnMut(&str, &'a [u8]) -> Result<(), asn1::DerError>,
) -> Result<(), asn1::DerError> {
    // SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OPTIONAL }
    let (bags, _) = asn1::expect(safe_contents, tag::SEQUENCE)?;
    let mut rest = bags.value;
    while !rest.is_empty() {
        let (bag, after) = asn1::expect(rest, tag::SEQUENCE)?;
        rest = after;
        let (bag_id, value) = asn1::expect(bag.value, tag::OID)?;
        let (explicit, _) = asn1::expect(value, 0xa0)?;
        f(&asn1::oid_to_string(bag_id.value), explicit.value)?;
    }
    Ok(())
}

/// The AlgorithmIdentifier and ciphertext of an EncryptedData.
fn encrypted_content(content: &[u8]) -> Result<(asn1::Tlv<'_>, &[u8]), asn1::DerError> {
    // EncryptedData ::= SEQUENCE { version, EncryptedContentInfo { contentType, alg, [0] IMPLICIT data } }
    let (encrypted_data, _) = asn1::expect(content, tag::SEQUENCE)?;
    let (_, rest) = asn1::expect(encrypted_data.value, tag::INTEGER)?;
    let (eci, _) = asn1::expect(rest, tag::SEQUENCE)?;
    let (_, rest) = asn1::expect(eci.value, tag::OID)?;
    let (alg, rest) = asn1::expect(rest, tag::SEQUENCE)?;
    let (data, _) = asn1::expect(rest, 0x80)?;
    Ok((alg, data.value))
}

/// Names a DER AlgorithmIdentifier for people: the PKCS#12 PBE name, or for PBES2 the inner
/// cipher.
fn encryption_name(alg_id: &[u8]) -> String {
    let Ok((alg, _)) = asn1::expect(alg_id, tag::SEQUENCE) else {
        return "unreadable".into();
    };
    let Ok((oid, params)) = asn1::expect(alg.value, tag::OID) else {
        return "unreadable".into();
    };
    let dotted = asn1::oid_to_string(oid.value);
    if dotted != "1.2.840.113549.1.5.13" {
        return algorithm_name(&dotted);
    }
    let cipher = asn1::expect(params, tag::SEQUENCE)
        .and_then(|(seq, _)| asn1::expect(seq.value, tag::SEQUENCE))
        .and_then(|(_, rest)| asn1::expect(rest, tag::SEQUENCE))
        .and_then(|(enc, _)| asn1::expect(enc.value, tag::OID));
    match cipher {
        Ok((c, _)) => format!("PBES2 {}", algorithm_name(&asn1::oid_to_string(c.value))),
        Err(_) => "PBES2".into(),
    }
}

fn algorithm_name(dotted: &str) -> String {
    let name = match dotted {
        "1.3.14.3.2.26" => "SHA-1",
        "2.16.840.1.101.3.4.2.4" => "SHA-224",
        "2.16.840.1.101.3.4.2.1" => "SHA-256",
        "2.16.840.1.101.3.4.2.2" => "SHA-384",
        "2.16.840.1.101.3.4.2.3" => "SHA-512",
        "1.2.840.113549.1.12.1.3" => "pbeWithSHAAnd3-KeyTripleDES-CBC",
        "1.2.840.113549.1.12.1.4" => "pbeWithSHAAnd2-KeyTripleDES-CBC",
        "1.2.840.113549.1.12.1.5" => "pbeWithSHAAnd128BitRC2-CBC",
        "1.2.840.113549.1.12.1.6" => "pbeWithSHAAnd40BitRC2-CBC",
        "2.16.840.1.101.3.4.1.2" => "AES-128-CBC",
        "2.16.840.1.101.3.4.1.22" => "AES-192-CBC",
        "2.16.840.1.101.3.4.1.42" => "AES-256-CBC",
        "1.2.840.113549.3.7" => "DES-EDE3-CBC",
        other => {
            return asn1::oid_name(other)
                .map(str::to_owned)
                .unwrap_or_else(|| other.to_owned());
        }
    };
    name.to_owned()
}

/// How a PFX we write is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PfxEncryption {
    /// PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, SHA-256 MAC: OpenSSL 3's default.
    #[default]
    Aes256,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC with a SHA-1 MAC, 2000 iterations: what Key Vault
    /// writes, for Windows Server 2016 and older.
    Legacy3Des,
}

/// Writes a PFX holding `key`, its certificate and any further chain certificates.
pub fn write_pfx(
    certificate: &Certificate,
    chain: &[Certificate],
    key: &PrivateKey,
    password: &str,
    encryption: PfxEncryption,
) -> Result<Vec<u8>> {
    certificate.check_key(key)?;
    let p12_cert = |c: &Certificate| {
        p12_keystore::Certificate::from_der(c.der()).map_err(|_| Error::Crypto("PKCS#12 certificate encoding"))
    };
    let mut certs = vec![p12_cert(certificate)?];
    for c in chain {
        certs.push(p12_cert(c)?);
    }
    let p12_key =
        p12_keystore::PrivateKey::from_der(key.pkcs8_der()).map_err(|_| Error::Crypto("PKCS#12 key encoding"))?;
    let local_key_id = certificate.thumbprints().sha1().as_bytes().to_vec();
    let mut store = KeyStore::new();
    let alias = friendly_name(certificate);
    store.add_entry(
        &alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, p12_key, certs)),
    );
    protect(store.writer(password), encryption)
        .write()
        .map_err(|_| Error::Crypto("PKCS#12 encoding"))
}

/// Writes a PFX holding certificates and no key: what Key Vault serves behind a certificate whose
/// key is not exportable.
pub fn write_pfx_certificates(
    certificates: &[Certificate],
    password: &str,
    encryption: PfxEncryption,
) -> Result<Vec<u8>> {
    let mut store = KeyStore::new();
    for certificate in certificates {
        let entry = p12_keystore::Certificate::from_der(certificate.der())
            .map_err(|_| Error::Crypto("PKCS#12 certificate encoding"))?;
        store.add_entry(&certificate.thumbprints().sha1_hex(), KeyStoreEntry::Certificate(entry));
    }
    protect(store.writer(password), encryption)
        .write()
        .map_err(|_| Error::Crypto("PKCS#12 encoding"))
}

fn protect<'a, 'b>(
    writer: p12_keystore::Pkcs12Writer<'a, 'b>,
    encryption: PfxEncryption,
) -> p12_keystore::Pkcs12Writer<'a, 'b> {
    match encryption {
        PfxEncryption::Aes256 => writer
            .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
            .encryption_iterations(ENCRYPTION_ITERATIONS)
            .mac_algorithm(MacAlgorithm::HmacSha256)
            .mac_iterations(ENCRYPTION_ITERATIONS),
        PfxEncryption::Legacy3Des => writer
            .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
            .encryption_iterations(2000)
            .mac_algorithm(MacAlgorithm::HmacSha1)
            .mac_iterations(2000),
    }
}

fn friendly_name(certificate: &Certificate) -> String {
    let subject = &certificate.info().subject;
    subject
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .map(str::to_owned)
        .unwrap_or_else(|| certificate.thumbprints().sha1_hex())
}
