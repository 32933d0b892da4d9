//! Expiry warning events (issue 12): a credential inside the warning window raises exactly one
//! warning (however many checks run, and not again after a restart): an audit row on its
//! application's page and a JSON POST to a local HTTPS webhook (certificates made by the real
//! openssl CLI) whose first attempt is refused and whose retry succeeds. A credential outside
//! the window raises nothing. The token endpoint answers while the webhook hangs.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use keyward_authority::clock::ShiftedClock;
use keyward_pki::KeyType;
use keyward_server::ServeSettings;
use serde_json::Value;

use crate::admin::admin;
use crate::common::{Server, certificate};

/// How the receiver answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// 503 to the first POST, 200 to the others.
    RefuseFirst,
    /// Never answers.
    Hang,
}

/// A webhook receiver over HTTPS on 127.0.0.1, its certificate issued by a CA made with openssl.
struct Receiver {
    url: String,
    ca_pem: Vec<u8>,
    state: Arc<Received>,
    handle: axum_server::Handle,
}

#[derive(Default)]
struct Received {
    attempts: AtomicU32,
    bodies: Mutex<Vec<Value>>,
}

struct ReceiverState {
    mode: Mode,
    received: Arc<Received>,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Receiver {
    fn start(dir: &Path, mode: Mode) -> Self {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "hook-ca.key",
                "-out",
                "hook-ca.pem",
                "-days",
                "30",
                "-subj",
                "/CN=Webhook Test CA",
            ],
        );
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "hook.key",
                "-out",
                "hook.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        );
        std::fs::write(
            dir.join("hook.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "hook.csr",
                "-CA",
                "hook-ca.pem",
                "-CAkey",
                "hook-ca.key",
                "-CAcreateserial",
                "-out",
                "hook.pem",
                "-days",
                "30",
                "-extfile",
                "hook.ext",
            ],
        );
        let chain = keyward_pki::read(&std::fs::read(dir.join("hook.pem")).unwrap(), None)
            .unwrap()
            .certificates;
        let chain = chain
            .iter()
            .map(|c| rustls::pki_types::CertificateDer::from(c.der().to_vec()))
            .collect();
        let key = keyward_pki::read(&std::fs::read(dir.join("hook.key")).unwrap(), None)
            .unwrap()
            .private_key
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.pkcs8_der().to_vec().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let received = Arc::new(Received::default());
        let state = Arc::new(ReceiverState {
            mode,
            received: Arc::clone(&received),
        });
        let app = axum::Router::new()
            .route("/hooks/keyward", axum::routing::post(receive))
            .with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let handle = axum_server::Handle::new();
        let serve = axum_server::from_tcp_rustls(
            listener,
            axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
        )
        .handle(handle.clone())
        .serve(app.into_make_service());
        tokio::spawn(serve);
        Self {
            url: format!("https://127.0.0.1:{port}/hooks/keyward"),
            ca_pem: std::fs::read(dir.join("hook-ca.pem")).unwrap(),
            state: received,
            handle,
        }
    }

    fn attempts(&self) -> u32 {
        self.state.attempts.load(Ordering::SeqCst)
    }

    fn delivered(&self) -> Vec<Value> {
        self.state.bodies.lock().unwrap().clone()
    }

    /// Waits up to 15 s for `n` attempts.
    async fn wait_for_attempts(&self, n: u32) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.attempts() < n {
            assert!(
                Instant::now() < deadline,
                "{} webhook attempts, expected {n}",
                self.attempts()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, body: Bytes) -> StatusCode {
    let n = state.received.attempts.fetch_add(1, Ordering::SeqCst) + 1;
    match state.mode {
        Mode::Hang => std::future::pending().await,
        Mode::RefuseFirst if n == 1 => StatusCode::SERVICE_UNAVAILABLE,
        Mode::RefuseFirst => {
            let json = serde_json::from_slice(&body).expect("a JSON body");
            state.received.bodies.lock().unwrap().push(json);
            StatusCode::NO_CONTENT
        }
    }
}

/// The settings of a server that warns through `receiver`, checking every 100 ms with `clock`.
fn watched(settings: ServeSettings, receiver: &Receiver, clock: &Arc<ShiftedClock>) -> ServeSettings {
    settings
        .expiry_clock(clock.clone(), Duration::from_millis(100))
        .expiry_webhook(&receiver.url)
        .unwrap()
        .expiry_webhook_ca(&receiver.ca_pem)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_warning_per_credential_to_the_audit_log_and_the_webhook_retried_and_none_after_a_restart() {
    let work = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(work.path(), Mode::RefuseFirst);
    let clock = Arc::new(ShiftedClock::new());
    let server = Server::start_with(tempfile::tempdir().unwrap(), |s| watched(s, &receiver, &clock));
    let app = server.keyward(&["app", "create", "--name", "rotating-app"]);
    let object_id = app["id"].as_str().unwrap().to_owned();
    let (_, _, soon) = certificate(server.data(), "soon", KeyType::Rsa2048, 89);
    let soon_key = server.keyward(&["app", "cert", "add", "rotating-app", soon.to_str().unwrap()]);
    let (_, _, later) = certificate(server.data(), "later", KeyType::Rsa2048, 120);
    let later_key = server.keyward(&["app", "cert", "add", "rotating-app", later.to_str().unwrap()]);
    let soon_id = soon_key["keyId"].as_str().expect("keyId").to_owned();
    let later_id = later_key["keyId"].as_str().expect("keyId").to_owned();

    // 89 and 120 days out: outside the 30-day window, whatever the number of checks.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.attempts(), 0);

    // 60 days on: the first is 29 days out, the second 60.
    clock.set_offset(time::Duration::days(60));
    receiver.wait_for_attempts(2).await;
    // Many more checks: nothing more.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.attempts(), 2, "one refused attempt, one retry");
    let delivered = receiver.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let warning = &delivered[0];
    assert_eq!(warning["event"], "credential.expiring");
    assert_eq!(warning["tenant"], "contoso");
    assert_eq!(warning["appId"], app["appId"]);
    assert_eq!(warning["keyId"], soon_id.as_str());
    assert_eq!(warning["kind"], "certificate");
    assert!(matches!(warning["daysLeft"].as_i64(), Some(28 | 29)), "{warning}");
    assert!(
        warning["endDateTime"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{warning}"
    );

    // One audit row, on the application's page.
    let browser = admin(&server, "ops@example.com", "app-admin").await;
    let page = browser.get(&format!("/admin/apps/{object_id}")).await;
    assert_eq!(page.body.matches("Keyward (expiry watch)").count(), 1, "{}", page.body);
    assert!(page.body.contains(&soon_id));
    assert!(!page.body.contains(&later_id), "60 days out raises nothing");

    // A restart finds the audit row: no second warning.
    let dir = server.stop();
    let server = Server::start_with(dir, |s| watched(s, &receiver, &clock));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(receiver.attempts(), 2);
    let browser = admin(&server, "ops2@example.com", "app-admin").await;
    let page = browser.get(&format!("/admin/apps/{object_id}")).await;
    assert_eq!(page.body.matches("Keyward (expiry watch)").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_answers_while_the_webhook_hangs() {
    let work = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(work.path(), Mode::Hang);
    let clock = Arc::new(ShiftedClock::new());
    let server = Server::start_with(tempfile::tempdir().unwrap(), |s| watched(s, &receiver, &clock));
    // Its certificate is valid 30 days: inside the window at once.
    let client = server.client("hurried-app");
    receiver.wait_for_attempts(1).await;
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        let (status, body) = server.token("contoso", &client.form(&client.assertion(&server))).await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(status, 200, "{body}");
    }
    assert!(
        slowest < Duration::from_secs(2),
        "a token took {slowest:?} while the webhook hung"
    );
    assert_eq!(
        receiver.attempts(),
        1,
        "the first attempt is still waiting for its answer"
    );
}
