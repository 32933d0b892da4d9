//! `keyward cert extract-key` writes a PKCS#8 key that OpenSSL reads and that matches the
//! certificate.

use super::support::{Alg, Dir, OpensslPair, PASSWORD, assert_error};

/// `keyward cert new` with a password: app.pfx, app.pem, pw.txt.
fn new_pfx(key_type: &str) -> Dir {
    let dir = Dir::new();
    dir.password_file("pw.txt", PASSWORD);
    dir.keyward_ok(&[
        "cert",
        "new",
        "--subject",
        "CN=app",
        "--out",
        "app",
        "--key-type",
        key_type,
        "--password-file",
        "pw.txt",
    ]);
    dir
}

#[test]
fn unencrypted_key_is_read_by_openssl_and_matches() {
    for key_type in ["rsa-2048", "ec-p256"] {
        let dir = new_pfx(key_type);
        dir.keyward_ok(&[
            "cert",
            "extract-key",
            "app.pfx",
            "--password-file",
            "pw.txt",
            "--out",
            "out.key",
            "--no-encrypt",
        ]);
        let text = dir.read_string("out.key");
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"), "{text}");
        dir.openssl_ok(&["pkey", "-in", "out.key", "-noout"]);
        assert_eq!(
            dir.key_public_key("out.key", None),
            dir.cert_public_key("app.pem", "PEM")
        );
        assert_eq!(dir.mode("out.key"), 0o600, "mode of the extracted key");
    }
}

#[test]
fn key_encrypted_with_a_new_password_is_read_by_openssl_and_matches() {
    for key_type in ["rsa-2048", "ec-p256"] {
        let dir = new_pfx(key_type);
        let new_pw = dir.password_file("new-pw.txt", "An0ther-Secret");
        dir.keyward_ok(&[
            "cert",
            "extract-key",
            "app.pfx",
            "--password-file",
            "pw.txt",
            "--out",
            "out.key",
            "--new-password-file",
            new_pw,
        ]);
        let text = dir.read_string("out.key");
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "{text}");
        assert_eq!(
            dir.key_public_key("out.key", Some("file:new-pw.txt")),
            dir.cert_public_key("app.pem", "PEM")
        );
        for wrong in ["pass:", &format!("pass:{PASSWORD}")] {
            let out = dir.openssl(&["pkey", "-in", "out.key", "-passin", wrong, "-noout"]);
            assert!(!out.status.success(), "OpenSSL read out.key with {wrong}");
        }
        assert_eq!(dir.mode("out.key"), 0o600, "mode of the extracted key");
    }
}

#[test]
fn key_from_an_openssl_legacy_pfx() {
    let p = OpensslPair::new(Alg::Rsa2048);
    p.dir.openssl_ok(&[
        "pkcs12",
        "-export",
        "-legacy",
        "-in",
        p.cert,
        "-inkey",
        p.key,
        "-passout",
        "file:pw.txt",
        "-out",
        "p.pfx",
    ]);
    p.dir.keyward_ok(&[
        "cert",
        "extract-key",
        "p.pfx",
        "--password-file",
        p.pw,
        "--out",
        "out.key",
        "--no-encrypt",
    ]);
    assert_eq!(p.dir.key_public_key("out.key", None), p.dir.key_public_key(p.key, None));
    assert_eq!(p.dir.mode("out.key"), 0o600);
}

#[test]
fn default_output_name_and_no_overwrite_without_force() {
    let dir = new_pfx("ec-p256");
    // The .key that cert new wrote is where extract-key writes by default: it must not be lost.
    let before = dir.read("app.key");
    let out = dir.keyward(&[
        "cert",
        "extract-key",
        "app.pfx",
        "--password-file",
        "pw.txt",
        "--no-encrypt",
    ]);
    assert_error(&out, "app.key", &["exist", "--force"]);
    assert_eq!(
        dir.read("app.key"),
        before,
        "app.key changed although extract-key failed"
    );

    dir.keyward_ok(&[
        "cert",
        "extract-key",
        "app.pfx",
        "--password-file",
        "pw.txt",
        "--no-encrypt",
        "--force",
    ]);
    let text = dir.read_string("app.key");
    assert!(
        text.starts_with("-----BEGIN PRIVATE KEY-----"),
        "app.key was not replaced:\n{text}"
    );
    assert_eq!(
        dir.key_public_key("app.key", None),
        dir.cert_public_key("app.pem", "PEM")
    );
    assert_eq!(dir.mode("app.key"), 0o600);
}
