//! Files made by the real Azure Key Vault service (see the fixtures' README).

use std::path::PathBuf;

use serde_json::Value;

use super::support::{Dir, assert_key_matches, json_str};

fn fixture(name: &str) -> PathBuf {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/azure-key-vault"
    ))
    .join(name);
    if !path.is_file() {
        panic!(
            "Key Vault fixture missing: {} (expected in ../shared/fixtures/azure-key-vault next to the repository)",
            path.display()
        );
    }
    path
}

/// `keyward cert show FIXTURE --json`, with no password.
fn show(name: &str) -> Value {
    let dir = Dir::new();
    let path = fixture(name);
    dir.keyward_json(&["cert", "show", path.to_str().expect("UTF-8 path"), "--json"])
}

#[test]
fn pfx_with_the_empty_password_needs_no_password() {
    let json = show("generated-by-key-vault.pfx");
    assert_eq!(
        json_str(&json, "/thumbprint"),
        "430CB3D0ECCC21A3E991A6B02A877D858F32C5D7"
    );
    assert_key_matches(&json);
    assert_eq!(json_str(&json, "/subject"), "CN=MyCert");
    assert_eq!(json["expired"], Value::Bool(true), "{json:#}");
    assert_eq!(json_str(&json, "/pkcs12/mac"), "SHA-1", "{json:#}");
}

#[test]
fn cer_thumbprint_and_x5t() {
    let json = show("generated-by-key-vault.cer");
    assert_eq!(
        json_str(&json, "/thumbprint"),
        "B473943AA82DF8608AEB5512D2A9643EBF23D7EC"
    );
    assert_eq!(json_str(&json, "/x5t"), "tHOUOqgt-GCK61US0qlkPr8j1-w");
    assert_eq!(json["hasPrivateKey"], Value::Bool(false), "{json:#}");
}

#[test]
fn key_vault_certificates_agree_with_openssl() {
    let dir = Dir::new();
    let cer = fixture("generated-by-key-vault.cer");
    let cer = cer.to_str().unwrap();
    assert_eq!(
        dir.fingerprint(cer, "DER", "sha1"),
        "B473943AA82DF8608AEB5512D2A9643EBF23D7EC"
    );
    let json = dir.keyward_json(&["cert", "show", cer, "--json"]);
    assert_eq!(
        json_str(&json, "/thumbprintSha256"),
        dir.fingerprint(cer, "DER", "sha256")
    );
}
