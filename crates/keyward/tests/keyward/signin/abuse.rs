//! Abuse of the sign-in form that costs the server a password hash each time: bursts of
//! requests the client cancels as soon as they are sent, and many guesses sent at once.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use super::browser::Browser;
use super::flow::*;
use crate::common::{Server, assert_oauth_error};

/// The server's process id, from the `server.json` it writes.
fn server_pid(server: &Server) -> u32 {
    let info = std::fs::read_to_string(server.data().join("server.json")).expect("server.json");
    let info: serde_json::Value = serde_json::from_str(&info).expect("JSON");
    info["pid"].as_u64().expect("pid") as u32
}

/// The server's resident memory in bytes and its thread count, from `/proc/PID/status`.
fn rss_and_threads(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {status}"))
    };
    (field("VmRSS:") * 1024, field("Threads:"))
}

/// Samples the server's memory and threads in the background; the peaks so far.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak_rss: Arc<AtomicU64>,
    peak_threads: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_rss = Arc::new(AtomicU64::new(0));
        let peak_threads = Arc::new(AtomicU64::new(0));
        let thread = std::thread::spawn({
            let (stop, peak_rss, peak_threads) = (stop.clone(), peak_rss.clone(), peak_threads.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    let (rss, threads) = rss_and_threads(pid);
                    peak_rss.fetch_max(rss, Ordering::Relaxed);
                    peak_threads.fetch_max(threads, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        });
        Self {
            stop,
            peak_rss,
            peak_threads,
            thread: Some(thread),
        }
    }

    /// Stops sampling: the peak memory (bytes) and the peak thread count.
    fn stop(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("sampler");
        }
        (
            self.peak_rss.load(Ordering::Relaxed),
            self.peak_threads.load(Ordering::Relaxed),
        )
    }
}

/// Sends sign-in POSTs on raw TLS connections (HTTP/1.1) and hangs up a few milliseconds
/// after each request is out, without reading the answer: what a client does that cancels.
struct HangUp {
    address: std::net::SocketAddr,
    name: ServerName<'static>,
    tls: Arc<rustls::ClientConfig>,
    host: String,
    path: String,
    cookies: String,
    fields: Vec<(String, String)>,
}

impl HangUp {
    /// Prepares from a sign-in page the browser holds (its form and the cookies it set).
    async fn new(server: &Server, browser: &Browser, app: &WebApp) -> Self {
        let (_, challenge) = pkce();
        let page = browser.get(&authorize_url(app, &challenge, &[])).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let form = page.form();
        let url = reqwest::Url::parse(&browser.url(&form.action)).expect("form action");
        let host = url.host_str().expect("host").to_owned();
        let port = url.port_or_known_default().expect("port");
        let address = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .expect("address")
            .next()
            .expect("an address");
        let cookies = browser
            .cookie_names()
            .iter()
            .map(|name| format!("{name}={}", browser.cookie(name).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; ");
        let mut roots = rustls::RootCertStore::empty();
        for cert in keyward_pki::read(&server.ca_pem(), None).expect("CA").certificates {
            roots
                .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
                .expect("root");
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            address,
            name: ServerName::try_from(host.clone()).expect("server name"),
            tls: Arc::new(tls),
            host: format!("{host}:{port}"),
            path: url.path().to_owned(),
            cookies,
            fields: form.fields,
        }
    }

    /// A connection with its TLS handshake done, ready for a request.
    fn connect(&self) -> Option<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
        let mut tcp = TcpStream::connect(self.address).ok()?;
        let mut connection = rustls::ClientConnection::new(self.tls.clone(), self.name.clone()).ok()?;
        while connection.is_handshaking() {
            connection.complete_io(&mut tcp).ok()?;
        }
        Some(rustls::StreamOwned::new(connection, tcp))
    }

    /// One POST of `email` and `password` on `stream`, closed `after` it was sent. Whether it
    /// was sent.
    fn send(
        &self,
        mut stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
        email: &str,
        password: &str,
        after: Duration,
    ) -> bool {
        let mut fields = self.fields.clone();
        for (name, value) in [("email", email), ("password", password)] {
            match fields.iter_mut().find(|(n, _)| n == name) {
                Some(field) => field.1 = value.to_owned(),
                None => fields.push((name.to_owned(), value.to_owned())),
            }
        }
        let mut encoder = reqwest::Url::parse("https://x/").expect("URL");
        encoder.query_pairs_mut().extend_pairs(&fields);
        let body = encoder.query().unwrap_or_default().to_owned();
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.path,
            self.host,
            self.cookies,
            body.len()
        );
        if stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .is_err()
        {
            return false;
        }
        std::thread::sleep(after);
        // Dropped unread: the TCP connection closes under the request.
        true
    }
}

/// 200 sign-ins with wrong passwords, each abandoned a few milliseconds after it was sent,
/// must neither pile up password hashes (memory, threads) nor go uncounted: afterwards the
/// address is throttled, and even the right password of a real account is refused.
#[tokio::test]
async fn cancelled_sign_ins_are_bounded_and_counted() {
    // A process of its own: its memory and threads are the server's alone.
    let server = Server::spawn();
    let app = web_app(&server, "burst");
    let browser = Browser::new(&server);
    let (_, challenge) = pkce();
    code_of(&sign_up(&browser, &app, &challenge, "burst@example.com", "B").await);
    browser.forget_cookies();
    let hang_up = Arc::new(HangUp::new(&server, &browser, &app).await);

    let pid = server_pid(&server);
    let (rss_before, threads_before) = rss_and_threads(pid);
    let sampler = Sampler::start(pid);
    let started = Instant::now();
    // Eight clients, each sending 25 requests one after another, each on a new connection.
    let senders: Vec<_> = (0..8)
        .map(|sender| {
            let hang_up = hang_up.clone();
            std::thread::spawn(move || {
                (0..25)
                    .filter(|i| {
                        hang_up.connect().is_some_and(|connection| {
                            hang_up.send(
                                connection,
                                &format!("spray{sender}-{i}@example.com"),
                                &format!("wrong password {sender}-{i}"),
                                Duration::from_millis(10),
                            )
                        })
                    })
                    .count()
            })
        })
        .collect();
    let sent: usize = senders.into_iter().map(|s| s.join().expect("sender")).sum();
    assert!(sent >= 190, "only {sent} of 200 requests could be sent");
    let burst = started.elapsed();
    // What the burst started has had time to finish; memory must have come back by now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (peak_rss, peak_threads) = sampler.stop();
    let (rss_after, threads_after) = rss_and_threads(pid);
    let mib = |bytes: u64| bytes / (1 << 20);
    eprintln!(
        "burst of {sent} in {burst:?}: RSS {} MiB -> peak {} MiB -> {} MiB after; threads {threads_before} -> \
         peak {peak_threads} -> {threads_after}",
        mib(rss_before),
        mib(peak_rss),
        mib(rss_after),
    );
    // Each hash in progress holds 19 MiB; the server runs as many at once as it has cores.
    // Allow those, plus a wide margin for the rest of the server (about 75 MiB and 6 threads
    // on two cores). The old server, which let cancelled hashes run on past the limit, peaked
    // at 250-530 MiB and 10-14 threads here on two cores, and kept that memory; with more
    // cores and faster clients, outside reviewers saw gigabytes and 51 threads.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let rss_bound = (150 + 20 * cores) << 20;
    assert!(peak_rss < rss_bound, "peak RSS {} MiB", mib(peak_rss));
    assert!(rss_after < rss_bound, "RSS after the burst {} MiB", mib(rss_after));
    let threads_bound = 8 + 2 * cores;
    assert!(peak_threads <= threads_bound, "peak threads {peak_threads}");

    // The attempts counted: the address is locked, for the right password of a real account too.
    let (_, challenge) = pkce();
    let page = sign_in(&browser, &app, &challenge, "burst@example.com", PASSWORD).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.error_message().unwrap().contains("Too many"), "{}", page.body);
}

/// 30 wrong passwords sent at once against one account: only the account's free attempts
/// (5) are checked, the others are refused unchecked, and then the right password is refused.
#[tokio::test]
async fn concurrent_guesses_cannot_outrun_the_throttle() {
    let server = Server::start();
    let app = web_app(&server, "race");
    let browser = Browser::new(&server);
    let (_, challenge) = pkce();
    code_of(&sign_up(&browser, &app, &challenge, "race@example.com", "R").await);

    // Thirty browsers, each with its page loaded and its connection open, submit together.
    let mut loaded = Vec::new();
    for _ in 0..30 {
        let browser = Browser::new(&server);
        let page = browser.get(&authorize_url(&app, &challenge, &[])).await;
        assert_eq!(page.status, 200, "{}", page.body);
        loaded.push((Arc::new(browser), page));
    }
    let guesses: Vec<_> = loaded
        .into_iter()
        .enumerate()
        .map(|(i, (browser, page))| {
            tokio::spawn(async move {
                let password = format!("wrong guess {i}");
                let answer = browser
                    .submit(&page, &[("email", "race@example.com"), ("password", &password)])
                    .await;
                answer.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.expect("guess"));
    }
    let checked = statuses.iter().filter(|s| **s == 400).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 30, "{statuses:?}");
    assert!(
        checked <= 5,
        "{checked} of 30 simultaneous guesses were checked: {statuses:?}"
    );

    browser.forget_cookies();
    let page = sign_in(&browser, &app, &challenge, "race@example.com", PASSWORD).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.location().is_none());
}

/// Plain-HTTP redirect URIs are for the loopback hosts exactly: names that merely start like
/// one are refused at registration, with the reason, and nothing is registered.
#[tokio::test]
async fn plain_http_redirect_uris_to_other_hosts_than_loopback_are_refused() {
    let server = Server::start();
    for (i, evil) in [
        "http://localhost.evil.example/cb",
        "http://localhost@evil.example/cb",
        "http://127.0.0.1.nip.io/cb",
    ]
    .into_iter()
    .enumerate()
    {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["app", "create", "--name", &format!("evil-{i}"), "--redirect-uri", evil])
            .arg("--data")
            .arg(server.data())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("keyward runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{evil} was registered");
        assert!(
            stderr.contains("only for localhost, 127.0.0.1 and [::1]"),
            "{evil}: {stderr}"
        );
    }
    let listed = server.keyward(&["app", "list"]).to_string();
    assert!(!listed.contains("evil-"), "{listed}");
    // The loopback hosts themselves are accepted, and sign-in sends codes there.
    let created = server.keyward(&[
        "app",
        "create",
        "--name",
        "native",
        "--redirect-uri",
        "http://127.0.0.1:8400/cb",
        "--redirect-uri",
        "http://[::1]:8400/cb",
    ]);
    let app = WebApp {
        app_id: created["appId"].as_str().expect("appId").to_owned(),
        secret: None,
        redirect: "http://[::1]:8400/cb".to_owned(),
    };
    let browser = Browser::new(&server);
    let (_, challenge) = pkce();
    let page = browser.get(&authorize_url(&app, &challenge, &[])).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

/// A code or refresh token presented by another client than its own is refused and changes
/// nothing: the code is not used up, the refresh token's family is not revoked, and the
/// client it was issued to goes on as if nothing happened.
#[tokio::test]
async fn another_clients_code_or_refresh_token_is_refused_without_side_effects() {
    let server = Server::start();
    let owner = web_app(&server, "owner");
    let thief = web_app(&server, "thief");
    let browser = Browser::new(&server);
    let (verifier, challenge) = pkce();
    let code = code_of(&sign_up(&browser, &owner, &challenge, "owner@example.com", "O").await);

    let stolen = redeem(&server, &thief, &code, Some(&verifier)).await;
    assert_oauth_error(&stolen, 400, "invalid_grant", 700005);
    let (status, tokens) = redeem(&server, &owner, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "the code was used up by another client: {tokens}");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh_token").to_owned();

    let stolen = refresh(&server, &thief, &refresh_token).await;
    assert_oauth_error(&stolen, 400, "invalid_grant", 70000);
    // Nor is a code redeemed before a replay when another client presents it.
    let replayed = redeem(&server, &thief, &code, Some(&verifier)).await;
    assert_oauth_error(&replayed, 400, "invalid_grant", 700005);
    let (status, tokens) = refresh(&server, &owner, &refresh_token).await;
    assert_eq!(status, 200, "the family was revoked by another client: {tokens}");
    let next = tokens["refresh_token"].as_str().expect("refresh_token");
    let (status, tokens) = refresh(&server, &owner, next).await;
    assert_eq!(status, 200, "{tokens}");
}
