//! Keyward in a test suite: test tokens (`keyward token mint`, `POST /admin/api/test-tokens`)
//! and throwaway servers (`keyward serve --listen 127.0.0.1:0 --ready-file F --data :memory:`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keyward_jose::{Algorithm, Jwks, Jws, VerifyingKey};
use serde_json::{Value, json};

use crate::common::*;

/// A server in this process that allows test tokens.
fn minting_server() -> Server {
    Server::start_with(tempfile::tempdir().expect("temp dir"), |s| s.allow_test_tokens(true))
}

/// Runs `keyward ARGS --data DIR`, expecting it to fail; returns its stderr.
fn keyward_refused(server: &Server, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .arg("--data")
        .arg(server.data())
        .stdin(Stdio::null())
        .output()
        .expect("keyward runs");
    assert!(
        !out.status.success(),
        "keyward {args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Verifies `token` against the contoso JWKS; returns its header's kid and its claims.
async fn verified(server: &Server, token: &str) -> (String, Value) {
    let jwks: Jwks = serde_json::from_value(server.get_json("/contoso/discovery/v2.0/keys").await).expect("JWKS");
    let jws = Jws::parse(token).expect("token parses");
    let kid = jws.header().kid.clone().expect("kid");
    assert_eq!(jws.header().x5t.as_deref(), Some(kid.as_str()), "x5t equals kid");
    let key = VerifyingKey::from_jwk(jwks.find(&kid).expect("kid published")).expect("JWK");
    let claims = jws
        .verified_claims(&key, &[Algorithm::Rs256])
        .expect("signature verifies against the tenant's JWKS");
    (kid, claims)
}

#[tokio::test]
async fn a_minted_token_verifies_against_the_jwks_carries_the_marker_and_is_audited() {
    let server = minting_server();
    let app = server.keyward(&["app", "create", "--name", "mint-client"]);
    let app_id = app["appId"].as_str().expect("appId");
    let minted = server.keyward(&[
        "token",
        "mint",
        "--tenant",
        "contoso",
        "--app",
        "mint-client",
        "--aud",
        "api://tasks",
        "--roles",
        "Tasks.Read",
        "--roles",
        "Tasks.Write",
        "--claim",
        "department=qa",
        "--claim",
        "level=3",
        "--lifetime",
        "5m",
    ]);
    let token = minted["access_token"].as_str().expect("a token");
    let (kid, claims) = verified(&server, token).await;
    let discovery = server.get_json("/contoso/v2.0/.well-known/openid-configuration").await;
    assert_eq!(claims["iss"], discovery["issuer"], "{claims}");
    assert_eq!(claims["keyward_minted"], true, "the marker: {claims}");
    assert_eq!(claims["aud"], "api://tasks", "as given: {claims}");
    assert_eq!(claims["azp"], app_id);
    assert_eq!(claims["appid"], app_id);
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["roles"], json!(["Tasks.Read", "Tasks.Write"]));
    assert_eq!(claims["department"], "qa");
    assert_eq!(claims["level"], 3);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    assert_eq!(claims["nbf"], claims["iat"]);
    assert!(claims["oid"].is_string() && claims["oid"] == claims["sub"], "{claims}");
    let keys = server.keyward(&["signing-key", "list"]);
    assert!(
        keys.to_string().contains(&kid),
        "signed with the tenant's signing key {kid}: {keys}"
    );

    // The same as an issued token, but for aud, roles and the marker: its claim names are a
    // superset of the token endpoint's.
    let client = server.client("issued-client");
    let (status, issued) = server.token("contoso", &client.form(&client.assertion(&server))).await;
    assert_eq!(status, 200, "{issued}");
    let (_, issued) = verified(&server, issued["access_token"].as_str().unwrap()).await;
    for name in issued.as_object().unwrap().keys() {
        assert!(
            claims.get(name).is_some(),
            "{name} is missing from the minted token: {claims}"
        );
    }

    let store = keyward_store::open(&keyward_server::DataDir::new(server.data()).database_url())
        .await
        .expect("the database");
    let tid: uuid::Uuid = claims["tid"].as_str().unwrap().parse().unwrap();
    let events = store
        .audit_events(tid, Some(("application", app["id"].as_str().unwrap())), 10)
        .await
        .expect("audit events");
    let event = events
        .iter()
        .find(|e| e.detail.contains("Test token minted"))
        .unwrap_or_else(|| panic!("an audit row for the mint: {events:?}"));
    assert!(event.detail.contains("api://tasks"), "{}", event.detail);
    assert!(event.actor.contains("management API"), "{}", event.actor);
    assert!(!event.detail.contains(token), "the token itself is not written");
}

#[tokio::test]
async fn minting_is_refused_unless_the_server_allows_it_and_says_which_flag() {
    let server = Server::start();
    server.keyward(&["app", "create", "--name", "mint-client"]);
    let refused = keyward_refused(
        &server,
        &["token", "mint", "--app", "mint-client", "--aud", "api://tasks"],
    );
    assert!(refused.contains("--allow-test-tokens"), "{refused}");
}

#[tokio::test]
async fn reserved_claims_cannot_be_overridden() {
    let server = minting_server();
    server.keyward(&["app", "create", "--name", "mint-client"]);
    for claim in [
        "iss=https://elsewhere.example",
        "exp=4102444800",
        "keyward_minted=false",
        "kid=x",
    ] {
        let refused = keyward_refused(
            &server,
            &[
                "token",
                "mint",
                "--app",
                "mint-client",
                "--aud",
                "api://tasks",
                "--claim",
                claim,
            ],
        );
        let name = claim.split('=').next().unwrap();
        assert!(
            refused.contains("reserved") && refused.contains(&format!("\"{name}\"")),
            "{claim}: {refused}"
        );
    }
    let too_long = keyward_refused(
        &server,
        &[
            "token",
            "mint",
            "--app",
            "mint-client",
            "--aud",
            "api://tasks",
            "--lifetime",
            "25h",
        ],
    );
    assert!(too_long.contains("24h"), "{too_long}");
}

#[tokio::test]
async fn an_application_without_the_admin_role_cannot_mint() {
    let server = minting_server();
    let client = server.client("plain-app");
    let body = json!({"app": "plain-app", "audience": "api://tasks"});

    // Its own API's token: not a management API token at all.
    let (status, own) = server.token("contoso", &client.form(&client.assertion(&server))).await;
    assert_eq!(status, 200, "{own}");
    let (status, refused) = server
        .post_json("/admin/api/test-tokens", own["access_token"].as_str().unwrap(), &body)
        .await;
    assert_eq!(status, 401, "{refused}");

    // A Microsoft Graph token without Application.ReadWrite.All.
    let assertion = client.assertion(&server);
    let mut form = client.form(&assertion);
    form.retain(|(name, _)| *name != "scope");
    form.push(("scope", "https://graph.microsoft.com/.default"));
    let (status, graph) = server.token("contoso", &form).await;
    assert_eq!(status, 200, "{graph}");
    let (status, refused) = server
        .post_json("/admin/api/test-tokens", graph["access_token"].as_str().unwrap(), &body)
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.to_string().contains("Application.ReadWrite.All"), "{refused}");
    assert!(refused.get("access_token").is_none());
}

/// The temporary data directory the banner names, and the URL of its last line,
/// `keyward: listening on URL`.
fn read_banner(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> (String, PathBuf) {
    let mut data = None;
    for line in lines {
        let line = line.expect("text");
        if let Some(rest) = line.trim_start().strip_prefix("Data:") {
            data = Some(PathBuf::from(rest.split_whitespace().next().expect("a path")));
        }
        if let Some(url) = line.strip_prefix("keyward: listening on ") {
            return (url.to_owned(), data.expect("a Data: line before the last line"));
        }
    }
    panic!("no `keyward: listening on` line");
}

fn wait_for(path: &Path, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(Instant::now() < deadline, "{} did not appear", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test]
async fn a_throwaway_server_says_where_it_listens_and_leaves_nothing_behind() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let ready = scratch.path().join("ready");
    let spawned = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            ":memory:",
            "--allow-test-tokens",
        ])
        .arg("--ready-file")
        .arg(&ready)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("keyward serve starts");
    let written = wait_for(&ready, Duration::from_secs(30));
    let to_ready_file = spawned.elapsed();
    let url = written.trim().to_owned();
    assert!(url.starts_with("https://localhost:") && !url.ends_with(":0"), "{url}");

    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (printed, data) = read_banner(&mut lines);
    assert_eq!(printed, url, "the stdout line and the ready file agree");
    assert!(
        data.join("admin/admin.json").is_file(),
        "the admin credential is in {}",
        data.display()
    );

    let http = http_client(&std::fs::read(data.join("tls/ca.pem")).expect("ca.pem"));
    let health = http.get(format!("{url}/healthz")).send().await.expect("healthz");
    let to_healthz = spawned.elapsed();
    assert_eq!(health.status().as_u16(), 200);
    eprintln!(
        "start-up on an empty data directory: ready file after {} ms, healthz answered after {} ms",
        to_ready_file.as_millis(),
        to_healthz.as_millis()
    );

    // The CLI reaches it through the data directory the banner names.
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .expect("keyward runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    cli(&["app", "create", "--name", "ci-client"]);
    let token = cli(&["token", "mint", "--app", "ci-client", "--aud", "api://ci"]);
    assert_eq!(claims_of(token.trim())["keyward_minted"], true);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let status = child.wait().expect("the server exits");
    assert!(status.success(), "SIGTERM is a clean shutdown: {status}");
    assert!(
        !data.exists(),
        "the temporary data directory {} is removed",
        data.display()
    );
    assert!(!ready.exists(), "the ready file is removed");
}
