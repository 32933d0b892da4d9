//! What survives a restart and a `kill -9`.

use keyward_jose::Algorithm;
use keyward_pki::KeyType;

use crate::common::*;

#[tokio::test]
async fn a_restart_keeps_tenants_applications_credentials_and_signing_keys() {
    let server = Server::spawn();
    let client = server.client("kept");
    let secret = server.keyward(&["app", "secret", "add", "kept"])["secretText"]
        .as_str()
        .unwrap()
        .to_owned();
    let keys_before = server.get_json("/contoso/discovery/v2.0/keys").await;
    let issuer_before = server.get_json("/contoso/v2.0/.well-known/openid-configuration").await["issuer"].clone();
    let dir = server.stop();

    let server = Server::spawn_in(dir);
    assert_eq!(
        server.get_json("/contoso/discovery/v2.0/keys").await["keys"][0]["kid"],
        keys_before["keys"][0]["kid"]
    );
    let issuer_after = server.get_json("/contoso/v2.0/.well-known/openid-configuration").await["issuer"].clone();
    let port = |s: &serde_json::Value| s.as_str().unwrap().split('/').nth(3).map(str::to_owned);
    assert_eq!(port(&issuer_before), port(&issuer_after), "the tenant id survives");
    let assertion = sign(
        &client.key,
        Algorithm::Rs256,
        &client.header(),
        &client.claims(&server, "contoso"),
    );
    let (status, body) = server.token("contoso", &client.form(&assertion)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["roles"][0],
        "Tasks.Read.All",
        "the grant survives"
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.app_id.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", client.scope.as_str()),
    ];
    assert_eq!(server.token("contoso", &form).await.0, 200, "the secret survives");
}

#[tokio::test]
async fn kill_9_during_a_burst_of_cert_adds_loses_no_acknowledged_write() {
    let server = Server::spawn();
    server.keyward(&["app", "create", "--name", "burst"]);
    let data = server.data().to_path_buf();
    let adder = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        for i in 0..40 {
            let (cert, _, path) = certificate(&data, &format!("burst-{i}"), KeyType::Rsa2048, 30);
            let _ = cert;
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
                .args(["app", "cert", "add", "burst"])
                .arg(&path)
                .arg("--data")
                .arg(&data)
                .output()
                .expect("keyward runs");
            if !out.status.success() {
                break;
            }
            acknowledged.push(keyward_pki::Thumbprints::of(&std::fs::read(&path).unwrap()).sha1_hex());
        }
        acknowledged
    });
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let dir = server.kill9();
    let acknowledged = adder.join().expect("adder thread");
    assert!(
        acknowledged.len() >= 3,
        "the burst should have landed a few writes before the kill, got {}",
        acknowledged.len()
    );

    let server = Server::spawn_in(dir);
    let listed = server.keyward(&["app", "cert", "list", "burst"]);
    let stored: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["customKeyIdentifier"].as_str())
        .collect();
    for thumbprint in &acknowledged {
        assert!(
            stored.contains(&thumbprint.as_str()),
            "acknowledged certificate {thumbprint} was lost"
        );
    }
}

#[tokio::test]
async fn rotation_keeps_the_old_key_published_and_signs_with_the_new_one() {
    let server = Server::spawn();
    let client = server.client("rotating");
    let assertion = client.assertion(&server);
    let (_, before) = server.token("contoso", &client.form(&assertion)).await;
    let old_token = before["access_token"].as_str().unwrap().to_owned();
    let old_kid = keyward_jose::Jws::parse(&old_token)
        .unwrap()
        .header()
        .kid
        .clone()
        .unwrap();

    let rotated = server.keyward(&["signing-key", "rotate"]);
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);

    let (_, after) = server.token("contoso", &client.form(&assertion)).await;
    let new_token = after["access_token"].as_str().unwrap();
    assert_eq!(
        keyward_jose::Jws::parse(new_token).unwrap().header().kid.as_deref(),
        Some(new_kid.as_str())
    );

    let jwks: keyward_jose::Jwks =
        serde_json::from_value(server.get_json("/contoso/discovery/v2.0/keys").await).unwrap();
    for (token, kid) in [(old_token.as_str(), &old_kid), (new_token, &new_kid)] {
        let key = keyward_jose::VerifyingKey::from_jwk(jwks.find(kid).expect("published")).unwrap();
        keyward_jose::Jws::parse(token)
            .unwrap()
            .verify(&key, &[Algorithm::Rs256])
            .expect("verifies with the published key");
    }
    // After a restart, the retired key is still published until its tokens expire.
    let dir = server.stop();
    let server = Server::spawn_in(dir);
    let jwks: keyward_jose::Jwks =
        serde_json::from_value(server.get_json("/contoso/discovery/v2.0/keys").await).unwrap();
    assert!(jwks.find(&old_kid).is_some() && jwks.find(&new_kid).is_some());
    let listed = server.keyward(&["signing-key", "list"]);
    let active: Vec<_> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["active"] == true)
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["kid"], new_kid.as_str());
}

/// A PostgreSQL schema for one test, dropped when the test ends, however it ends.
struct Schema(String);

impl Schema {
    fn create() -> Self {
        let schema = Self(format!("kw_serve_{}", uuid::Uuid::new_v4().simple()));
        schema.psql(&format!("CREATE SCHEMA {}", schema.0));
        schema
    }

    fn psql(&self, sql: &str) {
        let out = std::process::Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs (PostgreSQL client)");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D{}",
            self.0
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        std::process::Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-c",
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0),
            ])
            .output()
            .ok();
    }
}

/// `keyward serve --database postgres://...`: the same behaviour on PostgreSQL, in a schema of
/// its own (PostgreSQL runs on every development and CI machine of this project).
#[tokio::test]
async fn serve_on_postgresql_keeps_everything_across_a_restart() {
    let schema = Schema::create();
    let url = schema.url();
    let server = Server::spawn_with(tempfile::tempdir().unwrap(), &["--database", &url]);
    let client = server.client("pg-client");
    let assertion = client.assertion(&server);
    assert_eq!(server.token("contoso", &client.form(&assertion)).await.0, 200);
    let dir = server.stop();
    let server = Server::spawn_with(dir, &["--database", &url]);
    // A new port after the restart: a new audience.
    let assertion = client.assertion(&server);
    let (status, body) = server.token("contoso", &client.form(&assertion)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["roles"][0],
        "Tasks.Read.All"
    );
}

#[tokio::test]
async fn the_data_directory_keeps_secrets_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start();
    let mode = |name: &str| {
        std::fs::metadata(server.data().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    for private in [
        "keyward.db",
        "master.key",
        "tls/ca.key",
        "tls/server.key",
        "admin/admin.key",
    ] {
        assert_eq!(mode(private), 0o600, "{private}");
    }
    for dir in ["", "tls", "admin"] {
        assert_eq!(mode(dir), 0o700, "directory {dir:?}");
    }
    assert_eq!(mode("tls/ca.pem"), 0o644, "the CA certificate is public");
}
