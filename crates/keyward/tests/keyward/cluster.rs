//! Three `keyward serve` processes on one PostgreSQL database behind HAProxy, as the README's
//! "Running several servers" runs them (issue 16, point 3): its HAProxy configuration, read from
//! the README with only the ports and file paths changed, and its commands (the first server
//! makes the CA and the admin credential, the others start from a copy of its `master.key`,
//! `tls/` and `admin/`). Every server is a real process, so that `kill -9` is real.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward_jose::Algorithm;
use serde_json::{Value, json};

use crate::common::*;

/// How long a server or the load balancer may take to start.
const START: Duration = Duration::from_secs(30);

/// The README's ports: the load balancer's, then the servers'.
const README_LB: &str = "127.0.0.1:8443";
const README_SERVERS: [&str; 3] = ["127.0.0.1:8444", "127.0.0.1:8445", "127.0.0.1:8446"];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("address")
        .port()
}

/// One `keyward serve` process, killed when dropped.
struct Node {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Node {
    fn spawn(dir: tempfile::TempDir, port: u16, public_url: &str, database: &str) -> Self {
        let info = dir.path().join("server.json");
        fs::remove_file(&info).ok();
        let log = fs::File::create(dir.path().join("serve.log")).expect("serve.log");
        let child = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--public-url", public_url, "--database", database])
            .args(["--trusted-proxy", "127.0.0.1/32", "--tenant", "contoso", "--data"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("keyward serve starts");
        let deadline = Instant::now() + START;
        loop {
            if let Ok(text) = fs::read_to_string(&info)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["pid"] == child.id()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "keyward serve did not start within 30 s: {}",
                fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, dir, port }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Three servers, HAProxy in front, a schema of their own.
struct Cluster {
    nodes: Vec<Option<Node>>,
    haproxy: Child,
    /// The public URL: the load balancer's.
    url: String,
    lb: SocketAddr,
    ca: Vec<u8>,
    /// Where HAProxy's configuration, certificate and log are.
    files: tempfile::TempDir,
    // Dropped last: the servers stop before their schema goes.
    _schema: Schema,
}

/// The README's HAProxy configuration with this run's ports and files.
fn haproxy_config(lb: u16, servers: &[u16], ca: &Path, pem: &Path) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = fs::read_to_string(&path).expect("README.md");
    let section = &readme[readme.find("## Running several servers").expect("the README's section")..];
    let config = section
        .split("```haproxy\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section's ```haproxy block");
    let mut replacements = vec![
        (README_LB.to_owned(), format!("127.0.0.1:{lb}")),
        ("/etc/haproxy/keyward-ca.pem".to_owned(), ca.display().to_string()),
        ("/etc/haproxy/keyward.pem".to_owned(), pem.display().to_string()),
    ];
    for (readme_server, port) in README_SERVERS.iter().zip(servers) {
        replacements.push(((*readme_server).to_owned(), format!("127.0.0.1:{port}")));
    }
    let mut config = config.to_owned();
    for (from, to) in replacements {
        assert!(
            config.contains(&from),
            "the README's HAProxy configuration lacks {from}"
        );
        config = config.replace(&from, &to);
    }
    config
}

impl Cluster {
    async fn start() -> Self {
        let schema = Schema::new();
        let database = schema.url();
        let lb_port = free_port();
        let url = format!("https://localhost:{lb_port}");
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let first = Node::spawn(tempfile::tempdir().expect("temp dir"), ports[0], &url, &database);
        let mut nodes = vec![Some(first)];
        for port in &ports[1..] {
            let dir = tempfile::tempdir().expect("temp dir");
            let from = nodes[0].as_ref().expect("the first").dir.path().to_owned();
            fs::copy(from.join("master.key"), dir.path().join("master.key")).expect("master.key");
            copy_dir(&from.join("tls"), &dir.path().join("tls"));
            copy_dir(&from.join("admin"), &dir.path().join("admin"));
            nodes.push(Some(Node::spawn(dir, *port, &url, &database)));
        }
        let first_dir = nodes[0].as_ref().expect("the first").dir.path().to_owned();
        let ca = fs::read(first_dir.join("tls/ca.pem")).expect("ca.pem");
        let files = tempfile::tempdir().expect("temp dir");
        let ca_path = files.path().join("keyward-ca.pem");
        let pem_path = files.path().join("keyward.pem");
        fs::write(&ca_path, &ca).expect("write the CA");
        let mut pem = fs::read(first_dir.join("tls/server.pem")).expect("server.pem");
        pem.extend(fs::read(first_dir.join("tls/server.key")).expect("server.key"));
        fs::write(&pem_path, pem).expect("write keyward.pem");
        let config = files.path().join("keyward.cfg");
        // The test adds a stats socket to the README's configuration, where it reads how many
        // requests a server has in flight, and a log of every request (to HAProxy's stderr, the
        // file `haproxy.log`), where it reads which server each failed request was sent to.
        let stats = files.path().join("haproxy.sock");
        let text = format!(
            "global\n    stats socket {} mode 600 level admin\n    log stderr format raw local0 info\n\n{}",
            stats.display(),
            haproxy_config(lb_port, &ports, &ca_path, &pem_path).replacen(
                "defaults\n",
                "defaults\n    log global\n    option httplog\n",
                1
            )
        );
        fs::write(&config, text).expect("keyward.cfg");
        let haproxy = Command::new(haproxy_binary())
            .arg("-f")
            .arg(&config)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(files.path().join("haproxy.log")).expect("haproxy.log"))
            .spawn()
            .expect("haproxy starts (Debian: apt-get install haproxy)");
        let cluster = Self {
            nodes,
            haproxy,
            url,
            lb: SocketAddr::from(([127, 0, 0, 1], lb_port)),
            ca,
            files,
            _schema: schema,
        };
        cluster.wait_for_load_balancer().await;
        cluster
    }

    async fn wait_for_load_balancer(&self) {
        let client = self.client();
        let deadline = Instant::now() + START;
        loop {
            let ok = client
                .get(format!("{}/healthz", self.url))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "HAProxy does not answer within 30 s: {}",
                fs::read_to_string(self.files.path().join("haproxy.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A client of the load balancer (`localhost` is its address, the CA the servers').
    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(&self.ca))
            .resolve("localhost", self.lb)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    fn node(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("a running server")
    }

    /// The requests server `i` (`keyward{i+1}` in HAProxy) has in flight, from HAProxy's stats
    /// (`scur`, its current sessions).
    fn in_flight(&self, i: usize) -> u64 {
        use std::io::{Read, Write};
        let mut socket =
            std::os::unix::net::UnixStream::connect(self.files.path().join("haproxy.sock")).expect("stats socket");
        socket.write_all(b"show stat\n").expect("write");
        let mut csv = String::new();
        socket.read_to_string(&mut csv).expect("read");
        let name = format!("keyward{}", i + 1);
        csv.lines()
            .map(|line| line.split(',').collect::<Vec<_>>())
            .find(|fields| fields.len() > 4 && fields[0] == "servers" && fields[1] == name)
            .and_then(|fields| fields[4].parse().ok())
            .unwrap_or_else(|| panic!("no {name} in HAProxy's stats: {csv}"))
    }

    /// Every request HAProxy logged: the server it went to (`keyward2`, or `<NOSRV>`) and the
    /// status it answered (-1 when it closed the client's connection without one), from its
    /// `option httplog` lines (`... servers/keyward2 0/0/1/-1/3 -1 0 - - SH-- ...`).
    fn logged_requests(&self) -> Vec<(String, i32)> {
        let log = fs::read_to_string(self.files.path().join("haproxy.log")).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace().skip_while(|f| !f.starts_with("servers/"));
                let server = fields.next()?.strip_prefix("servers/")?.to_owned();
                let status = fields.nth(1)?.parse().ok()?;
                Some((server, status))
            })
            .collect()
    }

    /// Kills server `i` with SIGKILL.
    fn kill9(&mut self, i: usize) {
        let mut node = self.nodes[i].take().expect("a running server");
        node.child.kill().expect("SIGKILL");
        node.child.wait().ok();
    }

    /// A client assertion of the bootstrap admin for the token endpoint, valid ten minutes
    /// (Keyward accepts one re-sent, as both MSALs re-send them).
    fn admin_form(&self) -> Vec<(String, String)> {
        let dir = self.node(0).dir.path();
        let admin: Value =
            serde_json::from_slice(&fs::read(dir.join("admin/admin.json")).expect("admin.json")).expect("JSON");
        let app_id = admin["appId"].as_str().expect("appId").to_owned();
        let certificate = keyward_pki::read(&fs::read(dir.join("admin/admin.pem")).expect("admin.pem"), None)
            .expect("admin.pem")
            .certificates
            .remove(0);
        let key = keyward_pki::read(&fs::read(dir.join("admin/admin.key")).expect("admin.key"), None)
            .expect("admin.key")
            .private_key
            .expect("a key");
        let now = now();
        let claims = json!({"aud": format!("{}/contoso/oauth2/v2.0/token", self.url), "iss": app_id, "sub": app_id,
            "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 600});
        let header = json!({"alg": "RS256", "typ": "JWT", "x5t": certificate.thumbprints().x5t()});
        let assertion = sign(&key, Algorithm::Rs256, &header, &claims);
        [
            ("grant_type", "client_credentials"),
            ("client_id", app_id.as_str()),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// A management API token of the bootstrap admin, through the load balancer.
    async fn admin_token(&self) -> String {
        let response = self
            .client()
            .post(format!("{}/contoso/oauth2/v2.0/token", self.url))
            .form(&self.admin_form())
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("JSON");
        body["access_token"].as_str().expect("access_token").to_owned()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.haproxy.kill().ok();
        self.haproxy.wait().ok();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

fn haproxy_binary() -> PathBuf {
    ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("haproxy"))
}

/// The p-th percentile of sorted durations.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p).div_ceil(100).saturating_sub(1)]
}

/// Fifty applications created through each server in turn: each is seen by all three within
/// 100 ms at the 99th percentile on a machine that is not overloaded (PostgreSQL notifies the
/// others, which reload; without notifications the revision check every second would take
/// 500 ms on average).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_every_server_at_once() {
    let cluster = Cluster::start().await;
    let token = cluster.admin_token().await;
    let http = http_client(&cluster.ca);
    let nodes: Vec<String> = (0..3).map(|i| cluster.node(i).url()).collect();
    let mut delays = Vec::new();
    for i in 0..50 {
        let writer = &nodes[i % 3];
        let response = http
            .post(format!("{writer}/v1.0/applications"))
            .bearer_auth(&token)
            .json(&json!({"displayName": format!("propagation {i}")}))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 201);
        let written = Instant::now();
        let id = response.json::<Value>().await.expect("JSON")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let sees = |reader: String| {
            let (http, token, id) = (&http, &token, &id);
            async move {
                loop {
                    let status = http
                        .get(format!("{reader}/v1.0/applications/{id}"))
                        .bearer_auth(token)
                        .send()
                        .await
                        .expect("GET")
                        .status();
                    if status == 200 {
                        return;
                    }
                    assert_eq!(status, 404);
                    assert!(
                        written.elapsed() < Duration::from_secs(5),
                        "{reader} did not see {id} within 5 s"
                    );
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        };
        let mut readers = nodes.iter().filter(|n| *n != writer).cloned();
        let (first, second) = (readers.next().expect("a reader"), readers.next().expect("another"));
        tokio::join!(sees(first), sees(second));
        delays.push(written.elapsed());
    }
    delays.sort_unstable();
    let (median, p99) = (percentile(&delays, 50), percentile(&delays, 99));
    eprintln!(
        "a change seen by all three servers: median {:.1} ms, p99 {:.1} ms, max {:.1} ms (50 changes)",
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        delays[delays.len() - 1].as_secs_f64() * 1e3
    );
    // Measured here (debug build, 2 cores): median 7.5-8.4 ms and p99 11-16 ms with nothing
    // else running; median 22-27 ms and p99 85-89 ms at a load average of 14; median 59 ms and
    // p99 388 ms at 21. The bounds
    // leave room for a busy machine and still tell notifications from the revision check,
    // which alone would make the median about 500 ms and the p99 about 1 s.
    assert!(median < Duration::from_millis(250), "median {median:?}, p99 {p99:?}");
    assert!(p99 < Duration::from_millis(1000), "median {median:?}, p99 {p99:?}");
}

/// What a load worker saw.
#[derive(Default)]
struct Tally {
    in_flight: AtomicU64,
    ok: AtomicU64,
    ok_after_kill: AtomicU64,
    failures: Mutex<Vec<String>>,
    /// The ids of applications whose creation was acknowledged (201).
    acknowledged: Mutex<Vec<String>>,
}

/// A token and write load through HAProxy; one server is killed with SIGKILL midway. At most
/// the requests in flight on the killed server at that moment fail (HAProxy's `scur` for it,
/// read just before the kill); HAProxy sends the next ones to the other two, which answer all,
/// and every acknowledged application exists afterwards.
///
/// This holds with the README's `option http-server-close`: without it, HAProxy kept idle TLS
/// connections to each server and sent requests over the killed server's before it noticed they
/// were closed; those failed too (4-5 failures with 1 in flight, measured), where a new
/// connection is refused and the request goes to another server (`retries`, `redispatch`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_loses_no_acknowledged_write() {
    let mut cluster = Cluster::start().await;
    let token = Arc::new(cluster.admin_token().await);
    let form = Arc::new(cluster.admin_form());
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (client, url) = (cluster.client(), cluster.url.clone());
        let (token, form, tally, stop, killed) = (
            Arc::clone(&token),
            Arc::clone(&form),
            Arc::clone(&tally),
            Arc::clone(&stop),
            Arc::clone(&killed),
        );
        workers.spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Acquire) {
                n += 1;
                // Two of three workers ask for tokens, one creates applications.
                let writes = worker % 3 == 2;
                let request = if writes {
                    client
                        .post(format!("{url}/v1.0/applications"))
                        .bearer_auth(token.as_str())
                        .json(&json!({"displayName": format!("load {worker}.{n}")}))
                } else {
                    client
                        .post(format!("{url}/contoso/oauth2/v2.0/token"))
                        .form(form.as_ref())
                };
                tally.in_flight.fetch_add(1, Ordering::AcqRel);
                let result = request.send().await;
                let outcome = match result {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body: Value = response.json().await.unwrap_or(Value::Null);
                        match (writes, status) {
                            (true, 201) => {
                                let id = body["id"].as_str().expect("id").to_owned();
                                tally.acknowledged.lock().expect("lock").push(id);
                                Ok(())
                            }
                            (false, 200) => Ok(()),
                            _ => Err(format!("HTTP {status}: {body}")),
                        }
                    }
                    Err(e) => Err(format!("{e:?}")),
                };
                tally.in_flight.fetch_sub(1, Ordering::AcqRel);
                match outcome {
                    Ok(()) => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                        if killed.load(Ordering::Acquire) {
                            tally.ok_after_kill.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => tally.failures.lock().expect("lock").push(e),
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let in_flight_at_kill = tally.in_flight.load(Ordering::Acquire);
    let on_killed_at_kill = cluster.in_flight(1);
    let before_kill = tally.ok.load(Ordering::Relaxed);
    cluster.kill9(1);
    killed.store(true, Ordering::Release);
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::Release);
    workers.join_all().await;

    let failures = tally.failures.lock().expect("lock").clone();
    let after_kill = tally.ok_after_kill.load(Ordering::Relaxed);
    eprintln!(
        "kill -9 under load: {before_kill} requests served before, {after_kill} after, {} failed, {in_flight_at_kill} in flight at the kill, {on_killed_at_kill} on the killed server: {failures:?}",
        failures.len()
    );
    assert!(
        before_kill > 0 && after_kill > 0,
        "the load ran on both sides of the kill"
    );
    assert!(
        failures.len() as u64 <= on_killed_at_kill,
        "{} failures, {on_killed_at_kill} requests in flight on the killed server at the kill: {failures:#?}",
        failures.len()
    );
    // Every request HAProxy logged was answered by a server with success: it answered none
    // with an error of its own (no 502/503), and the others failed nothing. (A request lost
    // with the killed server is not logged: HAProxy closes its client's connection without an
    // answer, hyper's `IncompleteMessage`.)
    let logged = cluster.logged_requests();
    let failed: Vec<_> = logged
        .iter()
        .filter(|(_, status)| !matches!(status, 200 | 201))
        .collect();
    assert!(
        logged.len() as u64 >= before_kill + after_kill,
        "HAProxy logs every request"
    );
    assert!(failed.is_empty(), "{failed:?}");

    // Every acknowledged write is there, read through the load balancer.
    let acknowledged = tally.acknowledged.lock().expect("lock").clone();
    assert!(!acknowledged.is_empty());
    let client = cluster.client();
    for id in &acknowledged {
        let status = client
            .get(format!("{}/v1.0/applications/{id}", cluster.url))
            .bearer_auth(token.as_str())
            .send()
            .await
            .expect("GET")
            .status();
        assert_eq!(status, 200, "application {id}, acknowledged, is lost");
    }
}
