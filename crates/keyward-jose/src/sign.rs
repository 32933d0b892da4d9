//! Signing: a private key parsed once for one algorithm, and compact JWS serialization.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use keyward_pki::{KeyAlgorithm, PrivateKey};
use serde::Serialize;

use crate::algorithm::Algorithm;
use crate::error::{Error, KeyError, Result, Segment};
use crate::header::Header;
use crate::jws::base64url;
use crate::spki;
use crate::verify::VerifyingKey;

/// A private key ready to sign with one algorithm.
///
/// The PKCS#8 is parsed once, here; every signature reuses the parsed key, so keep one
/// `SigningKey` per credential. `Debug` shows the algorithm and key type, never key material.
pub struct SigningKey {
    alg: Algorithm,
    key_algorithm: KeyAlgorithm,
    pair: Pair,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("key", &self.key_algorithm)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Prepares `key` for signing with `alg`. RS256 and PS256 need an RSA key of at least 2048
    /// bits, ES256 an EC P-256 key; anything else is [`Error::AlgorithmKeyMismatch`].
    pub fn new(key: &PrivateKey, alg: Algorithm) -> Result<Self> {
        let key_algorithm = key.algorithm();
        alg.check_fits(key_algorithm)?;
        let pair = match alg {
            Algorithm::Rs256 | Algorithm::Ps256 => {
                let bits = key_algorithm.bits();
                if bits < keyward_pki::MIN_RSA_BITS {
                    return Err(KeyError::RsaTooSmall { bits }.into());
                }
                Pair::Rsa(RsaKeyPair::from_pkcs8(key.pkcs8_der()).map_err(|_| KeyError::Rejected("RSA private key"))?)
            }
            Algorithm::Es256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, key.pkcs8_der())
                    .map_err(|_| KeyError::Rejected("EC private key"))?,
            ),
        };
        Ok(Self {
            alg,
            key_algorithm,
            pair,
        })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key's type and size.
    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.key_algorithm
    }

    /// Signs a JWT: returns `base64url(header).base64url(claims).base64url(signature)`.
    ///
    /// `header.alg` must be this key's algorithm ([`Error::HeaderAlgorithmMismatch`] otherwise).
    /// The result may be longer than [`MAX_TOKEN_LEN`](crate::MAX_TOKEN_LEN) only if the header
    /// or claims are very large (a long `x5c` chain); this crate's parser would refuse such a
    /// token.
    pub fn sign(&self, header: &Header, claims: &impl Serialize) -> Result<String> {
        if header.alg != self.alg {
            return Err(Error::HeaderAlgorithmMismatch {
                header: header.alg,
                key: self.alg,
            });
        }
        let header_json = serde_json::to_vec(header).map_err(|e| Error::Serialize {
            segment: Segment::Header,
            detail: e.to_string(),
        })?;
        let claims_json = serde_json::to_vec(claims).map_err(|e| Error::Serialize {
            segment: Segment::Payload,
            detail: e.to_string(),
        })?;
        let mut token = base64url(&header_json);
        token.push('.');
        token.push_str(&base64url(&claims_json));
        let signature = self.sign_raw(token.as_bytes())?;
        token.push('.');
        token.push_str(&base64url(&signature));
        Ok(token)
    }

    /// Signs arbitrary bytes (a JWS signing input, `header.payload`) with this key's algorithm
    /// and returns the raw JWS signature: the PKCS#1 v1.5 or PSS block for RSA, `r || s` (64
    /// bytes) for ES256.
    pub fn sign_raw(&self, signing_input: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let padding = match self.alg {
                    Algorithm::Ps256 => &signature::RSA_PSS_SHA256,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, signing_input, &mut sig)
                    .map_err(|_| Error::Crypto("RSA signing"))?;
                Ok(sig)
            }
            Pair::Ec(pair) => Ok(pair
                .sign(&rng, signing_input)
                .map_err(|_| Error::Crypto("ECDSA signing"))?
                .as_ref()
                .to_vec()),
        }
    }

    /// The public half, to verify this key's signatures or publish it in a JWKS.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        let parts = match &self.pair {
            Pair::Rsa(pair) => spki::parse_rsa_public_key(pair.public_key().as_ref())?,
            Pair::Ec(pair) => spki::ec_point(pair.public_key().as_ref())?,
        };
        VerifyingKey::from_parts(parts)
    }
}

#[cfg(test)]
mod tests {
    use keyward_pki::KeyType;

    use super::*;

    #[test]
    fn refuses_algorithms_that_do_not_fit_the_key() {
        let rsa = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        let p256 = PrivateKey::generate(KeyType::EcP256).unwrap();
        let p384 = PrivateKey::generate(KeyType::EcP384).unwrap();
        for (key, alg) in [
            (&rsa, Algorithm::Es256),
            (&p256, Algorithm::Rs256),
            (&p256, Algorithm::Ps256),
            (&p384, Algorithm::Es256),
            (&p384, Algorithm::Rs256),
        ] {
            assert_eq!(
                SigningKey::new(key, alg).unwrap_err(),
                Error::AlgorithmKeyMismatch {
                    alg,
                    key: key.algorithm()
                }
            );
        }
    }

    #[test]
    fn signature_sizes_are_those_of_jose() {
        let rsa = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        let p256 = PrivateKey::generate(KeyType::EcP256).unwrap();
        assert_eq!(
            SigningKey::new(&rsa, Algorithm::Rs256)
                .unwrap()
                .sign_raw(b"x")
                .unwrap()
                .len(),
            256
        );
        assert_eq!(
            SigningKey::new(&rsa, Algorithm::Ps256)
                .unwrap()
                .sign_raw(b"x")
                .unwrap()
                .len(),
            256
        );
        assert_eq!(
            SigningKey::new(&p256, Algorithm::Es256)
                .unwrap()
                .sign_raw(b"x")
                .unwrap()
                .len(),
            64
        );
    }

    #[test]
    fn rs256_is_deterministic_and_ps256_is_not() {
        let rsa = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        let rs = SigningKey::new(&rsa, Algorithm::Rs256).unwrap();
        let ps = SigningKey::new(&rsa, Algorithm::Ps256).unwrap();
        assert_eq!(rs.sign_raw(b"input").unwrap(), rs.sign_raw(b"input").unwrap());
        assert_ne!(ps.sign_raw(b"input").unwrap(), ps.sign_raw(b"input").unwrap());
    }

    #[test]
    fn refuses_a_header_for_another_algorithm() {
        let rsa = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        let key = SigningKey::new(&rsa, Algorithm::Rs256).unwrap();
        assert_eq!(
            key.sign(&Header::new(Algorithm::Ps256), &serde_json::json!({})),
            Err(Error::HeaderAlgorithmMismatch {
                header: Algorithm::Ps256,
                key: Algorithm::Rs256
            })
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let rsa = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        let key = SigningKey::new(&rsa, Algorithm::Ps256).unwrap();
        let debug = format!("{key:?}");
        assert_eq!(debug, "SigningKey { alg: Ps256, key: Rsa { bits: 2048 }, .. }");
    }
}
