//! A CA and a TLS leaf signed by it, as the server's local CA will make them, checked by the real
//! OpenSSL: the chain verifies, the leaf is a TLS server certificate for its names, and the
//! generated files round-trip through our own reader.

use std::process::Command;

use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey, SubjectAltName, Validity};

fn openssl(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?} failed:\n{text}");
    text
}

#[test]
fn leaf_signed_by_local_ca_verifies_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let ca = CertificateSpec::new(Name::parse("CN=Keyward Local CA,O=Keyward").unwrap())
        .validity(Validity::Months(120))
        .certificate_authority()
        .self_signed(&ca_key)
        .unwrap();
    assert!(ca.info().is_ca);
    assert!(ca.info().key_usage.contains(&"keyCertSign"));

    let leaf_key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let mut spec = CertificateSpec::new(Name::parse("CN=localhost").unwrap()).validity(Validity::Days(90));
    for san in ["localhost", "127.0.0.1", "::1"] {
        spec = spec.subject_alt_name(SubjectAltName::parse(san).unwrap());
    }
    let leaf = spec.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    assert_eq!(leaf.info().issuer, ca.info().subject);
    assert!(!leaf.info().is_ca);
    assert!(leaf.matches_key(&leaf_key) && !leaf.matches_key(&ca_key));

    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("leaf.pem"), leaf.pem()).unwrap();
    let verified = openssl(
        dir.path(),
        &["verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "leaf.pem"],
    );
    assert!(verified.contains("leaf.pem: OK"), "{verified}");
    openssl(
        dir.path(),
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "sslserver",
            "-verify_ip",
            "127.0.0.1",
            "leaf.pem",
        ],
    );
    openssl(
        dir.path(),
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "sslserver",
            "-verify_hostname",
            "localhost",
            "leaf.pem",
        ],
    );
    let text = openssl(dir.path(), &["x509", "-in", "ca.pem", "-noout", "-text"]);
    assert!(text.contains("CA:TRUE"), "{text}");

    // A leaf whose issuer key is not the issuer certificate's key is refused.
    let other = PrivateKey::generate(KeyType::EcP256).unwrap();
    assert_eq!(
        spec.signed_by(&leaf_key, &ca, &other).unwrap_err(),
        keyward_pki::Error::KeyMismatch
    );

    // A chain written in any order reads back leaf first.
    let bundle = format!("{}{}", ca.pem(), leaf.pem());
    let read = keyward_pki::read(bundle.as_bytes(), None).unwrap();
    assert_eq!(read.certificates[0], leaf);
    assert_eq!(read.certificates[1], ca);
}

#[test]
fn a_tampered_certificate_does_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let ca = CertificateSpec::new(Name::parse("CN=CA").unwrap())
        .certificate_authority()
        .self_signed(&ca_key)
        .unwrap();
    let leaf_key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let leaf = CertificateSpec::new(Name::parse("CN=leaf").unwrap())
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let mut der = leaf.der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1; // flip a bit of the signature
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("bad.der"), &der).unwrap();
    openssl(
        dir.path(),
        &["x509", "-inform", "DER", "-in", "bad.der", "-out", "bad.pem"],
    );
    let out = Command::new("openssl")
        .args(["verify", "-CAfile", "ca.pem", "bad.pem"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "a flipped signature bit must not verify");
}

/// What OpenSSL says of `leaf` under the CA in `ca.pem` (success, output).
fn verify(dir: &std::path::Path, leaf: &keyward_pki::Certificate) -> (bool, String) {
    std::fs::write(dir.join("leaf.pem"), leaf.pem()).unwrap();
    let out = Command::new("openssl")
        .args(["verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "leaf.pem"])
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_name_constrained_ca_vouches_only_for_its_names() {
    use keyward_pki::PermittedName;
    let dir = tempfile::tempdir().unwrap();
    let ca_key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let ca = CertificateSpec::new(Name::parse("CN=Constrained CA").unwrap())
        .certificate_authority()
        .permitted_names([
            PermittedName::Dns("ciamlogin.com".into()),
            PermittedName::Dns("login.microsoftonline.com".into()),
            PermittedName::Ip("127.0.0.1".parse().unwrap()),
        ])
        .self_signed(&ca_key)
        .unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let text = openssl(dir.path(), &["x509", "-in", "ca.pem", "-noout", "-text"]);
    assert!(text.contains("X509v3 Name Constraints: critical"), "{text}");
    assert!(text.contains("DNS:ciamlogin.com"), "{text}");
    // What the certificate says is read back, as PermittedName shows it (what the server
    // compares to decide whether its CA must be made again).
    assert_eq!(
        ca.info().permitted_names,
        ["DNS:ciamlogin.com", "DNS:login.microsoftonline.com", "IP:127.0.0.1/32"]
    );
    assert_eq!(PermittedName::Ip("::1".parse().unwrap()).to_string(), "IP:::1/128");

    let leaf_for = |names: &[&str]| {
        let key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let mut spec = CertificateSpec::new(Name::parse("CN=leaf").unwrap());
        for name in names {
            spec = spec.subject_alt_name(SubjectAltName::parse(name).unwrap());
        }
        spec.signed_by(&key, &ca, &ca_key).unwrap()
    };
    for permitted in [
        &["contoso.ciamlogin.com", "*.ciamlogin.com"][..],
        &["login.microsoftonline.com"],
        &["127.0.0.1"],
    ] {
        let leaf = leaf_for(permitted);
        assert!(leaf.names_issuer(&ca));
        let (ok, text) = verify(dir.path(), &leaf);
        assert!(ok, "{permitted:?}: {text}");
    }
    // The same name with another key is another CA: its leaves do not name this one.
    let other_key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let same_name = CertificateSpec::new(Name::parse("CN=Constrained CA").unwrap())
        .certificate_authority()
        .self_signed(&other_key)
        .unwrap();
    assert!(same_name.info().permitted_names.is_empty());
    assert!(!leaf_for(&["127.0.0.1"]).names_issuer(&same_name));
    for refused in [
        &["www.example.com"][..],
        &["contoso.ciamlogin.com", "accounts.google.com"],
        &["ciamlogin.com.evil.example"],
        &["127.0.0.2"],
    ] {
        let (ok, text) = verify(dir.path(), &leaf_for(refused));
        assert!(!ok, "{refused:?} must not verify: {text}");
        assert!(text.contains("subtree violation"), "{refused:?}: {text}");
    }
}
