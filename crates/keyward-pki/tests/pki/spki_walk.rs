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

/// A self-signed RSA 2048 certificate made by the OpenSSL CLI, DER.
fn rsa_certificate() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k", "-subj", "/CN=x", "-days", "1",
            "-outform", "DER", "-out", "x.cer",
        ],
    );
    std::fs::read(dir.path().join("x.cer")).unwrap()
}

#[test]
fn what_is_not_one_certificate_is_refused() {
    let der = rsa_certificate();
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

/// `der` with `extra` put at the end of its public key info, inside it, and the lengths of the
/// three SEQUENCEs around it (certificate, to-be-signed part, public key info; each written
/// `30 82 hi lo`, as for any RSA 2048 certificate) made to match.
fn with_bytes_after_the_key(der: &[u8], extra: &[u8]) -> Vec<u8> {
    let spki = Certificate::spki_of(der).unwrap();
    let at = der.windows(spki.len()).position(|w| w == spki).unwrap();
    let end = at + spki.len();
    let mut bent = der[..end].to_vec();
    bent.extend_from_slice(extra);
    bent.extend_from_slice(&der[end..]);
    for header in [0, 4, at] {
        assert_eq!(bent[header..header + 2], [0x30, 0x82], "a two-byte length at {header}");
        let length = u16::from_be_bytes([bent[header + 2], bent[header + 3]]) + extra.len() as u16;
        bent[header + 2..header + 4].copy_from_slice(&length.to_be_bytes());
    }
    bent
}

/// Found by fuzzing `read_any` (2026-12-07; `fuzz/corpus/read_any/regression-spki-trailing-bytes`):
/// x509-parser reads a public key info's algorithm and key and let bytes after them inside its
/// SEQUENCE pass, so the parse and the quick walk saw different public key infos. Not DER: refused.
#[test]
fn a_public_key_info_with_bytes_after_the_key_is_refused() {
    let der = rsa_certificate();
    same_key_as_the_parser(&der);
    let bent = with_bytes_after_the_key(&der, &[0x05, 0x00]);
    assert!(Certificate::spki_of(&bent).is_ok(), "the outer structure still walks");
    let refused = Certificate::from_der(&bent).unwrap_err().to_string();
    assert!(refused.contains("public key info"), "{refused}");
}
