//! Rotating a certificate without downtime (issue 12, point 4): `keyward app cert rotate` adds
//! the new certificate beside the old, waits the grace period, removes the old one (unless a
//! client used it meanwhile); and an application rolls its own certificate through Graph's
//! `addKey`/`removeKey` with a proof of possession. Certificates made by the real OpenSSL.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use keyward_jose::{Algorithm, Header, SigningKey};
use keyward_pki::{Certificate, PrivateKey};
use serde_json::json;

use crate::common::{JWT_BEARER, Server, now, sign, std_b64};

/// `openssl req -x509`: a self-signed RSA certificate `NAME.pem` and its key `NAME.key`.
fn openssl_certificate(dir: &Path, name: &str, subject: &str) -> (Certificate, PrivateKey) {
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj"])
        .arg(format!("/CN={subject}"))
        .arg("-keyout")
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(dir.join(format!("{name}.pem")))
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    load(&dir.join(format!("{name}.pem")), &dir.join(format!("{name}.key")))
}

/// A certificate file and a key file, read as any client reads them.
fn load(cert: &Path, key: &Path) -> (Certificate, PrivateKey) {
    let certificate = keyward_pki::read(&std::fs::read(cert).unwrap(), None)
        .unwrap()
        .certificate()
        .unwrap()
        .clone();
    let key = keyward_pki::read(&std::fs::read(key).unwrap(), None)
        .unwrap()
        .private_key
        .unwrap();
    (certificate, key)
}

/// Runs `keyward ARGS --data DIR --json`, whatever its outcome.
fn keyward(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .arg("--data")
        .arg(server.data())
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .expect("keyward runs")
}

/// A Graph token for the application, authenticated with `certificate` and `key`; `None` if
/// refused.
async fn graph_token(server: &Server, app_id: &str, certificate: &Certificate, key: &PrivateKey) -> Option<String> {
    let now = now();
    let claims = json!({"aud": server.token_endpoint("contoso"), "iss": app_id, "sub": app_id,
        "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "exp": now + 600});
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": certificate.thumbprints().x5t()});
    let assertion = sign(key, Algorithm::Rs256, &header, &claims);
    let (status, body) = server
        .token(
            "contoso",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", app_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    (status == 200).then(|| body["access_token"].as_str().unwrap().to_owned())
}

fn thumbprints(server: &Server, app: &str) -> Vec<String> {
    let listed = server.keyward(&["app", "cert", "list", app]);
    let mut all: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["customKeyIdentifier"].as_str().unwrap().to_owned())
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn rotate_makes_a_new_certificate_adds_it_then_removes_the_old_after_the_grace() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let created = server.keyward(&["app", "create", "--name", "rotating-app"]);
    let app_id = created["appId"].as_str().unwrap().to_owned();
    let (old_cert, old_key) = openssl_certificate(work.path(), "old", "rotating-app");
    server.keyward(&[
        "app",
        "cert",
        "add",
        "rotating-app",
        work.path().join("old.pem").to_str().unwrap(),
    ]);
    assert!(graph_token(&server, &app_id, &old_cert, &old_key).await.is_some());

    let out_dir = work.path().join("2027");
    let started = std::time::Instant::now();
    let rotated = server.keyward(&[
        "app",
        "cert",
        "rotate",
        "rotating-app",
        "--out",
        out_dir.to_str().unwrap(),
        "--no-password",
        "--grace",
        "3s",
    ]);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "it waited the grace"
    );
    // Made like `keyward cert new`, with the old certificate's subject, in --out.
    let (new_cert, new_key) = load(&out_dir.join("rotating-app.pem"), &out_dir.join("rotating-app.key"));
    for ext in ["cer", "pfx"] {
        assert!(out_dir.join(format!("rotating-app.{ext}")).exists(), "{ext}");
    }
    assert_eq!(new_cert.info().subject, "CN=rotating-app");
    let new_thumbprint = new_cert.thumbprints().sha1_hex();
    assert_eq!(rotated["added"]["customKeyIdentifier"], new_thumbprint, "{rotated}");
    assert_eq!(
        rotated["removed"][0]["thumbprint"],
        old_cert.thumbprints().sha1_hex(),
        "{rotated}"
    );
    assert_eq!(thumbprints(&server, "rotating-app"), [new_thumbprint]);
    // The new files authenticate; the old ones no longer do.
    assert!(graph_token(&server, &app_id, &new_cert, &new_key).await.is_some());
    assert!(graph_token(&server, &app_id, &old_cert, &old_key).await.is_none());
    // Rotating again into the same directory would overwrite the client's files: refused.
    let again = keyward(
        &server,
        &[
            "app",
            "cert",
            "rotate",
            "rotating-app",
            "--out",
            out_dir.to_str().unwrap(),
            "--no-password",
        ],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--out"));
    assert_eq!(thumbprints(&server, "rotating-app").len(), 1, "nothing added");
}

#[tokio::test]
async fn rotate_no_wait_adds_and_prints_the_command_that_removes_the_old_one() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    server.keyward(&["app", "create", "--name", "later-app"]);
    let (old_cert, _) = openssl_certificate(work.path(), "old", "later-app");
    let (new_cert, _) = openssl_certificate(work.path(), "new", "later-app");
    server.keyward(&[
        "app",
        "cert",
        "add",
        "later-app",
        work.path().join("old.pem").to_str().unwrap(),
    ]);
    let rotated = server.keyward(&[
        "app",
        "cert",
        "rotate",
        "later-app",
        "--cert",
        work.path().join("new.pem").to_str().unwrap(),
        "--no-wait",
    ]);
    let mut both = vec![old_cert.thumbprints().sha1_hex(), new_cert.thumbprints().sha1_hex()];
    both.sort();
    assert_eq!(thumbprints(&server, "later-app"), both, "both registered");
    let command = rotated["toRemoveLater"][0].as_str().unwrap();
    assert!(command.starts_with("keyward app cert remove "), "{command}");
    assert!(command.contains(&old_cert.thumbprints().sha1_hex()), "{command}");
    // The printed command, run as printed (it names the data directory), does what it says.
    assert!(command.contains("--data"), "{command}");
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    let ran = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(&words)
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    assert_eq!(thumbprints(&server, "later-app"), [new_cert.thumbprints().sha1_hex()]);
    // A certificate with its private key is refused before anything changes.
    let key_file = work.path().join("new.key");
    let refused = keyward(
        &server,
        &[
            "app",
            "cert",
            "rotate",
            "later-app",
            "--cert",
            key_file.to_str().unwrap(),
            "--no-wait",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("private key"));
}

#[tokio::test]
async fn rotate_from_the_vault_registers_the_vault_certificate_current_version() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    server.keyward(&["app", "create", "--name", "vaulted-app"]);
    let (old_cert, _) = openssl_certificate(work.path(), "old", "vaulted-app");
    server.keyward(&[
        "app",
        "cert",
        "add",
        "vaulted-app",
        work.path().join("old.pem").to_str().unwrap(),
    ]);
    let created = server.keyward(&["vault", "cert", "create", "vaulted-cert", "--subject", "CN=vaulted-app"]);
    let rotated = server.keyward(&[
        "app",
        "cert",
        "rotate",
        "vaulted-app",
        "--from-vault",
        "vaulted-cert",
        "--grace",
        "1s",
    ]);
    let shown = server.keyward(&["vault", "cert", "show", "vaulted-cert"]);
    let x5t = shown["x5t"].as_str().unwrap();
    let registered = thumbprints(&server, "vaulted-app");
    assert_eq!(registered.len(), 1, "{rotated}");
    assert_ne!(registered[0], old_cert.thumbprints().sha1_hex());
    assert_eq!(rotated["added"]["customKeyIdentifier"], registered[0]);
    assert_eq!(rotated["files"]["vaultCertificate"], "vaulted-cert");
    // The registered certificate is the vault's: same SHA-1 thumbprint as its x5t.
    let x5t_hex: String = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, x5t)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(registered[0], x5t_hex, "{created}");
}

/// The server records each certificate's last use (`keyCredentials[].keywardLastUsed`): a use
/// in the second half of the grace period keeps the old certificate.
#[tokio::test]
async fn rotate_keeps_an_old_certificate_used_late_in_the_grace_unless_forced() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let created = server.keyward(&["app", "create", "--name", "busy-app"]);
    let app_id = created["appId"].as_str().unwrap().to_owned();
    let (old_cert, old_key) = openssl_certificate(work.path(), "old", "busy-app");
    let (new_cert, _) = openssl_certificate(work.path(), "new", "busy-app");
    server.keyward(&[
        "app",
        "cert",
        "add",
        "busy-app",
        work.path().join("old.pem").to_str().unwrap(),
    ]);
    let new_pem = work.path().join("new.pem");
    let args = [
        "app",
        "cert",
        "rotate",
        "busy-app",
        "--cert",
        new_pem.to_str().unwrap(),
        "--grace",
        "8s",
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .arg("--data")
        .arg(server.data())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A client that has not switched asks for a token in the second half of the grace period.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert!(graph_token(&server, &app_id, &old_cert, &old_key).await.is_some());
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "the removal must be refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("second half of the grace period"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    let mut both = vec![old_cert.thumbprints().sha1_hex(), new_cert.thumbprints().sha1_hex()];
    both.sort();
    assert_eq!(thumbprints(&server, "busy-app"), both, "both stay registered");

    // With --force the old one goes even though it was used.
    let (newer_cert, _) = openssl_certificate(work.path(), "newer", "busy-app");
    let forced = server.keyward(&[
        "app",
        "cert",
        "rotate",
        "busy-app",
        "--cert",
        work.path().join("newer.pem").to_str().unwrap(),
        "--old",
        &old_cert.thumbprints().sha1_hex(),
        "--grace",
        "1s",
        "--force",
    ]);
    assert_eq!(forced["removed"][0]["thumbprint"], old_cert.thumbprints().sha1_hex());
    let mut now_registered = vec![new_cert.thumbprints().sha1_hex(), newer_cert.thumbprints().sha1_hex()];
    now_registered.sort();
    assert_eq!(thumbprints(&server, "busy-app"), now_registered);
}

/// A proof of possession, as Microsoft's sample makes it: RS256, `x5t`, `aud` Graph, `iss` the
/// application's object id, ten minutes.
fn proof(key: &PrivateKey, certificate: &Certificate, object_id: &str) -> String {
    let now = now();
    let claims = json!({"aud": "00000002-0000-0000-c000-000000000000", "iss": object_id,
        "nbf": now, "exp": now + 600});
    let header = Header::new(Algorithm::Rs256)
        .with_typ("JWT")
        .with_x5t(certificate.thumbprints().x5t());
    SigningKey::new(key, Algorithm::Rs256)
        .unwrap()
        .sign(&header, &claims)
        .unwrap()
}

#[tokio::test]
async fn an_app_rolls_its_own_certificate_with_add_key_and_remove_key() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let created = server.keyward(&["app", "create", "--name", "self-roller"]);
    let app_id = created["appId"].as_str().unwrap().to_owned();
    let object_id = created["id"].as_str().unwrap().to_owned();
    let (old_cert, old_key) = openssl_certificate(work.path(), "old", "self-roller");
    let (new_cert, new_key) = openssl_certificate(work.path(), "new", "self-roller");
    server.keyward(&[
        "app",
        "cert",
        "add",
        "self-roller",
        work.path().join("old.pem").to_str().unwrap(),
    ]);

    // The application itself, no Graph role: its token and a proof signed by its current key.
    let token = graph_token(&server, &app_id, &old_cert, &old_key).await.unwrap();
    let body = json!({
        "keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": std_b64(new_cert.der())},
        "passwordCredential": null,
        "proof": proof(&old_key, &old_cert, &object_id),
    });
    let (status, added) = server
        .post_json(&format!("/v1.0/applications/{object_id}/addKey"), &token, &body)
        .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["customKeyIdentifier"], new_cert.thumbprints().sha1_hex());
    // The same request again: the proof was used.
    let (status, replayed) = server
        .post_json(&format!("/v1.0/applications/{object_id}/addKey"), &token, &body)
        .await;
    assert_eq!(status, 403, "{replayed}");
    // Without the proof, the app's token alone changes nothing (it holds no role).
    let (status, _) = server
        .post_json(
            &format!("/v1.0/applications/{object_id}/removeKey"),
            &token,
            &json!({"keyId": added["keyId"]}),
        )
        .await;
    assert_eq!(status, 400);

    // Switched to the new certificate, it removes the old one, proving with the new key.
    let token = graph_token(&server, &app_id, &new_cert, &new_key).await.unwrap();
    let listed = server.keyward(&["app", "cert", "list", "self-roller"]);
    let old_key_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["customKeyIdentifier"] == old_cert.thumbprints().sha1_hex())
        .unwrap()["keyId"]
        .clone();
    let body = json!({"keyId": old_key_id, "proof": proof(&new_key, &new_cert, &object_id)});
    let (status, removed) = server
        .post_json(&format!("/v1.0/applications/{object_id}/removeKey"), &token, &body)
        .await;
    assert_eq!(status, 204, "{removed}");
    assert_eq!(thumbprints(&server, "self-roller"), [new_cert.thumbprints().sha1_hex()]);
    assert!(graph_token(&server, &app_id, &old_cert, &old_key).await.is_none());
}
