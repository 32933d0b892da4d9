//! `keyward-client` against a real server: every credential form, the cache, refresh ahead of
//! expiry, single flight, and each error mapped to its variant and hint.

mod retry;

use std::sync::Arc;

use crate::common::*;
use keyward_client::{CertificateCredential, ClientCredential, ConfidentialClient, Error};
use keyward_jose::Algorithm;
use keyward_pki::{KeyType, PfxEncryption};

fn client_for(server: &Server, app_id: &str, credential: impl Into<ClientCredential>) -> ConfidentialClient {
    ConfidentialClient::builder(&format!("{}/contoso", server.url), app_id, credential)
        .trust_ca(&server.ca_pem())
        .build()
        .expect("client builds")
}

#[tokio::test]
async fn every_credential_form_gets_a_token() {
    let server = Server::start();
    let registered = server.client("forms");
    let dir = tempfile::tempdir().unwrap();
    let cert_pem = registered.certificate.pem();
    let key_pem = registered.key.to_pkcs8_pem(None).unwrap();
    let encrypted = registered.key.to_pkcs8_pem(Some("s3cret pass")).unwrap();
    let pfx = keyward_pki::write_pfx(
        &registered.certificate,
        &[],
        &registered.key,
        "pfx-pass",
        PfxEncryption::Aes256,
    )
    .unwrap();
    let legacy = keyward_pki::write_pfx(
        &registered.certificate,
        &[],
        &registered.key,
        "",
        PfxEncryption::Legacy3Des,
    )
    .unwrap();
    std::fs::write(dir.path().join("app.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("app.key"), key_pem.as_bytes()).unwrap();

    let forms: Vec<(&str, CertificateCredential)> = vec![
        (
            "PEM strings",
            CertificateCredential::from_pem(cert_pem.as_bytes(), key_pem.as_bytes(), None).unwrap(),
        ),
        (
            "files",
            CertificateCredential::from_files(&dir.path().join("app.pem"), &dir.path().join("app.key"), None).unwrap(),
        ),
        (
            "encrypted key",
            CertificateCredential::from_pem(cert_pem.as_bytes(), encrypted.as_bytes(), Some("s3cret pass")).unwrap(),
        ),
        (
            "PFX",
            CertificateCredential::from_bundle(&pfx, Some("pfx-pass")).unwrap(),
        ),
        (
            "Key Vault-style PFX",
            CertificateCredential::from_bundle(&legacy, None).unwrap(),
        ),
        (
            "legacy SHA-1",
            CertificateCredential::from_bundle(&pfx, Some("pfx-pass"))
                .unwrap()
                .legacy_sha1()
                .unwrap(),
        ),
        (
            "x5c",
            CertificateCredential::from_bundle(&pfx, Some("pfx-pass"))
                .unwrap()
                .send_certificate_chain(true),
        ),
        (
            "checked thumbprint",
            CertificateCredential::from_bundle(&pfx, Some("pfx-pass"))
                .unwrap()
                .expect_thumbprint(&registered.certificate.thumbprints().sha1_hex().to_lowercase())
                .unwrap(),
        ),
    ];
    for (name, credential) in forms {
        let client = client_for(&server, &registered.app_id, credential);
        let token = client
            .acquire_token_for_client(&[&registered.scope])
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let claims = claims_of(token.secret());
        assert_eq!(claims["azp"], registered.app_id.as_str(), "{name}");
        assert_eq!(claims["azpacr"], "2", "{name}");
        assert_eq!(claims["roles"][0], "Tasks.Read.All", "{name}");
        assert!(!token.from_cache, "{name}");
    }

    // A secret, and a callback that makes its own assertion (workload identity federation).
    let secret = server.keyward(&["app", "secret", "add", "forms"])["secretText"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = client_for(&server, &registered.app_id, ClientCredential::secret(secret))
        .acquire_token_for_client(&[&registered.scope])
        .await
        .unwrap();
    assert_eq!(claims_of(token.secret())["azpacr"], "1");
    let key = registered.key.clone();
    let header = registered.header();
    let claims = registered.claims(&server, "contoso");
    let callback: ClientCredential = ClientCredential::Assertion(Arc::new(move || {
        let assertion = sign(&key, Algorithm::Rs256, &header, &claims);
        Box::pin(async move { Ok(assertion) })
    }));
    let token = client_for(&server, &registered.app_id, callback)
        .acquire_token_for_client(&[&registered.scope])
        .await
        .unwrap();
    assert_eq!(claims_of(token.secret())["azpacr"], "2");
}

#[tokio::test]
async fn the_cache_answers_and_a_hundred_concurrent_callers_cause_one_request() {
    let server = Server::start();
    let registered = server.client("cached");
    let credential =
        CertificateCredential::new(registered.certificate.clone(), vec![], registered.key.clone()).unwrap();
    let client = client_for(&server, &registered.app_id, credential);
    let before = server.tokens_issued().await;
    let scope = registered.scope.clone();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (client, scope) = (client.clone(), scope.clone());
        tasks.push(tokio::spawn(
            async move { client.acquire_token_for_client(&[&scope]).await },
        ));
    }
    let mut secrets = std::collections::HashSet::new();
    for task in tasks {
        secrets.insert(task.await.unwrap().unwrap().secret().to_owned());
    }
    assert_eq!(secrets.len(), 1, "every caller got the same token");
    assert_eq!(server.tokens_issued().await - before, 1, "exactly one token request");
    let again = client.acquire_token_for_client(&[&scope]).await.unwrap();
    assert!(again.from_cache);
    assert_eq!(server.tokens_issued().await - before, 1, "a cache hit makes no request");
    // Another scope is another cache entry.
    let graph = client
        .acquire_token_for_client(&["https://graph.microsoft.com/.default"])
        .await;
    assert!(graph.is_ok());
    assert_eq!(server.tokens_issued().await - before, 2);
}

#[tokio::test]
async fn a_token_past_its_refresh_time_is_renewed_ahead_of_expiry() {
    let server = Server::start_with(tempfile::tempdir().unwrap(), |settings| {
        settings.token_lifetime(std::time::Duration::from_secs(10)).unwrap()
    });
    let registered = server.client("refreshing");
    let credential =
        CertificateCredential::new(registered.certificate.clone(), vec![], registered.key.clone()).unwrap();
    let client = client_for(&server, &registered.app_id, credential);
    let first = client.acquire_token_for_client(&[&registered.scope]).await.unwrap();
    assert!(first.refresh_on < first.usable_until && first.usable_until < first.expires_on);
    let cached = client.acquire_token_for_client(&[&registered.scope]).await.unwrap();
    assert!(cached.from_cache);
    // Past refresh_on (half of 10 s) but before expiry: a new token, not the cached one.
    let wait = (first.refresh_on - time::OffsetDateTime::now_utc())
        .whole_milliseconds()
        .max(0) as u64
        + 300;
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    let renewed = client.acquire_token_for_client(&[&registered.scope]).await.unwrap();
    assert!(!renewed.from_cache);
    assert_ne!(renewed.secret(), first.secret());
    assert!(renewed.expires_on > first.expires_on);
}

async fn error_of(client: &ConfidentialClient, scope: &str) -> Error {
    client
        .acquire_token_for_client(&[scope])
        .await
        .expect_err("the request must fail")
}

fn assert_server_error(error: &Error, code: u32, hint_words: &str) {
    let Error::Server(server_error) = error else {
        panic!("expected a server error, got {error}")
    };
    assert_eq!(server_error.code, Some(code), "{error}");
    assert!(server_error.correlation_id.is_some(), "{error}");
    assert!(server_error.hint().is_some_and(|h| h.contains(hint_words)), "{error}");
    assert!(error.to_string().contains("Hint:"), "{error}");
}

#[tokio::test]
async fn each_error_maps_to_its_variant_and_hint() {
    let server = Server::start();
    let registered = server.client("errors");
    let (other_cert, other_key, _) = certificate(server.data(), "unregistered", KeyType::Rsa2048, 30);
    let unregistered = CertificateCredential::new(other_cert, vec![], other_key).unwrap();
    assert_server_error(
        &error_of(
            &client_for(&server, &registered.app_id, unregistered),
            &registered.scope,
        )
        .await,
        700027,
        "registered",
    );

    let wrong_secret = client_for(&server, &registered.app_id, ClientCredential::secret("nope"));
    assert_server_error(&error_of(&wrong_secret, &registered.scope).await, 7000215, "secret");

    let credential =
        CertificateCredential::new(registered.certificate.clone(), vec![], registered.key.clone()).unwrap();
    let unknown = client_for(&server, &uuid::Uuid::new_v4().to_string(), credential.clone());
    assert_server_error(&error_of(&unknown, &registered.scope).await, 700016, "client id");

    let right = client_for(&server, &registered.app_id, credential.clone());
    assert_server_error(
        &error_of(&right, "api://errors-api/Tasks.Read").await,
        1002012,
        ".default",
    );
    assert_server_error(&error_of(&right, "api://missing/.default").await, 500011, "resource");

    let wrong_tenant = ConfidentialClient::builder(
        &format!("{}/nowhere", server.url),
        &registered.app_id,
        credential.clone(),
    )
    .trust_ca(&server.ca_pem())
    .build()
    .unwrap();
    assert!(matches!(
        error_of(&wrong_tenant, &registered.scope).await,
        Error::Discovery { .. }
    ));

    // No trust for the local CA: the TLS handshake fails, verification is not skipped.
    let untrusted = ConfidentialClient::builder(
        &format!("{}/contoso", server.url),
        &registered.app_id,
        credential.clone(),
    )
    .build()
    .unwrap();
    assert!(matches!(
        error_of(&untrusted, &registered.scope).await,
        Error::Network { .. }
    ));

    let thumbprint = CertificateCredential::new(registered.certificate.clone(), vec![], registered.key.clone())
        .unwrap()
        .expect_thumbprint("B473943AA82DF8608AEB5512D2A9643EBF23D7EC");
    assert!(matches!(thumbprint, Err(Error::ThumbprintMismatch { .. })));
    assert!(matches!(
        ConfidentialClient::builder("http://localhost/contoso", "x", credential).build(),
        Err(Error::InvalidAuthority { .. })
    ));
}

#[tokio::test]
async fn keyward_token_prints_a_token_or_the_decoded_response() {
    let server = Server::start();
    let registered = server.client("cli-token");
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("app.pem");
    let key = dir.path().join("app.key");
    let pw = dir.path().join("pw");
    std::fs::write(&pem, registered.certificate.pem()).unwrap();
    std::fs::write(
        &key,
        registered.key.to_pkcs8_pem(Some("pass phrase")).unwrap().as_bytes(),
    )
    .unwrap();
    std::fs::write(&pw, "pass phrase\n").unwrap();
    let authority = format!("{}/contoso", server.url);
    let ca = server.data().join("tls/ca.pem");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "token",
            "--authority",
            &authority,
            "--client-id",
            &registered.app_id,
            "--scope",
            &registered.scope,
        ];
        args.extend(extra);
        std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(&args)
            .arg("--ca")
            .arg(&ca)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let (pem, key, pw) = (pem.to_str().unwrap(), key.to_str().unwrap(), pw.to_str().unwrap());
    let plain = run(&["--cert", pem, "--key", key, "--password-file", pw]);
    assert!(plain.status.success(), "{}", String::from_utf8_lossy(&plain.stderr));
    let token = String::from_utf8(plain.stdout).unwrap();
    assert_eq!(claims_of(token.trim())["azp"], registered.app_id.as_str());

    let json = run(&["--cert", pem, "--key", key, "--password-file", pw, "--sha1", "--json"]);
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["token_type"], "Bearer");
    assert_eq!(report["claims"]["roles"][0], "Tasks.Read.All");
    assert_eq!(report["header"]["alg"], "RS256");

    // A wrong password and a certificate the app does not have: one line, the cause and a hint.
    let wrong = run(&["--cert", pem, "--key", key, "--password", "nope"]);
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        !wrong.status.success() && stderr.lines().count() == 1 && stderr.contains("wrong password"),
        "{stderr}"
    );
    let (other, other_key, _) = certificate(dir.path(), "other", KeyType::Rsa2048, 30);
    std::fs::write(dir.path().join("other.pem"), other.pem()).unwrap();
    std::fs::write(
        dir.path().join("other.key"),
        other_key.to_pkcs8_pem(None).unwrap().as_bytes(),
    )
    .unwrap();
    let other_pem = dir.path().join("other.pem");
    let other_key_path = dir.path().join("other.key");
    let refused = run(&[
        "--cert",
        other_pem.to_str().unwrap(),
        "--key",
        other_key_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("AADSTS700027") && stderr.contains("Hint:"),
        "{stderr}"
    );
}
