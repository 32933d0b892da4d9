//! `keyward serve --profile production`: terse errors that tell an unauthenticated caller
//! nothing about registrations, `/metrics` behind a management token, and a master key that
//! never sits beside the database. Each test also shows the development behaviour it changes.

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_jose::Algorithm;
use keyward_pki::KeyType;
use keyward_server::Profile;
use serde_json::{Value, json};

use crate::common::*;
use crate::signin::flows::admin_token;

/// A server in this process with the production profile and a master key from the caller.
fn production() -> Server {
    Server::start_with(tempfile::tempdir().expect("temp dir"), |settings| {
        settings
            .profile(Profile::Production)
            .master_key(zeroize::Zeroizing::new(vec![42u8; 32]))
    })
}

/// A client assertion for `client_id`, signed by a certificate nobody registered.
fn stranger_assertion(server: &Server, client_id: &str) -> (String, keyward_pki::Certificate) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (certificate, key, _) = certificate(tmp.path(), "stranger", KeyType::Rsa2048, 30);
    let now = now();
    let claims = json!({"aud": server.token_endpoint("contoso"), "iss": client_id, "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 600});
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": certificate.thumbprints().x5t()});
    (sign(&key, Algorithm::Rs256, &header, &claims), certificate)
}

async fn assertion_request(server: &Server, client_id: &str, scope: &str) -> (u16, Value) {
    let (assertion, _) = stranger_assertion(server, client_id);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
        ("scope", scope),
    ];
    server.token("contoso", &form).await
}

async fn secret_request(server: &Server, client_id: &str, scope: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", "not-the-secret"),
        ("scope", scope),
    ];
    server.token("contoso", &form).await
}

/// A refusal without what differs between any two of them: the trace and correlation ids, the
/// timestamp, and the client id the caller sent (echoed as sent).
fn normalized((status, body): (u16, Value), client_id: &str) -> (u16, Value) {
    let mut body = body;
    let object = body.as_object_mut().expect("a JSON object");
    for varying in ["trace_id", "correlation_id", "timestamp"] {
        assert!(object.remove(varying).is_some(), "{varying} is missing");
    }
    let description = object["error_description"].as_str().expect("a description");
    let description = description.split(" Trace ID:").next().unwrap_or_default();
    object["error_description"] = Value::from(description.replace(client_id, "CLIENT"));
    (status, body)
}

#[tokio::test]
async fn production_hides_registered_thumbprints_that_development_lists() {
    for (server, helpful) in [(Server::start(), true), (production(), false)] {
        let client = server.client("c");
        let registered = client.certificate.thumbprints();
        let (status, body) = assertion_request(&server, &client.app_id, &client.scope).await;
        let description = body["error_description"].as_str().unwrap_or_default().to_lowercase();
        let lists = description.contains(&registered.sha1_hex().to_lowercase())
            || description.contains(&registered.sha256_hex().to_lowercase());
        if helpful {
            assert_eq!((status, body["error_codes"][0].as_u64()), (401, Some(700027)), "{body}");
            assert!(lists, "development names the registered certificate: {description}");
        } else {
            assert!(!lists, "production names no registered certificate: {description}");
            assert!(!description.contains("registered"), "{description}");
        }
    }
}

#[tokio::test]
async fn an_unknown_client_and_a_wrong_credential_look_alike_in_production_only() {
    let unknown = uuid::Uuid::new_v4().to_string();
    for (server, helpful) in [(Server::start(), true), (production(), false)] {
        let client = server.client("c");
        let scope = client.scope.as_str();
        let secrets = (
            normalized(secret_request(&server, &unknown, scope).await, &unknown),
            normalized(secret_request(&server, &client.app_id, scope).await, &client.app_id),
        );
        let assertions = (
            normalized(assertion_request(&server, &unknown, scope).await, &unknown),
            normalized(assertion_request(&server, &client.app_id, scope).await, &client.app_id),
        );
        if helpful {
            assert_eq!(secrets.0.1["error_codes"][0], 700016, "{secrets:?}");
            assert_eq!(secrets.1.1["error_codes"][0], 7000215, "{secrets:?}");
            assert_eq!(assertions.1.1["error_codes"][0], 700027, "{assertions:?}");
        } else {
            assert_eq!(secrets.0, secrets.1);
            assert_eq!(assertions.0, assertions.1);
            assert_eq!(secrets.0, assertions.0);
            let (status, body) = &secrets.0;
            assert_eq!(
                (*status, &body["error"]),
                (400, &json!("unauthorized_client")),
                "{body}"
            );
            assert_eq!(body["error_codes"], json!([700016]), "{body}");
        }
    }
}

#[tokio::test]
async fn production_metrics_need_a_management_token() {
    let open = Server::start();
    assert_eq!(open.get_text("/metrics", None).await.0, 200);

    let server = production();
    let (status, body) = server.get_text("/metrics", None).await;
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("keyward_token_requests_total"), "{body}");
    // A token for another audience is not enough.
    let client = server.client("c");
    let assertion = client.assertion(&server);
    let (_, issued) = server.token("contoso", &client.form(&assertion)).await;
    let resource_token = issued["access_token"].as_str().expect("a token");
    assert_eq!(server.get_text("/metrics", Some(resource_token)).await.0, 401);
    let (status, body) = server.get_text("/metrics", Some(&admin_token(&server).await)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("keyward_token_requests_total"), "{body}");
}

/// Runs `keyward serve --profile production` on `data` with `extra` flags and `env`, expects
/// it to stop with an error, and returns what it wrote to stderr.
fn refused_start(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> String {
    let mut child = serve(true, data, extra, env)
        .stderr(Stdio::piped())
        .spawn()
        .expect("keyward runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("keyward serve {extra:?} started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `keyward serve --profile production` (or the default profile if `production` is false).
fn serve(production: bool, data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    let profile: &[&str] = if production { &["--profile", "production"] } else { &[] };
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(profile)
        .args(extra)
        .env_remove("KEYWARD_MASTER_KEY")
        .env_remove("KEYWARD_PROFILE")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

fn key_file(path: &Path, mode: u32) {
    std::fs::write(path, [7u8; 32]).expect("write the key");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn a_production_start_without_a_proper_master_key_is_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");

    let stderr = refused_start(&data, &[], &[]);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    for named in ["--master-key-file", "KEYWARD_MASTER_KEY", "keyward master-key new"] {
        assert!(stderr.contains(named), "{named} in: {stderr}");
    }
    assert!(!data.exists(), "a refused start makes nothing");

    std::fs::create_dir_all(&data).expect("mkdir");
    let inside = data.join("master.key");
    key_file(&inside, 0o600);
    let stderr = refused_start(&data, &["--master-key-file", inside.to_str().expect("utf-8")], &[]);
    assert!(stderr.contains("inside the data directory"), "{stderr}");

    let readable = tmp.path().join("master.key");
    key_file(&readable, 0o644);
    let stderr = refused_start(&data, &["--master-key-file", readable.to_str().expect("utf-8")], &[]);
    assert!(stderr.contains("chmod 600"), "{stderr}");

    let stderr = refused_start(&data, &[], &[("KEYWARD_MASTER_KEY", "not base64!")]);
    assert!(stderr.contains("KEYWARD_MASTER_KEY is not base64"), "{stderr}");

    // A proper key, but a copy still beside the database.
    let outside = tmp.path().join("private.key");
    key_file(&outside, 0o600);
    let stderr = refused_start(&data, &["--master-key-file", outside.to_str().expect("utf-8")], &[]);
    assert!(stderr.contains("the data directory still holds"), "{stderr}");
}

/// Starts `keyward serve` and returns it with the banner's Profile line; the caller kills it.
fn started(command: &mut Command) -> (std::process::Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let stdout = child.stdout.take().expect("stdout");
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            send.send(line).ok();
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.trim_start().starts_with("Profile:") => return (child, line),
            Ok(_) => {}
            Err(_) => {
                child.kill().ok();
                panic!("no Profile line in the banner within 30 s");
            }
        }
    }
}

/// The server in `data` answers the CLI as its admin: its keys were sealed and unsealed.
fn answers(data: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["app", "create", "--name", "probe", "--json", "--data"])
        .arg(data)
        .output()
        .expect("keyward app create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn stop(mut child: std::process::Child) {
    child.kill().ok();
    child.wait().ok();
}

#[test]
fn production_starts_with_a_key_from_the_environment_or_a_file_and_says_so() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let key = STANDARD.encode([5u8; 32]);
    let (child, banner) = started(&mut serve(true, &data, &[], &[("KEYWARD_MASTER_KEY", &key)]));
    answers(&data);
    stop(child);
    assert!(banner.contains("production"), "{banner}");
    assert!(banner.contains("master key from KEYWARD_MASTER_KEY"), "{banner}");
    assert!(!banner.contains(&key), "{banner}");
    assert!(!data.join("master.key").exists(), "no key beside the database");

    // The same data directory, the same key, now from a private file outside it.
    let file = tmp.path().join("master.key");
    key_file(&file, 0o600);
    std::fs::write(&file, [5u8; 32]).expect("the same key");
    let path = file.to_str().expect("utf-8");
    let (child, banner) = started(&mut serve(true, &data, &["--master-key-file", path], &[]));
    answers(&data);
    stop(child);
    assert!(banner.contains(&format!("master key from {path}")), "{banner}");
    assert!(!data.join("master.key").exists());
}

#[test]
fn development_is_the_default_and_the_banner_says_so() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let (child, banner) = started(&mut serve(false, &data, &[], &[]));
    stop(child);
    assert!(banner.contains("development"), "{banner}");
    assert!(banner.contains("master key from the data directory"), "{banner}");
    assert!(
        data.join("master.key").exists(),
        "development keeps the key in the data directory"
    );
}

/// Starts `keyward serve` and returns it with its banner (up to the MSAL Node line); the caller
/// kills it.
fn with_banner(command: &mut Command) -> (std::process::Child, Vec<String>) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let stdout = child.stdout.take().expect("stdout");
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            send.send(line).ok();
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut banner = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.trim_start().starts_with("MSAL Node:") => return (child, banner),
            Ok(line) => banner.push(line),
            Err(_) => {
                child.kill().ok();
                panic!("no MSAL Node line in the banner within 30 s: {banner:?}");
            }
        }
    }
}

#[test]
fn the_banner_names_the_admin_center_and_how_to_make_the_first_administrator() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let (child, banner) = with_banner(&mut serve(false, &data, &[], &[]));
    let url = banner[0]
        .strip_prefix("Keyward is listening on ")
        .and_then(|rest| rest.split(' ').next())
        .expect("the URL")
        .to_owned();
    let text = banner.join("\n");
    assert!(text.contains(&format!("Admin UI:    {url}/admin/")), "{text}");
    assert!(
        text.contains("no administrator yet; make the first: keyward user create --email E --role global-admin"),
        "{text}"
    );

    // Once a user holds a directory role, the hint is gone.
    let password = tmp.path().join("pw");
    std::fs::write(&password, "first admin pass\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "user",
            "create",
            "--email",
            "root@example.com",
            "--role",
            "global-admin",
            "--password-file",
        ])
        .arg(&password)
        .arg("--data")
        .arg(&data)
        .output()
        .expect("keyward user create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stop(child);
    let (child, banner) = with_banner(&mut serve(false, &data, &[], &[]));
    stop(child);
    let text = banner.join("\n");
    assert!(text.contains("Admin UI:"), "{text}");
    assert!(!text.contains("no administrator yet"), "{text}");
}
