//! Reading any certificate or key file, the format told by the content, never by the name.

use zeroize::Zeroizing;

use crate::asn1::{self, tag};
use crate::certificate::Certificate;
use crate::error::{Error, Result, corrupt};
use crate::key::PrivateKey;
use crate::pkcs12::{self, Pkcs12Protection};
use crate::{openssl_pem, pem, pkcs8};

/// The largest input we parse. Real certificate and key files are a few kilobytes; a PEM bundle
/// of every public root is about 200 KiB.
pub const MAX_INPUT: usize = 1024 * 1024;

/// The container a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PEM text, with any number of certificates and keys.
    Pem,
    /// One DER certificate (.cer, .crt).
    DerCertificate,
    /// One DER private key: PKCS#8 (plain or encrypted), PKCS#1 or SEC1.
    DerPrivateKey,
    /// A PKCS#12 file (.pfx, .p12).
    Pkcs12,
}

impl Format {
    /// A name for people.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pem => "PEM",
            Self::DerCertificate => "DER certificate",
            Self::DerPrivateKey => "DER private key",
            Self::Pkcs12 => "PKCS#12",
        }
    }
}

/// What a file holds: certificates, the leaf first, and at most one private key, which matches
/// the leaf whenever both are present.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Contents {
    /// The container format.
    pub format: Format,
    /// Certificates; the one the key belongs to (or else the end of the chain) first, then its
    /// issuers in order, then any others.
    pub certificates: Vec<Certificate>,
    /// The private key, if the file has one.
    pub private_key: Option<PrivateKey>,
    /// Whether the key or the file was encrypted.
    pub encrypted: bool,
    /// For PKCS#12, how the file is protected.
    pub pkcs12: Option<Pkcs12Protection>,
}

impl Contents {
    /// The leaf certificate, if any.
    pub fn certificate(&self) -> Option<&Certificate> {
        self.certificates.first()
    }

    /// Adds a private key read from another file; it must match one of the certificates, which
    /// then comes first.
    pub fn with_private_key(mut self, key: PrivateKey) -> Result<Self> {
        self.private_key = Some(key);
        order(&mut self)?;
        Ok(self)
    }

    /// The leaf and its key, or the error saying which is missing.
    pub fn certificate_and_key(&self) -> Result<(&Certificate, &PrivateKey)> {
        match (self.certificates.first(), &self.private_key) {
            (Some(c), Some(k)) => Ok((c, k)),
            (None, _) => Err(Error::MissingCertificate),
            (_, None) => Err(Error::MissingPrivateKey),
        }
    }
}

/// Reads a certificate or key file in any supported format.
///
/// `password` opens encrypted keys and PKCS#12 files; with `None`, a PKCS#12 file is tried with
/// the empty password and an encrypted key is [`Error::PasswordRequired`].
pub fn read(input: &[u8], password: Option<&str>) -> Result<Contents> {
    if input.is_empty() {
        return Err(Error::Empty);
    }
    if input.len() > MAX_INPUT {
        return Err(Error::TooLarge {
            size: input.len(),
            limit: MAX_INPUT,
        });
    }
    let mut contents = if pem::is_pem(input) {
        read_pem(input, password)?
    } else {
        read_der(input, password)?
    };
    order(&mut contents)?;
    Ok(contents)
}

fn empty(format: Format) -> Contents {
    Contents {
        format,
        certificates: Vec::new(),
        private_key: None,
        encrypted: false,
        pkcs12: None,
    }
}

fn read_pem(input: &[u8], password: Option<&str>) -> Result<Contents> {
    let blocks = pem::parse_all(input)?;
    let mut contents = empty(Format::Pem);
    let mut keys = Vec::new();
    for block in &blocks {
        let encrypted = block
            .header("Proc-Type")
            .is_some_and(|v| v.to_ascii_uppercase().contains("ENCRYPTED"));
        let legacy_body = |password: Option<&str>| -> Result<Zeroizing<Vec<u8>>> {
            if !encrypted {
                return Ok(block.der.clone());
            }
            let password = password.ok_or(Error::PasswordRequired { what: "private key" })?;
            openssl_pem::decrypt(block, password)
        };
        match block.label.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" => contents.certificates.push(Certificate::from_der(&block.der)?),
            // OpenSSL's trusted form: the certificate followed by trust settings.
            "TRUSTED CERTIFICATE" => {
                let (cert, _) = asn1::read(&block.der).map_err(|e| corrupt("PEM certificate", e.describe()))?;
                contents.certificates.push(Certificate::from_der(cert.raw)?);
            }
            "PRIVATE KEY" => keys.push(PrivateKey::from_pkcs8_der(&block.der)?),
            "ENCRYPTED PRIVATE KEY" => {
                let password = password.ok_or(Error::PasswordRequired { what: "private key" })?;
                keys.push(pkcs8::decrypt(&block.der, password)?);
                contents.encrypted = true;
            }
            "RSA PRIVATE KEY" => {
                let der = legacy_body(password)?;
                keys.push(key_or_wrong_password(PrivateKey::from_pkcs1_der(&der), encrypted)?);
                contents.encrypted |= encrypted;
            }
            "EC PRIVATE KEY" => {
                let der = legacy_body(password)?;
                keys.push(key_or_wrong_password(PrivateKey::from_sec1_der(&der), encrypted)?);
                contents.encrypted |= encrypted;
            }
            _ => {}
        }
    }
    if contents.certificates.is_empty() && keys.is_empty() {
        return Err(pem::nothing_usable(&blocks));
    }
    contents.private_key = pick_key(keys, &contents.certificates);
    Ok(contents)
}

/// After decrypting with a wrong password, the key fails to parse: say so, not "corrupt".
fn key_or_wrong_password(key: Result<PrivateKey>, encrypted: bool) -> Result<PrivateKey> {
    match key {
        Err(Error::Corrupt { .. }) if encrypted => Err(Error::WrongPassword(crate::error::WrongPassword::PrivateKey)),
        other => other,
    }
}

/// The key that matches a certificate, or the first key.
fn pick_key(keys: Vec<PrivateKey>, certificates: &[Certificate]) -> Option<PrivateKey> {
    let matching = keys.iter().position(|k| certificates.iter().any(|c| c.matches_key(k)));
    keys.into_iter().nth(matching.unwrap_or(0))
}

/// What a DER blob is, from its first elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DerKind {
    Certificate,
    Pkcs12,
    Pkcs8,
    EncryptedPkcs8,
    Pkcs1,
    Sec1,
    Pkcs7,
}

/// Tells DER formats apart by their first elements, tolerating a cut-short input so that its
/// error can name the format it was.
fn sniff(input: &[u8]) -> Option<DerKind> {
    if input.first() != Some(&tag::SEQUENCE) {
        return None;
    }
    let header_len = match input.get(1)? {
        n if *n < 0x80 => 2,
        n if (0x81..=0x84).contains(n) => 2 + usize::from(n & 0x7f),
        _ => return None,
    };
    let content = input.get(header_len..)?;
    let first_tag = *content.first()?;
    match first_tag {
        tag::SEQUENCE => {
            // tbsCertificate starts with [0] version or the serial; AlgorithmIdentifier with an OID.
            let inner_start = match content.get(1)? {
                n if *n < 0x80 => 2,
                n => 2 + usize::from(n & 0x7f),
            };
            match *content.get(inner_start)? {
                0xa0 | tag::INTEGER => Some(DerKind::Certificate),
                tag::OID => Some(DerKind::EncryptedPkcs8),
                _ => None,
            }
        }
        tag::OID => Some(DerKind::Pkcs7),
        tag::INTEGER => {
            let (version, rest) = asn1::read(content).ok()?;
            match (version.value, rest.first()) {
                ([3], Some(&tag::SEQUENCE)) => Some(DerKind::Pkcs12),
                ([0] | [1], Some(&tag::SEQUENCE)) => Some(DerKind::Pkcs8),
                ([0] | [1], Some(&tag::INTEGER)) => Some(DerKind::Pkcs1),
                ([1], Some(&tag::OCTET_STRING)) => Some(DerKind::Sec1),
                _ => None,
            }
        }
        _ => None,
    }
}

fn read_der(input: &[u8], password: Option<&str>) -> Result<Contents> {
    let kind = sniff(input).ok_or_else(|| Error::Unrecognized {
        found: "neither PEM text nor a DER certificate, key or PKCS#12 structure".into(),
    })?;
    let key_file = |key: PrivateKey, encrypted: bool| Contents {
        private_key: Some(key),
        encrypted,
        ..empty(Format::DerPrivateKey)
    };
    Ok(match kind {
        DerKind::Certificate => Contents {
            certificates: vec![Certificate::from_der(input)?],
            ..empty(Format::DerCertificate)
        },
        DerKind::Pkcs12 => {
            let read = pkcs12::read(input, password)?;
            let private_key = pick_key(read.keys, &read.certificates);
            let encrypted = !read.protection.encryption.is_empty();
            Contents {
                format: Format::Pkcs12,
                certificates: read.certificates,
                private_key,
                encrypted,
                pkcs12: Some(read.protection),
            }
        }
        DerKind::Pkcs8 => key_file(PrivateKey::from_pkcs8_der(input)?, false),
        DerKind::EncryptedPkcs8 => {
            let password = password.ok_or(Error::PasswordRequired { what: "private key" })?;
            key_file(pkcs8::decrypt(input, password)?, true)
        }
        DerKind::Pkcs1 => key_file(PrivateKey::from_pkcs1_der(input)?, false),
        DerKind::Sec1 => key_file(PrivateKey::from_sec1_der(input)?, false),
        DerKind::Pkcs7 => {
            return Err(Error::Unrecognized {
                found:
                    "a PKCS#7 structure (.p7b/.p7c); export its certificates as PEM with `openssl pkcs7 -print_certs`"
                        .into(),
            });
        }
    })
}

/// Puts the key's certificate first and its issuers after it; checks that key and leaf match.
fn order(contents: &mut Contents) -> Result<()> {
    let certs = std::mem::take(&mut contents.certificates);
    if certs.is_empty() {
        return Ok(());
    }
    let leaf = match &contents.private_key {
        Some(key) => certs
            .iter()
            .position(|c| c.matches_key(key))
            .ok_or(Error::KeyMismatch)?,
        // The end of the chain: a certificate that issued none of the others.
        None => certs
            .iter()
            .position(|c| {
                !certs
                    .iter()
                    .any(|o| o != c && o.info().issuer == c.info().subject && !o.info().self_issued)
            })
            .unwrap_or(0),
    };
    let mut remaining = certs;
    let mut ordered = vec![remaining.remove(leaf)];
    while let Some(next) = ordered.last().and_then(|last| {
        let issuer = &last.info().issuer;
        (!last.info().self_issued)
            .then(|| remaining.iter().position(|c| &c.info().subject == issuer))
            .flatten()
    }) {
        ordered.push(remaining.remove(next));
    }
    ordered.append(&mut remaining);
    contents.certificates = ordered;
    Ok(())
}
