//! Retries on 429 and 5xx, through a TLS proxy in front of a real server that answers the first
//! token requests with throttling errors, as Entra does under load.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use keyward_client::{ConfidentialClient, Error, RetryPolicy};

use crate::common::*;

/// What the proxy answers the first token requests with.
#[derive(Clone, Copy)]
enum Failure {
    /// 429 with `Retry-After: 1`.
    Throttled,
    /// 503 without `Retry-After`.
    Unavailable,
}

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    failures: u32,
    failure: Failure,
    token_requests: AtomicU32,
    armed: AtomicBool,
}

/// A real server behind a proxy at its public URL: the proxy presents the server's own TLS
/// certificate and forwards everything, except that the first `failures` token requests fail.
struct Flaky {
    server: Server,
    proxy: Arc<Proxy>,
    handle: axum_server::Handle,
}

impl Flaky {
    fn start(failures: u32, failure: Failure) -> Self {
        let proxy_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy_port = proxy_listener.local_addr().unwrap().port();
        let server_listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server_port = server_listener.local_addr().unwrap().port();
        let public = format!("https://localhost:{proxy_port}");
        let server = Server::start_on(tempfile::tempdir().unwrap(), server_listener, |settings| {
            settings.public_url(&public).unwrap()
        });
        let tls = tls_config(server.data());
        let proxy = Arc::new(Proxy {
            upstream: format!("https://localhost:{server_port}"),
            http: reqwest::Client::builder()
                .use_preconfigured_tls(client_tls(&server.ca_pem()))
                .build()
                .unwrap(),
            failures,
            failure,
            token_requests: AtomicU32::new(0),
            armed: AtomicBool::new(false),
        });
        let app = axum::Router::new().fallback(forward).with_state(Arc::clone(&proxy));
        let handle = axum_server::Handle::new();
        proxy_listener.set_nonblocking(true).unwrap();
        let serve =
            axum_server::from_tcp_rustls(proxy_listener, axum_server::tls_rustls::RustlsConfig::from_config(tls))
                .handle(handle.clone())
                .serve(app.into_make_service());
        tokio::spawn(serve);
        Self { server, proxy, handle }
    }

    /// Registers a client app (through the proxy, untouched), then arms the failures.
    fn client(&self, name: &str) -> Client {
        let registered = self.server.client(name);
        self.proxy.armed.store(true, Ordering::SeqCst);
        registered
    }

    fn token_requests(&self) -> u32 {
        self.proxy.token_requests.load(Ordering::SeqCst)
    }
}

impl Drop for Flaky {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Armed once the test's apps are registered: the CLI's own token requests go through.
    if proxy.armed.load(Ordering::SeqCst) && uri.path().ends_with("/oauth2/v2.0/token") {
        let n = proxy.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= proxy.failures {
            let body = r#"{"error":"temporarily_unavailable","error_description":"AADSTS50196: The server is busy.","error_codes":[50196]}"#;
            return match proxy.failure {
                Failure::Throttled => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], body).into_response(),
                Failure::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, body).into_response(),
            };
        }
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = proxy
        .http
        .request(method, format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let upstream = request.send().await.unwrap();
    let status = StatusCode::from_u16(upstream.status().as_u16()).unwrap();
    let content_type = upstream.headers().get("content-type").cloned();
    let bytes = upstream.bytes().await.unwrap();
    let mut response = (status, bytes).into_response();
    if let Some(content_type) = content_type {
        response.headers_mut().insert("content-type", content_type);
    }
    response
}

fn tls_config(data: &std::path::Path) -> Arc<rustls::ServerConfig> {
    let chain = keyward_pki::read(&std::fs::read(data.join("tls/server.pem")).unwrap(), None)
        .unwrap()
        .certificates
        .iter()
        .map(|c| rustls::pki_types::CertificateDer::from(c.der().to_vec()))
        .collect();
    let key = keyward_pki::read(&std::fs::read(data.join("tls/server.key")).unwrap(), None)
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
    Arc::new(config)
}

fn client_tls(ca: &[u8]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for c in keyward_pki::read(ca, None).unwrap().certificates {
        roots
            .add(rustls::pki_types::CertificateDer::from(c.der().to_vec()))
            .unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn client(flaky: &Flaky, registered: &Client, attempts: u32) -> ConfidentialClient {
    let credential = keyward_client::CertificateCredential::from_pem(
        registered.certificate.pem().as_bytes(),
        registered.key.to_pkcs8_pem(None).unwrap().as_bytes(),
        None,
    )
    .unwrap();
    ConfidentialClient::builder(&format!("{}/contoso", flaky.server.url), &registered.app_id, credential)
        .trust_ca(&flaky.server.ca_pem())
        .retry(RetryPolicy {
            attempts,
            max_wait: Duration::from_secs(5),
        })
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_after_the_time_the_server_asks_for() {
    let flaky = Flaky::start(2, Failure::Throttled);
    let registered = flaky.client("retried");
    let started = Instant::now();
    let token = client(&flaky, &registered, 3)
        .acquire_token_for_client(&[&registered.scope])
        .await
        .expect("the third attempt gets a token");
    assert_eq!(claims_of(token.secret())["azp"], registered.app_id.as_str());
    assert_eq!(flaky.token_requests(), 3);
    // Two waits of the one second `Retry-After` asked for.
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_and_the_bound_is_kept() {
    let flaky = Flaky::start(1, Failure::Unavailable);
    let registered = flaky.client("unavailable");
    client(&flaky, &registered, 2)
        .acquire_token_for_client(&[&registered.scope])
        .await
        .expect("the second attempt gets a token");
    assert_eq!(flaky.token_requests(), 2);

    // More failures than attempts: the last error comes back, typed, after exactly `attempts`.
    let flaky = Flaky::start(5, Failure::Throttled);
    let registered = flaky.client("throttled");
    let error = client(&flaky, &registered, 2)
        .acquire_token_for_client(&[&registered.scope])
        .await
        .expect_err("throttled twice");
    assert_eq!(flaky.token_requests(), 2);
    let Error::Server(server_error) = &error else {
        panic!("a server error, not {error:?}")
    };
    assert_eq!((server_error.status, server_error.code), (429, Some(50196)));
}
