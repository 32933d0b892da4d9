//! Credential last use and service-principal sign-in records (issue 12, point 2): each
//! certificate and secret shows when and from where it last authenticated a client (CLI and
//! Graph's `keywardLastUsed`), written off the token endpoint's path at most once a minute per
//! credential; every token request with a credential leaves a sign-in record, success or AADSTS
//! code, queryable with `keyward app sign-ins` and pruned after the retention.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyward_jose::Algorithm;
use keyward_pki::KeyType;
use serde_json::{Value, json};

use crate::common::{Client, JWT_BEARER, Server, assert_oauth_error, certificate, now, sign};

/// `keyward ARGS --data DIR` as people see it.
fn keyward_text(server: &Server, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .arg("--data")
        .arg(server.data())
        .stdin(Stdio::null())
        .output()
        .expect("keyward runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "keyward {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// A counter of `/metrics`.
async fn metric(server: &Server, line: &str) -> u64 {
    let (status, text) = server.get_text("/metrics", None).await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{line} not in:\n{text}"))
}

/// The credential of `list` (a `keyCredentials` or `passwordCredentials` array) with `key_id`.
fn with_key_id<'a>(list: &'a Value, key_id: &str) -> &'a Value {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|c| c["keyId"] == key_id)
        .unwrap_or_else(|| panic!("no credential {key_id} in {list}"))
}

/// The token requests sign-in records stand for (successes of one credential from one address
/// between two writes are one record with their count).
fn requests(records: &[Value]) -> u64 {
    records
        .iter()
        .map(|r| r["keywardRequests"].as_u64().expect("keywardRequests"))
        .sum()
}

#[tokio::test]
async fn the_used_certificate_shows_its_last_use_the_other_none_and_sign_ins_show_both_results() {
    let server = Server::start();
    let client = server.client("last-use-app");
    let (b_cert, b_key, b_path) = certificate(server.data(), "last-use-b", KeyType::Rsa2048, 30);
    server.keyward(&["app", "cert", "add", "last-use-app", b_path.to_str().unwrap()]);
    let listed = server.keyward(&["app", "cert", "list", "last-use-app"]);
    let key_of = |thumbprint: String| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["customKeyIdentifier"] == thumbprint.as_str())
            .map(|c| c["keyId"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let a_key_id = key_of(client.certificate.thumbprints().sha1_hex());
    let b_key_id = key_of(b_cert.thumbprints().sha1_hex());
    for credential in listed.as_array().unwrap() {
        assert_eq!(credential["keywardLastUsed"], Value::Null, "{credential}");
    }

    let before = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    for _ in 0..5 {
        let assertion = client.assertion(&server);
        let (status, body) = server.token("contoso", &client.form(&assertion)).await;
        assert_eq!(status, 200, "{body}");
    }
    // Certificate B signs an assertion for another audience: refused, so B is still unused.
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": b_cert.thumbprints().x5t()});
    let mut claims = client.claims(&server, "contoso");
    claims["aud"] = json!("https://elsewhere.example/token");
    let assertion = sign(&b_key, Algorithm::Rs256, &header, &claims);
    let refused = server.token("contoso", &client.form(&assertion)).await;
    assert_oauth_error(&refused, 401, "invalid_client", 700023);
    let correlation_id = refused.1["correlation_id"].as_str().unwrap().to_owned();

    // The CLI (Graph's keyCredentials underneath): A used just now from the loopback address,
    // B never.
    let listed = server.keyward(&["app", "cert", "list", "last-use-app"]);
    let a = with_key_id(&listed, &a_key_id);
    let used = &a["keywardLastUsed"];
    assert_eq!(used["clientAddress"], "127.0.0.1", "{a}");
    let at = time::OffsetDateTime::parse(
        used["dateTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(at >= before && at <= time::OffsetDateTime::now_utc(), "{at}");
    assert!(used["dateTime"].as_str().unwrap().ends_with('Z'), "{used}");
    assert_eq!(with_key_id(&listed, &b_key_id)["keywardLastUsed"], Value::Null);
    let app = server.keyward(&["app", "show", "last-use-app"]);
    assert_eq!(
        with_key_id(&app["keyCredentials"], &a_key_id)["keywardLastUsed"]["clientAddress"],
        "127.0.0.1"
    );
    assert_eq!(
        with_key_id(&app["keyCredentials"], &b_key_id)["keywardLastUsed"],
        Value::Null
    );
    let table = keyward_text(&server, &["app", "cert", "list", "last-use-app"]);
    assert!(table.contains("LAST USED"), "{table}");
    let row = |thumbprint: String| {
        table
            .lines()
            .find(|l| l.contains(&thumbprint))
            .unwrap_or_else(|| panic!("{thumbprint} not in {table}"))
            .to_owned()
    };
    let a_row = row(client.certificate.thumbprints().sha1_hex());
    assert!(
        a_row.contains("just now from 127.0.0.1") || a_row.contains(" s ago from 127.0.0.1"),
        "{a_row}"
    );
    assert!(row(b_cert.thumbprints().sha1_hex()).contains("never"), "{table}");

    // The sign-in records: five successes with A (counted into as few records as the writes
    // between them allow), one refusal with B and its AADSTS code and correlation id.
    let records = server.keyward(&["app", "sign-ins", "last-use-app"]);
    let records = records.as_array().unwrap();
    assert_eq!(requests(records), 6, "{records:?}");
    let failed: Vec<_> = records.iter().filter(|r| r["status"]["errorCode"] != 0).collect();
    assert_eq!(failed.len(), 1, "{records:?}");
    let failure = failed[0];
    assert_eq!(failure["status"]["errorCode"], 700023);
    assert_eq!(failure["correlationId"], correlation_id.as_str());
    assert_eq!(failure["servicePrincipalCredentialKeyId"], b_key_id.as_str());
    assert_eq!(
        failure["servicePrincipalCredentialThumbprint"],
        b_cert.thumbprints().sha1_hex().as_str()
    );
    assert_eq!(failure["ipAddress"], "127.0.0.1");
    assert_eq!(failure["appId"], client.app_id.as_str());
    for success in records.iter().filter(|r| r["status"]["errorCode"] == 0) {
        assert_eq!(
            success["servicePrincipalCredentialKeyId"],
            a_key_id.as_str(),
            "{success}"
        );
        assert_eq!(
            success["servicePrincipalCredentialThumbprint"],
            client.certificate.thumbprints().sha1_hex().as_str()
        );
    }
    // Newest first: the refusal came last.
    assert_eq!(records[0]["status"]["errorCode"], 700023);
    let failures = server.keyward(&["app", "sign-ins", "last-use-app", "--failures", "--since", "1h"]);
    assert_eq!(failures.as_array().unwrap().len(), 1, "{failures}");
    let text = keyward_text(&server, &["app", "sign-ins", "last-use-app"]);
    assert!(text.contains("AADSTS700023") && text.contains("success"), "{text}");
    assert!(text.contains(&correlation_id), "{text}");

    // A client secret records its last use too.
    let secret = server.keyward(&["app", "secret", "add", "last-use-app"]);
    let secret_text = secret["secretText"].as_str().unwrap().to_owned();
    let secret_key_id = secret["keyId"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.app_id.as_str()),
        ("client_secret", secret_text.as_str()),
        ("scope", client.scope.as_str()),
    ];
    assert_eq!(server.token("contoso", &form).await.0, 200);
    let secrets = server.keyward(&["app", "secret", "list", "last-use-app"]);
    assert_eq!(
        with_key_id(&secrets, &secret_key_id)["keywardLastUsed"]["clientAddress"],
        "127.0.0.1"
    );

    // Written to the database: a restarted server still knows.
    let dir = server.stop();
    let server = Server::start_in(dir);
    let listed = server.keyward(&["app", "cert", "list", "last-use-app"]);
    assert_eq!(
        with_key_id(&listed, &a_key_id)["keywardLastUsed"]["dateTime"],
        used["dateTime"]
    );
    assert_eq!(with_key_id(&listed, &b_key_id)["keywardLastUsed"], Value::Null);
    let secrets = server.keyward(&["app", "secret", "list", "last-use-app"]);
    assert_ne!(with_key_id(&secrets, &secret_key_id)["keywardLastUsed"], Value::Null);
    assert_eq!(
        requests(server.keyward(&["app", "sign-ins", "last-use-app"]).as_array().unwrap()),
        7
    );
}

/// Hundreds of tokens from many concurrent requests, with two credentials (a certificate and a
/// secret): the last-use writes, counted by `keyward_last_use_writes_total`, stay at one per
/// credential per minute (the CLI's admin certificate is a third credential in use).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_last_use_is_written_at_most_once_a_minute_per_credential() {
    let started = Instant::now();
    let server = Arc::new(Server::start());
    let client = Arc::new(server.client("busy-app"));
    let secret = server.keyward(&["app", "secret", "add", "busy-app"]);
    let secret = Arc::new(secret["secretText"].as_str().unwrap().to_owned());
    // The two under load, and the bootstrap admin's certificate, which the CLI signs in with.
    let credentials = 3;
    // Many assertions made up front (signing is the client's cost, not the server's).
    let assertions: Arc<Vec<String>> = Arc::new((0..50).map(|_| client.assertion(&server)).collect());

    // The CLI's own token requests (as the bootstrap admin) leave records too: count from here,
    // once the background task has written theirs.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let records_before = metric(&server, "keyward_sign_in_records_total{result=\"written\"} ").await
        + metric(&server, "keyward_sign_in_records_total{result=\"dropped\"} ").await;
    let load = Duration::from_secs(4);
    let deadline = Instant::now() + load;
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (server, client, secret, assertions) = (server.clone(), client.clone(), secret.clone(), assertions.clone());
        workers.push(tokio::spawn(async move {
            let mut issued = 0u64;
            let mut i = worker;
            while Instant::now() < deadline {
                i += 1;
                let response = if i % 2 == 0 {
                    let assertion = &assertions[i % assertions.len()];
                    server.token("contoso", &client.form(assertion)).await
                } else {
                    let form = [
                        ("grant_type", "client_credentials"),
                        ("client_id", client.app_id.as_str()),
                        ("client_secret", secret.as_str()),
                        ("scope", client.scope.as_str()),
                    ];
                    server.token("contoso", &form).await
                };
                assert_eq!(response.0, 200, "{}", response.1);
                issued += 1;
            }
            issued
        }));
    }
    let mut issued = 0;
    for worker in workers {
        issued += worker.await.unwrap();
    }
    assert!(issued >= 200, "only {issued} tokens: not enough load to mean anything");
    // Let the background task write what is due.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let writes = metric(&server, "keyward_last_use_writes_total ").await;
    let minutes = started.elapsed().as_secs() / 60;
    assert!(
        writes >= credentials,
        "{writes} writes: both credentials' first use is written within a second"
    );
    assert!(
        writes <= credentials * (minutes + 1),
        "{writes} last-use writes for {issued} tokens in {minutes} min with {credentials} credentials"
    );
    let dropped = metric(&server, "keyward_sign_in_records_total{result=\"dropped\"} ").await;
    let written = metric(&server, "keyward_sign_in_records_total{result=\"written\"} ").await;
    assert_eq!(
        written + dropped - records_before,
        issued,
        "every request leaves a record or a counted drop"
    );
    // Successes of one credential from one address are counted into one record per write
    // (about one a second), not written one row per token.
    let records = server.keyward(&["app", "sign-ins", "busy-app"]);
    let records = records.as_array().unwrap();
    assert_eq!(requests(records) + dropped, issued, "{records:?}");
    assert!(
        (records.len() as u64) * 10 < issued,
        "{} records for {issued} tokens",
        records.len()
    );
}

/// `keyward serve --sign-in-retention 2s`: records older than that are deleted.
#[tokio::test]
async fn sign_in_records_are_pruned_after_the_retention() {
    let server = Server::spawn_with(tempfile::tempdir().unwrap(), &["--sign-in-retention", "2s"]);
    let client: Client = server.client("short-memory-app");
    let assertion = client.assertion(&server);
    assert_eq!(server.token("contoso", &client.form(&assertion)).await.0, 200);
    let records = server.keyward(&["app", "sign-ins", "short-memory-app"]);
    assert_eq!(records.as_array().unwrap().len(), 1, "{records}");
    // An unsigned assertion from an unknown client id: refused, recorded without a credential.
    let claims = json!({"iss": client.app_id, "sub": client.app_id, "aud": server.token_endpoint("contoso"), "exp": now() + 600});
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.app_id.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", &format!("{}.e30.", crate::common::b64(&claims))),
        ("scope", client.scope.as_str()),
    ];
    assert_ne!(server.token("contoso", &form).await.0, 200);

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let left = server.keyward(&["app", "sign-ins", "short-memory-app"]);
        if left.as_array().unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still kept after 15 s: {left}");
    }
    // The last use is not a sign-in record: it stays.
    let listed = server.keyward(&["app", "cert", "list", "short-memory-app"]);
    assert_ne!(listed[0]["keywardLastUsed"], Value::Null, "{listed}");
}
