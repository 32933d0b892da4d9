//! `keyward export` (`GET /admin/api/state`): a state built by hand through the CLI, written as
//! the document `keyward apply` reads, with its ids and certificates; secret material only with
//! --include-secrets, sealed with a passphrase that opens it and no other.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::Server;

fn openssl_certificate(dir: &Path, name: &str) -> String {
    let pem = dir.join(format!("{name}.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj"])
        .arg(format!("/CN={name}"))
        .arg("-keyout")
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pem.to_str().unwrap().to_owned()
}

/// Runs `keyward ARGS --data DIR` (no --json) with extra environment.
fn keyward_raw(server: &Server, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command
        .args(args)
        .arg("--data")
        .arg(server.data())
        .stdin(Stdio::null())
        .env_remove("KEYWARD_EXPORT_PASSPHRASE");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("keyward runs")
}

struct Built {
    client_secret: String,
    vault_secret: &'static str,
    password: &'static str,
    daemon_app_id: String,
    api_app_id: String,
    daemon_cert_pem: String,
}

/// The state of the test, built by hand: two apps (a role, a grant, a certificate made by
/// openssl, a client secret), a user with a role, a vault certificate and secret, an access
/// policy.
fn build(server: &Server, dir: &Path) -> Built {
    let api = server.keyward(&["app", "create", "--name", "api", "--identifier-uri", "api://export-api"]);
    server.keyward(&[
        "app",
        "role",
        "add",
        "api",
        "--value",
        "Tasks.Read",
        "--description",
        "Read tasks",
    ]);
    let daemon = server.keyward(&[
        "app",
        "create",
        "--name",
        "daemon",
        "--redirect-uri",
        "http://localhost:3000/redirect",
    ]);
    let cert = openssl_certificate(dir, "daemon");
    server.keyward(&["app", "cert", "add", "daemon", &cert]);
    let secret = server.keyward(&["app", "secret", "add", "daemon", "--description", "ci"]);
    server.keyward(&["app", "grant", "daemon", "api", "Tasks.Read"]);
    let password_file = dir.join("alice.password");
    let password = "alice-password-123";
    std::fs::write(&password_file, password).unwrap();
    server.keyward(&[
        "user",
        "create",
        "--email",
        "alice@example.com",
        "--name",
        "Alice",
        "--password-file",
        password_file.to_str().unwrap(),
        "--role",
        "global-reader",
    ]);
    server.keyward(&["vault", "cert", "create", "web", "--subject", "CN=web"]);
    let vault_secret = "db-secret-value-42";
    let secret_file = dir.join("db.txt");
    std::fs::write(&secret_file, vault_secret).unwrap();
    server.keyward(&[
        "vault",
        "secret",
        "set",
        "db-password",
        "--file",
        secret_file.to_str().unwrap(),
    ]);
    server.keyward(&[
        "vault",
        "grant",
        "daemon",
        "--certificates",
        "get,list",
        "--secrets",
        "get",
    ]);
    Built {
        client_secret: secret["secretText"].as_str().unwrap().to_owned(),
        vault_secret,
        password,
        daemon_app_id: daemon["appId"].as_str().unwrap().to_owned(),
        api_app_id: api["appId"].as_str().unwrap().to_owned(),
        daemon_cert_pem: std::fs::read_to_string(&cert).unwrap(),
    }
}

#[test]
fn export_writes_the_state_with_its_ids_and_no_secret_material() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let built = build(&server, dir.path());
    let out = dir.path().join("state.toml");
    let summary = server.keyward(&["export", "--out", out.to_str().unwrap()]);
    assert_eq!(summary["applications"], 2, "{summary}");
    assert_eq!(summary["sealed"], 0);
    let left_out = summary["leftOut"].to_string();
    assert!(left_out.contains("client secret \\\"ci\\\""), "{left_out}");
    assert!(left_out.contains("db-password"), "{left_out}");

    let text = std::fs::read_to_string(&out).unwrap();
    for secret in [built.client_secret.as_str(), built.vault_secret, built.password] {
        assert!(!text.contains(secret), "a secret value in the export:\n{text}");
    }
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains("keyward-sealed"),
        "{text}"
    );
    assert!(!text.contains("password_hash") && !text.contains("hash ="), "{text}");
    assert!(text.starts_with("# Keyward state exported"), "{text}");
    assert!(text.contains("Secret material: none"), "{text}");

    let mut doc = keyward_state::parse(&text, "state.toml").expect("the export parses");
    let filled = {
        let mut d = doc.clone();
        d.fill_ids();
        d
    };
    assert_eq!(filled, doc, "every id is in the export");
    doc.fill_ids();
    let names: Vec<&str> = doc.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["api", "daemon"],
        "neither the built-in nor the admin application"
    );
    let api = &doc.apps[0];
    let daemon = &doc.apps[1];
    assert_eq!(api.app_id.unwrap().to_string(), built.api_app_id);
    assert_eq!(daemon.app_id.unwrap().to_string(), built.daemon_app_id);
    assert_eq!(api.identifier_uris, ["api://export-api"]);
    assert_eq!(api.roles[0].value, "Tasks.Read");
    assert_eq!(api.roles[0].description.as_deref(), Some("Read tasks"));
    assert_eq!(daemon.redirect_uris, ["http://localhost:3000/redirect"]);
    assert_eq!(daemon.grants[0].app, "api");
    assert_eq!(daemon.grants[0].roles, ["Tasks.Read"]);
    assert_eq!(
        daemon.certificates[0].pem.as_deref().map(str::trim),
        Some(built.daemon_cert_pem.trim())
    );
    assert!(daemon.secrets[0].value.is_none() && daemon.secrets[0].hash.is_none());
    assert!(daemon.secrets[0].generate.is_some());
    assert!(daemon.secrets[0].expires.as_ref().is_some_and(|w| !w.is_relative()));
    let alice = doc
        .users
        .iter()
        .find(|u| u.email == "alice@example.com")
        .expect("alice");
    assert_eq!(alice.roles, ["global-reader"]);
    assert!(alice.generate_password.is_some() && alice.password_hash.is_none());
    let vault = &doc.vaults[0];
    assert_eq!(vault.certificates[0].name, "web");
    assert_eq!(vault.certificates[0].subject, "CN=web");
    assert!(vault.certificates[0].value.is_none());
    let secret_names: Vec<&str> = vault.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(secret_names, ["db-password"], "not the certificate's own secret");
    assert!(vault.secrets[0].value.is_none() && vault.secrets[0].generate.is_some());
    let access: Vec<_> = vault.access.iter().filter_map(|a| a.app.as_deref()).collect();
    assert_eq!(access, ["daemon"], "by name, and not the admin's own policy");

    // Standard output and the list of what was left out, for people.
    let printed = keyward_raw(&server, &["export"], &[]);
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let stdout = String::from_utf8(printed.stdout).unwrap();
    assert!(stdout.contains("[[app]]"), "{stdout}");
    let stderr = String::from_utf8(printed.stderr).unwrap();
    assert!(
        stderr.contains("Left out") && stderr.contains("--include-secrets"),
        "{stderr}"
    );
}

#[test]
fn export_with_secrets_seals_them_with_the_passphrase_and_opens_with_it_only() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let built = build(&server, dir.path());
    let passphrase_file = dir.path().join("pass.txt");
    std::fs::write(&passphrase_file, "correct horse battery staple\n").unwrap();
    let out = dir.path().join("fixture.toml");
    let summary = server.keyward(&[
        "export",
        "--include-secrets",
        "--passphrase-file",
        passphrase_file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    // The client secret's hash, the password's hash, the vault secret, the vault certificate.
    assert_eq!(summary["sealed"], 4, "{summary}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);

    let text = std::fs::read_to_string(&out).unwrap();
    for secret in [built.client_secret.as_str(), built.vault_secret, built.password] {
        assert!(!text.contains(secret), "a secret value in plain text:\n{text}");
    }
    assert!(!text.contains("PRIVATE KEY") && !text.contains("$argon2"), "{text}");
    let mut doc = keyward_state::parse(&text, "fixture.toml").expect("the export parses");
    assert!(doc.is_sealed());

    let wrong = doc.clone().open_secrets("not the passphrase");
    assert!(matches!(wrong, Err(keyward_state::Error::Passphrase)), "{wrong:?}");
    assert_eq!(doc.open_secrets("correct horse battery staple").unwrap(), 4);
    let vault = &doc.vaults[0];
    assert_eq!(vault.secrets[0].value.as_ref().unwrap().expose(), built.vault_secret);
    let daemon = doc.apps.iter().find(|a| a.name == "daemon").unwrap();
    assert!(daemon.secrets[0].generate.is_none());
    assert!(!daemon.secrets[0].hash.as_ref().unwrap().expose().is_empty());
    let alice = doc.users.iter().find(|u| u.email == "alice@example.com").unwrap();
    assert!(alice.generate_password.is_none() && alice.password_hash.is_some());

    // The vault certificate's secret is its PFX: the same certificate the vault shows.
    let pfx = vault.certificates[0]
        .value
        .as_ref()
        .expect("the certificate's key")
        .expose();
    let pfx_file = dir.path().join("web.pfx");
    use base64::Engine;
    std::fs::write(
        &pfx_file,
        base64::engine::general_purpose::STANDARD.decode(pfx).unwrap(),
    )
    .unwrap();
    let opened = Command::new("openssl")
        .args([
            "pkcs12",
            "-in",
            pfx_file.to_str().unwrap(),
            "-nodes",
            "-passin",
            "pass:",
        ])
        .output()
        .unwrap();
    let pem = String::from_utf8_lossy(&opened.stdout);
    assert!(pem.contains("PRIVATE KEY") && pem.contains("CERTIFICATE"), "{pem}");
    let shown = server.keyward(&["vault", "cert", "show", "web"]);
    let certificate = keyward_pki::read(pem.as_bytes(), None).unwrap().certificates[0].clone();
    assert_eq!(shown["x5t"].as_str(), Some(certificate.thumbprints().x5t().as_str()));

    // The environment variable works as the file does.
    let by_env = dir.path().join("by-env.toml");
    let done = keyward_raw(
        &server,
        &["export", "--include-secrets", "--out", by_env.to_str().unwrap()],
        &[("KEYWARD_EXPORT_PASSPHRASE", "another passphrase")],
    );
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let mut read = keyward_state::parse(&std::fs::read_to_string(&by_env).unwrap(), "by-env.toml").unwrap();
    read.open_secrets("another passphrase").unwrap();
}

#[test]
fn export_refuses_secrets_without_a_passphrase_and_a_passphrase_without_secrets() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.toml");
    let out = out.to_str().unwrap();

    let refused = keyward_raw(&server, &["export", "--include-secrets", "--out", out], &[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("needs a passphrase"), "{stderr}");

    let pass = dir.path().join("pass.txt");
    std::fs::write(&pass, "long enough passphrase").unwrap();
    let refused = keyward_raw(
        &server,
        &["export", "--passphrase-file", pass.to_str().unwrap(), "--out", out],
        &[],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--include-secrets"), "{stderr}");

    std::fs::write(&pass, "short").unwrap();
    let refused = keyward_raw(
        &server,
        &[
            "export",
            "--include-secrets",
            "--passphrase-file",
            pass.to_str().unwrap(),
            "--out",
            out,
        ],
        &[],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("fewer than 8 characters"), "{stderr}");

    let refused = keyward_raw(&server, &["export", "--tenant", "someone-else", "--out", out], &[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("exports that tenant only"), "{stderr}");
    assert!(!Path::new(out).exists(), "nothing written after a refusal");
}

#[tokio::test]
async fn the_state_route_is_for_management_tokens_only_and_audited() {
    let server = Server::start();
    let (status, body) = server.get_text("/admin/api/state", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = server.get_text("/admin/api/state", Some("not-a-token")).await;
    assert_eq!(status, 401, "{body}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("state.toml");
    server.keyward(&["export", "--out", out.to_str().unwrap()]);
    let store = keyward_store::open(&keyward_server::DataDir::new(server.data()).database_url())
        .await
        .expect("the database");
    let tid: uuid::Uuid = server.keyward(&["app", "list"]).as_array().map_or_else(
        || panic!("apps"),
        |_| {
            let doc = keyward_state::parse(&std::fs::read_to_string(&out).unwrap(), "state.toml").unwrap();
            doc.tenants[0].id.unwrap()
        },
    );
    let events = store
        .audit_events(tid, Some(("tenant", &tid.to_string())), 10)
        .await
        .expect("audit events");
    let event = events
        .iter()
        .find(|e| e.action == "state.export")
        .unwrap_or_else(|| panic!("an audit row for the export: {events:?}"));
    assert!(event.detail.contains("without secret material"), "{}", event.detail);
    assert_eq!(event.actor, "Keyward admin (CLI)");
}

/// Graph objects without what a new server cannot keep: creation times, the start of a client
/// secret (a secret is added when applied), usage.
fn stable(mut value: serde_json::Value) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.retain(|k, _| !(k == "createdDateTime" || k.starts_with("keywardLast") || k == "@odata.context"));
                for (k, v) in map.iter_mut() {
                    if k == "passwordCredentials"
                        && let Some(list) = v.as_array_mut()
                    {
                        for c in list {
                            c.as_object_mut().unwrap().remove("startDateTime");
                        }
                    }
                    strip(v);
                }
            }
            serde_json::Value::Array(list) => list.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

/// The objects of `path` (a Graph collection) whose appId is one of `app_ids`, by appId.
async fn graph(server: &Server, token: &str, path: &str, app_ids: &[&str]) -> Vec<serde_json::Value> {
    let (status, body) = server.get_text(path, Some(token)).await;
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut found: Vec<serde_json::Value> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| app_ids.contains(&o["appId"].as_str().unwrap_or_default()))
        .cloned()
        .map(stable)
        .collect();
    found.sort_by_key(|o| o["appId"].as_str().unwrap().to_owned());
    assert_eq!(found.len(), app_ids.len(), "{body}");
    found
}

async fn assignments(server: &Server, token: &str, service_principal: &str) -> Vec<serde_json::Value> {
    let path = format!("/v1.0/servicePrincipals/{service_principal}/appRoleAssignedTo");
    let (status, body) = server.get_text(&path, Some(token)).await;
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            serde_json::json!({
                "principalId": a["principalId"], "resourceId": a["resourceId"], "appRoleId": a["appRoleId"],
                "principalDisplayName": a["principalDisplayName"], "resourceDisplayName": a["resourceDisplayName"],
            })
        })
        .collect()
}

fn opened(text: &str, passphrase: &str) -> keyward_state::Document {
    let mut doc = keyward_state::parse(text, "export.toml").unwrap();
    doc.open_secrets(passphrase).unwrap();
    doc
}

#[tokio::test]
async fn export_then_apply_on_an_empty_server_gives_the_same_objects_ids_and_thumbprints() {
    let first = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let built = build(&first, dir.path());
    let passphrase = "correct horse battery staple";
    let passphrase_file = dir.path().join("pass.txt");
    std::fs::write(&passphrase_file, passphrase).unwrap();
    let fixture = dir.path().join("fixture.toml");
    first.keyward(&[
        "export",
        "--include-secrets",
        "--passphrase-file",
        passphrase_file.to_str().unwrap(),
        "--out",
        fixture.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&fixture).unwrap();

    // A fresh server made from the export (as `keyward serve --config` does: the tenant gets
    // its exported id at start).
    let doc = keyward_state::resolve(&opened(&text, passphrase), dir.path(), time::OffsetDateTime::now_utc()).unwrap();
    let second = Server::start_with(tempfile::tempdir().unwrap(), |s| s.state(doc));

    let ids = [built.api_app_id.as_str(), built.daemon_app_id.as_str()];
    let (a, b) = (
        crate::signin::flows::admin_token(&first).await,
        crate::signin::flows::admin_token(&second).await,
    );
    let applications = graph(&first, &a, "/v1.0/applications", &ids).await;
    assert_eq!(applications, graph(&second, &b, "/v1.0/applications", &ids).await);
    let principals = graph(&first, &a, "/v1.0/servicePrincipals", &ids).await;
    assert_eq!(principals, graph(&second, &b, "/v1.0/servicePrincipals", &ids).await);
    let api_principal = principals.iter().find(|p| p["appId"] == built.api_app_id).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let granted = assignments(&first, &a, &api_principal).await;
    assert_eq!(granted.len(), 1, "{granted:?}");
    assert_eq!(granted, assignments(&second, &b, &api_principal).await);

    // The vault: the same certificate (thumbprint), policy and secret value.
    let (cert_a, cert_b) = (
        first.keyward(&["vault", "cert", "show", "web"]),
        second.keyward(&["vault", "cert", "show", "web"]),
    );
    assert_eq!(cert_a["x5t"], cert_b["x5t"], "{cert_a}\n{cert_b}");
    let policy = |cert: &serde_json::Value| {
        let mut policy = cert["policy"].clone();
        let map = policy.as_object_mut().unwrap();
        map.remove("attributes");
        map.remove("id");
        policy
    };
    assert_eq!(policy(&cert_a), policy(&cert_b));
    assert_eq!(
        second.keyward(&["vault", "secret", "show", "db-password"])["value"],
        built.vault_secret
    );

    // The client secret made on the first server works on the second.
    let (status, token) = second
        .token(
            "contoso",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &built.daemon_app_id),
                ("client_secret", &built.client_secret),
                ("scope", "api://export-api/.default"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{token}");
    let claims = crate::common::claims_of(token["access_token"].as_str().unwrap());
    assert_eq!(claims["roles"], serde_json::json!(["Tasks.Read"]));

    // Exported again, the second server says what the first said (its certificate's PFX is
    // encoded anew: compared by thumbprint above).
    let again = dir.path().join("again.toml");
    second.keyward(&[
        "export",
        "--include-secrets",
        "--passphrase-file",
        passphrase_file.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    let (mut one, mut two) = (
        opened(&text, passphrase),
        opened(&std::fs::read_to_string(&again).unwrap(), passphrase),
    );
    for doc in [&mut one, &mut two] {
        doc.vaults[0].certificates[0].value = None;
    }
    assert_eq!(one, two);

    // `keyward apply` opens the export with its passphrase: nothing left to change.
    let applied = keyward_raw(
        &second,
        &[
            "apply",
            fixture.to_str().unwrap(),
            "--passphrase-file",
            passphrase_file.to_str().unwrap(),
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&applied.stdout);
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    assert!(stdout.contains("no changes"), "{stdout}");
}

#[test]
fn apply_refuses_an_export_with_a_wrong_or_missing_passphrase_and_changes_nothing() {
    let first = Server::start();
    let dir = tempfile::tempdir().unwrap();
    build(&first, dir.path());
    let passphrase_file = dir.path().join("pass.txt");
    std::fs::write(&passphrase_file, "correct horse battery staple").unwrap();
    let fixture = dir.path().join("fixture.toml");
    first.keyward(&[
        "export",
        "--include-secrets",
        "--passphrase-file",
        passphrase_file.to_str().unwrap(),
        "--out",
        fixture.to_str().unwrap(),
    ]);

    let second = Server::start();
    let app_ids = |server: &Server| {
        let mut ids: Vec<String> = server
            .keyward(&["app", "list"])
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["appId"].to_string())
            .collect();
        ids.sort();
        ids
    };
    let before = app_ids(&second);
    let wrong = dir.path().join("wrong.txt");
    std::fs::write(&wrong, "not the passphrase").unwrap();
    let refused = keyward_raw(
        &second,
        &[
            "apply",
            fixture.to_str().unwrap(),
            "--passphrase-file",
            wrong.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("passphrase does not open"), "{stderr}");
    assert!(stderr.contains("nothing was applied"), "{stderr}");

    let refused = keyward_raw(&second, &["apply", fixture.to_str().unwrap()], &[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--passphrase-file"), "{stderr}");
    assert_eq!(app_ids(&second), before, "nothing was applied");
}
