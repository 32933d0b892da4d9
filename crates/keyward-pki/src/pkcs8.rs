//! Password-based decryption of keys and PKCS#12 contents, and encrypted PKCS#8
//! (`ENCRYPTED PRIVATE KEY`): PBES2 with every cipher and PRF OpenSSL writes (AES-128/192/256-CBC,
//! DES-EDE3-CBC, DES-CBC; PBKDF2 with HMAC-SHA1/224/256/384/512, or scrypt), and the PKCS#12 PBE
//! schemes (SHA-1 with 3DES or RC2) of `openssl pkcs8 -v1` and legacy PFX files.

use cbc::cipher::{BlockModeDecrypt, InnerIvInit, KeyIvInit, block_padding::Pkcs7};
use pkcs8::PrivateKeyInfoRef;
use pkcs8::der::Decode;
use pkcs8::pkcs5::{self, pbes2};
use zeroize::Zeroizing;

use crate::asn1::{self, oid, tag};
use crate::error::{Error, Result, WrongPassword, corrupt};
use crate::key::PrivateKey;

/// The largest PBKDF2 iteration count (or PKCS#12 KDF round count) we will run. A crafted file
/// with a huge count would otherwise keep a CPU busy for hours.
pub const MAX_ITERATIONS: u64 = 10_000_000;

/// PBKDF2 iterations used when we encrypt: five times OpenSSL's default of 2048, and what Java's
/// keytool uses.
pub const ENCRYPTION_ITERATIONS: u32 = 10_000;

const FORMAT: &str = "encrypted PKCS#8 private key";

/// A password in the two encodings password-based encryption uses: UTF-8 bytes for PBES2, and
/// a zero-terminated big-endian BMPString for the PKCS#12 KDF.
pub(crate) struct PasswordBytes {
    utf8: Zeroizing<Vec<u8>>,
    bmp: Zeroizing<Vec<u8>>,
}

impl PasswordBytes {
    pub(crate) fn new(password: &str) -> Self {
        let mut bmp = Zeroizing::new(Vec::with_capacity(password.len() * 2 + 2));
        for unit in password.encode_utf16() {
            bmp.extend_from_slice(&unit.to_be_bytes());
        }
        bmp.extend_from_slice(&[0, 0]);
        Self {
            utf8: Zeroizing::new(password.as_bytes().to_vec()),
            bmp,
        }
    }

    /// The absent password: no bytes at all, not even the terminator. Windows and Key Vault
    /// protect "password-less" PFX files with it; OpenSSL tries it after the empty password.
    pub(crate) fn absent() -> Self {
        Self {
            utf8: Zeroizing::new(Vec::new()),
            bmp: Zeroizing::new(Vec::new()),
        }
    }

    pub(crate) fn bmp(&self) -> &[u8] {
        &self.bmp
    }
}

/// Why password-based decryption failed.
pub(crate) enum DecryptError {
    /// The padding did not check out: the password is wrong.
    WrongPassword,
    /// Anything else: unsupported algorithm, damaged parameters.
    Other(Error),
}

/// Decrypts `ciphertext` under the password-based scheme named by the DER AlgorithmIdentifier
/// `alg_id`.
pub(crate) fn decrypt_content(
    alg_id: &[u8],
    ciphertext: &[u8],
    password: &PasswordBytes,
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    let bad = |e: asn1::DerError| DecryptError::Other(corrupt(FORMAT, e.describe()));
    let (alg, _) = asn1::expect(alg_id, tag::SEQUENCE).map_err(bad)?;
    let (alg_oid, params) = asn1::expect(alg.value, tag::OID).map_err(bad)?;
    if alg_oid.value == oid::PBES2 {
        return decrypt_pbes2(&alg_id[..alg.raw.len()], params, ciphertext, password);
    }
    let cipher = match alg_oid.value {
        oid::PBE_SHA1_3DES => Pkcs12Cipher::TripleDes,
        oid::PBE_SHA1_2DES => Pkcs12Cipher::TwoKeyTripleDes,
        oid::PBE_SHA1_RC2_128 => Pkcs12Cipher::Rc2 { bits: 128 },
        oid::PBE_SHA1_RC2_40 => Pkcs12Cipher::Rc2 { bits: 40 },
        other => {
            let dotted = asn1::oid_to_string(other);
            return Err(DecryptError::Other(Error::UnsupportedAlgorithm {
                what: "password-based encryption",
                name: asn1::oid_name(&dotted),
                oid: dotted,
            }));
        }
    };
    // pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
    let (seq, _) = asn1::expect(params, tag::SEQUENCE).map_err(bad)?;
    let (salt, rest) = asn1::expect(seq.value, tag::OCTET_STRING).map_err(bad)?;
    let (iterations, _) = asn1::read_u64(rest).map_err(bad)?;
    if iterations == 0 || iterations > MAX_ITERATIONS {
        let detail = format!("{iterations} KDF iterations is outside 1..={MAX_ITERATIONS}");
        return Err(DecryptError::Other(corrupt(FORMAT, detail)));
    }
    cipher.decrypt(password.bmp(), salt.value, iterations as i32, ciphertext)
}

fn decrypt_pbes2(
    alg_id: &[u8],
    params: &[u8],
    ciphertext: &[u8],
    password: &PasswordBytes,
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    let scheme =
        pkcs5::EncryptionScheme::from_der(alg_id).map_err(|_| DecryptError::Other(unsupported_pbes2(params)))?;
    let pbes2 = scheme
        .pbes2()
        .ok_or_else(|| DecryptError::Other(unsupported_pbes2(params)))?;
    let too_costly = |detail: String| DecryptError::Other(corrupt(FORMAT, detail));
    match &pbes2.kdf {
        pbes2::Kdf::Pbkdf2(p) if u64::from(p.iteration_count) > MAX_ITERATIONS => {
            return Err(too_costly(format!(
                "{} PBKDF2 iterations is more than the {MAX_ITERATIONS} we allow",
                p.iteration_count
            )));
        }
        pbes2::Kdf::Scrypt(p) if p.cost_parameter.saturating_mul(u64::from(p.block_size)) > 1 << 20 => {
            return Err(too_costly(
                "the scrypt cost (N times r) is above 2^20, more than we allow".into(),
            ));
        }
        _ => {}
    }
    let plaintext = pbes2
        .decrypt(&password.utf8[..], ciphertext)
        .map_err(|_| DecryptError::WrongPassword)?;
    Ok(Zeroizing::new(plaintext))
}

/// Decrypts an `EncryptedPrivateKeyInfo` with `password`.
pub(crate) fn decrypt(der: &[u8], password: &str) -> Result<PrivateKey> {
    let bad = |detail: &str| corrupt(FORMAT, detail);
    let (outer, _) = asn1::expect(der, tag::SEQUENCE).map_err(|e| bad(e.describe()))?;
    let (alg_id, rest) = asn1::expect(outer.value, tag::SEQUENCE).map_err(|e| bad(e.describe()))?;
    let (ciphertext, _) = asn1::expect(rest, tag::OCTET_STRING).map_err(|e| bad(e.describe()))?;
    let plaintext = match decrypt_content(alg_id.raw, ciphertext.value, &PasswordBytes::new(password)) {
        Ok(p) => p,
        Err(DecryptError::WrongPassword) => {
            return Err(Error::WrongPassword(WrongPassword::PrivateKey));
        }
        Err(DecryptError::Other(e)) => return Err(e),
    };
    key_from_decrypted(&plaintext, WrongPassword::PrivateKey)
}

/// Parses decrypted PKCS#8. A wrong password passes the padding check about once in 256 tries;
/// the key then fails to parse, and that is reported as the wrong password it is.
pub(crate) fn key_from_decrypted(plaintext: &[u8], wrong: WrongPassword) -> Result<PrivateKey> {
    PrivateKey::from_pkcs8_der(plaintext).map_err(|e| match e {
        Error::KeyTooSmall { .. } | Error::UnsupportedAlgorithm { .. } => e,
        _ => Error::WrongPassword(wrong),
    })
}

/// Names the part of a PBES2 parameter block we cannot handle.
fn unsupported_pbes2(params: &[u8]) -> Error {
    // PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }
    let oids = || -> Option<(String, String, Option<String>)> {
        let (seq, _) = asn1::expect(params, tag::SEQUENCE).ok()?;
        let (kdf, rest) = asn1::expect(seq.value, tag::SEQUENCE).ok()?;
        let (enc, _) = asn1::expect(rest, tag::SEQUENCE).ok()?;
        let (kdf_oid, kdf_params) = asn1::expect(kdf.value, tag::OID).ok()?;
        let (enc_oid, _) = asn1::expect(enc.value, tag::OID).ok()?;
        // PBKDF2-params: salt, iterations, [keyLength], [prf AlgorithmIdentifier]
        let prf = asn1::expect(kdf_params, tag::SEQUENCE).ok().and_then(|(p, _)| {
            let mut rest = p.value;
            while let Ok((field, after)) = asn1::read(rest) {
                if field.tag == tag::SEQUENCE {
                    return asn1::expect(field.value, tag::OID)
                        .ok()
                        .map(|(o, _)| asn1::oid_to_string(o.value));
                }
                rest = after;
            }
            None
        });
        Some((
            asn1::oid_to_string(kdf_oid.value),
            asn1::oid_to_string(enc_oid.value),
            prf,
        ))
    };
    const KNOWN_CIPHERS: [&str; 7] = [
        "2.16.840.1.101.3.4.1.2",
        "2.16.840.1.101.3.4.1.22",
        "2.16.840.1.101.3.4.1.42",
        "2.16.840.1.101.3.4.1.6",
        "2.16.840.1.101.3.4.1.46",
        "1.2.840.113549.3.7",
        "1.3.14.3.2.7",
    ];
    match oids() {
        Some((kdf, enc, prf)) => {
            let (what, oid) = if !KNOWN_CIPHERS.contains(&enc.as_str()) {
                ("key encryption cipher", enc)
            } else if let Some(prf) = prf.filter(|p| !p.starts_with("1.2.840.113549.2.")) {
                ("PBKDF2 hash", prf)
            } else {
                ("key derivation function", kdf)
            };
            Error::UnsupportedAlgorithm {
                what,
                name: asn1::oid_name(&oid),
                oid,
            }
        }
        None => corrupt(FORMAT, "the PBES2 parameters cannot be read"),
    }
}

/// The ciphers of PKCS#12 appendix C.
#[derive(Debug, Clone, Copy)]
enum Pkcs12Cipher {
    TripleDes,
    TwoKeyTripleDes,
    Rc2 { bits: usize },
}

impl Pkcs12Cipher {
    fn decrypt(
        self,
        bmp_password: &[u8],
        salt: &[u8],
        rounds: i32,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        use pkcs12::kdf::{Pkcs12KeyType, derive_key};
        let derive = |id, len| Zeroizing::new(derive_key::<sha1::Sha1>(bmp_password, salt, id, rounds, len));
        let key_len = match self {
            Self::TripleDes => 24,
            Self::TwoKeyTripleDes => 16,
            Self::Rc2 { bits } => bits / 8,
        };
        let key = derive(Pkcs12KeyType::EncryptionKey, key_len);
        let iv = derive(Pkcs12KeyType::Iv, 8);
        let setup = |_| DecryptError::Other(Error::Crypto("cipher setup"));
        let plaintext = match self {
            Self::TripleDes => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
                .map_err(setup)?
                .decrypt_padded_vec::<Pkcs7>(ciphertext),
            Self::TwoKeyTripleDes => cbc::Decryptor::<des::TdesEde2>::new_from_slices(&key, &iv)
                .map_err(setup)?
                .decrypt_padded_vec::<Pkcs7>(ciphertext),
            Self::Rc2 { bits } => {
                cbc::Decryptor::<rc2::Rc2>::inner_iv_slice_init(rc2::Rc2::new_with_eff_key_len(&key, bits), &iv)
                    .map_err(setup)?
                    .decrypt_padded_vec::<Pkcs7>(ciphertext)
            }
        };
        plaintext.map(Zeroizing::new).map_err(|_| DecryptError::WrongPassword)
    }
}

/// Encrypts a key as PKCS#8 with PBES2: PBKDF2-HMAC-SHA256 ([`ENCRYPTION_ITERATIONS`]) and
/// AES-256-CBC, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` does. Returns DER.
pub(crate) fn encrypt(key: &PrivateKey, password: &str) -> Result<Zeroizing<Vec<u8>>> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| Error::Crypto("random salt"))?;
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| Error::Crypto("random IV"))?;
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(ENCRYPTION_ITERATIONS, &salt, iv)
        .map_err(|_| Error::Crypto("PBES2 parameters"))?;
    let info = PrivateKeyInfoRef::from_der(key.pkcs8_der()).map_err(|_| Error::Crypto("re-reading PKCS#8"))?;
    let doc = info
        .encrypt_with_params(params, password.as_bytes())
        .map_err(|_| Error::Crypto("PKCS#8 encryption"))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}
