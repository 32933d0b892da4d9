//! What real clients send and must be accepted: MSAL Python's float times and padded
//! thumbprints, headers with members we do not know.

use keyward_jose::{Algorithm, Header, Jws, NumericDate, RegisteredClaims};
use keyward_pki::KeyType;
use serde_json::json;

use crate::common::{ALL, credential, sign_raw_token};

#[test]
fn float_exp_and_iat_as_msal_python_sends_them() {
    let c = credential(KeyType::Rsa2048, Algorithm::Rs256);
    let claims = json!({
        "aud": "https://localhost:8443/contoso/oauth2/v2.0/token",
        "iss": "cid", "sub": "cid", "jti": "d8a3b4f2",
        "exp": 1_700_000_600.123_456, "iat": 1_700_000_000.123_456,
    });
    let token = c
        .signer
        .sign(&Header::new(Algorithm::Rs256).with_typ("JWT"), &claims)
        .unwrap();
    let read: RegisteredClaims = Jws::parse(&token).unwrap().verified_claims(&c.verifier, ALL).unwrap();
    assert_eq!(read.exp, Some(NumericDate::from_unix(1_700_000_600).unwrap()));
    assert_eq!(read.iat, Some(NumericDate::from_unix(1_700_000_000).unwrap()));
    assert_eq!(read.nbf, None);
}

#[test]
fn unknown_header_members_are_ignored() {
    let c = credential(KeyType::Rsa2048, Algorithm::Ps256);
    let header = r#"{"alg":"PS256","typ":"JWT","x5t#S256":"abc","cty":"JWT","jku":"https://x","zip":"DEF",
                     "x-ms-custom":{"nested":[1,{"a":null}]},"kid":"k"}"#;
    let token = sign_raw_token(&c.signer, header, r#"{"iss":"cid"}"#);
    let jws = Jws::parse(&token).unwrap();
    jws.verify(&c.verifier, ALL).unwrap();
    assert_eq!(jws.header().kid.as_deref(), Some("k"));
    assert_eq!(jws.header().x5t_s256.as_deref(), Some("abc"));
}

#[test]
fn thumbprints_with_and_without_padding_pass_through_as_given() {
    let c = credential(KeyType::Rsa2048, Algorithm::Rs256);
    let t = c.certificate.thumbprints();
    // MSAL Node: unpadded; MSAL Python: padded (28 and 44 characters).
    for (x5t, x5t_s256) in [
        (t.x5t(), t.x5t_s256()),
        (format!("{}=", t.x5t()), format!("{}=", t.x5t_s256())),
    ] {
        let header = Header::new(Algorithm::Rs256)
            .with_x5t(x5t.clone())
            .with_x5t_s256(x5t_s256.clone())
            .with_x5c(vec![format!(
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
            )]);
        let token = c.signer.sign(&header, &json!({"iss": "cid"})).unwrap();
        let jws = Jws::parse(&token).unwrap();
        jws.verify(&c.verifier, ALL).unwrap();
        assert_eq!(jws.header().x5t.as_deref(), Some(x5t.as_str()));
        assert_eq!(jws.header().x5t_s256.as_deref(), Some(x5t_s256.as_str()));
        assert_eq!(jws.header(), &header);
        // Either form finds the certificate once the caller normalises it.
        let parsed = keyward_pki::Thumbprint::parse(&x5t).unwrap();
        assert!(t.matches(&parsed));
    }
    assert_eq!(t.x5t().len() + 1, 28);
    assert_eq!(t.x5t_s256().len() + 1, 44);
}

#[test]
fn an_msal_node_assertion_round_trips() {
    // RS256 with x5t and typ JWT, and the claims MSAL Node sends.
    let c = credential(KeyType::Rsa2048, Algorithm::Rs256);
    let header = Header::new(Algorithm::Rs256)
        .with_typ("JWT")
        .with_x5t(c.certificate.thumbprints().x5t());
    let claims = json!({
        "aud": "https://localhost:8443/contoso/oauth2/v2.0/token",
        "exp": 1_700_000_600, "iss": "cid", "jti": "0b4f0c3c-4c4a-4b8e-9f0e-2f6f1d0a1b2c",
        "nbf": 1_700_000_000, "sub": "cid", "iat": 1_700_000_000,
    });
    let token = c.signer.sign(&header, &claims).unwrap();
    assert!(
        token.starts_with("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsIng1dCI6"),
        "{token}"
    );
    let jws = Jws::parse(&token).unwrap();
    let back: serde_json::Value = jws
        .verified_claims(&c.verifier, &[Algorithm::Rs256, Algorithm::Ps256])
        .unwrap();
    assert_eq!(back, claims);
}

#[test]
fn es256_is_available_when_allowed() {
    let c = credential(KeyType::EcP256, Algorithm::Es256);
    let token = c
        .signer
        .sign(&Header::new(Algorithm::Es256), &json!({"iss": "cid"}))
        .unwrap();
    let jws = Jws::parse(&token).unwrap();
    jws.verify(&c.verifier, &[Algorithm::Es256]).unwrap();
    // Entra's default policy (RSA only) refuses it.
    assert!(jws.verify(&c.verifier, &[Algorithm::Rs256, Algorithm::Ps256]).is_err());
}
