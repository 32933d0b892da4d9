//! Certificate rotation under load: a client asking for tokens in a loop (a new token request
//! each time, no cache) keeps getting them, with no failure, while its certificate is replaced
//! (in its files, made by OpenSSL, or in the vault, where the link adds each new version to the
//! application) and the old certificate is removed from the application. The client picks the
//! new certificate up without a restart, and after the old one is removed every token was
//! necessarily obtained with the new one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use keyward_client::{ClientCredential, ConfidentialClient, ReloadingCertificate, VaultClient};
use serde_json::json;

use crate::common::*;

/// The token requests of a loop.
#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    failed: AtomicUsize,
    /// Successes since `mark` was set.
    ok_after_mark: AtomicUsize,
    mark: AtomicBool,
    errors: std::sync::Mutex<Vec<String>>,
}

/// Requests tokens for `scope` in a loop until `stop`, each with a new client (so each one
/// reaches the token endpoint) over the one shared reloading credential.
fn token_loop(
    server: &Server,
    app_id: &str,
    scope: &str,
    credential: ReloadingCertificate,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> tokio::task::JoinHandle<()> {
    let authority = format!("{}/contoso", server.url);
    let (app_id, scope, ca) = (app_id.to_owned(), scope.to_owned(), server.ca_pem());
    tokio::spawn(async move {
        while !stop.load(Ordering::SeqCst) {
            let client = ConfidentialClient::builder(&authority, &app_id, ClientCredential::from(credential.clone()))
                .trust_ca(&ca)
                .build()
                .expect("client builds");
            match client.acquire_token_for_client(&[&scope]).await {
                Ok(token) => {
                    assert!(!token.from_cache);
                    tally.ok.fetch_add(1, Ordering::SeqCst);
                    if tally.mark.load(Ordering::SeqCst) {
                        tally.ok_after_mark.fetch_add(1, Ordering::SeqCst);
                    }
                }
                Err(e) => {
                    tally.failed.fetch_add(1, Ordering::SeqCst);
                    tally.errors.lock().unwrap().push(e.to_string());
                }
            }
        }
    })
}

/// Waits until `done`, for at most `limit`.
async fn until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A new RSA key and self-signed certificate made by OpenSSL: (certificate PEM, key PEM).
fn openssl_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj"])
        .arg(format!("/CN={name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

fn sha1(credential: &ReloadingCertificate) -> String {
    credential.current().certificate().thumbprints().sha1_hex()
}

fn thumbprints_on(server: &Server, app: &str) -> Vec<String> {
    server
        .keyward(&["app", "cert", "list", app])
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customKeyIdentifier"].as_str().unwrap().to_uppercase())
        .collect()
}

fn assert_no_failure(tally: &Tally) {
    assert_eq!(
        tally.failed.load(Ordering::SeqCst),
        0,
        "failed requests: {:?}",
        tally.errors.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyward_app_cert_rotate_with_new_files_under_load_has_no_failure() {
    let server = Server::start();
    let registered = server.client("reload-files");
    let files = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (files.path().join("app.pem"), files.path().join("app.key"));
    std::fs::write(&cert_path, registered.certificate.pem()).unwrap();
    std::fs::write(&key_path, registered.key.to_pkcs8_pem(None).unwrap().as_bytes()).unwrap();
    let old = registered.certificate.thumbprints().sha1_hex();
    let credential = ReloadingCertificate::from_files(&cert_path, Some(&key_path), None)
        .unwrap()
        .check_every(Duration::from_millis(100));

    let (stop, tally) = (Arc::new(AtomicBool::new(false)), Arc::new(Tally::default()));
    let worker = token_loop(
        &server,
        &registered.app_id,
        &registered.scope,
        credential.clone(),
        stop.clone(),
        tally.clone(),
    );
    until(Duration::from_secs(10), "the first tokens", || {
        tally.ok.load(Ordering::SeqCst) >= 3
    })
    .await;

    // `keyward app cert rotate` registers the new certificate, then waits its grace period
    // while the new files are deployed, then removes the old certificate.
    let staging = tempfile::tempdir().unwrap();
    let (new_cert, new_key) = openssl_pair(staging.path(), "reload-files-next");
    let rotate = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "app",
            "cert",
            "rotate",
            "reload-files",
            "--grace",
            "8s",
            "--json",
            "--cert",
        ])
        .arg(&new_cert)
        .arg("--data")
        .arg(server.data())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keyward runs");
    until(Duration::from_secs(20), "rotate to add the new certificate", || {
        thumbprints_on(&server, "reload-files").len() == 2
    })
    .await;
    let new = keyward_pki::read(&std::fs::read(&new_cert).unwrap(), None)
        .unwrap()
        .certificate()
        .unwrap()
        .thumbprints()
        .sha1_hex();

    // Half-written: the new certificate beside the old key. The old pair stays in use.
    std::fs::copy(&new_cert, &cert_path).unwrap();
    let seen = tally.ok.load(Ordering::SeqCst);
    until(Duration::from_secs(10), "requests over the half-written pair", || {
        tally.ok.load(Ordering::SeqCst) >= seen + 3
    })
    .await;
    assert_eq!(
        sha1(&credential),
        old,
        "a certificate without its key is not switched to"
    );

    std::fs::copy(&new_key, &key_path).unwrap();
    until(Duration::from_secs(10), "the switch to the new files", || {
        sha1(&credential) == new
    })
    .await;

    // The client switched in the first half of the grace: rotate removes the old certificate.
    // What succeeds from then on was signed with the new one.
    let rotated = tokio::task::spawn_blocking(move || rotate.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        rotated.status.success(),
        "rotate: {}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let rotated: serde_json::Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert_eq!(
        rotated["removed"][0]["thumbprint"].as_str().map(str::to_uppercase),
        Some(old.clone())
    );
    assert_eq!(thumbprints_on(&server, "reload-files"), vec![new.clone()]);
    tally.mark.store(true, Ordering::SeqCst);
    until(Duration::from_secs(10), "tokens after the removal", || {
        tally.ok_after_mark.load(Ordering::SeqCst) >= 5
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    worker.await.unwrap();
    assert_no_failure(&tally);
    assert_eq!(sha1(&credential), new);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_written_pair_never_fails_a_request() {
    let server = Server::start();
    let registered = server.client("reload-half");
    let files = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (files.path().join("app.pem"), files.path().join("app.key"));
    std::fs::write(&cert_path, registered.certificate.pem()).unwrap();
    let key_pem = registered.key.to_pkcs8_pem(None).unwrap();
    std::fs::write(&key_path, key_pem.as_bytes()).unwrap();
    let old = registered.certificate.thumbprints().sha1_hex();
    let credential = ReloadingCertificate::from_files(&cert_path, Some(&key_path), None)
        .unwrap()
        .check_every(Duration::ZERO);
    let (stop, tally) = (Arc::new(AtomicBool::new(false)), Arc::new(Tally::default()));
    let worker = token_loop(
        &server,
        &registered.app_id,
        &registered.scope,
        credential.clone(),
        stop.clone(),
        tally.clone(),
    );
    until(Duration::from_secs(10), "the first tokens", || {
        tally.ok.load(Ordering::SeqCst) >= 3
    })
    .await;

    let staging = tempfile::tempdir().unwrap();
    let (new_cert, new_key) = openssl_pair(staging.path(), "reload-half-next");
    // The new certificate with the old key, then the new key cut off half-way, then an empty
    // certificate file: each seen by several requests, none of which fails.
    let new_key_pem = std::fs::read(&new_key).unwrap();
    let steps: [(&Path, Vec<u8>); 3] = [
        (&cert_path, std::fs::read(&new_cert).unwrap()),
        (&key_path, new_key_pem[..new_key_pem.len() / 2].to_vec()),
        (&cert_path, Vec::new()),
    ];
    for (path, bytes) in steps {
        std::fs::write(path, bytes).unwrap();
        let seen = tally.ok.load(Ordering::SeqCst);
        until(Duration::from_secs(10), "requests over a half-written pair", || {
            tally.ok.load(Ordering::SeqCst) >= seen + 3
        })
        .await;
        assert_eq!(sha1(&credential), old);
    }
    stop.store(true, Ordering::SeqCst);
    worker.await.unwrap();
    assert_no_failure(&tally);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_from_the_vault_with_a_link_under_load_has_no_failure() {
    let server = Server::start();
    let registered = server.client("reload-vault");
    // Who reads the vault: another application, with a secret.
    server.keyward(&["app", "create", "--name", "reload-vault-reader"]);
    let secret = server.keyward(&["app", "secret", "add", "reload-vault-reader"])["secretText"]
        .as_str()
        .unwrap()
        .to_owned();
    let reader_id = server.keyward(&["app", "show", "reload-vault-reader"])["appId"]
        .as_str()
        .unwrap()
        .to_owned();
    server.keyward(&[
        "vault",
        "grant",
        "reload-vault-reader",
        "--certificates",
        "get,list,create",
        "--secrets",
        "get",
    ]);
    let reader = ConfidentialClient::builder(
        &format!("{}/contoso", server.url),
        &reader_id,
        ClientCredential::secret(secret),
    )
    .trust_ca(&server.ca_pem())
    .build()
    .unwrap();
    let vault = VaultClient::new(&server.url, reader)
        .unwrap()
        .verify_challenge_resource(false);
    let policy = json!({
        "key_props": {"exportable": true, "kty": "RSA", "key_size": 2048, "reuse_key": false},
        "secret_props": {"contentType": "application/x-pem-file"},
        "x509_props": {"subject": "CN=reload-vault", "validity_months": 12},
        "issuer": {"name": "Self"},
    });
    let first = vault
        .create_certificate("reload-vault-cert", policy.clone())
        .await
        .unwrap();

    // The link adds the vault's certificate to the application now; the one made by hand goes.
    let linked = server.keyward(&["vault", "cert", "link", "reload-vault-cert", "--app", "reload-vault"]);
    assert_eq!(linked["latestVersionAdded"], true, "{linked}");
    assert_eq!(linked["appId"], registered.app_id.as_str(), "{linked}");
    let listed = server.keyward(&["vault", "cert", "links", "reload-vault-cert"]);
    assert_eq!(listed["value"][0]["displayName"], "reload-vault", "{listed}");
    server.keyward(&[
        "app",
        "cert",
        "remove",
        "reload-vault",
        &registered.certificate.thumbprints().sha1_hex(),
    ]);
    assert_eq!(thumbprints_on(&server, "reload-vault"), vec![first.thumbprint()]);

    let credential = ReloadingCertificate::from_vault(vault.clone(), "reload-vault-cert")
        .await
        .unwrap();
    assert_eq!(sha1(&credential), first.thumbprint());
    let (stop, tally) = (Arc::new(AtomicBool::new(false)), Arc::new(Tally::default()));
    let worker = token_loop(
        &server,
        &registered.app_id,
        &registered.scope,
        credential.clone(),
        stop.clone(),
        tally.clone(),
    );
    until(Duration::from_secs(10), "the first tokens", || {
        tally.ok.load(Ordering::SeqCst) >= 3
    })
    .await;

    // A new version in the vault: the link puts it on the application at once, beside the old.
    let second = vault.create_certificate("reload-vault-cert", policy).await.unwrap();
    assert_ne!(second.thumbprint(), first.thumbprint());
    let mut on_app = thumbprints_on(&server, "reload-vault");
    on_app.sort();
    let mut expected = vec![first.thumbprint(), second.thumbprint()];
    expected.sort();
    assert_eq!(on_app, expected);

    // The old one removed: the next request is refused (AADSTS700027), the client reads the
    // vault's latest version and sends it again, so the loop sees no failure.
    server.keyward(&["app", "cert", "remove", "reload-vault", &first.thumbprint()]);
    tally.mark.store(true, Ordering::SeqCst);
    until(Duration::from_secs(10), "tokens after the removal", || {
        tally.ok_after_mark.load(Ordering::SeqCst) >= 5
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    worker.await.unwrap();
    assert_no_failure(&tally);
    assert_eq!(sha1(&credential), second.thumbprint());

    // Each addition is in the application's audit log, saying where it came from.
    let object_id = server.keyward(&["app", "show", "reload-vault"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let browser = crate::admin::admin(&server, "ada@example.com", "app-admin").await;
    let overview = browser.get(&format!("/admin/apps/{object_id}")).await;
    for version in [&first.version, &second.version] {
        let detail = format!("from the linked vault certificate default/reload-vault-cert/{version}");
        assert!(overview.body.contains(&detail), "{detail}: {}", overview.body);
    }

    // Unlinked: a new version stays in the vault.
    server.keyward(&["vault", "cert", "unlink", "reload-vault-cert", "--app", "reload-vault"]);
    let policy = json!({"x509_props": {"subject": "CN=reload-vault"}, "issuer": {"name": "Self"}});
    let third = vault.create_certificate("reload-vault-cert", policy).await.unwrap();
    assert!(!thumbprints_on(&server, "reload-vault").contains(&third.thumbprint()));
}
