use super::*;
use keyward_pki::{CertificateSpec, KeyType, Name, PfxEncryption, write_pfx};

fn pair() -> (Certificate, PrivateKey) {
    let key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let cert = CertificateSpec::new(Name::parse("CN=import").unwrap())
        .self_signed(&key)
        .unwrap();
    (cert, key)
}

/// The shared fixtures, found from this crate upwards (the workspace may sit at any depth).
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = manifest
        .ancestors()
        .map(|dir| dir.join("shared/fixtures/azure-key-vault").join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("fixture {name} not found above {}", manifest.display()));
    std::fs::read(path).unwrap()
}

#[test]
fn pem_text_as_javascript_sends_it() {
    let (cert, key) = pair();
    let text = format!("{}{}", key.to_pkcs8_pem(None).unwrap().as_str(), cert.pem());
    let read = read_import(&text, None).unwrap();
    assert!(read.pem);
    assert_eq!(read.certificate, cert);
    assert_eq!(read.key.pkcs8_der(), key.pkcs8_der());
    assert!(read.chain.is_empty());
}

#[test]
fn base64_of_a_pem_file_as_python_sends_it() {
    let (cert, key) = pair();
    let text = format!("{}{}", cert.pem(), key.to_pkcs8_pem(Some("pw")).unwrap().as_str());
    let b64 = STANDARD.encode(text.as_bytes());
    let read = read_import(&b64, Some("pw")).unwrap();
    assert!(read.pem);
    assert_eq!(read.certificate, cert);
    assert!(matches!(read_import(&b64, None), Err(Error::Certificate(_))));
}

#[test]
fn base64_of_a_pfx_with_and_without_a_password() {
    let (cert, key) = pair();
    let with = write_pfx(&cert, &[], &key, "s3cret", PfxEncryption::Aes256).unwrap();
    let read = read_import(&STANDARD.encode(&with), Some("s3cret")).unwrap();
    assert!(!read.pem);
    assert_eq!(read.certificate, cert);
    assert!(matches!(
        read_import(&STANDARD.encode(&with), Some("wrong")),
        Err(Error::Certificate(_))
    ));
    assert!(matches!(
        read_import(&STANDARD.encode(&with), None),
        Err(Error::Certificate(_))
    ));

    let without = write_pfx(&cert, &[], &key, "", PfxEncryption::Legacy3Des).unwrap();
    // Line breaks, as `base64` prints them, are fine.
    let wrapped: String = STANDARD
        .encode(&without)
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let read = read_import(&wrapped, None).unwrap();
    assert_eq!(read.key.pkcs8_der(), key.pkcs8_der());
    assert!(read_import(&STANDARD.encode(&without), Some("")).is_ok());
}

#[test]
fn the_pfx_key_vault_made() {
    let pfx = fixture("generated-by-key-vault.pfx");
    let read = read_import(&STANDARD.encode(&pfx), None).unwrap();
    assert_eq!(
        read.certificate.thumbprints().sha1_hex(),
        "430CB3D0ECCC21A3E991A6B02A877D858F32C5D7"
    );
    assert!(read.certificate.matches_key(&read.key));
    assert!(!read.pem);
}

#[test]
fn refuses_what_cannot_be_imported() {
    let (cert, _) = pair();
    assert!(matches!(read_import(&cert.pem(), None), Err(Error::BadParameter(m)) if m.contains("no private key")));
    assert!(matches!(read_import("", None), Err(Error::BadParameter(_))));
    assert!(matches!(
        read_import("not base64 at all!", None),
        Err(Error::BadParameter(_))
    ));
    assert!(matches!(
        read_import(&STANDARD.encode(b"just bytes"), None),
        Err(Error::Certificate(_))
    ));
    let huge = "A".repeat(MAX_IMPORT_VALUE + 1);
    assert!(matches!(read_import(&huge, None), Err(Error::BadParameter(_))));
}
