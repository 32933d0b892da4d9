//! The tenant's default app management policy (issue 12): set with `keyward policy set`, read
//! back in Graph's shape, and enforced wherever a credential is added (the CLI, Graph's
//! `addPassword` and PATCH, the admin center's New client secret), each refusal naming the
//! policy and the restriction. Certificates made by the real openssl CLI.

use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::admin::admin;
use crate::admin::credentials::csrf_of;
use crate::common::Server;
use crate::signin::browser::decode;
use crate::signin::flows::admin_token;

/// Runs `keyward ARGS --data DIR`, expecting it to fail; returns what it printed on stderr.
fn keyward_refused(server: &Server, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .arg("--data")
        .arg(server.data())
        .output()
        .expect("keyward runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "keyward {args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// A self-signed certificate made by openssl, valid `days`; returns its path.
fn openssl_certificate(server: &Server, name: &str, days: u32) -> String {
    let dir = server.data();
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(format!("{name}.key"))
        .arg("-out")
        .arg(format!("{name}.pem"))
        .args(["-days", &days.to_string(), "-subj", &format!("/CN={name}")])
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir.join(format!("{name}.pem")).to_str().unwrap().to_owned()
}

/// POSTs JSON to the management API as the bootstrap admin; returns the status and body.
async fn graph_post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let token = admin_token(server).await;
    let mut roots = rustls::RootCertStore::empty();
    for c in keyward_pki::read(&server.ca_pem(), None).unwrap().certificates {
        roots
            .add(rustls::pki_types::CertificateDer::from(c.der().to_vec()))
            .unwrap();
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let http = reqwest::Client::builder().use_preconfigured_tls(tls).build().unwrap();
    let response = http
        .post(format!("{}{path}", server.url))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_without_secrets_refuses_them_in_the_cli_graph_and_admin_center_naming_itself() {
    let server = Server::start();
    let app = server.keyward(&["app", "create", "--name", "no-secrets-app"]);
    let object_id = app["id"].as_str().unwrap().to_owned();
    // Allowed before the policy: and left alone by it.
    server.keyward(&["app", "secret", "add", "no-secrets-app"]);

    let policy = server.keyward(&["policy", "set", "--no-secrets"]);
    assert_eq!(policy["isEnabled"], true, "{policy}");
    assert_eq!(
        policy["applicationRestrictions"]["passwordCredentials"][0]["restrictionType"], "passwordAddition",
        "{policy}"
    );
    assert_eq!(server.keyward(&["policy", "show"]), policy);

    // The CLI.
    let refused = keyward_refused(&server, &["app", "secret", "add", "no-secrets-app"]);
    assert!(
        refused.contains(
            "Refused by the tenant's default app management policy: client secrets are not allowed (passwordAddition)"
        ),
        "{refused}"
    );
    assert!(
        refused.contains("keyward app cert add"),
        "says what to do instead: {refused}"
    );

    // Graph.
    let (status, body) = graph_post(
        &server,
        &format!("/v1.0/applications/{object_id}/addPassword"),
        &json!({"passwordCredential": {"displayName": "sneaky"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "Request_BadRequest");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("passwordAddition"),
        "{body}"
    );

    // The admin center: the policy is shown, and the button refused with it.
    let browser = admin(&server, "pat@example.com", "app-admin").await;
    let tab = browser
        .get(&format!("/admin/apps/{object_id}/credentials?tab=secrets"))
        .await;
    assert!(
        decode(&tab.body).contains("client secrets are not allowed (passwordAddition)"),
        "{}",
        tab.body
    );
    let made = browser
        .post(
            &format!("/admin/apps/{object_id}/credentials/secrets"),
            &[
                ("csrf".into(), csrf_of(&tab)),
                ("description".into(), "from the portal".into()),
                ("expires".into(), "90".into()),
            ],
        )
        .await;
    assert_eq!(made.status, 422, "{}", made.body);
    let text = decode(&made.body);
    assert!(
        text.contains(
            "Refused by the tenant's default app management policy: client secrets are not allowed (passwordAddition)"
        ),
        "{text}"
    );
    assert!(!text.contains("new-secret-value"));

    // Nothing was added anywhere: the one secret from before remains.
    let secrets = server.keyward(&["app", "secret", "list", "no-secrets-app"]);
    assert_eq!(secrets.as_array().unwrap().len(), 1, "{secrets}");

    // Allowed again.
    server.keyward(&["policy", "set", "--allow-secrets"]);
    server.keyward(&["app", "secret", "add", "no-secrets-app"]);
}

#[test]
fn maximum_lifetimes_refuse_longer_certificates_and_secrets() {
    let server = Server::start();
    server.keyward(&["app", "create", "--name", "bounded-app"]);
    let policy = server.keyward(&[
        "policy",
        "set",
        "--max-cert-lifetime",
        "365d",
        "--max-secret-lifetime",
        "90d",
    ]);
    assert_eq!(
        policy["applicationRestrictions"]["keyCredentials"][0]["maxLifetime"],
        "P365D"
    );
    assert_eq!(
        policy["applicationRestrictions"]["passwordCredentials"][0]["maxLifetime"],
        "P90D"
    );

    let two_years = openssl_certificate(&server, "two-years", 730);
    let refused = keyward_refused(&server, &["app", "cert", "add", "bounded-app", &two_years]);
    assert!(refused.contains("default app management policy"), "{refused}");
    assert!(
        refused.contains("asymmetricKeyLifetime, maxLifetime P365D"),
        "{refused}"
    );
    assert!(refused.contains("at most 365 days"), "{refused}");
    let six_months = openssl_certificate(&server, "six-months", 182);
    server.keyward(&["app", "cert", "add", "bounded-app", &six_months]);
    let certificates = server.keyward(&["app", "cert", "list", "bounded-app"]);
    assert_eq!(certificates.as_array().unwrap().len(), 1, "{certificates}");

    let refused = keyward_refused(&server, &["app", "secret", "add", "bounded-app", "--months", "6"]);
    assert!(refused.contains("passwordLifetime, maxLifetime P90D"), "{refused}");
    assert!(refused.contains("--months 3"), "says what fits: {refused}");
    server.keyward(&["app", "secret", "add", "bounded-app", "--months", "3"]);

    // Lifted: the two-year certificate goes in.
    server.keyward(&["policy", "set", "--max-cert-lifetime", "none"]);
    server.keyward(&["app", "cert", "add", "bounded-app", &two_years]);
}
