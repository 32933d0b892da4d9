//! The generated certificate has what Key Vault's has, read by x509-parser (through
//! keyward-pki) and by the real OpenSSL, side by side with a certificate Key Vault made.

use std::process::Command;

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::common::{create_request, fixture, harness};

fn openssl_text(der: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.der"), der).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in", "c.der", "-noout", "-text"])
        .current_dir(dir.path())
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of `openssl x509 -text` that say what Key Vault's certificates say.
fn shape(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let next = lines.get(i + 1).copied().unwrap_or_default();
        match *line {
            "X509v3 Key Usage: critical"
            | "X509v3 Extended Key Usage:"
            | "X509v3 Basic Constraints:"
            | "X509v3 Basic Constraints: critical" => out.push(format!("{line} {next}")),
            "X509v3 Subject Key Identifier:" | "X509v3 Authority Key Identifier:" => out.push((*line).to_owned()),
            l if l.starts_with("Signature Algorithm:") => out.push(l.to_owned()),
            l if l.starts_with("Public-Key:") => out.push(l.to_owned()),
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn the_generated_certificate_is_shaped_like_key_vaults() {
    let h = harness().await;
    let owner = h.owner().await;
    let before = OffsetDateTime::now_utc();
    h.vaults
        .create_certificate(
            &owner,
            "shape",
            create_request(json!({"policy": {"x509_props": {"subject": "CN=MyCert"}}})),
        )
        .await
        .unwrap();
    let bundle = h.vaults.certificate(&owner, "shape", None).await.unwrap();
    let info = bundle.certificate.info();
    assert_eq!(info.subject, "CN=MyCert");
    assert_eq!(info.issuer, info.subject);
    assert_eq!(info.serial.len(), 32, "a 16-byte serial: {}", info.serial);
    assert_eq!(
        info.signature_algorithm, "1.2.840.113549.1.1.11",
        "sha256WithRSAEncryption"
    );
    assert_eq!(info.key, Some(keyward_pki::KeyAlgorithm::Rsa { bits: 2048 }));
    assert_eq!(info.key_usage, ["digitalSignature", "keyEncipherment"]);
    assert_eq!(info.extended_key_usage, ["serverAuth", "clientAuth"]);
    assert!(!info.is_ca);
    let backdated = before - Duration::minutes(10);
    assert!(
        (info.not_before - backdated).abs() <= Duration::seconds(5),
        "{}",
        info.not_before
    );
    let start = info.not_before + Duration::minutes(10);
    let days = (info.not_after - start).whole_days();
    assert!((365..=366).contains(&days), "12 months: {days} days");

    let ours = openssl_text(bundle.certificate.der());
    let theirs = openssl_text(&fixture("generated-by-key-vault.cer"));
    assert!(ours.contains("X509v3 Key Usage: critical"), "{ours}");
    assert!(ours.contains("CA:FALSE"), "{ours}");
    assert!(
        ours.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{ours}"
    );
    assert_eq!(shape(&ours), shape(&theirs), "\nours:\n{ours}\nKey Vault's:\n{theirs}");
}
