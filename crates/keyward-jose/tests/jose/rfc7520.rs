//! RFC 7520 ("Examples of Protecting Content Using JOSE"), section 4.1: RS256 is deterministic,
//! so signing the RFC's signing input with the RFC's key (section 3.4) must give the RFC's
//! signature bytes exactly.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_jose::{Algorithm, Jwk, JwkParams, Jws, SigningKey, VerifyingKey};
use keyward_pki::PrivateKey;

use crate::common::{ALL, unb64};

/// Section 3.4: the RSA key, as PKCS#1 DER in base64 (the RFC gives it as a JWK with d, p, q,
/// dp, dq, qi; this is the same key in the form OpenSSL writes).
const PRIVATE_KEY_PKCS1: &str = "\
MIIEowIBAAKCAQEAn4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8/KuKPEHLd4\
rHVTeT+O+XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz/AJmSCpMaJMRBSFKrKb2wqVwG\
U/NsYOYL+QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj+oBHqFEHYpP\
e7Tpe+OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzw\
OHrtIQbS0FVbb9k3+tVTU4fg/3L/vniUFAKwuCLqKnS2BYwdq/mzSnbLY7h/qixo\
R7jig3//kRhuaxwUkRz5iaiQkqgc5gHdrNP5zwIDAQABAoIBAG1lAvQfhBUSKPJK\
Rn4dGbshj7zDSr2FjbQf4pIh/ZNtHk/jtavyO/HomZKV8V0NFExLNi7DUUvvLiW7\
0PgNYq5MDEjJCtSd10xoHa4QpLvYEZXWO7DQPwCmRofkOutf+NqyDS0QnvFvp2d+\
Lov6jn5C5yvUFgw6qWiLAPmzMFlkgxbtjFAWMJB0zBMy2BqjntOJ6KnqtYRMQUxw\
TgXZDF4rhYVKtQVOpfg6hIlsaoPNrF7dofizJ099OOgDmCaEYqM++bUlEHxgrIVk\
wZz+bg43dfJCocr9O5YX0iXaz3TOT5cpdtYbBX+C/5hwrqBWru4HbD3xz8cY1TnD\
qQa0M8ECgYEA3Slxg/DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex/fp7AZ/9\
nRaO7HX/+SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr/WCsmGpeNqQn\
ev1T7IyEsnh8UMt+n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0kCgYEAuKE2\
dh+cTf6ERF4k4e/jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR/cu0Dm1MZwW\
mtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7anV5UzhM1iZ7z4yMkuUwFWoB\
vyY898EXvRD+hdqRxHlSqAZ192zB3pVFJ0s7pFcCgYAHw9W9eS8muPYv4ZhDu/fL\
2vorDmD1JqFcHCxZTOnX1NWWAj5hXzmrU0hvWvFC0P4ixddHf5Nqd6+5E9G3k4E5\
2IwZCnylu3bqCWNh8pT8T3Gf5FQsfPT5530T2BcsoPhUaeCnP499D+rb2mTnFYeg\
mnTT1B/Ue8KGLFFfn16GKQKBgAiw5gxnbocpXPaO6/OKxFFZ+6c0OjxfN2PogWce\
TU/k6ZzmShdaRKwDFXisxRJeNQ5Rx6qgS0jNFtbDhW8E8WFmQ5urCOqIOYk28EBi\
At4JySm4v+5P7yYBh8B8YD2l9j57z/s8hJAxEbn/q8uHP2ddQqvQKgtsni+pHSk9\
XGBfAoGBANz4qr10DdM8DHhPrAb2YItvPVz/VwkBd1Vqj8zCpyIEKe/07oKOvjWQ\
SgkLDH9x2hBgY01SbP43CvPk0V72invu2TGkI/FXwXWJLLG7tDSgw4YyfhrYrHmg\
1Vre3XB9HH8MYBVB6UIexaAq4xSeoemRKTBesZro7OKjKT8/GmiO";

/// Section 3.4: the public half as the RFC prints it.
const PUBLIC_JWK: &str = r#"{
    "kty": "RSA",
    "kid": "bilbo.baggins@hobbiton.example",
    "use": "sig",
    "n": "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
    "e": "AQAB"
}"#;

/// Section 4.1.2: `{"alg":"RS256","kid":"bilbo.baggins@hobbiton.example"}`.
const HEADER: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";

/// Section 4 (figure 72): the payload, base64url.
const PAYLOAD: &str = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";

/// Section 4.1.2: the signature.
const SIGNATURE: &str = "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg";

fn rfc_key() -> PrivateKey {
    PrivateKey::from_pkcs1_der(&STANDARD.decode(PRIVATE_KEY_PKCS1).unwrap()).unwrap()
}

#[test]
fn rs256_signature_is_the_rfcs_to_the_byte() {
    let signer = SigningKey::new(&rfc_key(), Algorithm::Rs256).unwrap();
    let signature = signer.sign_raw(format!("{HEADER}.{PAYLOAD}").as_bytes()).unwrap();
    assert_eq!(signature, unb64(SIGNATURE));
}

#[test]
fn the_rfcs_token_verifies_with_the_rfcs_public_jwk() {
    let token = format!("{HEADER}.{PAYLOAD}.{SIGNATURE}");
    let jws = Jws::parse(&token).unwrap();
    assert_eq!(jws.header().alg, Algorithm::Rs256);
    assert_eq!(jws.header().kid.as_deref(), Some("bilbo.baggins@hobbiton.example"));
    assert!(
        jws.payload()
            .starts_with("It\u{2019}s a dangerous business, Frodo".as_bytes())
    );
    let jwk: Jwk = serde_json::from_str(PUBLIC_JWK).unwrap();
    let verifier = VerifyingKey::from_jwk(&jwk).unwrap();
    jws.verify(&verifier, ALL).unwrap();
    // The payload is text, not JSON: there are no claims to read.
    assert!(jws.unverified_claims_json().is_err());
    // And a one-character change to the payload breaks it.
    let tampered = token.replacen("SXTigJlz", "SXTigJly", 1);
    assert_eq!(
        Jws::parse(&tampered).unwrap().verify(&verifier, ALL),
        Err(keyward_jose::Error::InvalidSignature)
    );
}

#[test]
fn our_jwk_of_the_rfc_key_has_the_rfcs_n_and_e() {
    let verifier = SigningKey::new(&rfc_key(), Algorithm::Rs256)
        .unwrap()
        .verifying_key()
        .unwrap();
    let ours = Jwk::from_verifying_key(&verifier);
    let rfc: Jwk = serde_json::from_str(PUBLIC_JWK).unwrap();
    assert_eq!(ours.params, rfc.params);
    let JwkParams::Rsa { n, e } = &ours.params else {
        panic!("not RSA")
    };
    assert_eq!(e, "AQAB");
    assert!(n.starts_with("n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT"));
}
