//! The soak's operations, each one a thing a real client does, checked for the answer it must
//! get: a client credentials token (a fresh RS256 certificate assertion), a vault secret or
//! certificate read with a vault token, a refresh token redeemed (and the rotated one kept for
//! next time), a Graph write (create, patch or delete an application), and a customer
//! sign-in (authorize page, the sign-in form, the code redeemed).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use keyward_client::ConfidentialClient;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;
use tokio::sync::mpsc;

use super::signin;

/// No request may take longer than this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The first error kept for the report is cut to this many characters.
const ERROR_EXCERPT: usize = 400;
/// Refresh tokens kept in circulation; a sign-in beyond this lets its token go.
const MAX_CHAINS: usize = 256;
/// The scope the vault's tokens are for.
pub const VAULT_SCOPE: &str = "https://vault.keyward.localhost/.default";
/// The scope Graph's tokens are for.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// The scopes a signed-in customer's application asks for.
const SIGNIN_SCOPES: &str = "openid profile offline_access";

/// A kind of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `client_credentials` with a certificate assertion.
    ClientCredentials = 0,
    /// `GET /secrets/NAME` with a vault token.
    SecretRead = 1,
    /// `GET /certificates/NAME` with a vault token.
    CertificateRead = 2,
    /// `refresh_token` redeemed by a web application.
    Refresh = 3,
    /// `POST`, `PATCH` or `DELETE /v1.0/applications` with a Graph token.
    ManagementWrite = 4,
    /// Authorize page, sign-in form, code redeemed: three requests, one argon2 hash.
    SignIn = 5,
}

impl Kind {
    /// Every kind, in the order the report lists them.
    pub const ALL: [Kind; 6] = [
        Kind::ClientCredentials,
        Kind::SecretRead,
        Kind::CertificateRead,
        Kind::Refresh,
        Kind::ManagementWrite,
        Kind::SignIn,
    ];

    /// The name the report shows.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ClientCredentials => "client credentials",
            Kind::SecretRead => "vault secret read",
            Kind::CertificateRead => "vault certificate read",
            Kind::Refresh => "refresh token",
            Kind::ManagementWrite => "management write",
            Kind::SignIn => "customer sign-in",
        }
    }

    /// Its share of the operations, per thousand. Sign-ins cost an argon2 hash (19 MiB, two
    /// passes: tens of milliseconds of CPU) where the others cost well under one, so they are
    /// few; writes go to disk with `synchronous = FULL`.
    pub fn per_mille(self) -> u32 {
        match self {
            Kind::ClientCredentials => 500,
            Kind::SecretRead => 160,
            Kind::CertificateRead => 140,
            Kind::Refresh => 170,
            Kind::ManagementWrite => 25,
            Kind::SignIn => 5,
        }
    }
}

/// The order operations are sent in: a thousand slots, each kind spread evenly over them
/// (smooth weighted round robin), so that any stretch of the run has the mix.
pub fn schedule() -> Vec<Kind> {
    let total: i64 = Kind::ALL.iter().map(|k| i64::from(k.per_mille())).sum();
    let mut current = [0i64; Kind::ALL.len()];
    (0..total)
        .map(|_| {
            for (c, kind) in current.iter_mut().zip(Kind::ALL) {
                *c += i64::from(kind.per_mille());
            }
            let (best, _) = current
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
                .unwrap_or((0, &0));
            current[best] -= total;
            Kind::ALL[best]
        })
        .collect()
}

/// A web application customers sign in to (a client secret, PKCE).
#[derive(Clone)]
pub struct WebApp {
    /// Its appId.
    pub app_id: String,
    /// Its client secret.
    pub secret: String,
    /// Its redirect URI.
    pub redirect: String,
}

/// Everything the operations need, shared by every worker.
pub struct Traffic {
    http: reqwest::Client,
    origin: String,
    tenant: String,
    token_url: String,
    assertions: tokio::sync::Mutex<mpsc::Receiver<Bytes>>,
    vault: ConfidentialClient,
    graph: ConfidentialClient,
    graph_applications: String,
    secret_name: String,
    certificate_name: String,
    web: WebApp,
    users: Vec<String>,
    password: String,
    next_user: AtomicUsize,
    refresh_tx: mpsc::UnboundedSender<String>,
    refresh_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<String>>,
    chains: AtomicUsize,
    writes: AtomicU64,
    applications: Mutex<VecDeque<String>>,
}

/// What [`Traffic::new`] takes.
pub struct TrafficSetup {
    /// The server's URL, e.g. `https://localhost:41234`.
    pub origin: String,
    /// The tenant's name (in the authorize and token paths).
    pub tenant: String,
    /// The server's CA certificate (PEM).
    pub ca_pem: Vec<u8>,
    /// The server's port (the client reaches `localhost` at 127.0.0.1 only).
    pub port: u16,
    /// Connections to keep alive.
    pub connections: usize,
    /// Client credentials request bodies, signed as they are needed.
    pub assertions: mpsc::Receiver<Bytes>,
    /// A client of the vault (its tokens are cached and renewed).
    pub vault: ConfidentialClient,
    /// A client of Graph allowed to write applications.
    pub graph: ConfidentialClient,
    /// The vault secret read.
    pub secret_name: String,
    /// The vault certificate read.
    pub certificate_name: String,
    /// The application customers sign in to.
    pub web: WebApp,
    /// Customers' emails.
    pub users: Vec<String>,
    /// Their password.
    pub password: String,
}

impl Traffic {
    /// An HTTP/1.1 client trusting only the server's CA, following no redirects.
    pub fn new(setup: TrafficSetup) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in keyward_pki::read(&setup.ca_pem, None)
            .context("the server's CA certificate")?
            .certificates
        {
            roots.add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .http1_only()
            .pool_max_idle_per_host(setup.connections)
            .pool_idle_timeout(None)
            .tcp_nodelay(true)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .resolve("localhost", ([127, 0, 0, 1], setup.port).into())
            .build()
            .context("cannot build the HTTP client")?;
        let (refresh_tx, refresh_rx) = mpsc::unbounded_channel();
        Ok(Self {
            http,
            token_url: format!("{}/{}/oauth2/v2.0/token", setup.origin, setup.tenant),
            graph_applications: format!("{}/v1.0/applications", setup.origin),
            origin: setup.origin,
            tenant: setup.tenant,
            assertions: tokio::sync::Mutex::new(setup.assertions),
            vault: setup.vault,
            graph: setup.graph,
            secret_name: setup.secret_name,
            certificate_name: setup.certificate_name,
            web: setup.web,
            users: setup.users,
            password: setup.password,
            next_user: AtomicUsize::new(0),
            refresh_tx,
            refresh_rx: tokio::sync::Mutex::new(refresh_rx),
            chains: AtomicUsize::new(0),
            writes: AtomicU64::new(0),
            applications: Mutex::new(VecDeque::new()),
        })
    }

    /// Refresh tokens in circulation.
    pub fn chains(&self) -> usize {
        self.chains.load(Ordering::Relaxed)
    }

    /// Applications the management writes created and have not deleted yet.
    pub fn applications_alive(&self) -> usize {
        self.applications.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Runs one operation; `Err` says what came back instead of what must.
    pub async fn run(&self, kind: Kind) -> Result<(), String> {
        match kind {
            Kind::ClientCredentials => self.client_credentials().await,
            Kind::SecretRead => self.vault_read("secrets", &self.secret_name, "\"value\"").await,
            Kind::CertificateRead => self.vault_read("certificates", &self.certificate_name, "\"cer\"").await,
            Kind::Refresh => self.refresh().await,
            Kind::ManagementWrite => self.management_write().await,
            Kind::SignIn => self.sign_in().await,
        }
    }

    async fn client_credentials(&self) -> Result<(), String> {
        let body = tokio::time::timeout(REQUEST_TIMEOUT, async { self.assertions.lock().await.recv().await })
            .await
            .map_err(|_| "no signed assertion within 10 s (the signing thread fell behind)".to_owned())?
            .ok_or_else(|| "the signing thread stopped".to_owned())?;
        let response = self
            .http
            .post(&self.token_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        expect_token(response).await.map(drop)
    }

    async fn vault_read(&self, collection: &str, name: &str, must_contain: &str) -> Result<(), String> {
        let token = self
            .vault
            .acquire_token_for_client(&[VAULT_SCOPE])
            .await
            .map_err(|e| format!("no vault token: {e}"))?;
        let url = format!("{}/{collection}/{name}?api-version=7.5", self.origin);
        let response = self.http.get(&url).bearer_auth(token.secret()).send().await;
        let (status, text) = read(response).await?;
        if status == StatusCode::OK && text.contains(must_contain) {
            Ok(())
        } else {
            Err(unexpected(&format!("GET /{collection}/{name}"), status, &text))
        }
    }

    async fn refresh(&self) -> Result<(), String> {
        let token = tokio::time::timeout(REQUEST_TIMEOUT, async { self.refresh_rx.lock().await.recv().await })
            .await
            .map_err(|_| "no refresh token free within 10 s".to_owned())?
            .ok_or_else(|| "the refresh tokens are gone".to_owned())?;
        self.chains.fetch_sub(1, Ordering::Relaxed);
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.web.app_id.as_str()),
            ("client_secret", self.web.secret.as_str()),
            ("refresh_token", token.as_str()),
            ("scope", SIGNIN_SCOPES),
        ];
        let response = self.http.post(&self.token_url).form(&form).send().await;
        let tokens = expect_token(response).await?;
        self.keep_refresh_token(&tokens)
    }

    /// Puts a token response's refresh token back in circulation.
    fn keep_refresh_token(&self, tokens: &Value) -> Result<(), String> {
        let refresh_token = tokens["refresh_token"]
            .as_str()
            .ok_or_else(|| "the token response has no refresh_token".to_owned())?;
        if self.chains.load(Ordering::Relaxed) < MAX_CHAINS {
            self.chains.fetch_add(1, Ordering::Relaxed);
            self.refresh_tx.send(refresh_token.to_owned()).ok();
        }
        Ok(())
    }

    /// Create, patch, delete in turn: patch and delete take the application they work on out
    /// of the list while they do, and fall back to a create when there is none to spare, so
    /// the tenant keeps a handful of applications however long the run.
    async fn management_write(&self) -> Result<(), String> {
        let token = self
            .graph
            .acquire_token_for_client(&[GRAPH_SCOPE])
            .await
            .map_err(|e| format!("no Graph token: {e}"))?;
        let token = token.secret();
        let n = self.writes.fetch_add(1, Ordering::Relaxed);
        let taken = {
            let mut apps = self.applications.lock().unwrap_or_else(PoisonError::into_inner);
            match n % 3 {
                1 => apps.pop_back().map(|id| (id, false)),
                2 if apps.len() >= 3 => apps.pop_front().map(|id| (id, true)),
                _ => None,
            }
        };
        match taken {
            Some((id, false)) => {
                let url = format!("{}/{id}", self.graph_applications);
                let body = serde_json::json!({ "displayName": format!("soak-app-{n}") });
                let response = self.http.patch(&url).bearer_auth(token).json(&body).send().await;
                let (status, text) = read(response).await?;
                self.applications
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_back(id);
                if status.is_success() {
                    Ok(())
                } else {
                    Err(unexpected("PATCH /v1.0/applications/ID", status, &text))
                }
            }
            Some((id, true)) => {
                let url = format!("{}/{id}", self.graph_applications);
                let response = self.http.delete(&url).bearer_auth(token).send().await;
                let (status, text) = read(response).await?;
                if status.is_success() {
                    Ok(())
                } else {
                    Err(unexpected("DELETE /v1.0/applications/ID", status, &text))
                }
            }
            None => {
                let body = serde_json::json!({ "displayName": format!("soak-app-{n}") });
                let response = self
                    .http
                    .post(&self.graph_applications)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await;
                let (status, text) = read(response).await?;
                let id = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_owned));
                match id {
                    Some(id) if status.is_success() => {
                        self.applications
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push_back(id);
                        Ok(())
                    }
                    _ => Err(unexpected("POST /v1.0/applications", status, &text)),
                }
            }
        }
    }

    /// A customer signs in as a browser would (its own cookies, no redirects followed), and
    /// the application redeems the code; the refresh token joins the circulation.
    pub async fn sign_in(&self) -> Result<(), String> {
        let i = self.next_user.fetch_add(1, Ordering::Relaxed);
        let email = &self.users[i % self.users.len().max(1)];
        let (verifier, challenge) = signin::pkce().map_err(|e| format!("{e:#}"))?;
        let mut cookies = signin::Cookies::default();

        let authorize = signin::authorize_url(&self.origin, &self.tenant, &self.web, &challenge);
        let response = self.http.get(&authorize).send().await;
        let response = response.map_err(|e| format!("GET authorize failed: {e}"))?;
        cookies.take(response.headers().get_all(SET_COOKIE));
        let (status, page) = read(Ok(response)).await?;
        if status != StatusCode::OK {
            return Err(unexpected("GET authorize", status, &page));
        }
        let form = signin::Form::first(&page).ok_or_else(|| unexpected("GET authorize (no form)", status, &page))?;
        let fields = form.filled(&[("email", email.as_str()), ("password", self.password.as_str())]);
        let action = if form.action.starts_with("https://") {
            form.action.clone()
        } else {
            format!("{}{}", self.origin, form.action)
        };
        let mut post = self.http.post(&action).form(&fields);
        if let Some(header) = cookies.header() {
            post = post.header(COOKIE, header);
        }
        let response = post
            .send()
            .await
            .map_err(|e| format!("POST sign-in form failed: {e}"))?;
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (_, page) = read(Ok(response)).await?;
        let code = location
            .filter(|_| status == StatusCode::FOUND)
            .and_then(|l| signin::code_in(&l, &self.web.redirect))
            .ok_or_else(|| unexpected("POST sign-in form (no redirect with a code)", status, &page))?;

        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", self.web.app_id.as_str()),
            ("client_secret", self.web.secret.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", self.web.redirect.as_str()),
            ("scope", SIGNIN_SCOPES),
            ("code_verifier", verifier.as_str()),
        ];
        let response = self.http.post(&self.token_url).form(&form).send().await;
        let tokens = expect_token(response).await?;
        self.keep_refresh_token(&tokens)
    }
}

/// Reads a response whole: its status and body.
async fn read(response: reqwest::Result<reqwest::Response>) -> Result<(StatusCode, String), String> {
    let response = response.map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| format!("HTTP {status}, reading the body failed: {e}"))?;
    Ok((status, text))
}

/// A token response: 200 with an access token.
async fn expect_token(response: reqwest::Result<reqwest::Response>) -> Result<Value, String> {
    let (status, text) = read(response).await?;
    let tokens: Option<Value> = serde_json::from_str(&text).ok();
    match tokens {
        Some(tokens) if status == StatusCode::OK && tokens["access_token"].is_string() => Ok(tokens),
        _ => Err(unexpected("POST token", status, &text)),
    }
}

fn unexpected(what: &str, status: StatusCode, body: &str) -> String {
    format!(
        "{what}: HTTP {status}: {}",
        body.chars().take(ERROR_EXCERPT).collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_holds_the_mix_in_every_stretch() {
        let schedule = schedule();
        assert_eq!(schedule.len(), 1000);
        for kind in Kind::ALL {
            let n = schedule.iter().filter(|k| **k == kind).count();
            assert_eq!(n as u32, kind.per_mille(), "{kind:?}");
        }
        // A tenth of the schedule holds a tenth of each frequent kind, give or take one.
        let first: Vec<_> = schedule[..100].to_vec();
        let cc = first.iter().filter(|k| **k == Kind::ClientCredentials).count();
        assert!((49..=51).contains(&cc), "{cc}");
        let refresh = first.iter().filter(|k| **k == Kind::Refresh).count();
        assert!((16..=18).contains(&refresh), "{refresh}");
    }
}
