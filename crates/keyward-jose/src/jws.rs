//! Compact JWS (RFC 7515 section 7.1): `base64url(header).base64url(payload).base64url(sig)`.
//!
//! Parsing is strict and bounded: the size is checked before anything is decoded, base64url
//! must be unpadded and canonical, the header must be one JSON object with no repeated member,
//! a supported `alg` and no `crit`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;

use crate::algorithm::Algorithm;
use crate::error::{Error, Result, Segment, TokenFormat};
use crate::header::Header;
use crate::strict_json;
use crate::verify::VerifyingKey;

/// The longest token [`Jws::parse`] accepts, in bytes. A client assertion with a thumbprint
/// header is under 1 KiB; one with a three-certificate `x5c` chain is under 10 KiB.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The longest signature segment accepted: an 8192-bit RSA signature (1024 bytes) in base64url.
pub const MAX_SIGNATURE_SEGMENT_LEN: usize = 1366;

/// A parsed compact JWS whose signature has **not** been checked yet.
///
/// Look at the [`header`](Self::header) to find the key (by `kid`, `x5t` or `x5t#S256`), call
/// [`verify`](Self::verify) with it, and only then trust [`claims`](Self::claims) — or do both
/// at once with [`verified_claims`](Self::verified_claims). `Debug` shows the header and sizes,
/// not the token, which may be a replayable credential.
#[derive(Clone)]
pub struct Jws {
    header: Header,
    signing_input: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl fmt::Debug for Jws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jws")
            .field("header", &self.header)
            .field("payload_len", &self.payload.len())
            .field("signature_len", &self.signature.len())
            .finish()
    }
}

impl Jws {
    /// Parses a compact JWS without verifying it.
    pub fn parse(token: &str) -> Result<Self> {
        if token.is_empty() {
            return Err(TokenFormat::Empty.into());
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenFormat::TooLong {
                len: token.len(),
                limit: MAX_TOKEN_LEN,
            }
            .into());
        }
        let mut segments = token.split('.');
        let (Some(header_text), Some(payload_text), Some(signature_text), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            let found = token.split('.').count();
            return Err(TokenFormat::SegmentCount { found }.into());
        };
        if signature_text.len() > MAX_SIGNATURE_SEGMENT_LEN {
            return Err(TokenFormat::SegmentTooLong {
                segment: Segment::Signature,
                len: signature_text.len(),
                limit: MAX_SIGNATURE_SEGMENT_LEN,
            }
            .into());
        }
        let header_json = decode(header_text, Segment::Header)?;
        let payload = decode(payload_text, Segment::Payload)?;
        let signature = decode(signature_text, Segment::Signature)?;
        Ok(Self {
            header: Header::from_json(&header_json)?,
            signing_input: token[..header_text.len() + 1 + payload_text.len()].to_owned(),
            payload,
            signature,
        })
    }

    /// The header. Unverified until [`verify`](Self::verify) succeeds.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The header's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.header.alg
    }

    /// What was signed: the first two segments and the `.` between them, as sent.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The decoded payload bytes. Unverified until [`verify`](Self::verify) succeeds.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The decoded signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Verifies the signature with `key`, refusing a header `alg` that is not in `allowed` or
    /// does not fit the key (see [`VerifyingKey::verify`]).
    pub fn verify(&self, key: &VerifyingKey, allowed: &[Algorithm]) -> Result<()> {
        key.verify(self.header.alg, allowed, self.signing_input(), &self.signature)
    }

    /// Deserializes the payload as JSON claims into `T`, refusing a payload that is not one
    /// JSON object or repeats a member name.
    ///
    /// This does **not** verify anything: the claims mean something only after
    /// [`verify`](Self::verify) has succeeded with a key the caller trusts. Prefer
    /// [`verified_claims`](Self::verified_claims), which cannot be called in the wrong order.
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T> {
        strict_json::check_object(&self.payload, Segment::Payload)?;
        serde_json::from_slice(&self.payload).map_err(|e| Error::InvalidClaims(e.to_string()))
    }

    /// [`verify`](Self::verify), then [`claims`](Self::claims).
    pub fn verified_claims<T: DeserializeOwned>(&self, key: &VerifyingKey, allowed: &[Algorithm]) -> Result<T> {
        self.verify(key, allowed)?;
        self.claims()
    }

    /// The payload as a JSON object, before verification: for choosing the key (`iss`) and
    /// for diagnostics, never for decisions. Same checks as [`claims`](Self::claims).
    pub fn unverified_claims_json(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        self.claims()
    }
}

/// Encodes bytes as unpadded base64url.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes one segment: base64url alphabet only, no padding, canonical.
fn decode(text: &str, segment: Segment) -> Result<Vec<u8>> {
    if let Some((offset, character)) = text
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(if character == '=' {
            TokenFormat::Padding { segment }
        } else {
            TokenFormat::InvalidCharacter {
                segment,
                character,
                offset,
            }
        }
        .into());
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| TokenFormat::InvalidBase64 { segment }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{"alg":"RS256"}`
    const HEADER: &str = "eyJhbGciOiJSUzI1NiJ9";
    /// `{"sub":"x"}`
    const PAYLOAD: &str = "eyJzdWIiOiJ4In0";

    fn format(err: Error) -> TokenFormat {
        match err {
            Error::Malformed(f) => f,
            other => panic!("not a format error: {other}"),
        }
    }

    #[test]
    fn keeps_the_signing_input_payload_and_signature() {
        let jws = Jws::parse(&format!("{HEADER}.{PAYLOAD}.AQID")).unwrap();
        assert_eq!(jws.signing_input(), format!("{HEADER}.{PAYLOAD}").as_bytes());
        assert_eq!(jws.payload(), br#"{"sub":"x"}"#);
        assert_eq!(jws.signature(), [1, 2, 3]);
        assert_eq!(jws.algorithm(), Algorithm::Rs256);
        assert_eq!(jws.unverified_claims_json().unwrap()["sub"], "x");
        assert!(!format!("{jws:?}").contains(PAYLOAD));
    }

    #[test]
    fn counts_segments() {
        for (token, found) in [
            (format!("{HEADER}.{PAYLOAD}"), 2),
            (format!("{HEADER}.{PAYLOAD}.AQID.AQID"), 4),
            (format!("{HEADER}.{PAYLOAD}.AQID."), 4),
            (HEADER.to_owned(), 1),
            ("..".to_owned(), 3),
        ] {
            let result = Jws::parse(&token);
            if found == 3 {
                assert!(matches!(result, Err(Error::InvalidJson { .. })), "{token}");
            } else {
                assert_eq!(
                    format(result.unwrap_err()),
                    TokenFormat::SegmentCount { found },
                    "{token}"
                );
            }
        }
        assert_eq!(format(Jws::parse("").unwrap_err()), TokenFormat::Empty);
    }

    #[test]
    fn refuses_padding_and_standard_base64_per_segment() {
        let cases = [
            (
                format!("{HEADER}=.{PAYLOAD}.AQID"),
                TokenFormat::Padding {
                    segment: Segment::Header,
                },
            ),
            (
                format!("{HEADER}.{PAYLOAD}=.AQID"),
                TokenFormat::Padding {
                    segment: Segment::Payload,
                },
            ),
            (
                format!("{HEADER}.{PAYLOAD}.AQI="),
                TokenFormat::Padding {
                    segment: Segment::Signature,
                },
            ),
            (
                format!("{HEADER}.{PAYLOAD}.AQ+D"),
                TokenFormat::InvalidCharacter {
                    segment: Segment::Signature,
                    character: '+',
                    offset: 2,
                },
            ),
            (
                format!("{HEADER}.eyJzdWIi/iJ4In0.AQID"),
                TokenFormat::InvalidCharacter {
                    segment: Segment::Payload,
                    character: '/',
                    offset: 8,
                },
            ),
            (
                format!(" {HEADER}.{PAYLOAD}.AQID"),
                TokenFormat::InvalidCharacter {
                    segment: Segment::Header,
                    character: ' ',
                    offset: 0,
                },
            ),
            (
                format!("{HEADER}.{PAYLOAD}.AQID\n"),
                TokenFormat::InvalidCharacter {
                    segment: Segment::Signature,
                    character: '\n',
                    offset: 4,
                },
            ),
            (
                format!("{HEADER}.{PAYLOAD}.AQIDé"),
                TokenFormat::InvalidCharacter {
                    segment: Segment::Signature,
                    character: 'é',
                    offset: 4,
                },
            ),
            // Five characters cannot be base64; "AR" has stray low bits ("AQ" is canonical).
            (
                format!("{HEADER}.{PAYLOAD}.AQIDB"),
                TokenFormat::InvalidBase64 {
                    segment: Segment::Signature,
                },
            ),
            (
                format!("{HEADER}.{PAYLOAD}.AR"),
                TokenFormat::InvalidBase64 {
                    segment: Segment::Signature,
                },
            ),
        ];
        for (token, expected) in cases {
            assert_eq!(format(Jws::parse(&token).unwrap_err()), expected, "{token}");
        }
    }

    #[test]
    fn refuses_over_long_tokens_before_decoding() {
        // Junk that would fail every later check: only the size may be reported.
        let long = "!".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            format(Jws::parse(&long).unwrap_err()),
            TokenFormat::TooLong {
                len: MAX_TOKEN_LEN + 1,
                limit: MAX_TOKEN_LEN
            }
        );
        let sig = "A".repeat(MAX_SIGNATURE_SEGMENT_LEN + 2);
        assert_eq!(
            format(Jws::parse(&format!("{HEADER}.{PAYLOAD}.{sig}")).unwrap_err()),
            TokenFormat::SegmentTooLong {
                segment: Segment::Signature,
                len: MAX_SIGNATURE_SEGMENT_LEN + 2,
                limit: MAX_SIGNATURE_SEGMENT_LEN
            }
        );
        // At the limit the size is fine.
        let payload = "A".repeat(MAX_TOKEN_LEN - HEADER.len() - 2);
        let token = format!("{HEADER}.{payload}.");
        assert_eq!(token.len(), MAX_TOKEN_LEN);
        assert_eq!(Jws::parse(&token).unwrap().payload().len(), payload.len() * 3 / 4);
    }

    #[test]
    fn refuses_payloads_that_are_not_one_json_object_as_claims() {
        let jws = Jws::parse(&format!("{HEADER}.{}.", base64url(br#"{"a":1,"a":2}"#))).unwrap();
        assert!(matches!(
            jws.claims::<serde_json::Value>(),
            Err(Error::DuplicateMember {
                segment: Segment::Payload,
                ..
            })
        ));
        let jws = Jws::parse(&format!("{HEADER}.{}.", base64url(b"[1]"))).unwrap();
        assert!(matches!(
            jws.unverified_claims_json(),
            Err(Error::NotAnObject { found: "array", .. })
        ));
        let jws = Jws::parse(&format!("{HEADER}.{}.", base64url(b"plain text"))).unwrap();
        assert_eq!(jws.payload(), b"plain text");
        assert!(matches!(jws.unverified_claims_json(), Err(Error::InvalidJson { .. })));
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Needs {
            exp: u64,
        }
        let jws = Jws::parse(&format!("{HEADER}.{PAYLOAD}.")).unwrap();
        assert!(matches!(jws.claims::<Needs>(), Err(Error::InvalidClaims(_))));
    }
}
