//! Declarative state: `keyward apply FILE` against a running server and `keyward serve --config
//! FILE` at start. Applying twice changes nothing; an edit converges and says what it removes
//! first; a bad file names its line and changes nothing; fixed ids are what Graph shows and what
//! tokens carry.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use keyward_client::{CertificateCredential, ClientCredential, ConfidentialClient};
use serde_json::Value;

use crate::common::*;
use crate::signin::flows::admin_token;

const API_APP_ID: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const API_OBJECT_ID: &str = "a1a1a1a1-0000-4000-8000-000000000002";
const DAEMON_APP_ID: &str = "b2b2b2b2-0000-4000-8000-000000000001";
const OPENSSL_APP_ID: &str = "c3c3c3c3-0000-4000-8000-000000000001";
const WEB_APP_ID: &str = "d4d4d4d4-0000-4000-8000-000000000001";

/// A document over the test server's tenants (contoso and fabrikam, whose ids it adopts):
/// three apps with fixed ids, a generated certificate, one made by the real `openssl`, a
/// generated secret, a user and a vault.
fn document(tenant_ids: Option<(&str, &str)>) -> String {
    let ids = |id: Option<&str>| id.map(|id| format!("id = \"{id}\"\n")).unwrap_or_default();
    format!(
        r#"[[tenant]]
name = "contoso"
{contoso}
[[tenant]]
name = "fabrikam"
{fabrikam}
[[app]]
name = "api"
tenant = "contoso"
app_id = "{API_APP_ID}"
object_id = "{API_OBJECT_ID}"
identifier_uris = ["api://state-api"]
[[app.role]]
value = "Tasks.Read"

[[app]]
name = "daemon"
tenant = "contoso"
app_id = "{DAEMON_APP_ID}"
[[app.grant]]
app = "api"
roles = ["Tasks.Read"]
[[app.secret]]
name = "ci"
generate = "out/daemon.secret"
expires = "30d"
[[app.certificate]]
name = "generated"
generate = {{ subject = "CN=daemon", cert = "out/daemon.pem", key = "out/daemon.key" }}

[[app]]
name = "openssl-app"
tenant = "contoso"
app_id = "{OPENSSL_APP_ID}"
[[app.certificate]]
name = "from-openssl"
file = "openssl.pem"

[[app]]
name = "web"
tenant = "fabrikam"
app_id = "{WEB_APP_ID}"
redirect_uris = ["http://localhost:3000/redirect"]

[[user]]
email = "alice@contoso.com"
tenant = "contoso"
generate_password = "out/alice.password"
roles = ["app-admin"]

[[vault]]
name = "default"
tenant = "contoso"
[[vault.secret]]
name = "db-password"
generate = "out/db-password"
[[vault.access]]
app = "daemon"
secrets = ["get"]
"#,
        contoso = ids(tenant_ids.map(|t| t.0)),
        fabrikam = ids(tenant_ids.map(|t| t.1)),
    )
}

/// A directory holding `keyward.toml` (`text`) and `openssl.pem`, a certificate made by the
/// real OpenSSL.
fn state_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=openssl-app",
        ])
        .arg("-keyout")
        .arg(dir.path().join("openssl.key"))
        .arg("-out")
        .arg(dir.path().join("openssl.pem"))
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    std::fs::write(dir.path().join("keyward.toml"), text).expect("write");
    dir
}

/// Runs `keyward ARGS --data DIR`.
fn keyward(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::null())
        .output()
        .expect("keyward runs")
}

/// `keyward apply FILE --json`: the changes it made.
fn apply(server: &Server, file: &Path) -> Vec<Value> {
    let out = server.keyward(&["apply", file.to_str().expect("path")]);
    out["changes"].as_array().expect("changes").clone()
}

async fn token(server: &Server, tenant: &str, client_id: &str, credential: ClientCredential, scope: &str) -> Value {
    let client = ConfidentialClient::builder(&format!("{}/{tenant}", server.url), client_id, credential)
        .trust_ca(&server.ca_pem())
        .build()
        .expect("client");
    let token = client.acquire_token_for_client(&[scope]).await.expect("a token");
    claims_of(token.secret())
}

fn daemon_certificate(dir: &Path) -> ClientCredential {
    CertificateCredential::from_pem(
        &std::fs::read(dir.join("out/daemon.pem")).expect("generated certificate"),
        &std::fs::read(dir.join("out/daemon.key")).expect("generated key"),
        None,
    )
    .expect("credential")
    .into()
}

#[tokio::test]
async fn applying_twice_changes_nothing_and_the_fixed_ids_are_what_graph_and_tokens_show() {
    let server = Server::start();
    let dir = state_dir(&document(None));
    let file = dir.path().join("keyward.toml");

    let first = apply(&server, &file);
    assert!(first.len() >= 8, "{first:?}");
    assert!(first.iter().all(|c| c["action"] != "remove"), "{first:?}");
    assert_eq!(
        apply(&server, &file),
        Vec::<Value>::new(),
        "the second apply changes nothing"
    );

    // Graph shows the fixed ids.
    let graph = admin_token(&server).await;
    let apps: Value = http_client(&server.ca_pem())
        .get(format!("{}/v1.0/applications", server.url))
        .bearer_auth(&graph)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let api = apps["value"]
        .as_array()
        .expect("value")
        .iter()
        .find(|a| a["appId"] == API_APP_ID)
        .unwrap_or_else(|| panic!("no api app in {apps}"));
    assert_eq!(api["id"], API_OBJECT_ID);
    assert_eq!(api["displayName"], "api");

    // The generated certificate and secret get tokens carrying the granted role.
    let claims = token(
        &server,
        "contoso",
        DAEMON_APP_ID,
        daemon_certificate(dir.path()),
        "api://state-api/.default",
    )
    .await;
    assert_eq!(claims["aud"], API_APP_ID);
    assert_eq!(claims["roles"], serde_json::json!(["Tasks.Read"]));
    let secret = std::fs::read_to_string(dir.path().join("out/daemon.secret")).expect("generated secret");
    let claims = token(
        &server,
        "contoso",
        DAEMON_APP_ID,
        ClientCredential::secret(secret),
        "api://state-api/.default",
    )
    .await;
    assert_eq!(claims["azp"], DAEMON_APP_ID);
    // The certificate OpenSSL made is the other app's credential.
    let openssl = CertificateCredential::from_pem(
        &std::fs::read(dir.path().join("openssl.pem")).unwrap(),
        &std::fs::read(dir.path().join("openssl.key")).unwrap(),
        None,
    )
    .unwrap();
    let claims = token(
        &server,
        "contoso",
        OPENSSL_APP_ID,
        openssl.into(),
        "api://state-api/.default",
    )
    .await;
    assert_eq!(claims["azp"], OPENSSL_APP_ID);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in [
            "out/daemon.secret",
            "out/daemon.key",
            "out/alice.password",
            "out/db-password",
        ] {
            let mode = std::fs::metadata(dir.path().join(file)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
}

#[tokio::test]
async fn an_edit_converges_says_what_it_removes_first_and_keeps_what_was_made_by_hand() {
    let server = Server::start();
    let dir = state_dir(&document(None));
    let file = dir.path().join("keyward.toml");
    apply(&server, &file);
    server.keyward(&["app", "create", "--name", "made-by-hand"]);

    // Drop the openssl app and the user, move the web app's redirect URI.
    let edited = document(None)
        .replace(
            &format!(
                "[[app]]\nname = \"openssl-app\"\ntenant = \"contoso\"\napp_id = \"{OPENSSL_APP_ID}\"\n[[app.certificate]]\nname = \"from-openssl\"\nfile = \"openssl.pem\"\n"
            ),
            "",
        )
        .replace(
            "[[user]]\nemail = \"alice@contoso.com\"\ntenant = \"contoso\"\ngenerate_password = \"out/alice.password\"\nroles = [\"app-admin\"]\n",
            "",
        )
        .replace("localhost:3000", "localhost:3001");
    std::fs::write(&file, edited).unwrap();
    let out = keyward(server.data(), &["apply", file.to_str().unwrap()]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("will remove app \"openssl-app\""), "{stderr}");
    assert!(stderr.contains("will remove user \"alice@contoso.com\""), "{stderr}");
    let lines: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("- remove") && lines[1].starts_with("- remove"),
        "removals first: {stdout}"
    );
    assert!(
        lines[2].starts_with("~ update app \"web\" (fabrikam): redirect URIs"),
        "{stdout}"
    );
    assert_eq!(apply(&server, &file), Vec::<Value>::new(), "converged");

    let apps = server.keyward(&["app", "list"]);
    let names: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["displayName"].as_str())
        .collect();
    assert!(names.contains(&"made-by-hand"), "{names:?}");
    assert!(!names.contains(&"openssl-app"), "{names:?}");
    assert!(names.contains(&"daemon"), "{names:?}");
}

/// Runs `keyward apply TEXT` expecting a refusal naming `line`; returns its stderr.
fn refused(server: &Server, text: &str, line: usize) -> String {
    let dir = state_dir(text);
    let out = keyward(
        server.data(),
        &["apply", dir.path().join("keyward.toml").to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("keyward.toml:{line}:")),
        "line {line}: {stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    stderr
}

/// The apps of the default tenant, by appId and name.
fn app_ids(server: &Server) -> Vec<(String, String)> {
    let apps = server.keyward(&["app", "list"]);
    let mut ids: Vec<(String, String)> = apps
        .as_array()
        .expect("apps")
        .iter()
        .map(|a| {
            (
                a["appId"].as_str().unwrap_or("").to_owned(),
                a["displayName"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_bad_file_names_its_line_and_changes_nothing() {
    let server = Server::start();
    let before = app_ids(&server);
    let good = document(None);

    // An unknown key.
    let typo = good.replacen("redirect_uris", "redirect_uri", 1);
    let line = typo.lines().position(|l| l.starts_with("redirect_uri =")).unwrap() + 1;
    let stderr = refused(&server, &typo, line);
    assert!(stderr.contains("unknown field `redirect_uri`"), "{stderr}");

    // A grant naming an app the file does not have.
    let dangling = good.replacen("app = \"api\"", "app = \"apii\"", 1);
    let line = dangling.lines().position(|l| l == "app = \"apii\"").unwrap() + 1;
    let stderr = refused(&server, &dangling, line);
    assert!(stderr.contains("unknown app \"apii\""), "{stderr}");

    // What only the server knows: contoso exists with another id. The rest of the file is
    // valid, and none of it is applied.
    let wrong_id = document(Some((
        "0d0d0d0d-0000-4000-8000-000000000001",
        "0d0d0d0d-0000-4000-8000-000000000002",
    )));
    let stderr = refused(&server, &wrong_id, 3);
    assert!(stderr.contains("exists with id"), "{stderr}");

    assert_eq!(app_ids(&server), before, "nothing was applied");
}

#[tokio::test]
async fn serve_config_applies_the_file_at_start_with_its_tenant_ids() {
    let contoso = "e5e5e5e5-0000-4000-8000-000000000001";
    let dir = state_dir(&document(Some((contoso, "e5e5e5e5-0000-4000-8000-000000000002"))));
    let file = dir.path().join("keyward.toml");
    let server = Server::spawn_with(tempfile::tempdir().unwrap(), &["--config", file.to_str().unwrap()]);
    assert_eq!(apply(&server, &file), Vec::<Value>::new(), "applied at start");
    let claims = token(
        &server,
        contoso,
        DAEMON_APP_ID,
        daemon_certificate(dir.path()),
        "api://state-api/.default",
    )
    .await;
    assert_eq!(claims["tid"], contoso);
    assert_eq!(claims["roles"], serde_json::json!(["Tasks.Read"]));
    server.stop();

    // A bad file stops the start with its line.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(
        bad.path().join("keyward.toml"),
        "[[tenant]]\nname = \"contoso\"\nid = \"nope\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data", ":memory:", "--config"])
        .arg(bad.path().join("keyward.toml"))
        .stdin(Stdio::null())
        .output()
        .expect("keyward runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("keyward.toml:3:"), "{stderr}");
}
