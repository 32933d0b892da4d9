//! The attacks a JWS verifier must refuse, one test each, every token as an attacker would
//! send it.

use aws_lc_rs::hmac;
use keyward_jose::{Algorithm, Error, Jws, KeyError, MAX_TOKEN_LEN, Segment, TokenFormat, VerifyingKey};
use keyward_pki::KeyType;

use crate::common::{ALL, Credential, b64, credential, sign_raw_token, unb64};

const CLAIMS: &str = r#"{"iss":"cid","sub":"cid","aud":"https://localhost/t/oauth2/v2.0/token","exp":1700000600}"#;

fn rsa() -> Credential {
    credential(KeyType::Rsa2048, Algorithm::Rs256)
}

/// A correctly signed RS256 token and its credential.
fn good_token() -> (Credential, String) {
    let c = rsa();
    let token = sign_raw_token(&c.signer, r#"{"alg":"RS256","typ":"JWT","kid":"key-1"}"#, CLAIMS);
    Jws::parse(&token).unwrap().verify(&c.verifier, ALL).unwrap();
    (c, token)
}

fn segments(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

#[test]
fn alg_none_with_an_empty_signature() {
    let token = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(CLAIMS.as_bytes()));
    assert_eq!(
        Jws::parse(&token).unwrap_err(),
        Error::UnsupportedAlgorithm("none".into())
    );
    for spelling in ["None", "NONE", "nOnE"] {
        let token = format!(
            "{}.{}.",
            b64(format!(r#"{{"alg":"{spelling}"}}"#).as_bytes()),
            b64(CLAIMS.as_bytes())
        );
        assert_eq!(
            Jws::parse(&token).unwrap_err(),
            Error::UnsupportedAlgorithm(spelling.into())
        );
    }
}

#[test]
fn hs256_keyed_with_the_public_key() {
    // The classic confusion: HMAC with the verifier's public key as the secret, in each form
    // a server might hold it.
    let c = rsa();
    let pem = c.certificate.pem();
    for secret in [c.certificate.spki_der(), c.certificate.der().to_vec(), pem.into_bytes()] {
        let input = format!("{}.{}", b64(br#"{"alg":"HS256","typ":"JWT"}"#), b64(CLAIMS.as_bytes()));
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), input.as_bytes());
        let token = format!("{input}.{}", b64(tag.as_ref()));
        assert_eq!(
            Jws::parse(&token).unwrap_err(),
            Error::UnsupportedAlgorithm("HS256".into())
        );
    }
}

#[test]
fn es256_header_against_an_rsa_key() {
    let ec = credential(KeyType::EcP256, Algorithm::Es256);
    let rsa = rsa();
    let token = sign_raw_token(&ec.signer, r#"{"alg":"ES256"}"#, CLAIMS);
    let jws = Jws::parse(&token).unwrap();
    jws.verify(&ec.verifier, ALL).unwrap();
    assert_eq!(
        jws.verify(&rsa.verifier, ALL),
        Err(Error::AlgorithmKeyMismatch {
            alg: Algorithm::Es256,
            key: rsa.verifier.key_algorithm()
        })
    );
}

#[test]
fn rs256_and_ps256_headers_against_an_ec_key() {
    let ec = credential(KeyType::EcP256, Algorithm::Es256);
    let (_, token) = good_token();
    let jws = Jws::parse(&token).unwrap();
    assert!(matches!(
        jws.verify(&ec.verifier, ALL),
        Err(Error::AlgorithmKeyMismatch {
            alg: Algorithm::Rs256,
            ..
        })
    ));
    let ps = credential(KeyType::Rsa2048, Algorithm::Ps256);
    let token = sign_raw_token(&ps.signer, r#"{"alg":"PS256"}"#, CLAIMS);
    assert!(matches!(
        Jws::parse(&token).unwrap().verify(&ec.verifier, ALL),
        Err(Error::AlgorithmKeyMismatch {
            alg: Algorithm::Ps256,
            ..
        })
    ));
}

#[test]
fn algorithm_outside_the_allow_list() {
    let (c, token) = good_token();
    assert_eq!(
        Jws::parse(&token).unwrap().verify(&c.verifier, &[Algorithm::Ps256]),
        Err(Error::AlgorithmNotAllowed {
            alg: Algorithm::Rs256,
            allowed: vec![Algorithm::Ps256]
        })
    );
    assert!(matches!(
        Jws::parse(&token).unwrap().verify(&c.verifier, &[]),
        Err(Error::AlgorithmNotAllowed { .. })
    ));
}

/// Flips one bit of one decoded segment and re-encodes it.
fn flip(token: &str, segment: usize, byte: usize) -> String {
    let mut parts = segments(token);
    let mut bytes = unb64(&parts[segment]);
    bytes[byte] ^= 0x01;
    parts[segment] = b64(&bytes);
    parts.join(".")
}

#[test]
fn a_flipped_bit_in_the_signature() {
    let (c, token) = good_token();
    for byte in [0, 100, 255] {
        let jws = Jws::parse(&flip(&token, 2, byte)).unwrap();
        assert_eq!(
            jws.verify(&c.verifier, ALL),
            Err(Error::InvalidSignature),
            "byte {byte}"
        );
    }
}

#[test]
fn a_flipped_bit_in_the_payload() {
    let (c, token) = good_token();
    // Byte 8 is inside "cid": the claims stay valid JSON, only the signature can tell.
    let tampered = flip(&token, 1, 8);
    let jws = Jws::parse(&tampered).unwrap();
    assert_ne!(jws.unverified_claims_json().unwrap()["iss"], "cid");
    assert_eq!(jws.verify(&c.verifier, ALL), Err(Error::InvalidSignature));
    assert_eq!(
        jws.verified_claims::<serde_json::Value>(&c.verifier, ALL),
        Err(Error::InvalidSignature)
    );
}

#[test]
fn a_flipped_bit_in_the_header() {
    let (c, token) = good_token();
    // The header is {"alg":"RS256","typ":"JWT","kid":"key-1"}; byte 36 is in the kid.
    let tampered = flip(&token, 0, 36);
    let jws = Jws::parse(&tampered).unwrap();
    assert_ne!(jws.header().kid.as_deref(), Some("key-1"));
    assert_eq!(jws.verify(&c.verifier, ALL), Err(Error::InvalidSignature));
}

#[test]
fn a_signature_from_another_key() {
    let (_, token) = good_token();
    let other = rsa();
    assert_eq!(
        Jws::parse(&token).unwrap().verify(&other.verifier, ALL),
        Err(Error::InvalidSignature)
    );
}

#[test]
fn wrong_number_of_segments() {
    let (_, token) = good_token();
    let parts = segments(&token);
    for (candidate, found) in [
        (parts[..2].join("."), 2),
        (format!("{token}.{}", parts[2]), 4),
        (format!("{token}."), 4),
        (parts[0].clone(), 1),
        // JWE compact serialization has five.
        (
            format!("{}.{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[1], parts[2]),
            5,
        ),
    ] {
        assert_eq!(
            Jws::parse(&candidate).unwrap_err(),
            Error::Malformed(TokenFormat::SegmentCount { found }),
            "{found}"
        );
    }
    assert_eq!(Jws::parse("").unwrap_err(), Error::Malformed(TokenFormat::Empty));
}

#[test]
fn padding_or_standard_base64_in_a_segment() {
    let (_, token) = good_token();
    let parts = segments(&token);
    // Re-encode each segment with padding and with the standard alphabet.
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    for (i, segment) in [Segment::Header, Segment::Payload, Segment::Signature]
        .into_iter()
        .enumerate()
    {
        let bytes = unb64(&parts[i]);
        let padded = URL_SAFE.encode(&bytes);
        if padded.ends_with('=') {
            let mut p = parts.clone();
            p[i] = padded;
            assert_eq!(
                Jws::parse(&p.join(".")).unwrap_err(),
                Error::Malformed(TokenFormat::Padding { segment }),
                "{segment}"
            );
        }
        let mut p = parts.clone();
        p[i] = STANDARD.encode(&bytes).trim_end_matches('=').to_owned();
        if p[i] != parts[i] {
            assert!(
                matches!(
                    Jws::parse(&p.join(".")).unwrap_err(),
                    Error::Malformed(TokenFormat::InvalidCharacter { segment: s, character: '+' | '/', .. }) if s == segment
                ),
                "{segment}"
            );
        }
    }
    // The padded cases above really ran for the header (41 bytes) and the signature (256).
    assert!(URL_SAFE.encode(unb64(&parts[0])).ends_with('='));
    assert!(URL_SAFE.encode(unb64(&parts[2])).ends_with("=="));
    // Tampering to '+' by hand.
    let mut p = parts.clone();
    p[2].replace_range(0..1, "+");
    assert!(matches!(
        Jws::parse(&p.join(".")).unwrap_err(),
        Error::Malformed(TokenFormat::InvalidCharacter {
            segment: Segment::Signature,
            character: '+',
            offset: 0
        })
    ));
}

#[test]
fn an_over_long_token() {
    let c = rsa();
    let big = format!(r#"{{"iss":"cid","pad":"{}"}}"#, "x".repeat(MAX_TOKEN_LEN));
    let token = sign_raw_token(&c.signer, r#"{"alg":"RS256"}"#, &big);
    assert!(token.len() > MAX_TOKEN_LEN);
    assert_eq!(
        Jws::parse(&token).unwrap_err(),
        Error::Malformed(TokenFormat::TooLong {
            len: token.len(),
            limit: MAX_TOKEN_LEN
        })
    );
}

#[test]
fn a_header_that_is_not_json() {
    let c = rsa();
    for header in [
        "RS256",
        "{alg:RS256}",
        "{\"alg\":\"RS256\"",
        "",
        "\u{feff}{\"alg\":\"RS256\"}",
    ] {
        let token = sign_raw_token(&c.signer, header, CLAIMS);
        assert!(
            matches!(
                Jws::parse(&token).unwrap_err(),
                Error::InvalidJson {
                    segment: Segment::Header,
                    ..
                }
            ),
            "{header:?}"
        );
    }
    // Bytes that are not UTF-8.
    let token = format!("{}.{}.", b64(&[0xff, 0xfe, 0x7b, 0x7d]), b64(CLAIMS.as_bytes()));
    assert!(matches!(
        Jws::parse(&token).unwrap_err(),
        Error::InvalidJson {
            segment: Segment::Header,
            ..
        }
    ));
}

#[test]
fn a_header_that_is_a_json_array() {
    let c = rsa();
    let token = sign_raw_token(&c.signer, r#"[{"alg":"RS256"}]"#, CLAIMS);
    assert_eq!(
        Jws::parse(&token).unwrap_err(),
        Error::NotAnObject {
            segment: Segment::Header,
            found: "array"
        }
    );
}

#[test]
fn a_duplicate_alg_member_in_the_header() {
    // Correctly signed: serde_json alone would keep the last "alg" (RS256) and verify it, while
    // a parser keeping the first would see "none". Refused however it is signed.
    let c = rsa();
    for header in [
        r#"{"alg":"none","alg":"RS256"}"#,
        r#"{"alg":"RS256","typ":"JWT","alg":"RS256"}"#,
    ] {
        let token = sign_raw_token(&c.signer, header, CLAIMS);
        assert_eq!(
            Jws::parse(&token).unwrap_err(),
            Error::DuplicateMember {
                segment: Segment::Header,
                name: "alg".into()
            },
            "{header}"
        );
    }
}

#[test]
fn a_duplicate_claim_in_the_payload() {
    let c = rsa();
    let token = sign_raw_token(
        &c.signer,
        r#"{"alg":"RS256"}"#,
        r#"{"sub":"admin","sub":"cid","exp":1700000600}"#,
    );
    let jws = Jws::parse(&token).unwrap();
    jws.verify(&c.verifier, ALL).unwrap();
    assert_eq!(
        jws.claims::<serde_json::Value>(),
        Err(Error::DuplicateMember {
            segment: Segment::Payload,
            name: "sub".into()
        })
    );
}

#[test]
fn a_crit_header() {
    let c = rsa();
    let token = sign_raw_token(&c.signer, r#"{"alg":"RS256","crit":["exp"],"exp":1}"#, CLAIMS);
    assert_eq!(
        Jws::parse(&token).unwrap_err(),
        Error::UnsupportedCritical(vec!["exp".into()])
    );
    // RFC 7797 unencoded payloads come with crit too.
    let token = sign_raw_token(&c.signer, r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#, CLAIMS);
    assert_eq!(
        Jws::parse(&token).unwrap_err(),
        Error::UnsupportedCritical(vec!["b64".into()])
    );
}

#[test]
fn an_rsa_key_under_2048_bits() {
    // A 1024-bit modulus (any odd 1024-bit number will do for the size check).
    let mut n = vec![0xc5; 128];
    n[127] = 0x01;
    let jwk: keyward_jose::Jwk =
        serde_json::from_value(serde_json::json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"})).unwrap();
    assert_eq!(
        VerifyingKey::from_jwk(&jwk),
        Err(Error::Key(KeyError::RsaTooSmall { bits: 1024 }))
    );
}
