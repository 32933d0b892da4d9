//! The timed phases: token requests over HTTPS keep-alive (HTTP/1.1, one connection per
//! worker), with the server's, our own and the whole machine's CPU time read around each phase.
//!
//! - [`closed_loop`]: every worker sends its next request as soon as the last one is answered;
//!   the peak rate.
//! - [`open_loop`]: requests are due at a fixed rate whether or not earlier ones were answered,
//!   and latency runs from the moment a request was due, so a stalled server cannot hide its
//!   stall by slowing the load down (coordinated omission).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use tokio::sync::{Mutex, mpsc};

use crate::assertions::Pool;
use crate::latency::Latencies;
use crate::proc_stat::{self, MachineCpu, Process, Ticks};

/// No request may take longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The first error body kept for the report is cut to this many characters.
const ERROR_EXCERPT: usize = 600;

/// The token endpoint and a client for it.
pub struct Target {
    http: reqwest::Client,
    url: String,
    form: HeaderValue,
}

impl Target {
    /// A client that trusts only `ca_pem`, speaks HTTP/1.1 only, keeps up to `connections`
    /// connections alive, and reaches `localhost` at 127.0.0.1:`port` (the server listens there
    /// only, so no IPv6 attempt first).
    pub fn new(url: String, ca_pem: &[u8], port: u16, connections: usize) -> anyhow::Result<Self> {
        Self::with_timeout(url, ca_pem, port, connections, REQUEST_TIMEOUT)
    }

    /// As [`Target::new`], with requests allowed `timeout` instead of 10 s (a `/metrics` page
    /// with a line per credential of a large directory takes longer).
    pub fn with_timeout(
        url: String,
        ca_pem: &[u8],
        port: u16,
        connections: usize,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in keyward_pki::read(ca_pem, None)
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
            .pool_max_idle_per_host(connections)
            .pool_idle_timeout(None)
            .tcp_nodelay(true)
            .timeout(timeout)
            .resolve("localhost", ([127, 0, 0, 1], port).into())
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            url,
            form: HeaderValue::from_static("application/x-www-form-urlencoded"),
        })
    }

    /// The value of the Prometheus counter `name` on the server's `/metrics` page at
    /// `metrics_url` (same origin as the token endpoint), if it is there.
    pub async fn counter(&self, metrics_url: &str, name: &str) -> Option<u64> {
        let text = self.text(metrics_url).await.ok()?;
        metric(&text, name).map(|v| v as u64)
    }

    /// The body of a GET of `url` (same origin as the token endpoint), if the answer is a 200.
    pub async fn text(&self, url: &str) -> anyhow::Result<String> {
        let response = self.http.get(url).send().await.with_context(|| format!("GET {url}"))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            bail!("GET {url} answered {status}");
        }
        response
            .text()
            .await
            .with_context(|| format!("reading the body of GET {url}"))
    }

    /// POSTs one token request; `Err` describes anything but a 200 with an access token.
    pub async fn post(&self, body: Bytes) -> Result<(), String> {
        let response = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, self.form.clone())
            .body(body)
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        let text = response
            .bytes()
            .await
            .map_err(|e| format!("HTTP {status}, reading the body failed: {e}"))?;
        if status == reqwest::StatusCode::OK && text.windows(14).any(|w| w == b"\"access_token\"") {
            Ok(())
        } else {
            let text = String::from_utf8_lossy(&text);
            Err(format!(
                "HTTP {status}: {}",
                text.chars().take(ERROR_EXCERPT).collect::<String>()
            ))
        }
    }
}

/// The value of the unlabelled Prometheus sample `name` in the text of a `/metrics` page.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (metric, value) = line.split_once(' ')?;
        (metric == name).then(|| value.trim().parse::<f64>().ok())?
    })
}

/// Opens one connection per worker (one token request each, concurrently), so the phases
/// measure a warm keep-alive pool. Any failure here stops the run: the setup is wrong.
pub async fn warm_up(target: &Arc<Target>, pool: &Arc<Pool>, connections: usize) -> anyhow::Result<()> {
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (target, pool) = (Arc::clone(target), Arc::clone(pool));
            tokio::spawn(async move {
                match pool.take() {
                    Some(body) => target.post(body).await,
                    None => Err("no assertion left".to_owned()),
                }
            })
        })
        .collect();
    for task in tasks {
        if let Err(e) = task.await? {
            bail!("the warm-up token request failed: {e}");
        }
    }
    Ok(())
}

/// What one phase saw.
pub struct PhaseResult {
    /// Latency of every answered request, successful or not.
    pub latencies: Latencies,
    /// Tokens issued.
    pub tokens: u64,
    /// Requests that got no token.
    pub errors: u64,
    /// What the first of them got.
    pub first_error: Option<String>,
    /// From the start to the last answer.
    pub elapsed: Duration,
    /// Requests sent (open loop: requests due).
    pub sent: u64,
    /// Whether the phase stopped early for want of assertions.
    pub ran_out: bool,
    /// CPU time during the phase.
    pub cpu: CpuUsage,
}

/// CPU time spent during a phase, in clock ticks.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUsage {
    /// By the server (all its threads).
    pub server: Ticks,
    /// By this load generator.
    pub me: Ticks,
    /// By the whole machine (every core, every process).
    pub machine: MachineCpu,
}

#[derive(Clone, Copy)]
struct CpuSnapshot(CpuUsage);

impl CpuSnapshot {
    fn take(server_pid: u32) -> anyhow::Result<Self> {
        Ok(Self(CpuUsage {
            server: proc_stat::process_cpu(Process::Pid(server_pid))?,
            me: proc_stat::process_cpu(Process::Me)?,
            machine: proc_stat::machine_cpu()?,
        }))
    }

    fn since(self, earlier: Self) -> CpuUsage {
        let (now, then) = (self.0, earlier.0);
        CpuUsage {
            server: now.server.since(then.server),
            me: now.me.since(then.me),
            machine: MachineCpu {
                busy: now.machine.busy.since(then.machine.busy),
                total: now.machine.total.since(then.machine.total),
            },
        }
    }
}

/// One worker's count.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    tokens: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn record(&mut self, latency: Duration, result: Result<(), String>) {
        self.latencies_us.push(Latencies::sample(latency));
        match result {
            Ok(()) => self.tokens += 1,
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.tokens += other.tokens;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Peak load: `workers` workers each send their next request as soon as the last is answered,
/// for `duration` (or until the assertions run out).
pub async fn closed_loop(
    target: &Arc<Target>,
    pool: &Arc<Pool>,
    workers: usize,
    duration: Duration,
    server_pid: u32,
) -> anyhow::Result<PhaseResult> {
    let before = CpuSnapshot::take(server_pid)?;
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (target, pool) = (Arc::clone(target), Arc::clone(pool));
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let Some(body) = pool.take() else { break };
                    let sent = Instant::now();
                    let result = target.post(body).await;
                    tally.record(sent.elapsed(), result);
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        all.merge(task.await?);
    }
    let elapsed = start.elapsed();
    let cpu = CpuSnapshot::take(server_pid)?.since(before);
    Ok(PhaseResult {
        sent: all.tokens + all.errors,
        latencies: Latencies::new(all.latencies_us),
        tokens: all.tokens,
        errors: all.errors,
        first_error: all.first_error,
        elapsed,
        ran_out: pool.ran_out(),
        cpu,
    })
}

/// A fixed rate: request `i` is due at `start + i / rate`, for `duration`. A ticker thread
/// hands each request, when due, to whichever of the `workers` is free; if none is, the request
/// waits, and that wait counts in its latency.
pub async fn open_loop(
    target: &Arc<Target>,
    pool: &Arc<Pool>,
    workers: usize,
    rate: f64,
    duration: Duration,
    server_pid: u32,
) -> anyhow::Result<PhaseResult> {
    if !(rate > 0.0 && rate.is_finite()) {
        bail!("the open-loop rate must be positive, not {rate}");
    }
    let (due_tx, due_rx) = mpsc::unbounded_channel::<(Instant, Bytes)>();
    let due_rx = Arc::new(Mutex::new(due_rx));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (target, due_rx) = (Arc::clone(target), Arc::clone(&due_rx));
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let next = due_rx.lock().await.recv().await;
                    let Some((due, body)) = next else { break };
                    let result = target.post(body).await;
                    tally.record(due.elapsed(), result);
                }
                tally
            })
        })
        .collect();

    let before = CpuSnapshot::take(server_pid)?;
    let start = Instant::now();
    let ticker_pool = Arc::clone(pool);
    let ticker = tokio::task::spawn_blocking(move || {
        let mut sent = 0u64;
        while let Ok(offset) = Duration::try_from_secs_f64(sent as f64 / rate) {
            if offset >= duration {
                break;
            }
            let Some(body) = ticker_pool.take() else { break };
            let due = start + offset;
            // The standard library's sleep is precise to tens of microseconds on Linux;
            // tokio's timer ticks in whole milliseconds, which would bunch requests up.
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if due_tx.send((due, body)).is_err() {
                break;
            }
            sent += 1;
        }
        sent
    });
    let sent = ticker.await?;
    let mut all = Tally::default();
    for task in tasks {
        all.merge(task.await?);
    }
    let elapsed = start.elapsed();
    let cpu = CpuSnapshot::take(server_pid)?.since(before);
    Ok(PhaseResult {
        latencies: Latencies::new(all.latencies_us),
        tokens: all.tokens,
        errors: all.errors,
        first_error: all.first_error,
        elapsed,
        sent,
        ran_out: pool.ran_out(),
        cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::metric;

    #[test]
    fn metric_reads_an_unlabelled_sample_only() {
        let text = "# HELP keyward_directory_reloads_total Reloads.\n\
                    # TYPE keyward_directory_reloads_total counter\n\
                    keyward_directory_reloads_total 12\n\
                    keyward_directory_reload_seconds_total 0.25\n\
                    keyward_credential_expiry_timestamp_seconds{app=\"a\"} 1700000000\n";
        assert_eq!(metric(text, "keyward_directory_reloads_total"), Some(12.0));
        assert_eq!(metric(text, "keyward_directory_reload_seconds_total"), Some(0.25));
        assert_eq!(metric(text, "keyward_credential_expiry_timestamp_seconds"), None);
        assert_eq!(metric(text, "keyward_directory_apps_rebuilt_total"), None);
    }
}
