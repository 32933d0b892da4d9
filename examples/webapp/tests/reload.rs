//! The web app reads its certificate files again when they change: a rotated certificate is
//! used without a restart.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// A key and self-signed certificate made by OpenSSL, written to `dir/app.pem` and `dir/app.key`.
fn openssl_pair(dir: &Path, name: &str) {
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj"])
        .arg(format!("/CN={name}"))
        .arg("-keyout")
        .arg(dir.join("app.key"))
        .arg("-out")
        .arg(dir.join("app.pem"))
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn subject(app: &webapp::App) -> String {
    app.credential().current().certificate().info().subject.clone()
}

#[tokio::test]
async fn the_app_picks_up_new_certificate_files_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    openssl_pair(dir.path(), "webapp-first");
    let vars: HashMap<String, String> = [
        ("CLIENT_ID", "00000000-0000-0000-0000-000000000001"),
        ("AUTHORITY", "https://localhost:8443/contoso/"),
        ("CERTIFICATE_PATH", dir.path().join("app.pem").to_str().unwrap()),
        ("PRIVATE_KEY_PATH", dir.path().join("app.key").to_str().unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let app = webapp::App::new(webapp::Config::from_vars(&vars).unwrap())
        .await
        .unwrap();
    assert_eq!(subject(&app), "CN=webapp-first");
    assert!(!app.credential().reload().await.unwrap(), "nothing changed");
    openssl_pair(dir.path(), "webapp-second");
    assert!(app.credential().reload().await.unwrap());
    assert_eq!(subject(&app), "CN=webapp-second");
}
