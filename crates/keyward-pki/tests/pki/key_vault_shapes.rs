//! What Key Vault's generated certificates and secret values need from this crate, checked by
//! the real OpenSSL: a certificate issued as of a given time with chosen key usages, extended key
//! usages and a UPN; a CSR; PFX files with an empty password, with and without the key.

use std::process::Command;

use keyward_pki::{
    CertificateSpec, ExtendedKeyUsage, KeyType, KeyUsage, Name, PfxEncryption, PrivateKey, SubjectAltName, Validity,
    write_pfx, write_pfx_certificates,
};
use time::macros::datetime;

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
fn issued_at_a_given_time_with_chosen_usages() {
    let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let at = datetime!(2031-05-31 12:00:00.5 UTC);
    let cert = CertificateSpec::new(Name::parse("CN=renewed").unwrap())
        .issued_at(at)
        .validity(Validity::Months(1))
        .key_usage(vec![KeyUsage::DigitalSignature, KeyUsage::NonRepudiation])
        .extended_key_usage(vec![
            ExtendedKeyUsage::server_auth(),
            ExtendedKeyUsage::parse("1.3.6.1.4.1.311.10.3.12").unwrap(),
        ])
        .subject_alt_name(SubjectAltName::Upn("app@contoso.com".into()))
        .self_signed(&key)
        .unwrap();
    let info = cert.info();
    assert_eq!(info.not_before, datetime!(2031-05-31 11:50:00 UTC));
    // 31 May + 1 month is clamped to 30 June.
    assert_eq!(info.not_after, datetime!(2031-06-30 12:00:00 UTC));
    assert_eq!(info.key_usage, ["digitalSignature", "nonRepudiation"]);
    assert_eq!(info.extended_key_usage, ["serverAuth", "1.3.6.1.4.1.311.10.3.12"]);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.pem"), cert.pem()).unwrap();
    let text = openssl(dir.path(), &["x509", "-in", "c.pem", "-noout", "-text"]);
    assert!(text.contains("X509v3 Key Usage: critical"), "{text}");
    assert!(
        text.contains("Universal Principal Name") || text.contains("UPN"),
        "{text}"
    );
}

#[test]
fn refuses_malformed_extended_key_usages() {
    for bad in ["", "1", "serverAuth", "3.1.2", "1.2.x", "1..2", "1.40.1"] {
        assert!(ExtendedKeyUsage::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        ExtendedKeyUsage::parse("1.3.6.1.5.5.7.3.2").unwrap(),
        ExtendedKeyUsage::client_auth()
    );
    assert_eq!(ExtendedKeyUsage::client_auth().dotted(), "1.3.6.1.5.5.7.3.2");
    assert_eq!(KeyUsage::from_name("crlsign"), Some(KeyUsage::CrlSign));
    assert_eq!(KeyUsage::CrlSign.name(), "cRLSign");
    assert_eq!(KeyUsage::from_name("sign"), None);
}

#[test]
fn signing_request_verifies_with_openssl() {
    let key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let csr = CertificateSpec::new(Name::parse("CN=pending").unwrap())
        .subject_alt_name(SubjectAltName::Dns("pending.example".into()))
        .signing_request(&key)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.der"), &csr).unwrap();
    let text = openssl(
        dir.path(),
        &["req", "-inform", "DER", "-in", "r.der", "-noout", "-verify", "-text"],
    );
    assert!(text.contains("CN = pending") || text.contains("CN=pending"), "{text}");
    assert!(text.contains("pending.example"), "{text}");
}

#[test]
fn pfx_with_an_empty_password_with_and_without_the_key() {
    let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
    let cert = CertificateSpec::new(Name::parse("CN=MyCert").unwrap())
        .self_signed(&key)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    let with_key = write_pfx(&cert, &[], &key, "", PfxEncryption::Legacy3Des).unwrap();
    std::fs::write(dir.path().join("k.pfx"), &with_key).unwrap();
    let text = openssl(
        dir.path(),
        &["pkcs12", "-in", "k.pfx", "-passin", "pass:", "-nodes", "-info"],
    );
    assert!(text.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{text}");
    assert!(text.contains("-----BEGIN PRIVATE KEY-----"), "{text}");
    let read = keyward_pki::read(&with_key, None).unwrap();
    assert!(
        read.certificate()
            .unwrap()
            .matches_key(read.private_key.as_ref().unwrap())
    );

    let without_key = write_pfx_certificates(std::slice::from_ref(&cert), "", PfxEncryption::Legacy3Des).unwrap();
    std::fs::write(dir.path().join("c.pfx"), &without_key).unwrap();
    let text = openssl(dir.path(), &["pkcs12", "-in", "c.pfx", "-passin", "pass:", "-nodes"]);
    assert!(text.contains("-----BEGIN CERTIFICATE-----"), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    let read = keyward_pki::read(&without_key, None).unwrap();
    assert_eq!(read.certificate().unwrap(), &cert);
    assert!(read.private_key.is_none());
}
