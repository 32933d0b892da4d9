//! Private keys: generation, loading from the unencrypted DER forms (PKCS#8, PKCS#1, SEC1), and
//! the public key they imply. Every key is normalised to PKCS#8 and checked by aws-lc-rs.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use zeroize::Zeroizing;

use crate::asn1::{self, oid, tag};
use crate::error::{Error, Result, corrupt};

/// The smallest RSA modulus accepted anywhere, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// A key type to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// RSA with a 2048-bit modulus: what Entra ID and Key Vault use by default.
    #[default]
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
    /// ECDSA on NIST P-256.
    EcP256,
    /// ECDSA on NIST P-384.
    EcP384,
}

impl KeyType {
    /// Every key type, in the order `--help` lists them.
    pub const ALL: [KeyType; 5] = [Self::Rsa2048, Self::Rsa3072, Self::Rsa4096, Self::EcP256, Self::EcP384];

    /// The name used on the command line (`rsa-2048`, `ec-p256`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
            Self::Rsa4096 => "rsa-4096",
            Self::EcP256 => "ec-p256",
            Self::EcP384 => "ec-p384",
        }
    }
}

impl FromStr for KeyType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown key type {s:?}; use one of rsa-2048, rsa-3072, rsa-4096, ec-p256, ec-p384"))
    }
}

/// An elliptic curve we support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (secp256r1), used with ES256.
    P256,
    /// NIST P-384 (secp384r1), used with ES384.
    P384,
}

/// What kind of key a [`PrivateKey`] or certificate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA with a modulus of this many bits.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// ECDSA on this curve.
    Ec(Curve),
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa { bits } => write!(f, "RSA {bits}"),
            Self::Ec(Curve::P256) => f.write_str("EC P-256"),
            Self::Ec(Curve::P384) => f.write_str("EC P-384"),
        }
    }
}

impl KeyAlgorithm {
    /// Key size in bits (the modulus for RSA, the field for EC).
    pub fn bits(&self) -> usize {
        match self {
            Self::Rsa { bits } => *bits,
            Self::Ec(Curve::P256) => 256,
            Self::Ec(Curve::P384) => 384,
        }
    }
}

/// A private key, held as PKCS#8 DER that aws-lc-rs has accepted. Wiped on drop; its `Debug`
/// shows only the algorithm.
#[derive(Clone)]
pub struct PrivateKey {
    pkcs8: Zeroizing<Vec<u8>>,
    algorithm: KeyAlgorithm,
    /// The subjectPublicKey bits (PKCS#1 RSAPublicKey, or the EC point), to compare with a
    /// certificate's.
    public_key: Vec<u8>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Generates a new key.
    pub fn generate(key_type: KeyType) -> Result<Self> {
        let pkcs8 = match key_type {
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                let size = match key_type {
                    KeyType::Rsa2048 => KeySize::Rsa2048,
                    KeyType::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                let pair = RsaKeyPair::generate(size).map_err(|_| Error::Crypto("RSA key generation"))?;
                pkcs8_of_rsa(&pair)?
            }
            KeyType::EcP256 | KeyType::EcP384 => {
                let alg = if key_type == KeyType::EcP256 {
                    ec_alg(Curve::P256)
                } else {
                    ec_alg(Curve::P384)
                };
                let pair = EcdsaKeyPair::generate(alg).map_err(|_| Error::Crypto("EC key generation"))?;
                Zeroizing::new(
                    pair.to_pkcs8v1()
                        .map_err(|_| Error::Crypto("EC key encoding"))?
                        .as_ref()
                        .to_vec(),
                )
            }
        };
        Self::from_pkcs8_der(&pkcs8)
    }

    /// Loads an unencrypted PKCS#8 `PrivateKeyInfo`.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let bad = |detail: &str| corrupt("PKCS#8 private key", detail);
        let (outer, _) = asn1::expect(der, tag::SEQUENCE).map_err(|e| bad(e.describe()))?;
        let (_version, rest) = asn1::expect(outer.value, tag::INTEGER).map_err(|e| bad(e.describe()))?;
        let (alg_id, rest) = asn1::expect(rest, tag::SEQUENCE).map_err(|e| bad(e.describe()))?;
        let (key, _) = asn1::expect(rest, tag::OCTET_STRING).map_err(|e| bad(e.describe()))?;
        let (alg_oid, params) = asn1::expect(alg_id.value, tag::OID).map_err(|e| bad(e.describe()))?;
        let der = &der[..outer.raw.len()];
        match alg_oid.value {
            oid::RSA_ENCRYPTION => {
                check_rsa_size(key.value)?;
                let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| bad(&format!("RSA key rejected: {e}")))?;
                Ok(Self::from_rsa(Zeroizing::new(der.to_vec()), &pair))
            }
            oid::EC_PUBLIC_KEY => {
                let curve = match asn1::expect(params, tag::OID) {
                    Ok((c, _)) => curve_of(c.value)?,
                    Err(_) => return Err(bad("EC key without a named curve")),
                };
                let pair =
                    EcdsaKeyPair::from_pkcs8(ec_alg(curve), der).map_err(|e| bad(&format!("EC key rejected: {e}")))?;
                Ok(Self::from_ec(Zeroizing::new(der.to_vec()), curve, &pair))
            }
            other => Err(unsupported_key(other)),
        }
    }

    /// Loads a PKCS#1 `RSAPrivateKey` (PEM label `RSA PRIVATE KEY`).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        check_rsa_size(der)?;
        let pair = RsaKeyPair::from_der(der)
            .map_err(|e| corrupt("PKCS#1 RSA private key", format!("RSA key rejected: {e}")))?;
        Ok(Self::from_rsa(pkcs8_of_rsa(&pair)?, &pair))
    }

    /// Loads a SEC1 `ECPrivateKey` (PEM label `EC PRIVATE KEY`).
    pub fn from_sec1_der(der: &[u8]) -> Result<Self> {
        let bad = |detail: &str| corrupt("SEC1 EC private key", detail);
        // ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] parameters, [1] publicKey }
        let (outer, _) = asn1::expect(der, tag::SEQUENCE).map_err(|e| bad(e.describe()))?;
        let (_, mut rest) = asn1::expect(outer.value, tag::INTEGER).map_err(|e| bad(e.describe()))?;
        let mut curve = None;
        while !rest.is_empty() {
            let (field, after) = asn1::read(rest).map_err(|e| bad(e.describe()))?;
            if field.tag == 0xa0 {
                let (c, _) = asn1::expect(field.value, tag::OID).map_err(|e| bad(e.describe()))?;
                curve = Some(curve_of(c.value)?);
            }
            rest = after;
        }
        let curve = curve.ok_or_else(|| bad("no named curve in the key"))?;
        let pair = EcdsaKeyPair::from_private_key_der(ec_alg(curve), &der[..outer.raw.len()])
            .map_err(|e| bad(&format!("EC key rejected: {e}")))?;
        let pkcs8 = Zeroizing::new(
            pair.to_pkcs8v1()
                .map_err(|_| Error::Crypto("EC key encoding"))?
                .as_ref()
                .to_vec(),
        );
        Ok(Self::from_ec(pkcs8, curve, &pair))
    }

    fn from_rsa(pkcs8: Zeroizing<Vec<u8>>, pair: &RsaKeyPair) -> Self {
        let algorithm = KeyAlgorithm::Rsa {
            bits: pair.public_modulus_len() * 8,
        };
        Self {
            pkcs8,
            algorithm,
            public_key: pair.public_key().as_ref().to_vec(),
        }
    }

    fn from_ec(pkcs8: Zeroizing<Vec<u8>>, curve: Curve, pair: &EcdsaKeyPair) -> Self {
        Self {
            pkcs8,
            algorithm: KeyAlgorithm::Ec(curve),
            public_key: pair.public_key().as_ref().to_vec(),
        }
    }

    /// The key's algorithm and size.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The unencrypted PKCS#8 DER. Handle with care: this is the secret.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key bits as they appear in a certificate's `subjectPublicKey`.
    pub fn public_key_bits(&self) -> &[u8] {
        &self.public_key
    }

    pub(crate) fn rcgen_key_pair(&self) -> Result<rcgen::KeyPair> {
        let alg = match self.algorithm {
            KeyAlgorithm::Rsa { .. } => &rcgen::PKCS_RSA_SHA256,
            KeyAlgorithm::Ec(Curve::P256) => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::Ec(Curve::P384) => &rcgen::PKCS_ECDSA_P384_SHA384,
        };
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(self.pkcs8.to_vec());
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, alg)
            .map_err(|_| Error::Crypto("loading the key for signing"))
    }
}

fn pkcs8_of_rsa(pair: &RsaKeyPair) -> Result<Zeroizing<Vec<u8>>> {
    let der: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| Error::Crypto("RSA key encoding"))?;
    Ok(Zeroizing::new(der.as_ref().to_vec()))
}

fn ec_alg(curve: Curve) -> &'static signature::EcdsaSigningAlgorithm {
    match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
    }
}

pub(crate) fn curve_of(oid_value: &[u8]) -> Result<Curve> {
    match oid_value {
        oid::SECP256R1 => Ok(Curve::P256),
        oid::SECP384R1 => Ok(Curve::P384),
        other => Err(unsupported_key(other)),
    }
}

pub(crate) fn unsupported_key(oid_value: &[u8]) -> Error {
    let dotted = asn1::oid_to_string(oid_value);
    Error::UnsupportedAlgorithm {
        what: "key algorithm",
        name: asn1::oid_name(&dotted),
        oid: dotted,
    }
}

/// Refuses an RSA key under [`MIN_RSA_BITS`] with its size, before aws-lc-rs refuses it without.
/// `pkcs1` is an `RSAPrivateKey` or `RSAPublicKey`; either starts with the modulus (after the
/// private key's version).
pub(crate) fn check_rsa_size(pkcs1: &[u8]) -> Result<()> {
    let bits = rsa_modulus_bits(pkcs1).ok_or_else(|| corrupt("RSA key", "the modulus cannot be read"))?;
    if bits < MIN_RSA_BITS {
        Err(Error::KeyTooSmall { bits })
    } else {
        Ok(())
    }
}

pub(crate) fn rsa_modulus_bits(pkcs1: &[u8]) -> Option<usize> {
    let (outer, _) = asn1::expect(pkcs1, tag::SEQUENCE).ok()?;
    let (first, rest) = asn1::expect(outer.value, tag::INTEGER).ok()?;
    // A private key starts with version 0, then the modulus; a public key with the modulus.
    let modulus = match asn1::expect(rest, tag::INTEGER) {
        Ok((second, _)) if matches!(first.value, [0] | [1]) => second,
        _ => first,
    };
    Some(asn1::integer_bits(modulus.value))
}

impl PrivateKey {
    /// PKCS#8 PEM: `PRIVATE KEY`, or with a password `ENCRYPTED PRIVATE KEY` (PBES2,
    /// PBKDF2-HMAC-SHA256, AES-256-CBC). Wiped on drop.
    pub fn to_pkcs8_pem(&self, password: Option<&str>) -> Result<Zeroizing<String>> {
        Ok(Zeroizing::new(match password {
            None => crate::pem::encode("PRIVATE KEY", &self.pkcs8),
            Some(pw) => crate::pem::encode("ENCRYPTED PRIVATE KEY", &crate::pkcs8::encrypt(self, pw)?),
        }))
    }
}
