//! Verification: a public key parsed once, which knows which algorithms fit it.

use std::fmt;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use keyward_pki::{Certificate, Curve, KeyAlgorithm, MIN_RSA_BITS};

use crate::algorithm::Algorithm;
use crate::error::{Error, KeyError, Result, malformed_key};
use crate::spki::{self, PublicKeyParts};

/// The largest RSA modulus aws-lc-rs verifies with, in bits.
const MAX_RSA_BITS: usize = 8192;

/// A public key ready to verify JWS signatures.
///
/// Construction does all the parsing and checking (key type, curve, RSA size of 2048 to 8192
/// bits, point on the curve), so build one per registered key and keep it. An RSA key verifies
/// RS256 and PS256; an EC P-256 key verifies ES256.
#[derive(Clone)]
pub struct VerifyingKey {
    key_algorithm: KeyAlgorithm,
    parts: PublicKeyParts,
    parsed: Parsed,
    /// The one algorithm this key may verify, when its JWK said so.
    only: Option<Algorithm>,
}

#[derive(Clone)]
enum Parsed {
    Rsa {
        pkcs1: ParsedPublicKey,
        pss: ParsedPublicKey,
    },
    EcP256(ParsedPublicKey),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("key", &self.key_algorithm)
            .field("only", &self.only)
            .finish_non_exhaustive()
    }
}

impl PartialEq for VerifyingKey {
    /// Two verifying keys are equal when they hold the same public key.
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts && self.only == other.only
    }
}

impl Eq for VerifyingKey {}

impl VerifyingKey {
    /// From a DER SubjectPublicKeyInfo, as `keyward_pki::Certificate::spki_der` returns.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        Self::from_parts(spki::parse_spki(der)?)
    }

    /// From the public key of a certificate. Validity dates and chains are not looked at: that
    /// is the caller's decision.
    pub fn from_certificate(certificate: &Certificate) -> Result<Self> {
        Self::from_spki_der(&certificate.spki_der())
    }

    pub(crate) fn from_parts(parts: PublicKeyParts) -> Result<Self> {
        let (key_algorithm, parsed) = match &parts {
            PublicKeyParts::Rsa { n, e } => {
                let bits = spki::bit_len(n);
                if bits < MIN_RSA_BITS {
                    return Err(KeyError::RsaTooSmall { bits }.into());
                }
                if bits > MAX_RSA_BITS {
                    return Err(KeyError::RsaTooLarge { bits }.into());
                }
                // aws-lc-rs takes an even modulus or an exponent of 1 without complaint; neither
                // is an RSA key, and e = 1 would make every signature forgeable.
                let odd = |v: &[u8]| v.last().is_some_and(|b| b & 1 == 1);
                if !odd(n) {
                    return Err(malformed_key("RSA public key", "the modulus is even"));
                }
                if !odd(e) || e.as_slice() == [1] {
                    return Err(malformed_key(
                        "RSA public key",
                        "the exponent is not an odd number above 1",
                    ));
                }
                let components = RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                };
                let rejected = |_| Error::Key(KeyError::Rejected("RSA public key"));
                let parsed = Parsed::Rsa {
                    pkcs1: components
                        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
                        .map_err(rejected)?,
                    pss: components
                        .to_parsed_public_key(&signature::RSA_PSS_2048_8192_SHA256)
                        .map_err(rejected)?,
                };
                (KeyAlgorithm::Rsa { bits }, parsed)
            }
            PublicKeyParts::EcP256 { x, y } => {
                let point = [&[4][..], x, y].concat();
                let parsed = ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .map_err(|_| KeyError::Rejected("EC P-256 public key"))?;
                (KeyAlgorithm::Ec(Curve::P256), Parsed::EcP256(parsed))
            }
        };
        Ok(Self {
            key_algorithm,
            parts,
            parsed,
            only: None,
        })
    }

    /// This key, restricted to verifying `alg` only.
    pub(crate) fn restricted_to(mut self, alg: Algorithm) -> Self {
        self.only = Some(alg);
        self
    }

    /// The key's type and size.
    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.key_algorithm
    }

    /// The algorithms this key can verify: RS256 and PS256 for RSA, ES256 for EC P-256, or the
    /// one its JWK's `alg` named.
    pub fn algorithms(&self) -> &'static [Algorithm] {
        match (self.only, &self.parsed) {
            (Some(Algorithm::Rs256), _) => &[Algorithm::Rs256],
            (Some(Algorithm::Ps256), _) => &[Algorithm::Ps256],
            (Some(Algorithm::Es256), _) => &[Algorithm::Es256],
            (None, Parsed::Rsa { .. }) => &[Algorithm::Rs256, Algorithm::Ps256],
            (None, Parsed::EcP256(_)) => &[Algorithm::Es256],
        }
    }

    /// Verifies a raw JWS signature over `signing_input` (`header.payload` as sent).
    ///
    /// `alg` is the token's algorithm (its header's `alg`); it must be in `allowed`
    /// ([`Error::AlgorithmNotAllowed`]) and fit this key ([`Error::AlgorithmKeyMismatch`]; a
    /// key from a JWK with an `alg` fits that algorithm only, [`Error::AlgorithmNotAllowed`]
    /// otherwise) before the signature is even looked at. A wrong signature is [`Error::InvalidSignature`].
    pub fn verify(&self, alg: Algorithm, allowed: &[Algorithm], signing_input: &[u8], signature: &[u8]) -> Result<()> {
        alg.check_allowed(allowed)?;
        alg.check_fits(self.key_algorithm)?;
        if let Some(only) = self.only {
            alg.check_allowed(&[only])?;
        }
        let key = match (alg, &self.parsed) {
            (Algorithm::Rs256, Parsed::Rsa { pkcs1, .. }) => pkcs1,
            (Algorithm::Ps256, Parsed::Rsa { pss, .. }) => pss,
            (Algorithm::Es256, Parsed::EcP256(key)) => key,
            _ => {
                return Err(Error::AlgorithmKeyMismatch {
                    alg,
                    key: self.key_algorithm,
                });
            }
        };
        key.verify_sig(signing_input, signature)
            .map_err(|_| Error::InvalidSignature)
    }

    pub(crate) fn parts(&self) -> &PublicKeyParts {
        &self.parts
    }
}

#[cfg(test)]
mod tests {
    use keyward_pki::{KeyType, PrivateKey};

    use super::*;
    use crate::sign::SigningKey;

    const ALL: &[Algorithm] = &Algorithm::ALL;

    fn pair(key_type: KeyType, alg: Algorithm) -> (SigningKey, VerifyingKey) {
        let signer = SigningKey::new(&PrivateKey::generate(key_type).unwrap(), alg).unwrap();
        let verifier = signer.verifying_key().unwrap();
        (signer, verifier)
    }

    #[test]
    fn verifies_each_algorithm_and_nothing_else() {
        for (key_type, alg) in [
            (KeyType::Rsa2048, Algorithm::Rs256),
            (KeyType::Rsa2048, Algorithm::Ps256),
            (KeyType::EcP256, Algorithm::Es256),
        ] {
            let (signer, verifier) = pair(key_type, alg);
            let sig = signer.sign_raw(b"header.payload").unwrap();
            verifier.verify(alg, ALL, b"header.payload", &sig).unwrap();
            assert_eq!(
                verifier.verify(alg, ALL, b"header.payloaD", &sig),
                Err(Error::InvalidSignature)
            );
            assert_eq!(
                verifier.verify(alg, ALL, b"header.payload", &sig[1..]),
                Err(Error::InvalidSignature)
            );
            assert_eq!(
                verifier.verify(alg, ALL, b"header.payload", &[]),
                Err(Error::InvalidSignature)
            );
        }
    }

    #[test]
    fn rs256_and_ps256_signatures_do_not_cross() {
        let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        let rs = SigningKey::new(&key, Algorithm::Rs256).unwrap();
        let ps = SigningKey::new(&key, Algorithm::Ps256).unwrap();
        let verifier = rs.verifying_key().unwrap();
        assert_eq!(verifier, ps.verifying_key().unwrap());
        let rs_sig = rs.sign_raw(b"input").unwrap();
        let ps_sig = ps.sign_raw(b"input").unwrap();
        assert_eq!(
            verifier.verify(Algorithm::Ps256, ALL, b"input", &rs_sig),
            Err(Error::InvalidSignature)
        );
        assert_eq!(
            verifier.verify(Algorithm::Rs256, ALL, b"input", &ps_sig),
            Err(Error::InvalidSignature)
        );
    }

    #[test]
    fn checks_the_allow_list_before_the_signature() {
        let (signer, verifier) = pair(KeyType::Rsa2048, Algorithm::Ps256);
        let sig = signer.sign_raw(b"input").unwrap();
        assert_eq!(
            verifier.verify(Algorithm::Ps256, &[Algorithm::Rs256], b"input", &sig),
            Err(Error::AlgorithmNotAllowed {
                alg: Algorithm::Ps256,
                allowed: vec![Algorithm::Rs256]
            })
        );
        assert!(matches!(
            verifier.verify(Algorithm::Ps256, &[], b"input", &sig),
            Err(Error::AlgorithmNotAllowed { .. })
        ));
    }

    #[test]
    fn refuses_algorithms_that_do_not_fit_the_key() {
        let (_, rsa) = pair(KeyType::Rsa2048, Algorithm::Rs256);
        let (ec_signer, ec) = pair(KeyType::EcP256, Algorithm::Es256);
        let ec_sig = ec_signer.sign_raw(b"input").unwrap();
        assert_eq!(
            rsa.verify(Algorithm::Es256, ALL, b"input", &ec_sig),
            Err(Error::AlgorithmKeyMismatch {
                alg: Algorithm::Es256,
                key: KeyAlgorithm::Rsa { bits: 2048 }
            })
        );
        for alg in [Algorithm::Rs256, Algorithm::Ps256] {
            assert_eq!(
                ec.verify(alg, ALL, b"input", &ec_sig),
                Err(Error::AlgorithmKeyMismatch {
                    alg,
                    key: KeyAlgorithm::Ec(Curve::P256)
                })
            );
        }
        assert_eq!(rsa.algorithms(), [Algorithm::Rs256, Algorithm::Ps256]);
        assert_eq!(ec.algorithms(), [Algorithm::Es256]);
    }

    #[test]
    fn refuses_small_and_huge_rsa_moduli_and_points_off_the_curve() {
        let small = PublicKeyParts::Rsa {
            n: vec![0xff; 128],
            e: vec![1, 0, 1],
        };
        assert_eq!(
            VerifyingKey::from_parts(small),
            Err(KeyError::RsaTooSmall { bits: 1024 }.into())
        );
        let huge = PublicKeyParts::Rsa {
            n: vec![0xff; 1025],
            e: vec![1, 0, 1],
        };
        assert_eq!(
            VerifyingKey::from_parts(huge),
            Err(KeyError::RsaTooLarge { bits: 8200 }.into())
        );
        let off_curve = PublicKeyParts::EcP256 { x: [1; 32], y: [2; 32] };
        assert_eq!(
            VerifyingKey::from_parts(off_curve),
            Err(KeyError::Rejected("EC P-256 public key").into())
        );
        let even_modulus = PublicKeyParts::Rsa {
            n: vec![0xfe; 256],
            e: vec![1, 0, 1],
        };
        assert!(matches!(
            VerifyingKey::from_parts(even_modulus),
            Err(Error::Key(KeyError::Malformed { .. }))
        ));
        for e in [vec![1], vec![1, 0, 0], vec![]] {
            let bad_exponent = PublicKeyParts::Rsa {
                n: vec![0xff; 256],
                e: e.clone(),
            };
            assert!(
                matches!(
                    VerifyingKey::from_parts(bad_exponent),
                    Err(Error::Key(KeyError::Malformed { .. }))
                ),
                "{e:?}"
            );
        }
    }

    #[test]
    fn debug_is_short() {
        let (_, verifier) = pair(KeyType::EcP256, Algorithm::Es256);
        assert_eq!(
            format!("{verifier:?}"),
            "VerifyingKey { key: Ec(P256), only: None, .. }"
        );
    }
}
