//! Warnings before credentials expire, wired into a server: the authority's
//! [`ExpiryWatch`](keyward_authority::expiry_watch::ExpiryWatch) runs in the background and, when
//! a webhook is configured, hands each warning to a bounded queue that one task of its own
//! empties: a JSON POST per warning, retried with exponential backoff, each attempt under a
//! timeout. No request handler waits on any of it.

use std::sync::Arc;
use std::time::Duration;

use keyward_authority::Authority;
use keyward_authority::clock::Clock;
use keyward_authority::expiry_watch::{DEFAULT_WARNING_WINDOW, ExpiryWarning, ExpiryWatch};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How often credentials are checked, unless a test says otherwise.
pub const CHECK_EVERY: Duration = Duration::from_secs(3600);
/// How many warnings may wait for the webhook; more are logged and dropped.
const QUEUE: usize = 256;
/// Attempts per warning.
const ATTEMPTS: u32 = 5;
/// The wait before the second attempt; doubled before each further one.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest one attempt may take (connect, send, answer).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where warnings are posted: an `https://` URL, and CA certificates (DER) trusted for it
/// besides the Web PKI roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Webhook {
    pub(crate) url: String,
    pub(crate) extra_roots: Vec<Vec<u8>>,
}

/// What the expiry watch runs with.
#[derive(Clone)]
pub(crate) struct ExpirySettings {
    /// How long before the end a credential is warned about.
    pub(crate) window: time::Duration,
    /// The webhook, if any.
    pub(crate) webhook: Option<Webhook>,
    /// Where the watch reads the time, if not the server's clock (tests that move only the
    /// watch).
    pub(crate) clock: Option<Arc<dyn Clock>>,
    /// How often it checks.
    pub(crate) every: Duration,
}

impl std::fmt::Debug for ExpirySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpirySettings")
            .field("window", &self.window)
            .field("webhook", &self.webhook)
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

impl Default for ExpirySettings {
    fn default() -> Self {
        Self {
            window: DEFAULT_WARNING_WINDOW,
            webhook: None,
            clock: None,
            every: CHECK_EVERY,
        }
    }
}

/// Starts the watch (and the webhook sender when configured); returns their tasks.
pub(crate) fn start(authority: &Arc<Authority>, settings: &ExpirySettings) -> crate::Result<Vec<JoinHandle<()>>> {
    let clock = settings
        .clock
        .clone()
        .unwrap_or_else(|| Arc::clone(authority.clock()) as Arc<dyn Clock>);
    let mut watch = ExpiryWatch::new(Arc::clone(authority), settings.window, clock);
    let mut tasks = Vec::new();
    if let Some(webhook) = &settings.webhook {
        let client = http_client(&webhook.extra_roots)?;
        let (sender, receiver) = mpsc::channel(QUEUE);
        watch = watch.sink(sender);
        tasks.push(tokio::spawn(send_all(client, webhook.url.clone(), receiver)));
    }
    tasks.push(tokio::spawn(Arc::new(watch).run(settings.every)));
    Ok(tasks)
}

/// Posts every warning the queue holds, one after another, until the queue closes.
async fn send_all(client: reqwest::Client, url: String, mut queue: mpsc::Receiver<ExpiryWarning>) {
    while let Some(warning) = queue.recv().await {
        deliver(&client, &url, &warning).await;
    }
}

/// One warning: up to [`ATTEMPTS`] POSTs, waiting 1 s, 2 s, 4 s, ... between them, until one is
/// answered with a 2xx.
async fn deliver(client: &reqwest::Client, url: &str, warning: &ExpiryWarning) {
    let payload = warning.payload();
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let outcome = client.post(url).timeout(ATTEMPT_TIMEOUT).json(&payload).send().await;
        let failure = match outcome {
            Ok(response) if response.status().is_success() => {
                tracing::info!(key_id = %warning.key_id, attempt, "expiry warning delivered to the webhook");
                return;
            }
            Ok(response) => format!("answered {}", response.status()),
            Err(e) if e.is_timeout() => format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
            Err(e) => e.to_string(),
        };
        if attempt == ATTEMPTS {
            tracing::error!(key_id = %warning.key_id, url, reason = failure, "the expiry webhook refused the warning {ATTEMPTS} times; giving up (the audit log has it)");
            return;
        }
        tracing::warn!(key_id = %warning.key_id, url, attempt, reason = failure, "the expiry webhook did not take the warning; retrying in {} s", backoff.as_secs());
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}

/// An HTTPS client trusting the Web PKI roots and `extra_roots`.
fn http_client(extra_roots: &[Vec<u8>]) -> crate::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra_roots {
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .map_err(|e| crate::SettingsError::ExpiryWebhook {
                reason: format!("--expiry-webhook-ca holds a certificate rustls cannot use: {e}"),
            })?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| crate::SettingsError::ExpiryWebhook { reason: e.to_string() })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .https_only(true)
        .build()
        .map_err(|e| crate::SettingsError::ExpiryWebhook { reason: e.to_string() }.into())
}
