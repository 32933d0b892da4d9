//! Cross-checks with the real OpenSSL CLI: what we sign, OpenSSL verifies; what OpenSSL signs,
//! we verify; the JWK numbers are OpenSSL's.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_jose::{Algorithm, Error, Header, Jwk, JwkParams, Jws, KeyError, SigningKey, VerifyingKey};
use keyward_pki::{Certificate, PrivateKey};
use serde_json::json;

use crate::common::{ALL, b64, unb64};

/// Runs openssl in `dir`; panics with its stderr unless it succeeds.
fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI must be installed");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs openssl in `dir` and says whether it succeeded.
fn openssl_ok(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI must be installed")
        .status
        .success()
}

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.file(name), bytes).unwrap();
    }
    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.file(name)).unwrap()
    }
    fn run(&self, args: &[&str]) -> Vec<u8> {
        openssl(self.path(), args)
    }
    fn ok(&self, args: &[&str]) -> bool {
        openssl_ok(self.path(), args)
    }

    /// `openssl genrsa` / `genpkey` key, loaded as ours, with its SPKI DER.
    fn key(&self, name: &str, gen_args: &[&str]) -> (PrivateKey, Vec<u8>) {
        // `-out` before the rest: `genrsa` wants the key size last.
        let mut args = vec![gen_args[0], "-out", name];
        args.extend(&gen_args[1..]);
        self.run(&args);
        let spki = self.run(&["pkey", "-in", name, "-pubout", "-outform", "DER"]);
        let key = keyward_pki::read(&self.read(name), None)
            .unwrap()
            .private_key
            .expect("a private key");
        (key, spki)
    }

    /// A self-signed certificate made by `openssl req` for the key file.
    fn certificate(&self, key_file: &str) -> Certificate {
        self.run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            key_file,
            "-subj",
            "/CN=openssl-made",
            "-days",
            "30",
            "-outform",
            "DER",
            "-out",
            "cert.der",
        ]);
        Certificate::from_der(&self.read("cert.der")).unwrap()
    }
}

/// Splits a compact JWS into its signing input and decoded signature.
fn split(token: &str) -> (String, Vec<u8>) {
    let (input, sig) = token.rsplit_once('.').unwrap();
    (input.to_owned(), unb64(sig))
}

/// JOSE `r || s` to the DER `ECDSA-Sig-Value` OpenSSL wants.
fn raw_to_der(raw: &[u8]) -> Vec<u8> {
    assert_eq!(raw.len(), 64);
    let integer = |half: &[u8]| {
        let start = half.iter().position(|&b| b != 0).unwrap_or(half.len() - 1);
        let mut v = half[start..].to_vec();
        if v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let body = [integer(&raw[..32]), integer(&raw[32..])].concat();
    let mut der = vec![0x30, body.len() as u8];
    der.extend(body);
    der
}

/// The DER `ECDSA-Sig-Value` OpenSSL writes to JOSE `r || s`.
fn der_to_raw(der: &[u8]) -> Vec<u8> {
    assert_eq!(der[0], 0x30);
    assert_eq!(usize::from(der[1]), der.len() - 2);
    let mut rest = &der[2..];
    let mut raw = Vec::new();
    for _ in 0..2 {
        assert_eq!(rest[0], 0x02);
        let len = usize::from(rest[1]);
        let value = &rest[2..2 + len];
        let trimmed: Vec<u8> = value.iter().copied().skip_while(|&b| b == 0).collect();
        assert!(trimmed.len() <= 32);
        raw.extend(std::iter::repeat_n(0, 32 - trimmed.len()));
        raw.extend(trimmed);
        rest = &rest[2 + len..];
    }
    assert!(rest.is_empty());
    raw
}

fn claims() -> serde_json::Value {
    json!({"iss": "cid", "sub": "cid", "aud": "https://localhost/t/oauth2/v2.0/token", "exp": 1_700_000_600})
}

#[test]
fn openssl_verifies_our_rs256() {
    let ws = Workspace::new();
    let (key, spki) = ws.key("key.pem", &["genrsa", "2048"]);
    ws.write("pub.der", &spki);
    let token = SigningKey::new(&key, Algorithm::Rs256)
        .unwrap()
        .sign(&Header::new(Algorithm::Rs256).with_typ("JWT"), &claims())
        .unwrap();
    let (input, sig) = split(&token);
    ws.write("input.txt", input.as_bytes());
    ws.write("sig.bin", &sig);
    let verify = [
        "dgst",
        "-sha256",
        "-verify",
        "pub.der",
        "-keyform",
        "DER",
        "-signature",
        "sig.bin",
        "input.txt",
    ];
    ws.run(&verify);
    // And the same check fails on other input, so it is a real check.
    ws.write("input.txt", format!("{input}x").as_bytes());
    assert!(!ws.ok(&verify));
}

#[test]
fn openssl_verifies_our_ps256_with_salt_32() {
    let ws = Workspace::new();
    let (key, spki) = ws.key("key.pem", &["genrsa", "2048"]);
    ws.write("pub.der", &spki);
    let token = SigningKey::new(&key, Algorithm::Ps256)
        .unwrap()
        .sign(&Header::new(Algorithm::Ps256), &claims())
        .unwrap();
    let (input, sig) = split(&token);
    ws.write("input.txt", input.as_bytes());
    ws.write("sig.bin", &sig);
    let verify = |salt: &str| {
        ws.ok(&[
            "dgst",
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            &format!("rsa_pss_saltlen:{salt}"),
            "-sigopt",
            "rsa_mgf1_md:sha256",
            "-verify",
            "pub.der",
            "-keyform",
            "DER",
            "-signature",
            "sig.bin",
            "input.txt",
        ])
    };
    assert!(verify("32"));
    assert!(!verify("20"), "the salt must be exactly 32 bytes");
    // PKCS#1 v1.5 verification must fail: it really is PSS.
    assert!(!ws.ok(&[
        "dgst",
        "-sha256",
        "-verify",
        "pub.der",
        "-keyform",
        "DER",
        "-signature",
        "sig.bin",
        "input.txt",
    ]));
}

#[test]
fn openssl_verifies_our_es256_once_converted_to_der() {
    let ws = Workspace::new();
    let (key, spki) = ws.key(
        "ec.pem",
        &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    ws.write("pub.der", &spki);
    let token = SigningKey::new(&key, Algorithm::Es256)
        .unwrap()
        .sign(&Header::new(Algorithm::Es256), &claims())
        .unwrap();
    let (input, sig) = split(&token);
    assert_eq!(sig.len(), 64, "JOSE r || s, not DER");
    ws.write("input.txt", input.as_bytes());
    ws.write("sig.der", &raw_to_der(&sig));
    let verify = [
        "dgst",
        "-sha256",
        "-verify",
        "pub.der",
        "-keyform",
        "DER",
        "-signature",
        "sig.der",
        "input.txt",
    ];
    ws.run(&verify);
    ws.write("input.txt", format!("{input}x").as_bytes());
    assert!(!ws.ok(&verify));
}

#[test]
fn we_verify_openssls_rs256_ps256_and_es256() {
    let ws = Workspace::new();
    let (_, rsa_spki) = ws.key("rsa.pem", &["genrsa", "2048"]);
    let (_, ec_spki) = ws.key(
        "ec.pem",
        &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let rsa = VerifyingKey::from_spki_der(&rsa_spki).unwrap();
    let ec = VerifyingKey::from_spki_der(&ec_spki).unwrap();

    let token_for = |alg: Algorithm, key_file: &str, extra: &[&str]| {
        let input = format!(
            "{}.{}",
            b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        ws.write("input.txt", input.as_bytes());
        let mut args = vec!["dgst", "-sha256", "-sign", key_file];
        args.extend(extra);
        args.extend(["-out", "sig.bin", "input.txt"]);
        ws.run(&args);
        let mut sig = ws.read("sig.bin");
        if alg == Algorithm::Es256 {
            sig = der_to_raw(&sig);
        }
        format!("{input}.{}", b64(&sig))
    };

    let rs = token_for(Algorithm::Rs256, "rsa.pem", &[]);
    Jws::parse(&rs).unwrap().verify(&rsa, ALL).unwrap();

    let pss = [
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:32",
        "-sigopt",
        "rsa_mgf1_md:sha256",
    ];
    let ps = token_for(Algorithm::Ps256, "rsa.pem", &pss);
    Jws::parse(&ps).unwrap().verify(&rsa, ALL).unwrap();

    // RFC 7518 fixes the PSS salt at the hash length; OpenSSL's "max" salt is something else.
    let max_salt = [
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:max",
        "-sigopt",
        "rsa_mgf1_md:sha256",
    ];
    let ps_max = token_for(Algorithm::Ps256, "rsa.pem", &max_salt);
    assert_eq!(
        Jws::parse(&ps_max).unwrap().verify(&rsa, ALL),
        Err(Error::InvalidSignature)
    );

    let es = token_for(Algorithm::Es256, "ec.pem", &[]);
    let jws = Jws::parse(&es).unwrap();
    jws.verify(&ec, ALL).unwrap();
    assert_eq!(jws.unverified_claims_json().unwrap()["iss"], "cid");
    assert!(matches!(jws.verify(&rsa, ALL), Err(Error::AlgorithmKeyMismatch { .. })));
}

#[test]
fn jwk_n_and_e_are_openssls_modulus_and_exponent() {
    let ws = Workspace::new();
    ws.run(&["genrsa", "-out", "key.pem", "2048"]);
    let certificate = ws.certificate("key.pem");
    let jwk = Jwk::from_certificate(&certificate, None).unwrap();
    let JwkParams::Rsa { n, e } = &jwk.params else {
        panic!("not RSA")
    };
    for text in [n, e] {
        assert!(!text.contains(['=', '+', '/']), "{text} is not unpadded base64url");
    }
    ws.run(&["rsa", "-in", "key.pem", "-pubout", "-out", "pub.pem"]);
    let modulus = String::from_utf8(ws.run(&["rsa", "-pubin", "-in", "pub.pem", "-noout", "-modulus"])).unwrap();
    let hex: String = unb64(n).iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(modulus.trim(), format!("Modulus={hex}"));
    let text = String::from_utf8(ws.run(&["rsa", "-pubin", "-in", "pub.pem", "-noout", "-text"])).unwrap();
    assert!(text.contains("Exponent: 65537 (0x10001)"), "{text}");
    assert_eq!(e, "AQAB");
    // kid and x5t are the certificate's x5t, x5c its DER in standard base64.
    assert_eq!(jwk.kid, Some(certificate.thumbprints().x5t()));
    assert_eq!(jwk.x5t, Some(certificate.thumbprints().x5t()));
    assert_eq!(jwk.x5c, Some(vec![STANDARD.encode(ws.read("cert.der"))]));
}

#[test]
fn jwk_of_a_certificate_verifies_what_its_key_signed() {
    let ws = Workspace::new();
    ws.run(&["genrsa", "-out", "key.pem", "2048"]);
    let certificate = ws.certificate("key.pem");
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"RS256"}"#),
        b64(claims().to_string().as_bytes())
    );
    ws.write("input.txt", input.as_bytes());
    ws.run(&["dgst", "-sha256", "-sign", "key.pem", "-out", "sig.bin", "input.txt"]);
    let token = format!("{input}.{}", b64(&ws.read("sig.bin")));

    // Through JSON, as a client fetching the jwks_uri would see it.
    let json = serde_json::to_string(&keyward_jose::Jwks {
        keys: vec![Jwk::from_certificate(&certificate, None).unwrap()],
    })
    .unwrap();
    let set: keyward_jose::Jwks = serde_json::from_str(&json).unwrap();
    let verifier = VerifyingKey::from_jwk(set.find(&certificate.thumbprints().x5t()).unwrap()).unwrap();
    assert_eq!(verifier, VerifyingKey::from_certificate(&certificate).unwrap());
    Jws::parse(&token)
        .unwrap()
        .verify(&verifier, &[Algorithm::Rs256])
        .unwrap();
}

#[test]
fn rsa_1024_is_refused_from_spki_certificate_and_jwk() {
    let ws = Workspace::new();
    ws.run(&["genrsa", "-out", "small.pem", "1024"]);
    let spki = ws.run(&["pkey", "-in", "small.pem", "-pubout", "-outform", "DER"]);
    let too_small = Error::Key(KeyError::RsaTooSmall { bits: 1024 });
    assert_eq!(VerifyingKey::from_spki_der(&spki), Err(too_small.clone()));
    let certificate = ws.certificate("small.pem");
    assert_eq!(VerifyingKey::from_certificate(&certificate), Err(too_small.clone()));
    assert_eq!(Jwk::from_certificate(&certificate, None), Err(too_small.clone()));
    let modulus = String::from_utf8(ws.run(&["rsa", "-in", "small.pem", "-noout", "-modulus"])).unwrap();
    let hex = modulus.trim().strip_prefix("Modulus=").unwrap();
    let n: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert_eq!(n.len(), 128);
    let jwk: Jwk = serde_json::from_value(json!({"kty": "RSA", "n": b64(&n), "e": "AQAB"})).unwrap();
    assert_eq!(VerifyingKey::from_jwk(&jwk), Err(too_small));
}
