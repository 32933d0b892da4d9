//! PKCS#12 (.pfx, .p12): reading the modern (PBES2/AES, SHA-256 MAC) and legacy (3DES, RC2-40,
//! SHA-1 MAC) protections, and writing AES-256 or legacy 3DES files.

use p12_keystore::{EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, Pkcs12Archive, PrivateKeyChain};

use crate::asn1::{self, tag};
use crate::certificate::Certificate;
use crate::error::{Error, Result, WrongPassword, corrupt};
use crate::key::PrivateKey;
use crate::pkcs8::{ENCRYPTION_ITERATIONS, MAX_ITERATIONS};

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

/// Reads a PKCS#12 file. With no password, the empty password is tried (Key Vault and many
/// tools write files protected by it).
pub(crate) fn read(der: &[u8], password: Option<&str>) -> Result<Pkcs12Contents> {
    let protection = inspect(der)?;
    if protection.mac_iterations > MAX_ITERATIONS {
        return Err(corrupt(FORMAT, format!("{} MAC iterations is more than the {MAX_ITERATIONS} we allow", protection.mac_iterations)));
    }
    let archive = Pkcs12Archive::from_pkcs12(der, password.unwrap_or("")).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) if password.is_none() => Error::PasswordRequired { what: FORMAT },
        p12_keystore::error::Error::MacError(_) => Error::WrongPassword(WrongPassword::Pkcs12Mac),
        p12_keystore::error::Error::UnpadError | p12_keystore::error::Error::Pkcs5Error(_) if password.is_none() => {
            Error::PasswordRequired { what: FORMAT }
        }
        p12_keystore::error::Error::UnpadError | p12_keystore::error::Error::Pkcs5Error(_) => {
            Error::WrongPassword(WrongPassword::Pkcs12Bag)
        }
        p12_keystore::error::Error::UnsupportedEncryptionScheme => Error::UnsupportedAlgorithm {
            what: "PKCS#12 encryption",
            oid: protection.encryption.join(", "),
            name: None,
        },
        p12_keystore::error::Error::UnsupportedMacAlgorithm => Error::UnsupportedAlgorithm {
            what: "PKCS#12 MAC",
            oid: protection.mac.clone().unwrap_or_default(),
            name: None,
        },
        p12_keystore::error::Error::UnsupportedContentType => Error::UnsupportedAlgorithm {
            what: "PKCS#12 integrity mode",
            oid: "1.2.840.113549.1.7.2".into(),
            name: Some("public-key integrity (signedData)"),
        },
        other => corrupt(FORMAT, other.to_string()),
    })?;
    let keys = archive
        .keys
        .iter()
        .map(|bag| PrivateKey::from_pkcs8_der(bag.key.as_der()))
        .collect::<Result<Vec<_>>>()?;
    let certificates =
        archive.certs.iter().map(|bag| Certificate::from_der(bag.cert.as_der())).collect::<Result<Vec<_>>>()?;
    Ok(Pkcs12Contents { keys, certificates, protection })
}

/// Reads the structure and protection of a PFX without decrypting anything.
pub(crate) fn inspect(der: &[u8]) -> Result<Pkcs12Protection> {
    let bad = |e: asn1::DerError| corrupt(FORMAT, e.describe());
    // PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData MacData OPTIONAL }
    let (pfx, _) = asn1::expect(der, tag::SEQUENCE).map_err(bad)?;
    let (version, rest) = asn1::read_u64(pfx.value).map_err(bad)?;
    if version != 3 {
        return Err(corrupt(FORMAT, format!("version {version}; only version 3 exists")));
    }
    let (auth_safe, rest) = asn1::expect(rest, tag::SEQUENCE).map_err(bad)?;
    let mut protection = Pkcs12Protection::default();
    if !rest.is_empty() {
        // MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
        let (mac_data, _) = asn1::expect(rest, tag::SEQUENCE).map_err(bad)?;
        let (digest_info, rest) = asn1::expect(mac_data.value, tag::SEQUENCE).map_err(bad)?;
        let (alg, _) = asn1::expect(digest_info.value, tag::SEQUENCE).map_err(bad)?;
        let (alg_oid, _) = asn1::expect(alg.value, tag::OID).map_err(bad)?;
        let (_salt, rest) = asn1::expect(rest, tag::OCTET_STRING).map_err(bad)?;
        protection.mac = Some(algorithm_name(&asn1::oid_to_string(alg_oid.value)));
        protection.mac_iterations = if rest.is_empty() { 1 } else { asn1::read_u64(rest).map_err(bad)?.0 };
    }
    // ContentInfo ::= SEQUENCE { contentType OID (data), content [0] EXPLICIT OCTET STRING }
    let (_, rest) = asn1::expect(auth_safe.value, tag::OID).map_err(bad)?;
    let (explicit, _) = asn1::expect(rest, 0xa0).map_err(bad)?;
    let (octets, _) = asn1::expect(explicit.value, tag::OCTET_STRING).map_err(bad)?;
    let (safes, _) = asn1::expect(octets.value, tag::SEQUENCE).map_err(bad)?;
    let mut rest = safes.value;
    while !rest.is_empty() {
        let (content_info, after) = asn1::expect(rest, tag::SEQUENCE).map_err(bad)?;
        rest = after;
        let (content_type, content) = asn1::expect(content_info.value, tag::OID).map_err(bad)?;
        let content_type = asn1::oid_to_string(content_type.value);
        let (explicit, _) = asn1::expect(content, 0xa0).map_err(bad)?;
        match content_type.as_str() {
            // encryptedData: SEQUENCE { version, EncryptedContentInfo { type, AlgorithmIdentifier, [0] data } }
            "1.2.840.113549.1.7.6" => {
                let (encrypted_data, _) = asn1::expect(explicit.value, tag::SEQUENCE).map_err(bad)?;
                let (_, rest) = asn1::expect(encrypted_data.value, tag::INTEGER).map_err(bad)?;
                let (eci, _) = asn1::expect(rest, tag::SEQUENCE).map_err(bad)?;
                let (_, rest) = asn1::expect(eci.value, tag::OID).map_err(bad)?;
                let (alg, _) = asn1::expect(rest, tag::SEQUENCE).map_err(bad)?;
                protection.encryption.push(encryption_name(alg.value));
            }
            // data: SafeContents in an OCTET STRING; shrouded key bags carry their own algorithm.
            "1.2.840.113549.1.7.1" => {
                let (octets, _) = asn1::expect(explicit.value, tag::OCTET_STRING).map_err(bad)?;
                let (bags, _) = asn1::expect(octets.value, tag::SEQUENCE).map_err(bad)?;
                let mut bag_rest = bags.value;
                while !bag_rest.is_empty() {
                    let (bag, after) = asn1::expect(bag_rest, tag::SEQUENCE).map_err(bad)?;
                    bag_rest = after;
                    let (bag_id, value) = asn1::expect(bag.value, tag::OID).map_err(bad)?;
                    if asn1::oid_to_string(bag_id.value) == "1.2.840.113549.1.12.10.1.2" {
                        let (explicit, _) = asn1::expect(value, 0xa0).map_err(bad)?;
                        let (epki, _) = asn1::expect(explicit.value, tag::SEQUENCE).map_err(bad)?;
                        let (alg, _) = asn1::expect(epki.value, tag::SEQUENCE).map_err(bad)?;
                        protection.encryption.push(encryption_name(alg.value));
                    }
                }
            }
            other => {
                return Err(Error::UnsupportedAlgorithm { what: "PKCS#12 content type", name: None, oid: other.to_owned() });
            }
        }
    }
    Ok(protection)
}

/// Names an AlgorithmIdentifier's content for people: the PKCS#12 PBE name, or for PBES2 the
/// inner cipher.
fn encryption_name(alg_id: &[u8]) -> String {
    let Ok((oid, params)) = asn1::expect(alg_id, tag::OID) else { return "unreadable".into() };
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
        other => return asn1::oid_name(other).map(str::to_owned).unwrap_or_else(|| other.to_owned()),
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
    store.add_entry(&alias, KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, p12_key, certs)));
    let writer = store.writer(password);
    let writer = match encryption {
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
    };
    writer.write().map_err(|_| Error::Crypto("PKCS#12 encoding"))
}

fn friendly_name(certificate: &Certificate) -> String {
    let subject = &certificate.info().subject;
    subject
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .map(str::to_owned)
        .unwrap_or_else(|| certificate.thumbprints().sha1_hex())
}
