//! The one error type of this crate, and the families it groups.

use std::fmt;

use keyward_pki::KeyAlgorithm;

use crate::algorithm::Algorithm;

/// Everything that can go wrong when parsing, signing or verifying a JWS, or loading a key.
///
/// Messages describe the input, never key material. Token fragments are echoed only where they
/// are public by nature (an algorithm name, a header member name), and then truncated.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The token is not a well-formed compact JWS (three base64url segments).
    #[error("malformed JWS: {0}")]
    Malformed(#[from] TokenFormat),
    /// A decoded segment is not valid JSON, or its JSON does not have the expected shape.
    #[error("the JWS {segment} is not valid JSON of the expected shape: {detail}")]
    InvalidJson {
        /// The segment holding the JSON.
        segment: Segment,
        /// What the JSON parser said.
        detail: String,
    },
    /// A decoded segment is valid JSON but not a JSON object.
    #[error("the JWS {segment} is a JSON {found}, not a JSON object")]
    NotAnObject {
        /// The segment holding the JSON.
        segment: Segment,
        /// What it is instead (`array`, `string`, ...).
        found: &'static str,
    },
    /// A JSON object in the token names the same member twice (RFC 7515 section 5.2 lets a
    /// recipient refuse this, and parsers disagree on which value wins).
    #[error("the JWS {segment} has the member {name:?} more than once")]
    DuplicateMember {
        /// The segment holding the JSON.
        segment: Segment,
        /// The repeated member name (truncated).
        name: String,
    },
    /// The header has no `alg` member.
    #[error("the JWS header has no \"alg\" member")]
    MissingAlgorithm,
    /// The `alg` is not one this crate implements (`none`, `HS256`, `RS512`, `rs256`, ...).
    #[error("unsupported JWS algorithm {0:?}; only RS256, PS256 and ES256 are supported")]
    UnsupportedAlgorithm(String),
    /// The header's `crit` member names extensions; this crate understands none, so RFC 7515
    /// section 4.1.11 requires refusing the token.
    #[error("the JWS header marks extensions as critical ({}), and none is supported", .0.join(", "))]
    UnsupportedCritical(Vec<String>),
    /// The token's algorithm is supported but not in the caller's allow-list.
    #[error("the JWS algorithm {alg} is not allowed here (allowed: {})", list(.allowed))]
    AlgorithmNotAllowed {
        /// The algorithm the token or caller asked for.
        alg: Algorithm,
        /// The caller's allow-list.
        allowed: Vec<Algorithm>,
    },
    /// The algorithm cannot be used with this kind of key (RS256 with an EC key, ES256 with RSA).
    #[error("the {alg} algorithm cannot be used with an {key} key")]
    AlgorithmKeyMismatch {
        /// The algorithm.
        alg: Algorithm,
        /// The key's type and size.
        key: KeyAlgorithm,
    },
    /// The header given to [`SigningKey::sign`](crate::SigningKey::sign) names another algorithm
    /// than the signing key was made for.
    #[error("the header says {header}, but the signing key is set up for {key}")]
    HeaderAlgorithmMismatch {
        /// The header's `alg`.
        header: Algorithm,
        /// The signing key's algorithm.
        key: Algorithm,
    },
    /// The signature does not verify with this key.
    #[error("the JWS signature is invalid for this key")]
    InvalidSignature,
    /// A key could not be used.
    #[error("unusable key: {0}")]
    Key(#[from] KeyError),
    /// The payload does not deserialize into the requested claims type.
    #[error("the JWS claims are invalid: {0}")]
    InvalidClaims(String),
    /// A NumericDate is negative, not finite or past the year 9999.
    #[error("invalid NumericDate {0}: it must be a number of seconds from 1970 to the year 9999")]
    InvalidNumericDate(String),
    /// The header or claims could not be serialized to JSON.
    #[error("cannot serialize the JWS {segment} to JSON: {detail}")]
    Serialize {
        /// The segment being serialized.
        segment: Segment,
        /// What the serializer said.
        detail: String,
    },
    /// The cryptographic library refused an operation on valid input.
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
}

/// Ways a compact JWS can be malformed before any JSON is read.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormat {
    /// The token is the empty string.
    #[error("the token is empty")]
    Empty,
    /// The token is longer than [`MAX_TOKEN_LEN`](crate::MAX_TOKEN_LEN).
    #[error("the token is {len} bytes long, more than the {limit}-byte limit")]
    TooLong {
        /// The token's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The token does not have exactly three `.`-separated segments.
    #[error("a compact JWS has 3 segments separated by '.', this token has {found}")]
    SegmentCount {
        /// How many segments the token has.
        found: usize,
    },
    /// One segment is longer than any legitimate value of it.
    #[error("the {segment} segment is {len} characters long, more than the {limit}-character limit")]
    SegmentTooLong {
        /// The segment.
        segment: Segment,
        /// Its length in characters.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A segment ends in `=` padding, which RFC 7515 forbids.
    #[error("the {segment} segment has '=' padding, which JWS base64url does not allow")]
    Padding {
        /// The segment.
        segment: Segment,
    },
    /// A segment has a character outside the base64url alphabet (`+` and `/` included: those
    /// belong to standard base64).
    #[error("the {segment} segment has {character:?} at offset {offset}, which is not base64url")]
    InvalidCharacter {
        /// The segment.
        segment: Segment,
        /// The first offending character.
        character: char,
        /// Its byte offset within the segment.
        offset: usize,
    },
    /// A segment uses only base64url characters but is not a canonical encoding (impossible
    /// length, or stray bits in the last character).
    #[error("the {segment} segment is not canonical base64url")]
    InvalidBase64 {
        /// The segment.
        segment: Segment,
    },
}

/// A segment of a compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Segment {
    /// The JOSE header.
    Header,
    /// The payload (the claims, for a JWT).
    Payload,
    /// The signature.
    Signature,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// Why a key cannot be used for JWS.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// An RSA key is shorter than 2048 bits.
    #[error(
        "the RSA key has {bits} bits; at least 2048 are required (NIST SP 800-131A, and Entra ID refuses shorter keys)"
    )]
    RsaTooSmall {
        /// The modulus size in bits.
        bits: usize,
    },
    /// An RSA key is longer than 8192 bits, the most the verifier accepts.
    #[error("the RSA key has {bits} bits; at most 8192 are supported")]
    RsaTooLarge {
        /// The modulus size in bits.
        bits: usize,
    },
    /// The key is of a type that none of RS256, PS256 and ES256 uses.
    #[error("unsupported key type {0}; RSA and EC P-256 keys are supported")]
    UnsupportedType(String),
    /// An EC key is on a curve other than P-256.
    #[error("unsupported elliptic curve {0}; only P-256 (ES256) is supported")]
    UnsupportedCurve(String),
    /// A JWK's `use` says the key is not for signatures (`enc`).
    #[error("the key's \"use\" is {0:?}, not \"sig\": it is not meant for signatures")]
    NotForSigning(String),
    /// The key's encoding is damaged or incomplete.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read ("SubjectPublicKeyInfo", "JWK").
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The cryptographic library refused the key (for example an EC point not on the curve).
    #[error("the {0} was rejected by the cryptographic library")]
    Rejected(&'static str),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn list(algs: &[Algorithm]) -> String {
    if algs.is_empty() {
        return "none".to_owned();
    }
    algs.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
}

/// Truncates text from a token before it goes into an error message.
pub(crate) fn truncated(s: &str) -> String {
    const MAX_CHARS: usize = 64;
    if s.chars().count() <= MAX_CHARS {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(MAX_CHARS).collect();
        t.push('…');
        t
    }
}

pub(crate) fn malformed_key(what: &'static str, detail: impl Into<String>) -> Error {
    Error::Key(KeyError::Malformed {
        what,
        detail: detail.into(),
    })
}
