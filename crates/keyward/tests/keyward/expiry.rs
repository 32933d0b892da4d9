//! Credential expiry (issue 12, first part): days left in `keyward app cert list` and
//! `secret list`, `--expiring` for scripts, and one `/metrics` gauge per credential.

use keyward_pki::KeyType;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::common::{Server, certificate};

#[tokio::test]
async fn days_left_expiring_filter_and_the_expiry_gauge() {
    let server = Server::start();
    let app = server.keyward(&["app", "create", "--name", "expiring-app"]);
    let app_id = app["appId"].as_str().unwrap().to_owned();
    let (_, _, short) = certificate(server.data(), "short-lived", KeyType::Rsa2048, 20);
    server.keyward(&["app", "cert", "add", "expiring-app", short.to_str().unwrap()]);
    let (_, _, long) = certificate(server.data(), "long-lived", KeyType::Rsa2048, 300);
    server.keyward(&["app", "cert", "add", "expiring-app", long.to_str().unwrap()]);

    let all = server.keyward(&["app", "cert", "list", "expiring-app"]);
    let days: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["keywardDaysLeft"].as_i64().expect("days left"))
        .collect();
    assert_eq!(days.len(), 2);
    assert!(days.iter().any(|d| (18..=20).contains(d)), "{days:?}");
    assert!(days.iter().any(|d| (298..=300).contains(d)), "{days:?}");

    // The management API (Graph's application) carries the same figure.
    let shown = server.keyward(&["app", "show", "expiring-app"]);
    let mut from_api: Vec<i64> = shown["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["keywardDaysLeft"]
                .as_i64()
                .expect("keywardDaysLeft in the management API")
        })
        .collect();
    from_api.sort();
    let mut listed = days.clone();
    listed.sort();
    assert_eq!(from_api, listed, "{shown}");

    let soon = server.keyward(&["app", "cert", "list", "expiring-app", "--expiring", "30d"]);
    assert_eq!(soon.as_array().unwrap().len(), 1, "{soon}");
    let none = server.keyward(&["app", "cert", "list", "expiring-app", "--expiring", "10d"]);
    assert_eq!(none.as_array().unwrap().len(), 0, "{none}");

    let (status, metrics) = server.get_text("/metrics", None).await;
    assert_eq!(status, 200);
    for credential in all.as_array().unwrap() {
        let end = OffsetDateTime::parse(credential["endDateTime"].as_str().unwrap(), &Rfc3339).unwrap();
        let line = format!(
            "keyward_credential_expiry_timestamp_seconds{{tenant=\"contoso\",app=\"{app_id}\",key_id=\"{}\",kind=\"certificate\"}} {}",
            credential["keyId"].as_str().unwrap(),
            end.unix_timestamp()
        );
        assert!(metrics.contains(&line), "{line} not in:\n{metrics}");
    }
    assert!(metrics.contains("# TYPE keyward_credential_expiry_timestamp_seconds gauge"));
}

#[test]
fn the_table_shows_days_left() {
    let server = Server::start();
    server.keyward(&["app", "create", "--name", "table-app"]);
    let (_, _, cert) = certificate(server.data(), "table-cert", KeyType::Rsa2048, 45);
    server.keyward(&["app", "cert", "add", "table-app", cert.to_str().unwrap()]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["app", "cert", "list", "table-app", "--data"])
        .arg(server.data())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("DAYS LEFT"), "{text}");
    assert!(text.contains(" 44 ") || text.contains(" 45 "), "{text}");
}
