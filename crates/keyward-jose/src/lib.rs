//! Compact JWS sign and verify (RS256, PS256, ES256), JWK and JWK Sets, and typed claims, on
//! aws-lc-rs.
//!
//! Pure functions over bytes: no file or network I/O, no async, no global state. Keys are
//! parsed once ([`SigningKey`], [`VerifyingKey`]) and reused for every token. Verification
//! always takes an explicit allow-list of algorithms, and an algorithm must also fit the key
//! (RSA for RS256/PS256, EC P-256 for ES256); `none`, HMAC and every other `alg` are refused
//! when the token is parsed.
//!
//! ```
//! use keyward_jose::{Algorithm, Header, Jws, NumericDate, RegisteredClaims, SigningKey, VerifyingKey};
//! use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey};
//!
//! let key = PrivateKey::generate(KeyType::Rsa2048)?;
//! let cert = CertificateSpec::new(Name::parse("CN=ciam-client-app")?).self_signed(&key)?;
//!
//! // A client assertion as MSAL Node makes it with a SHA-256 thumbprint.
//! let signer = SigningKey::new(&key, Algorithm::Ps256)?;
//! let header = Header::new(Algorithm::Ps256).with_typ("JWT").with_x5t_s256(cert.thumbprints().x5t_s256());
//! let claims = RegisteredClaims {
//!     iss: Some("client-id".into()),
//!     sub: Some("client-id".into()),
//!     exp: Some(NumericDate::from_unix(1_700_000_600)?),
//!     ..Default::default()
//! };
//! let token = signer.sign(&header, &claims)?;
//!
//! // The server: parse, find the registered certificate by thumbprint, verify, read.
//! let jws = Jws::parse(&token)?;
//! assert_eq!(jws.header().x5t_s256.as_deref(), Some(cert.thumbprints().x5t_s256().as_str()));
//! let verifier = VerifyingKey::from_certificate(&cert)?;
//! let read: RegisteredClaims = jws.verified_claims(&verifier, &[Algorithm::Rs256, Algorithm::Ps256])?;
//! assert_eq!(read, claims);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod algorithm;
mod claims;
mod error;
mod header;
mod jwk;
mod jws;
mod numeric_date;
mod sign;
mod spki;
mod strict_json;
mod verify;

pub use algorithm::Algorithm;
pub use claims::{Audience, RegisteredClaims};
pub use error::{Error, KeyError, Result, Segment, TokenFormat};
pub use header::Header;
pub use jwk::{Jwk, JwkParams, Jwks};
pub use jws::{Jws, MAX_SIGNATURE_SEGMENT_LEN, MAX_TOKEN_LEN};
pub use numeric_date::NumericDate;
pub use sign::SigningKey;
pub use verify::VerifyingKey;

/// Entry points for fuzz targets; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses arbitrary bytes (lossily converted to UTF-8) as a compact JWS, and reads the
    /// claims of whatever parses.
    pub fn parse(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        if let Ok(jws) = crate::Jws::parse(&text) {
            let _ = jws.unverified_claims_json();
            let _ = jws.claims::<crate::RegisteredClaims>();
        }
    }

    /// Reads arbitrary bytes as a JWK Set and builds a verifying key from each key.
    pub fn jwks(data: &[u8]) {
        if let Ok(set) = serde_json::from_slice::<crate::Jwks>(data) {
            for jwk in &set.keys {
                let _ = crate::VerifyingKey::from_jwk(jwk);
            }
        }
    }

    /// Reads arbitrary bytes as a DER SubjectPublicKeyInfo.
    pub fn spki(data: &[u8]) {
        let _ = crate::VerifyingKey::from_spki_der(data);
    }

    #[cfg(test)]
    mod tests {
        /// Every input of the kept corpora still runs without a panic (`fuzz/README.md`).
        #[test]
        fn the_kept_fuzz_corpora_replay() {
            keyward_pki::fuzzing::replay_corpus("jws", super::parse);
            keyward_pki::fuzzing::replay_corpus("jwks", super::jwks);
            keyward_pki::fuzzing::replay_corpus("spki", super::spki);
        }
    }
}

#[cfg(test)]
mod tests {
    /// Keys are built once and shared between request handlers.
    #[test]
    fn keys_and_tokens_are_send_and_sync() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<crate::SigningKey>();
        shareable::<crate::VerifyingKey>();
        shareable::<crate::Jws>();
        shareable::<crate::Jwks>();
        shareable::<crate::Error>();
    }
}
