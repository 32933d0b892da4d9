//! A real server with two tenants, contoso (the default) and fabrikam: in this process through
//! `keyward-server` ([`Server::start`]), or a `keyward serve` process ([`Server::spawn`]) for the
//! tests that stop it with SIGTERM, kill it with SIGKILL or restart it.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyward_server::ServeSettings;
use serde_json::Value;

/// How long a server may take to start.
const START: Duration = Duration::from_secs(30);

/// A running server on a data directory of its own.
pub struct Server {
    running: Option<Running>,
    dir: tempfile::TempDir,
    pub url: String,
    http: reqwest::Client,
}

/// Where the server runs.
enum Running {
    /// In this process, on a tokio runtime of its own thread.
    InProcess {
        stop: tokio::sync::oneshot::Sender<()>,
        thread: std::thread::JoinHandle<Result<(), String>>,
    },
    /// A `keyward serve` process.
    Process(Child),
}

impl Server {
    /// A server in this process on a fresh data directory.
    pub fn start() -> Self {
        Self::start_in(tempfile::tempdir().expect("temp dir"))
    }

    /// A server in this process on an existing data directory.
    pub fn start_in(dir: tempfile::TempDir) -> Self {
        Self::start_with(dir, |settings| settings)
    }

    /// A server in this process, its settings changed by `configure` (database, token
    /// lifetime, ...).
    pub fn start_with(dir: tempfile::TempDir, configure: impl FnOnce(ServeSettings) -> ServeSettings) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        Self::start_on(dir, listener, configure)
    }

    /// A server in this process on `listener`.
    pub fn start_on(
        dir: tempfile::TempDir,
        listener: TcpListener,
        configure: impl FnOnce(ServeSettings) -> ServeSettings,
    ) -> Self {
        let settings = configure(
            ServeSettings::new(dir.path())
                .tenants(["contoso", "fabrikam"])
                .expect("tenants"),
        );
        let (started, ready) = std::sync::mpsc::channel::<Result<String, String>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("keyward-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async move {
                    let shutdown = async {
                        stopped.await.ok();
                    };
                    let server = match keyward_server::start(settings, listener, shutdown).await {
                        Ok(server) => server,
                        Err(e) => {
                            let message = format!("{:#}", anyhow::Error::from(e));
                            started.send(Err(message.clone())).ok();
                            return Err(message);
                        }
                    };
                    started.send(Ok(server.public_url().to_owned())).ok();
                    server.wait().await.map_err(|e| e.to_string())
                })
            })
            .expect("a thread for the server");
        let url = match ready.recv_timeout(START) {
            Ok(Ok(url)) => url,
            Ok(Err(e)) => panic!("the server did not start: {e}"),
            Err(_) => panic!("the server did not start within {} s", START.as_secs()),
        };
        Self::new(dir, url, Running::InProcess { stop, thread })
    }

    /// A `keyward serve` process on a fresh data directory.
    pub fn spawn() -> Self {
        Self::spawn_in(tempfile::tempdir().expect("temp dir"))
    }

    /// A `keyward serve` process on an existing data directory (for restart tests).
    pub fn spawn_in(dir: tempfile::TempDir) -> Self {
        Self::spawn_with(dir, &[])
    }

    /// A `keyward serve` process with extra arguments.
    pub fn spawn_with(dir: tempfile::TempDir, extra: &[&str]) -> Self {
        let info = dir.path().join("server.json");
        std::fs::remove_file(&info).ok();
        // A caller's own --listen replaces the default.
        let listen = if extra.contains(&"--listen") {
            &[][..]
        } else {
            &["--listen", "127.0.0.1:0"][..]
        };
        let child = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .arg("serve")
            .args(listen)
            .args(["--tenant", "contoso", "--tenant", "fabrikam", "--data"])
            .arg(dir.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("keyward serve starts");
        let deadline = Instant::now() + START;
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(&info)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["pid"] == child.id()
            {
                break v["url"].as_str().expect("url").to_owned();
            }
            assert!(Instant::now() < deadline, "the server did not start within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        };
        Self::new(dir, url, Running::Process(child))
    }

    fn new(dir: tempfile::TempDir, url: String, running: Running) -> Self {
        let ca = std::fs::read(dir.path().join("tls/ca.pem")).expect("ca.pem");
        let http = http_client(&ca);
        Self {
            running: Some(running),
            dir,
            url,
            http,
        }
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `keyward ARGS --data DIR --json` and returns its JSON.
    pub fn keyward(&self, args: &[&str]) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(args)
            .arg("--data")
            .arg(self.data())
            .arg("--json")
            .stdin(Stdio::null())
            .output()
            .expect("keyward runs");
        assert!(
            out.status.success(),
            "keyward {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// Stops the server (a process with SIGTERM) and waits; returns the data directory.
    pub fn stop(mut self) -> tempfile::TempDir {
        match self.running.take() {
            Some(Running::Process(mut child)) => {
                Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status()
                    .expect("kill runs");
                let status = child.wait().expect("server exits");
                assert!(status.success(), "SIGTERM must be a clean shutdown, got {status}");
            }
            Some(Running::InProcess { stop, thread }) => {
                stop.send(()).ok();
                let stopped = thread.join().expect("the server thread");
                assert!(stopped.is_ok(), "a clean shutdown, got {stopped:?}");
            }
            None => {}
        }
        self.dir_take()
    }

    fn dir_take(&mut self) -> tempfile::TempDir {
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"))
    }

    /// Kills the server process with SIGKILL; returns the data directory.
    pub fn kill9(mut self) -> tempfile::TempDir {
        match self.running.take() {
            Some(Running::Process(mut child)) => {
                child.kill().expect("SIGKILL");
                child.wait().ok();
            }
            Some(Running::InProcess { .. }) => panic!("kill -9 needs a process: start it with Server::spawn"),
            None => {}
        }
        self.dir_take()
    }

    pub fn token_endpoint(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.url)
    }

    /// POSTs a token request; returns the status and the JSON body.
    pub async fn token(&self, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
        self.post_form(&self.token_endpoint(tenant), form, None).await
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
        let mut request = self.http.post(url).form(form);
        if let Some((user, password)) = basic {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await.expect("token request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Tokens the server has issued since it started, from `/metrics`.
    pub async fn tokens_issued(&self) -> u64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix("keyward_token_requests_total{result=\"issued\"} "))
            .and_then(|n| n.trim().parse().ok())
            .expect("the issued counter")
    }

    /// GETs `path`, with a bearer token if given; returns the status and the body.
    pub async fn get_text(&self, path: &str, bearer: Option<&str>) -> (u16, String) {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("GET");
        let status = response.status().as_u16();
        (status, response.text().await.expect("text"))
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.data().join("tls/ca.pem")).expect("ca.pem")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON")
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> u16 {
        let response = self
            .http
            .patch(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await;
        response.expect("request").status().as_u16()
    }

    /// POSTs JSON with a bearer token; returns the status and the JSON body (`Null` if none).
    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs raw bytes on a connection of its own; `None` when the server closed it before
    /// reading everything (what it may do after answering 413 early).
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Option<u16> {
        let ca = std::fs::read(self.data().join("tls/ca.pem")).expect("ca.pem");
        let response = http_client(&ca)
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await;
        response.ok().map(|r| r.status().as_u16())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match self.running.take() {
            Some(Running::Process(mut child)) => {
                child.kill().ok();
                child.wait().ok();
            }
            Some(Running::InProcess { stop, thread }) => {
                stop.send(()).ok();
                thread.join().ok();
            }
            None => {}
        }
    }
}

/// An HTTPS client that trusts `ca_pem` only.
pub fn http_client(ca_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_config(ca_pem))
        .build()
        .expect("client")
}

/// A TLS client configuration that trusts `ca_pem` only.
pub fn tls_config(ca_pem: &[u8]) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in keyward_pki::read(ca_pem, None).expect("CA").certificates {
        roots
            .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
            .expect("root");
    }
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}
