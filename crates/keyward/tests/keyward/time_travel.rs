//! Time travel (`keyward serve --allow-time-travel`, `keyward time shift|reset|show`): the
//! whole server follows one shifted clock, so that a test watches in seconds what months do. A
//! certificate expires and the token endpoint says so; the vault's auto-renewal makes a new
//! version that the linked application gets and a client signs with; tokens issued before a
//! shift past their expiry are refused by the vault and the management API. Refused without
//! the flag, and for an application without the admin role.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// A server in this process that allows time travel.
fn time_travel_server() -> Server {
    Server::start_with(tempfile::tempdir().expect("temp dir"), |s| s.allow_time_travel(true))
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

/// The token endpoint's form for `client`'s certificate assertion, asking for `scope`.
fn form_for<'a>(client: &'a Client, assertion: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = client.form(assertion);
    form.retain(|(name, _)| *name != "scope");
    form.push(("scope", scope));
    form
}

/// Asks `server` for a token with an assertion signed now (real time) by `client`'s certificate.
async fn token_for(server: &Server, client: &Client, scope: &str) -> (u16, Value) {
    let assertion = client.assertion(server);
    server.token("contoso", &form_for(client, &assertion, scope)).await
}

#[tokio::test]
async fn time_travel_is_refused_without_the_flag_and_for_an_application_without_the_admin_role() {
    // Without --allow-time-travel: refused, naming the flag; the clock shows it is off.
    let server = Server::start();
    let refused = keyward_refused(&server, &["time", "shift", "+40d"]);
    assert!(refused.contains("--allow-time-travel"), "{refused}");
    let refused = keyward_refused(&server, &["time", "reset"]);
    assert!(refused.contains("--allow-time-travel"), "{refused}");
    let shown = server.keyward(&["time", "show"]);
    assert_eq!(shown["allowed"], false, "{shown}");
    assert_eq!(shown["offsetSeconds"], 0, "{shown}");
    drop(server);

    // With it, an application holding a Graph token without Application.ReadWrite.All.
    let server = time_travel_server();
    let client = server.client("tt-plain");
    let (status, graph) = token_for(&server, &client, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 200, "{graph}");
    let token = graph["access_token"].as_str().unwrap();
    let (status, refused) = server
        .post_json("/admin/api/time", token, &json!({"shiftSeconds": 86_400}))
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.to_string().contains("Application.ReadWrite.All"), "{refused}");
    let (status, _) = server.get_text("/admin/api/time", None).await;
    assert_eq!(status, 401, "no token, no clock");
    let shown = server.keyward(&["time", "show"]);
    assert_eq!(shown["allowed"], true, "{shown}");
    assert_eq!(shown["offsetSeconds"], 0, "not moved: {shown}");

    // More than ten years ahead, or behind the real time: refused, the clock unmoved.
    let refused = keyward_refused(&server, &["time", "shift", "+3651d"]);
    assert!(refused.contains("ten years"), "{refused}");
    server.keyward(&["time", "shift", "+1h"]);
    let refused = keyward_refused(&server, &["time", "shift", "-2h"]);
    assert!(refused.contains("behind the real time"), "{refused}");
    assert_eq!(server.keyward(&["time", "show"])["offsetSeconds"], 3600);
    let back = server.keyward(&["time", "shift", "-1h"]);
    assert_eq!(back["offsetSeconds"], 0, "back to the real time: {back}");
}

#[tokio::test]
async fn an_app_certificate_expires_when_the_clock_passes_its_end_and_is_accepted_again_after_a_reset() {
    let server = time_travel_server();
    // A certificate valid 30 days.
    let client = server.client("tt-expiry");
    let (status, body) = token_for(&server, &client, &client.scope).await;
    assert_eq!(status, 200, "{body}");

    let shifted = server.keyward(&["time", "shift", "+40d"]);
    assert_eq!(shifted["offsetSeconds"], 40 * 86_400, "{shifted}");
    assert_eq!(shifted["offset"], "+40d", "{shifted}");

    // The assertion is fresh (made now, by the real clock) but its certificate has expired by
    // the server's: AADSTS700027, saying so.
    let refused = token_for(&server, &client, &client.scope).await;
    assert_oauth_error(&refused, 401, "invalid_client", 700027);
    let description = refused.1["error_description"].as_str().unwrap();
    assert!(description.contains("has expired"), "{description}");
    assert!(
        description
            .to_uppercase()
            .contains(&client.certificate.thumbprints().sha1_hex().to_uppercase()),
        "names the certificate: {description}"
    );

    // The expiry shows in the management API too, by the server's clock.
    let listed = server.keyward(&["app", "cert", "list", "tt-expiry"]);
    let days_left = listed[0]["keywardDaysLeft"].as_i64().expect("keywardDaysLeft");
    assert!(days_left < 0, "expired by the shifted clock: {listed}");

    let reset = server.keyward(&["time", "reset"]);
    assert_eq!(reset["offsetSeconds"], 0, "{reset}");
    let (status, body) = token_for(&server, &client, &client.scope).await;
    assert_eq!(status, 200, "valid again at the real time: {body}");

    // The shift and the reset are in the audit log.
    let store = keyward_store::open(&keyward_server::DataDir::new(server.data()).database_url())
        .await
        .expect("the database");
    let tid: uuid::Uuid = claims_of(body["access_token"].as_str().unwrap())["tid"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let events = store
        .audit_events(tid, Some(("server", "clock")), 10)
        .await
        .expect("audit events");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().any(|e| e.detail.contains("+40d")), "{events:?}");
}

#[tokio::test]
async fn a_token_issued_before_a_shift_past_its_expiry_is_refused_by_the_vault_and_the_management_api() {
    let server = time_travel_server();
    let client = server.client("tt-tokens");
    server.keyward(&["vault", "grant", "tt-tokens", "--certificates", "get,list"]);
    let (status, vault) = token_for(&server, &client, "https://vault.keyward.localhost/.default").await;
    assert_eq!(status, 200, "{vault}");
    let vault_token = vault["access_token"].as_str().unwrap().to_owned();
    let (status, graph) = token_for(&server, &client, "https://graph.microsoft.com/.default").await;
    assert_eq!(status, 200, "{graph}");
    let graph_token = graph["access_token"].as_str().unwrap().to_owned();

    // Before: the vault answers; the management API knows the token (and refuses the role).
    let (status, body) = server
        .get_text("/certificates?api-version=7.5", Some(&vault_token))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.get_text("/admin/api/time", Some(&graph_token)).await;
    assert_eq!(status, 403, "valid, without the role: {body}");

    server.keyward(&["time", "shift", "+2h"]);
    let (status, body) = server
        .get_text("/certificates?api-version=7.5", Some(&vault_token))
        .await;
    assert_eq!(status, 401, "expired by the server's clock: {body}");
    let (status, body) = server.get_text("/admin/api/time", Some(&graph_token)).await;
    assert_eq!(status, 401, "expired by the server's clock: {body}");

    // A token issued now is dated by the shifted clock, and accepted.
    let (status, fresh) = token_for(&server, &client, "https://vault.keyward.localhost/.default").await;
    assert_eq!(status, 200, "{fresh}");
    let fresh_token = fresh["access_token"].as_str().unwrap();
    let iat = claims_of(fresh_token)["iat"].as_i64().unwrap();
    assert!(
        (iat - (now() + 7200)).abs() < 120,
        "iat {iat} is two hours ahead of the real time {}",
        now()
    );
    let (status, body) = server
        .get_text("/certificates?api-version=7.5", Some(fresh_token))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_vault_certificate_renews_at_its_trigger_and_the_linked_application_and_its_client_follow() {
    let server = time_travel_server();
    let client = server.client("tt-renew");
    // One month, AutoRenew at 80 % of its lifetime (the vault's default policy), linked to the
    // application.
    let created = server.keyward(&[
        "vault",
        "cert",
        "create",
        "tt-renew-cert",
        "--subject",
        "CN=tt-renew",
        "--content-type",
        "pem",
        "--months",
        "1",
    ]);
    let first = created["x5t"].as_str().expect("x5t").to_owned();
    let linked = server.keyward(&["vault", "cert", "link", "tt-renew-cert", "--app", "tt-renew"]);
    assert_eq!(linked["latestVersionAdded"], true, "{linked}");
    let dir = tempfile::tempdir().unwrap();
    let first_pem = dir.path().join("first.pem");
    server.keyward(&[
        "vault",
        "cert",
        "download",
        "tt-renew-cert",
        "--format",
        "pem",
        "--out",
        first_pem.to_str().unwrap(),
    ]);

    // Past the trigger and past the first version's end: the lifetime actions run at once.
    server.keyward(&["time", "shift", "+35d"]);
    let start = Instant::now();
    let second = loop {
        let shown = server.keyward(&["vault", "cert", "show", "tt-renew-cert"]);
        let x5t = shown["x5t"].as_str().expect("x5t").to_owned();
        if x5t != first {
            break x5t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no new version after the shift: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(second, first);

    // The link put the new version on the application.
    let on_app: Vec<String> = server
        .keyward(&["app", "cert", "list", "tt-renew"])
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customKeyIdentifier"].as_str().unwrap().to_uppercase())
        .collect();
    let second_pem = dir.path().join("second.pem");
    server.keyward(&[
        "vault",
        "cert",
        "download",
        "tt-renew-cert",
        "--format",
        "pem",
        "--out",
        second_pem.to_str().unwrap(),
    ]);
    let renewed = vault_client(&client, &second_pem);
    assert!(
        on_app.contains(&renewed.certificate.thumbprints().sha1_hex().to_uppercase()),
        "the renewed certificate is on the application: {on_app:?}"
    );

    // The client signing with the first version is refused (expired), with the new one it
    // gets tokens.
    let old = vault_client(&client, &first_pem);
    let refused = token_for(&server, &old, &client.scope).await;
    assert_oauth_error(&refused, 401, "invalid_client", 700027);
    assert!(
        refused.1["error_description"].as_str().unwrap().contains("has expired"),
        "{}",
        refused.1
    );
    let (status, body) = token_for(&server, &renewed, &client.scope).await;
    assert_eq!(status, 200, "{body}");
}

/// `client`'s application, signing with the certificate and key of a vault PEM download.
fn vault_client(client: &Client, pem: &std::path::Path) -> Client {
    let contents = keyward_pki::read(&std::fs::read(pem).unwrap(), None).unwrap();
    let certificate = contents.certificates.into_iter().next().expect("a certificate");
    let key = contents.private_key.expect("a key");
    Client {
        app_id: client.app_id.clone(),
        certificate,
        key,
        resource_app_id: client.resource_app_id.clone(),
        scope: client.scope.clone(),
    }
}

#[tokio::test]
async fn keyward_serve_warns_when_time_travel_is_allowed_and_the_cli_says_where_the_clock_stands() {
    use std::io::{BufRead, BufReader};

    let scratch = tempfile::tempdir().expect("temp dir");
    let data = scratch.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["serve", "--listen", "127.0.0.1:0", "--allow-time-travel", "--data"])
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("keyward serve starts");
    let mut banner = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line = line.expect("text");
        let last = line.starts_with("keyward: listening on ");
        banner.push(line);
        if last {
            break;
        }
    }
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(args)
            .arg("--data")
            .arg(&data)
            .output()
            .expect("keyward runs");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let shifted = cli(&["time", "shift", "+1d"]);
    let shown = cli(&["time", "show"]);
    let reset = cli(&["time", "reset"]);
    child.kill().ok();
    child.wait().ok();

    assert!(
        banner
            .iter()
            .any(|l| l.contains("TIME TRAVEL ALLOWED") && l.contains("--allow-time-travel")),
        "the banner warns: {banner:#?}"
    );
    assert!(shifted.0, "{}", shifted.1);
    assert!(
        shifted.1.contains("Server clock shifted.") && shifted.1.contains("(+1d from the real time)"),
        "{}",
        shifted.1
    );
    assert!(shown.0 && shown.1.contains("(+1d from the real time)"), "{}", shown.1);
    assert!(reset.0 && reset.1.contains("(0s from the real time)"), "{}", reset.1);
}
