//! Database outages, for real: a private PostgreSQL stopped (`pg_ctl stop -m immediate`) under a
//! load of token requests, then started again; SQLite on a tmpfs that fills up, then gets room
//! again. Through both: the token endpoint keeps issuing from memory; writes fail fast with 503
//! and `Retry-After` in each API's own error shape (Graph, Key Vault), not 500 and no hang; the
//! server reconnects by itself; every acknowledged write is still there and no refused one is;
//! SQLite passes `PRAGMA integrity_check`.
//!
//! PostgreSQL is a server of the test's own on a free port (the shared one at 5432 is never
//! touched). It refuses to run as root: as root (CI), `initdb` and `pg_ctl` run as `nobody`.
//! The outage lasts `KEYWARD_OUTAGE_SECS` seconds (6 by default; the 30 s:
//! `KEYWARD_OUTAGE_SECS=30`).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward_client::{ClientCredential, ConfidentialClient};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::common::*;
use crate::signin::flow::{refresh, signed_up_tokens, web_app};
use crate::signin::flows::admin_token;

/// The longest a write may take to be refused while the database is down: the store's acquire
/// timeout (3 s) and some slack. Longer is a hang.
const FAIL_FAST: Duration = Duration::from_secs(5);

/// How long the database stays down.
fn outage_length() -> Duration {
    let seconds = std::env::var("KEYWARD_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    Duration::from_secs(seconds)
}

/// Whether this process runs as root.
fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A PostgreSQL server of the test's own, in a temporary directory, on a free port.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
    /// The user it runs as when the test runs as root (`nobody`).
    owner: Option<(u32, u32)>,
}

impl PrivatePostgres {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let owner = is_root().then_some((65534, 65534));
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown to nobody");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("address")
            .port();
        let postgres = Self { dir, port, owner };
        postgres.run(
            "initdb",
            &[
                "-D",
                postgres.data().to_str().expect("utf-8"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\nmax_connections = 40\n"
        );
        let mut existing = std::fs::read_to_string(postgres.data().join("postgresql.conf")).expect("postgresql.conf");
        existing.push_str(&conf);
        std::fs::write(postgres.data().join("postgresql.conf"), existing).expect("postgresql.conf");
        postgres.up();
        postgres
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("pgdata")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs a PostgreSQL tool (as `nobody` when root) and asserts it succeeded.
    fn run(&self, program: &str, args: &[&str]) {
        let mut command = Command::new(tool(program));
        command.args(args).current_dir(self.dir.path()).env("LC_ALL", "C");
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        let out = command
            .output()
            .unwrap_or_else(|e| panic!("{program} runs (PostgreSQL's server tools on PATH): {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data();
        let log = self.dir.path().join("postgres.log");
        let mut all = vec!["-D", data.to_str().expect("utf-8"), "-l", log.to_str().expect("utf-8")];
        all.extend(args);
        self.run("pg_ctl", &all);
    }

    /// Starts the server and waits until it accepts connections.
    fn up(&self) {
        self.pg_ctl(&["-w", "-t", "60", "start"]);
    }

    /// Stops the server the hard way: no checkpoint, connections cut, crash recovery at the next
    /// start.
    fn down(&self) {
        self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let mut command = Command::new(tool("pg_ctl"));
        command.args(["-D", data.to_str().unwrap_or_default(), "-m", "immediate", "-w", "stop"]);
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command.output().ok();
    }
}

/// A PostgreSQL server tool: on `PATH`, else where Debian's packages put it
/// (`/usr/lib/postgresql/VERSION/bin`, the newest).
fn tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file());
    let packaged = || {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|version| version.path().join("bin").join(name))
            .filter(|path| path.is_file())
            .collect();
        found.sort();
        found.pop()
    };
    on_path.or_else(packaged).unwrap_or_else(|| PathBuf::from(name))
}

/// An answer: status, `Retry-After`, JSON body and how long it took.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
    took: Duration,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let started = Instant::now();
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        body,
        took: started.elapsed(),
    }
}

/// What the tests call the server with: Graph with the bootstrap admin's token, the default
/// vault with an application granted secret permissions.
struct Caller {
    url: String,
    http: reqwest::Client,
    graph: String,
    vault: String,
}

impl Caller {
    async fn new(server: &Server) -> Self {
        let app = server.keyward(&["app", "create", "--name", "vault-writer"]);
        let secret = server.keyward(&["app", "secret", "add", "vault-writer"])["secretText"]
            .as_str()
            .expect("secretText")
            .to_owned();
        server.keyward(&["vault", "grant", "vault-writer", "--secrets", "get,list,set"]);
        let client = ConfidentialClient::builder(
            &format!("{}/contoso", server.url),
            app["appId"].as_str().expect("appId"),
            ClientCredential::secret(secret),
        )
        .trust_ca(&server.ca_pem())
        .build()
        .expect("client builds");
        let vault = client
            .acquire_token_for_client(&["https://vault.keyward.localhost/.default"])
            .await
            .expect("a vault token")
            .secret()
            .to_owned();
        Self {
            url: server.url.clone(),
            http: http_client(&server.ca_pem()),
            graph: admin_token(server).await,
            vault,
        }
    }

    async fn create_app(&self, name: &str) -> Answer {
        send(
            self.http
                .post(format!("{}/v1.0/applications", self.url))
                .bearer_auth(&self.graph)
                .json(&json!({ "displayName": name })),
        )
        .await
    }

    async fn app(&self, id: &str) -> Answer {
        send(
            self.http
                .get(format!("{}/v1.0/applications/{id}", self.url))
                .bearer_auth(&self.graph),
        )
        .await
    }

    /// Every application's display name.
    async fn app_names(&self) -> Vec<String> {
        let answer = send(
            self.http
                .get(format!("{}/v1.0/applications?$top=999", self.url))
                .bearer_auth(&self.graph),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["value"]
            .as_array()
            .expect("value")
            .iter()
            .map(|a| a["displayName"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn set_secret(&self, name: &str, value: &str) -> Answer {
        send(
            self.http
                .put(format!("{}/secrets/{name}?api-version=7.5", self.url))
                .bearer_auth(&self.vault)
                .json(&json!({ "value": value })),
        )
        .await
    }

    async fn secret(&self, name: &str) -> Answer {
        send(
            self.http
                .get(format!("{}/secrets/{name}?api-version=7.5", self.url))
                .bearer_auth(&self.vault),
        )
        .await
    }
}

/// Asserts a refusal for an outage: 503 within [`FAIL_FAST`], a `Retry-After` in seconds and
/// the error code of the API's shape (`{"error": {"code", "message"}}` for Graph and Key Vault).
fn assert_unavailable(answer: &Answer, code: &str, what: &str) {
    eprintln!(
        "{what}: {} in {:?}, Retry-After {:?}: {}",
        answer.status, answer.took, answer.retry_after, answer.body
    );
    assert_eq!(answer.status, 503, "{what}: status; body {}", answer.body);
    assert!(
        answer.took < FAIL_FAST,
        "{what} took {:?}: a hang, not a fast failure",
        answer.took
    );
    let retry_after = answer
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: no Retry-After"));
    assert!(
        retry_after.parse::<u32>().is_ok_and(|s| s > 0),
        "{what}: Retry-After {retry_after:?}"
    );
    assert_eq!(answer.body["error"]["code"], code, "{what}: {}", answer.body);
    assert!(
        answer.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        answer.body
    );
}

/// Token requests in a loop until stopped: the time and status of each.
struct Load {
    results: Arc<Mutex<Vec<(Instant, u16, Value)>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    fn start(server: Arc<Server>, client: Arc<Client>) -> Self {
        let results = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (results, stop) = (Arc::clone(&results), Arc::clone(&stop));
            async move {
                while !stop.load(Ordering::Relaxed) {
                    let assertion = client.assertion(&server);
                    let (status, body) = server.token("contoso", &client.form(&assertion)).await;
                    results.lock().unwrap().push((Instant::now(), status, body));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
        Self { results, stop, task }
    }

    /// Stops; asserts every request got a token, and that `at_least` of them came within
    /// `window`.
    async fn finish(self, window: (Instant, Instant), at_least: usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the load task");
        let results = self.results.lock().unwrap();
        for (_, status, body) in results.iter() {
            assert_eq!(*status, 200, "a token request failed during the outage: {body}");
        }
        let during = results
            .iter()
            .filter(|(at, ..)| *at >= window.0 && *at <= window.1)
            .count();
        eprintln!(
            "{} tokens issued, {during} of them in the {:?} without the database",
            results.len(),
            window.1.duration_since(window.0)
        );
        assert!(
            during >= at_least,
            "only {during} tokens issued while the database was down ({} in all)",
            results.len()
        );
    }
}

/// Waits up to `limit` for `check` to hold.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_keeps_tokens_flowing_and_refuses_writes_with_503() {
    let postgres = tokio::task::spawn_blocking(PrivatePostgres::start).await.unwrap();
    let url = postgres.url();
    let server = Arc::new(Server::start_with(tempfile::tempdir().unwrap(), |s| s.database(&url)));
    // A second server on the database: it learns of changes only through its directory check
    // (`follow_store`), which must survive the outage.
    let other_dir = tempfile::tempdir().unwrap();
    std::fs::copy(server.data().join("master.key"), other_dir.path().join("master.key")).unwrap();
    let other = Server::start_with(other_dir, |s| s.database(&url));

    let client = Arc::new(server.client("outage-client"));
    let caller = Caller::new(&server).await;

    // Acknowledged before the outage.
    let mut acknowledged_apps = Vec::new();
    for i in 0..5 {
        let answer = caller.create_app(&format!("before-outage-{i}")).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        acknowledged_apps.push(answer.body["id"].as_str().expect("id").to_owned());
        let answer = caller
            .set_secret(&format!("before-outage-{i}"), &format!("value-{i}"))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }

    // A signed-in user's refresh token: redeeming it needs the database.
    let web = web_app(&server, "outage-web");
    let (_, tokens) = signed_up_tokens(&server, &web, "outage@example.com").await;
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh_token").to_owned();

    let load = Load::start(Arc::clone(&server), Arc::clone(&client));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pg = Arc::new(postgres);
    tokio::task::spawn_blocking({
        let pg = Arc::clone(&pg);
        move || pg.down()
    })
    .await
    .unwrap();
    let down_at = Instant::now();

    // Writes are refused at once, in each API's shape; nothing of them is written. The token
    // endpoint, where a grant needs the database, answers in Entra's shape (AADSTS90033).
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("client_id", web.app_id.as_str()),
        ("client_secret", web.secret.as_deref().expect("a secret")),
        ("refresh_token", refresh_token.as_str()),
        ("scope", "openid profile offline_access"),
    ];
    let (graph, vault, refreshed) = tokio::join!(
        caller.create_app("during-outage"),
        caller.set_secret("during-outage", "lost"),
        send(caller.http.post(server.token_endpoint("contoso")).form(&refresh_form)),
    );
    assert_unavailable(&graph, "serviceNotAvailable", "Graph: create an application");
    assert_unavailable(&vault, "ServiceUnavailable", "Key Vault: set a secret");
    eprintln!(
        "refresh during the outage: {} in {:?}: {}",
        refreshed.status, refreshed.took, refreshed.body
    );
    assert!(refreshed.took < FAIL_FAST, "the refresh took {:?}", refreshed.took);
    assert!(refreshed.retry_after.is_some(), "no Retry-After");
    assert_oauth_error(
        &(refreshed.status, refreshed.body),
        503,
        "temporarily_unavailable",
        90033,
    );

    tokio::time::sleep(outage_length().saturating_sub(down_at.elapsed())).await;
    let up_at = Instant::now();
    tokio::task::spawn_blocking({
        let pg = Arc::clone(&pg);
        move || pg.up()
    })
    .await
    .unwrap();
    // Tokens were issued all along, from memory: at least a few a second while it was down.
    let outage = up_at.duration_since(down_at);
    load.finish((down_at, up_at), (outage.as_secs() as usize).max(1) * 5)
        .await;

    // The server reconnects by itself: writes succeed again, without a restart.
    eventually("Graph writes succeed again", Duration::from_secs(20), || async {
        caller.create_app("after-outage").await.status == 201
    })
    .await;
    eventually("vault writes succeed again", Duration::from_secs(20), || async {
        caller.set_secret("after-outage", "back").await.status == 200
    })
    .await;

    // Every acknowledged write is there; none of the refused ones is.
    for id in &acknowledged_apps {
        let answer = caller.app(id).await;
        assert_eq!(
            answer.status, 200,
            "application {id} acknowledged before the outage: {}",
            answer.body
        );
    }
    for i in 0..5 {
        let answer = caller.secret(&format!("before-outage-{i}")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["value"], format!("value-{i}"));
    }
    let names = caller.app_names().await;
    assert!(
        !names.contains(&"during-outage".to_owned()),
        "a refused write was stored: {names:?}"
    );
    assert_eq!(names.iter().filter(|n| *n == "after-outage").count(), 1, "{names:?}");
    assert_eq!(caller.secret("during-outage").await.status, 404);
    // The refused refresh redeemed nothing: the refresh token still works, once.
    let (status, body) = refresh(&server, &web, &refresh_token).await;
    assert_eq!(status, 200, "the refresh token refused during the outage: {body}");

    // The other server's directory check survived the outage: an application registered now
    // through the first server gets tokens from the second.
    let late = server.client("after-outage-client");
    let assertion = late.assertion(&other);
    eventually(
        "the other server follows the database again",
        Duration::from_secs(15),
        || async { other.token("contoso", &late.form(&assertion)).await.0 == 200 },
    )
    .await;
    drop(other);
    drop(server);
}

/// A tmpfs of `size` mounted on a directory, unmounted at the end.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` when this machine does not let root mount one (a container without
    /// CAP_SYS_ADMIN): said on stderr, as the test's skip reason.
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount runs");
        if !out.status.success() {
            eprintln!(
                "SKIPPED: mounting a tmpfs failed (needs CAP_SYS_ADMIN): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk with `filler` until no byte fits.
    fn fill(&self, filler: &Path) {
        use std::io::Write;
        let mut file = std::fs::File::create(filler).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if file.write_all(&chunk).is_err() {
                break;
            }
        }
        // The last few bytes.
        while file.write_all(&[0u8]).is_ok() {}
        file.sync_all().ok();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        Command::new("umount").arg("-l").arg(self.dir.path()).output().ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_refuses_writes_with_503_and_recovers_without_damage() {
    if !is_root() {
        // Mounting a tmpfs needs root; CI runs as root, so there this test always runs.
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let Some(disk) = SmallDisk::mount("24m") else {
        return;
    };
    // The server's data directory on the small disk: `keyward.db` and its WAL fill up with it.
    let server = Arc::new(Server::start_with(
        tempfile::TempDir::new_in(disk.path()).unwrap(),
        |s| s,
    ));
    let client = Arc::new(server.client("full-disk-client"));
    let caller = Caller::new(&server).await;
    let mut acknowledged_apps = Vec::new();
    let answer = caller.create_app("before-full").await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    acknowledged_apps.push(answer.body["id"].as_str().unwrap().to_owned());

    let load = Load::start(Arc::clone(&server), Arc::clone(&client));
    let filler = disk.path().join("filler");
    disk.fill(&filler);
    let full_at = Instant::now();

    // Writes until one is refused: each acknowledged one must survive, the refused ones leave
    // nothing. (The WAL may still have room for a few.)
    let value = "x".repeat(20_000);
    let mut acknowledged_secrets = Vec::new();
    let mut refused = None;
    for i in 0..200 {
        let name = format!("full-{i}");
        let answer = caller.set_secret(&name, &value).await;
        if answer.status == 200 {
            acknowledged_secrets.push(name);
        } else {
            assert_unavailable(&answer, "ServiceUnavailable", "Key Vault: set a secret on a full disk");
            refused = Some(name);
            break;
        }
    }
    let refused_secret = refused.expect("a write refused on a full disk");
    eprintln!(
        "{} secrets written on the full disk before one was refused",
        acknowledged_secrets.len()
    );
    let mut refused_app = None;
    for i in 0..200 {
        let name = format!("full-app-{i}");
        let answer = caller.create_app(&name).await;
        if answer.status == 201 {
            acknowledged_apps.push(answer.body["id"].as_str().unwrap().to_owned());
        } else {
            assert_unavailable(
                &answer,
                "serviceNotAvailable",
                "Graph: create an application on a full disk",
            );
            refused_app = Some(name);
            break;
        }
    }
    let refused_app = refused_app.expect("an application refused on a full disk");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let freed_at = Instant::now();
    std::fs::remove_file(&filler).unwrap();
    load.finish((full_at, freed_at), 5).await;

    // Room again: writes succeed, without a restart.
    eventually("vault writes succeed again", Duration::from_secs(10), || async {
        caller.set_secret("after-full", "back").await.status == 200
    })
    .await;
    let answer = caller.create_app("after-full").await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    for id in &acknowledged_apps {
        assert_eq!(caller.app(id).await.status, 200, "application {id}");
    }
    for name in &acknowledged_secrets {
        assert_eq!(caller.secret(name).await.body["value"], value.as_str(), "{name}");
    }
    assert_eq!(caller.secret(&refused_secret).await.status, 404);
    assert!(!caller.app_names().await.contains(&refused_app));

    // A clean stop, then the file itself: intact.
    let server = Arc::into_inner(server).expect("the load task is done");
    let dir = server.stop();
    let db = dir.path().join("keyward.db");
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("keyward.db opens");
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await
        .expect("integrity_check runs");
    assert_eq!(check, "ok");
    connection.close().await.ok();
    drop(dir);
}
