//! `keyward user` against a real server: every command, in JSON and in text, and what each
//! does to sign-in.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::browser::Browser;
use super::flow::*;
use crate::common::Server;

/// Runs `keyward ARGS --data DIR`, feeding `stdin`.
pub(super) fn keyward(server: &Server, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .arg("--data")
        .arg(server.data())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keyward runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

pub(super) fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

pub(super) fn failure(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "succeeded: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

async fn can_sign_in(server: &Server, app: &WebApp, email: &str, password: &str) -> u16 {
    let browser = Browser::new(server);
    let (_, challenge) = pkce();
    sign_in(&browser, app, &challenge, email, password).await.status
}

#[tokio::test]
async fn user_commands_manage_accounts_and_their_sign_in() {
    let server = Server::start();
    let app = web_app(&server, "cli-app");
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("pw.txt");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let pw = password_file.to_str().unwrap();

    // create: from a file, and from standard input.
    let created = json(&keyward(
        &server,
        &[
            "user",
            "create",
            "--email",
            "Ann@Example.com",
            "--name",
            "Ann Lee",
            "--password-file",
            pw,
            "--json",
        ],
        "",
    ));
    assert_eq!(created["mail"], "ann@example.com");
    assert_eq!(created["displayName"], "Ann Lee");
    assert_eq!(created["accountEnabled"], true);
    assert_eq!(created["identities"][0]["signInType"], "emailAddress");
    assert_eq!(created["identities"][0]["issuerAssignedId"], "ann@example.com");
    let ann_id = created["id"].as_str().unwrap().to_owned();
    let bob = json(&keyward(
        &server,
        &["user", "create", "--email", "bob@example.com", "--json"],
        "stdin password 1\n",
    ));
    assert_eq!(bob["displayName"], "bob", "the email's local part by default");

    // Refusals: one line saying what is wrong.
    let taken = failure(&keyward(
        &server,
        &["user", "create", "--email", "ann@example.com", "--password-file", pw],
        "",
    ));
    assert!(taken.contains("already exists"), "{taken}");
    let short = failure(&keyward(
        &server,
        &["user", "create", "--email", "c@example.com"],
        "short\n",
    ));
    assert!(short.contains("too short"), "{short}");
    let same = failure(&keyward(
        &server,
        &["user", "create", "--email", "d@example.com"],
        "d@example.com\n",
    ));
    assert!(same.contains("email"), "{same}");
    let bad = failure(&keyward(
        &server,
        &["user", "create", "--email", "not-an-email", "--password-file", pw],
        "",
    ));
    assert!(bad.contains("not an email address"), "{bad}");
    let missing = failure(&keyward(&server, &["user", "show", "nobody@example.com"], ""));
    assert!(missing.contains("nobody@example.com"), "{missing}");

    // list and show, in JSON and text.
    let list = json(&keyward(&server, &["user", "list", "--json"], ""));
    let mails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["mail"].as_str().unwrap())
        .collect();
    assert_eq!(mails, ["ann@example.com", "bob@example.com"]);
    let text = keyward(&server, &["user", "list"], "");
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("EMAIL"), "{text}");
    assert!(text.contains("ann@example.com") && text.contains("Ann Lee"), "{text}");
    let shown = json(&keyward(&server, &["user", "show", &ann_id, "--json"], ""));
    assert_eq!(shown["mail"], "ann@example.com");
    let shown = json(&keyward(&server, &["user", "show", "ANN@example.com", "--json"], ""));
    assert_eq!(shown["id"], ann_id.as_str());

    assert_eq!(can_sign_in(&server, &app, "ann@example.com", PASSWORD).await, 302);
    assert_eq!(
        can_sign_in(&server, &app, "bob@example.com", "stdin password 1").await,
        302
    );

    // disable / enable.
    let disabled = json(&keyward(&server, &["user", "disable", "ann@example.com", "--json"], ""));
    assert_eq!(disabled["accountEnabled"], false);
    assert_eq!(can_sign_in(&server, &app, "ann@example.com", PASSWORD).await, 403);
    let text = String::from_utf8(keyward(&server, &["user", "enable", "ann@example.com"], "").stdout).unwrap();
    assert!(text.starts_with("Enabled ann@example.com"), "{text}");
    assert_eq!(can_sign_in(&server, &app, "ann@example.com", PASSWORD).await, 302);

    // reset-password: the old one stops working, and so do the user's refresh tokens.
    let (_, tokens) = signed_up_tokens(&server, &app, "carl@example.com").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let reset = json(&keyward(
        &server,
        &["user", "reset-password", "carl@example.com", "--json"],
        "a brand new password\n",
    ));
    assert_eq!(reset["mail"], "carl@example.com");
    assert_eq!(can_sign_in(&server, &app, "carl@example.com", PASSWORD).await, 400);
    assert_eq!(
        can_sign_in(&server, &app, "carl@example.com", "a brand new password").await,
        302
    );
    let (status, body) = refresh(&server, &app, &refresh_token).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // delete: gone, refused, and the email is free again.
    let deleted = json(&keyward(&server, &["user", "delete", "bob@example.com", "--json"], ""));
    assert_eq!(deleted["mail"], "bob@example.com");
    failure(&keyward(&server, &["user", "show", "bob@example.com"], ""));
    assert_eq!(
        can_sign_in(&server, &app, "bob@example.com", "stdin password 1").await,
        400
    );
    let list = json(&keyward(&server, &["user", "list", "--json"], ""));
    assert!(list.as_array().unwrap().iter().all(|u| u["mail"] != "bob@example.com"));
    json(&keyward(
        &server,
        &["user", "create", "--email", "bob@example.com", "--json"],
        "another password\n",
    ));
}
