//! The JWS algorithms we implement, named as in the `alg` header (RFC 7518 section 3.1).

use std::fmt;
use std::str::FromStr;

use keyward_pki::{Curve, KeyAlgorithm};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result, truncated};

/// A JWS signature algorithm. Deliberately closed: `none`, the HMAC family and every other name
/// are refused when parsed, so a token cannot talk a verifier into a weaker algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256: MSAL's legacy choice and what Entra signs tokens with.
    Rs256,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt: MSAL with `x5t#S256`.
    Ps256,
    /// ECDSA on P-256 with SHA-256, signature as the 64-byte `r || s` (not DER).
    Es256,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 3] = [Self::Rs256, Self::Ps256, Self::Es256];

    /// The `alg` header value (`RS256`, `PS256`, `ES256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
        }
    }

    /// Parses an `alg` header value. Exact and case-sensitive, as RFC 7515 requires: `rs256` is
    /// as unsupported as `none`.
    pub fn parse(alg: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == alg)
            .ok_or_else(|| Error::UnsupportedAlgorithm(truncated(alg)))
    }

    /// Whether this algorithm can be used with a key of this type: RS256 and PS256 with RSA of
    /// any size (the size is checked when the key is loaded), ES256 with EC P-256 only.
    pub fn fits(self, key: KeyAlgorithm) -> bool {
        match self {
            Self::Rs256 | Self::Ps256 => matches!(key, KeyAlgorithm::Rsa { .. }),
            Self::Es256 => key == KeyAlgorithm::Ec(Curve::P256),
        }
    }

    /// Errors with [`Error::AlgorithmKeyMismatch`] unless [`fits`](Self::fits).
    pub(crate) fn check_fits(self, key: KeyAlgorithm) -> Result<()> {
        if self.fits(key) {
            Ok(())
        } else {
            Err(Error::AlgorithmKeyMismatch { alg: self, key })
        }
    }

    /// Errors with [`Error::AlgorithmNotAllowed`] unless `allowed` lists this algorithm.
    pub(crate) fn check_allowed(self, allowed: &[Algorithm]) -> Result<()> {
        if allowed.contains(&self) {
            Ok(())
        } else {
            Err(Error::AlgorithmNotAllowed {
                alg: self,
                allowed: allowed.to_vec(),
            })
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_three_names() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::parse(alg.as_str()).unwrap(), alg);
            assert_eq!(serde_json::to_string(&alg).unwrap(), format!("\"{alg}\""));
            assert_eq!(serde_json::from_str::<Algorithm>(&format!("\"{alg}\"")).unwrap(), alg);
        }
    }

    #[test]
    fn refuses_every_other_name_exactly() {
        for bad in [
            "none", "None", "NONE", "", "HS256", "HS512", "RS384", "RS512", "PS512", "ES384", "ES512", "EdDSA",
            "rs256", "Rs256", "ps256", "es256", " RS256", "RS256 ", "RS256\0",
        ] {
            assert_eq!(
                Algorithm::parse(bad),
                Err(Error::UnsupportedAlgorithm(bad.to_owned())),
                "{bad:?}"
            );
        }
        let long = "X".repeat(1000);
        match Algorithm::parse(&long) {
            Err(Error::UnsupportedAlgorithm(echo)) => assert!(echo.chars().count() <= 65, "{}", echo.len()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fits_rsa_to_rs_and_ps_and_p256_to_es() {
        let rsa = KeyAlgorithm::Rsa { bits: 2048 };
        let p256 = KeyAlgorithm::Ec(Curve::P256);
        let p384 = KeyAlgorithm::Ec(Curve::P384);
        assert!(Algorithm::Rs256.fits(rsa) && Algorithm::Ps256.fits(rsa) && !Algorithm::Es256.fits(rsa));
        assert!(!Algorithm::Rs256.fits(p256) && !Algorithm::Ps256.fits(p256) && Algorithm::Es256.fits(p256));
        assert!(!Algorithm::Es256.fits(p384));
    }
}
