//! An acknowledged write survives `kill -9`. The test runs itself again as a child process in
//! "writer" mode: the child inserts applications into an SQLite store in a loop, each followed by
//! a vault write (a secret named after the application, with one version), and prints each id
//! once both have returned. The parent reads a few dozen of those acknowledgements, kills the
//! child with SIGKILL while it is writing, reopens the database and checks that it is intact and
//! holds every acknowledged application and secret.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use keyward_store::{Application, Collection, ItemKey, ItemWrite, Tenant, Vault, VaultItem, VaultVersion, VaultWrite};
use sqlx::Connection;
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use uuid::Uuid;

/// Set in the child: the URL of the database to write to.
const WRITER_URL: &str = "KEYWARD_STORE_KILL9_URL";
/// Set in the child: the tenant to write applications into.
const WRITER_TENANT: &str = "KEYWARD_STORE_KILL9_TENANT";
/// How many acknowledgements the parent waits for before it kills the child.
const ACKNOWLEDGED: usize = 40;
/// What the child prints before each acknowledged id.
const ACK: &str = "acknowledged ";

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    if let (Ok(url), Ok(tenant)) = (std::env::var(WRITER_URL), std::env::var(WRITER_TENANT)) {
        return writer(&url, tenant.parse().unwrap()).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyward.db");
    let url = format!("sqlite://{}", path.display());
    let tenant = Tenant {
        id: Uuid::new_v4(),
        name: "kill9".into(),
        domain: "kill9.onmicrosoft.com".into(),
        created: OffsetDateTime::now_utc(),
    };
    let store = keyward_store::open(&url).await.unwrap();
    store.insert_tenant(&tenant).await.unwrap();
    let vault = Vault {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        name: "kill9".into(),
        access_policies: vec![],
        created: OffsetDateTime::now_utc(),
        version: 1,
    };
    store.insert_vault(&vault).await.unwrap();
    drop(store);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill9::acknowledged_writes_survive_sigkill",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(WRITER_URL, &url)
        .env(WRITER_TENANT, tenant.id.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acknowledged = HashSet::new();
    let enough = async {
        while acknowledged.len() < ACKNOWLEDGED {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("the writer stopped before it was killed");
            if let Some(id) = line.strip_prefix(ACK) {
                acknowledged.insert(id.parse::<Uuid>().unwrap());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), enough)
        .await
        .expect("the writer acknowledged too few writes in 120 s");

    child.kill().await.unwrap(); // SIGKILL on Unix: no chance to flush or close anything
    // Acknowledgements printed before the kill may still be in the pipe.
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(id) = line.strip_prefix(ACK) {
            acknowledged.insert(id.parse::<Uuid>().unwrap());
        }
    }

    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    connection.close().await.unwrap();

    let store = keyward_store::open(&url)
        .await
        .expect("the database opens after kill -9");
    let stored: HashSet<Uuid> = store.applications().await.unwrap().iter().map(|app| app.id).collect();
    eprintln!(
        "killed the writer after {} acknowledged writes; {} stored",
        acknowledged.len(),
        stored.len()
    );
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes were lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    for id in &acknowledged {
        let versions = store.vault_versions(&secret(vault.id, *id)).await.unwrap();
        assert_eq!(versions.len(), 1, "the acknowledged secret {id} was lost");
        assert_eq!(versions[0].sealed, id.as_bytes());
    }
}

/// Where the writer keeps the secret it writes with application `id`.
fn secret(vault_id: Uuid, id: Uuid) -> ItemKey {
    ItemKey {
        vault_id,
        collection: Collection::Secrets,
        name: format!("secret-{id}"),
    }
}

/// The child: writes applications until it is killed (or, if the parent is gone, for at most
/// a minute), printing each id once its write has returned.
async fn writer(url: &str, tenant_id: Uuid) {
    let store = keyward_store::open(url).await.unwrap();
    let vault_id = store.vaults().await.unwrap()[0].id;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        let app_id = Uuid::new_v4();
        let app = Application {
            id: Uuid::new_v4(),
            tenant_id,
            app_id,
            service_principal_id: Uuid::new_v4(),
            display_name: format!("kill9 {app_id}"),
            identifier_uris: vec![format!("api://{app_id}")],
            redirect_uris: vec![],
            logout_url: None,
            key_credentials: vec![],
            password_credentials: vec![],
            app_roles: vec![],
            created: OffsetDateTime::now_utc(),
            version: 1,
        };
        store.insert_application(&app).await.unwrap();
        let key = secret(vault_id, app.id);
        let write = VaultWrite {
            items: vec![ItemWrite {
                item: VaultItem {
                    key: key.clone(),
                    deleted: false,
                    document: serde_json::json!({ "contentType": "text/plain" }),
                    revision: 1,
                },
                expected_revision: None,
            }],
            versions: vec![VaultVersion {
                key,
                version: Uuid::new_v4().simple().to_string(),
                created: OffsetDateTime::now_utc(),
                document: serde_json::json!({ "attributes": { "enabled": true } }),
                sealed: app.id.as_bytes().to_vec(),
            }],
            purges: vec![],
        };
        store.write_vault(&write).await.unwrap();
        // Stdout is line-buffered: the line leaves the process with the newline.
        println!("{ACK}{}", app.id);
    }
}
