//! `Certificate::spki_of`, the quick walk a directory of a million certificates reads each with
//! at start, finds the public key the full parser finds: in certificates made by the OpenSSL
//! CLI (v3 with extensions, v1 without a version field, RSA and EC), by Azure Key Vault, and by
//! keyward-pki; and refuses what is not one certificate.

use std::path::Path;
use std::process::Command;

use keyward_pki::Certificate;

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {args:?}");
}

fn same_key_as_the_parser(der: &[u8]) {
    let parsed = Certificate::from_der(der).expect("a certificate");
    assert_eq!(Certificate::spki_of(der).expect("walked"), parsed.spki_der().as_slice());
}

#[test]
fn the_walk_finds_the_key_the_parser_finds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-subj", "/CN=v3", "-days", "30",
            "-outform", "DER", "-out", "v3.cer",
        ],
    );
    openssl(
        d,
        &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.key"],
    );
    openssl(
        d,
        &[
            "req", "-x509", "-key", "ec.key", "-subj", "/CN=ec", "-days", "30", "-outform", "DER", "-out", "ec.cer",
        ],
    );
    // A version 1 certificate: no [0] version field before the serial number.
    openssl(
        d,
        &["req", "-new", "-key", "rsa.key", "-subj", "/CN=v1", "-out", "v1.csr"],
    );
    openssl(
        d,
        &[
            "x509", "-req", "-in", "v1.csr", "-key", "rsa.key", "-days", "30", "-outform", "DER", "-out", "v1.cer",
        ],
    );
    for name in ["v3.cer", "ec.cer", "v1.cer"] {
        let der = std::fs::read(d.join(name)).unwrap();
        same_key_as_the_parser(&der);
    }
    let v1 = std::fs::read(d.join("v1.cer")).unwrap();
    assert_ne!(v1[4..].first(), Some(&0xa0), "the v1 certificate has no version field");

    let key_vault = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/azure-key-vault/generated-by-key-vault.cer");
    same_key_as_the_parser(&std::fs::read(key_vault).unwrap());
}

#[test]
fn what_is_not_one_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k", "-subj", "/CN=x", "-days", "1",
            "-outform", "DER", "-out", "x.cer",
        ],
    );
    let der = std::fs::read(dir.path().join("x.cer")).unwrap();
    let mut trailing = der.clone();
    trailing.push(0);
    for (what, bytes) in [
        ("trailing bytes", trailing.as_slice()),
        ("cut short", &der[..der.len() - 10]),
        ("empty", &[][..]),
        ("a bare SEQUENCE", &[0x30, 0x00][..]),
        ("an INTEGER", &[0x02, 0x01, 0x05][..]),
    ] {
        assert!(Certificate::spki_of(bytes).is_err(), "{what} was walked");
    }
}
