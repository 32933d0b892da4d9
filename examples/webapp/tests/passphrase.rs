//! Issue 13: a wrong or missing `PRIVATE_KEY_PASSPHRASE` names the variable and the file, so the
//! reader of the article knows what to change. The key is made by the real OpenSSL CLI.

use std::process::{Command, Stdio};

fn openssl_key_and_certificate(dir: &std::path::Path) {
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-days", "1", "-subj", "/CN=webapp"])
        .args(["-keyout", "app.key", "-out", "app.pem", "-passout", "pass:the-right-one"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
}

fn start(dir: &std::path::Path, passphrase: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_webapp"));
    cmd.current_dir(dir)
        .env_clear()
        .env("CLIENT_ID", "00000000-0000-0000-0000-000000000001")
        .env("AUTHORITY", "https://localhost:1/contoso/")
        .env("CERTIFICATE_PATH", "app.pem")
        .env("PRIVATE_KEY_PATH", "app.key")
        .env("DOTENV_CONFIG_PATH", dir.join("none.env"))
        .env("PORT", "0")
        .stdin(Stdio::null());
    if let Some(passphrase) = passphrase {
        cmd.env("PRIVATE_KEY_PASSPHRASE", passphrase);
    }
    let out = cmd.output().expect("webapp runs");
    assert!(!out.status.success(), "it must not start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_wrong_or_missing_passphrase_names_the_variable_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    openssl_key_and_certificate(dir.path());
    let wrong = start(dir.path(), Some("not-it"));
    assert!(wrong.contains("PRIVATE_KEY_PASSPHRASE does not open app.key"), "{wrong}");
    let missing = start(dir.path(), None);
    assert!(missing.contains("PRIVATE_KEY_PASSPHRASE is not set"), "{missing}");
    assert!(missing.contains("app.key"), "{missing}");
}
