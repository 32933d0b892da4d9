//! The scale run (issue 16, point 4): a directory of `apps` applications with `certs`
//! certificates each and a tenant of `users` users, against one of a few applications, in the
//! same run.
//!
//! In order, each step timed: make the certificates ([`certs`], cached), populate a data
//! directory ([`populate`], cached on SQLite), start the big server on a copy of it (time to
//! ready, resident and peak memory, database size), start a small one (a fresh directory),
//! register the benchmark's resource and client on both, drive each with the same open-loop rate
//! (p50/p90/p99/max), add certificates to the client on both with `keyward app cert add` (wall
//! time, time until the new certificate gets a token, and the server's directory reload counters
//! from `/metrics` when it has them), and with PostgreSQL, how long a second server on the same
//! database takes to accept a certificate added through the first. Every server is stopped on
//! every path (dropping a [`Server`] stops it).

pub mod certs;
pub mod populate;
mod report;

pub use report::{CertAdds, Followers, Latency, Report, ServerFigures};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use keyward_pki::{CertificateSpec, KeyType, Name, PrivateKey, Validity};

use crate::assertions::{Pool, RequestSigner, unix_now};
use crate::latency::Latencies;
use crate::load::{self, Target};
use crate::proc_stat;
use crate::registration::{self, Client};
use crate::server::{Options, Server};
use populate::{Counts, Database, Populated};

/// The directory reload counters the server may export.
pub const RELOAD_COUNTERS: [&str; 4] = [
    "keyward_directory_reloads_total",
    "keyward_directory_reload_seconds_total",
    "keyward_directory_apps_rebuilt_total",
    "keyward_directory_apps_read_total",
];

/// How long a new certificate may take to get a token before the run gives up on it.
const NEW_CERT_DEADLINE: Duration = Duration::from_secs(30);
/// Time between token requests while waiting for a new certificate to work.
const POLL: Duration = Duration::from_millis(2);

/// What one scale run does.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The keyward binary to run as the servers.
    pub keyward: PathBuf,
    /// Applications in the big directory.
    pub apps: usize,
    /// Certificates per application.
    pub certs: usize,
    /// Users in the big directory's tenant.
    pub users: usize,
    /// Length of each server's open-loop phase.
    pub seconds: Duration,
    /// Token requests per second, the same for both servers.
    pub rate: f64,
    /// Connections (workers) of the open loop.
    pub workers: usize,
    /// Certificates added to each server.
    pub adds: usize,
    /// Whether the big directory lives in PostgreSQL (then two servers share it).
    pub postgres: bool,
    /// Where certificates and populated data directories are cached.
    pub cache_dir: PathBuf,
    /// How long the big server may take to start.
    pub start_timeout: Duration,
}

impl Settings {
    /// The settings of `cargo xtask scale`: 100,000 applications of 10 certificates and a
    /// million users, 20 s at 300 tokens/s per server, 10 certificate adds.
    pub fn full(keyward: PathBuf, cache_dir: PathBuf) -> Self {
        Self {
            keyward,
            apps: 100_000,
            certs: 10,
            users: 1_000_000,
            seconds: Duration::from_secs(20),
            rate: 300.0,
            workers: 32,
            adds: 10,
            postgres: false,
            cache_dir,
            start_timeout: Duration::from_secs(1800),
        }
    }
}

/// Runs the scale measurement; every server is stopped whatever happens.
pub fn run(settings: &Settings) -> anyhow::Result<Report> {
    if settings.apps == 0 || settings.certs == 0 || settings.users == 0 || settings.adds == 0 {
        bail!("--apps, --certs, --users and the number of adds must be at least 1");
    }
    if !(settings.rate > 0.0 && settings.rate.is_finite()) {
        bail!("the rate must be positive, not {}", settings.rate);
    }
    let load_before = proc_stat::load_average();
    let certificates = certs::load_or_make(&settings.cache_dir, settings.apps, settings.certs)?;
    let counts = Counts {
        apps: settings.apps,
        certs: settings.certs,
        users: settings.users,
    };
    let populated = populate::prepare(
        &settings.keyward,
        &settings.cache_dir,
        &counts,
        &certificates.ders,
        settings.postgres,
    )?;
    let mut report = Report::new(settings, &certificates, &populated);
    drop(certificates);
    with_directory(settings, &populated, &mut report)?;
    report.load_average_before = load_before;
    report.load_average_after = proc_stat::load_average();
    Ok(report)
}

fn with_directory(settings: &Settings, populated: &Populated, report: &mut Report) -> anyhow::Result<()> {
    progress(&format!(
        "starting the big server on a copy of {}",
        populated.data.display()
    ));
    let (big, figures) = start(settings, Some(populated), "big")?;
    report.big = figures;
    report.big.database_bytes = populated.database.size(big.data())?;
    progress(&format!(
        "big server ready in {:.2} s, RSS {} MiB (peak {} MiB)",
        report.big.startup_seconds,
        report.big.rss_kib / 1024,
        report.big.peak_rss_kib / 1024
    ));
    let (small, figures) = start(settings, None, "small")?;
    report.small = figures;
    report.small.database_bytes = Database::Sqlite.size(small.data())?;

    let started = Instant::now();
    let big_client = registration::register(&big).context("registering the bench apps on the big server")?;
    report.big.register_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let small_client = registration::register(&small).context("registering the bench apps on the small server")?;
    report.small.register_seconds = started.elapsed().as_secs_f64();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let big_target = Arc::new(target(settings, &big)?);
    let small_target = Arc::new(target(settings, &small)?);

    // Back to back, big first then small, then each again: neither always runs on a warmer
    // machine. Each of the four phases is half of --seconds.
    let half = settings.seconds / 2;
    let mut big_phases = Vec::new();
    let mut small_phases = Vec::new();
    for _ in 0..2 {
        progress(&format!("big server: {:.0} tokens/s for {half:?}", settings.rate));
        big_phases.push(runtime.block_on(open_loop(settings, &big, &big_client, &big_target, half))?);
        progress(&format!("small server: {:.0} tokens/s for {half:?}", settings.rate));
        small_phases.push(runtime.block_on(open_loop(settings, &small, &small_client, &small_target, half))?);
    }
    report.big.latency = Latency::of(big_phases);
    report.small.latency = Latency::of(small_phases);

    for (name, server, client, target, figures) in [
        ("big", &big, &big_client, &big_target, &mut report.big),
        ("small", &small, &small_client, &small_target, &mut report.small),
    ] {
        progress(&format!("{name} server: {} x keyward app cert add", settings.adds));
        figures.cert_adds = runtime.block_on(cert_adds(settings, server, client, target, None))?;
        let started = Instant::now();
        let text = runtime.block_on(target.text(&metrics_url(server)))?;
        figures.metrics_ms = started.elapsed().as_secs_f64() * 1000.0;
        figures.metrics_bytes = text.len() as u64;
        figures.rss_after_kib = status_kib(server.pid, "VmRSS")?;
        figures.peak_rss_after_kib = status_kib(server.pid, "VmHWM")?;
    }

    if settings.postgres {
        progress("starting a second server on the same PostgreSQL schema");
        let (follower, figures) = start(settings, Some(populated), "follower")?;
        let follower_target = Arc::new(target(settings, &follower)?);
        progress(&format!(
            "{} x keyward app cert add on the first server, polled on the second",
            settings.adds
        ));
        let adds = runtime.block_on(cert_adds(
            settings,
            &big,
            &big_client,
            &big_target,
            Some((&follower, &follower_target)),
        ))?;
        report.followers = Some(Followers { server: figures, adds });
        drop(follower_target);
        follower.stop().context("stopping the follower")?;
    }
    drop((big_target, small_target));
    drop(runtime);
    small.stop().context("stopping the small server")?;
    big.stop().context("stopping the big server")?;
    Ok(())
}

/// Starts a server, on a copy of the populated directory or on a fresh one, and reads its
/// start-up time and memory.
fn start(settings: &Settings, populated: Option<&Populated>, name: &str) -> anyhow::Result<(Server, ServerFigures)> {
    let options = match populated {
        Some(populated) => Options {
            data: Some(populate::copy(populated)?),
            args: populated.database.serve_args(),
            start_timeout: Some(settings.start_timeout),
            // A write to a big directory may take long (that is what is measured).
            cli_timeout: Some(settings.start_timeout),
        },
        None => Options::default(),
    };
    let started = Instant::now();
    let server =
        Server::start_with(&settings.keyward, options).with_context(|| format!("starting the {name} server"))?;
    let startup_seconds = started.elapsed().as_secs_f64();
    let figures = ServerFigures {
        startup_seconds,
        rss_kib: status_kib(server.pid, "VmRSS")?,
        peak_rss_kib: status_kib(server.pid, "VmHWM")?,
        ..ServerFigures::default()
    };
    Ok((server, figures))
}

/// A `/proc/PID/status` figure in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("{path} has no {field} line"))
}

fn target(settings: &Settings, server: &Server) -> anyhow::Result<Target> {
    // Long enough for a /metrics page with a line per credential of the big directory.
    Target::with_timeout(
        server.token_endpoint(),
        &server.ca_pem()?,
        server.port()?,
        settings.workers,
        Duration::from_secs(120),
    )
}

fn metrics_url(server: &Server) -> String {
    format!("{}/metrics", server.url)
}

/// One open-loop phase at `settings.rate` on a warm pool of connections.
async fn open_loop(
    settings: &Settings,
    server: &Server,
    client: &Client,
    target: &Arc<Target>,
    duration: Duration,
) -> anyhow::Result<load::PhaseResult> {
    let signer = RequestSigner::new(client, server.token_endpoint())?;
    let needed = (settings.rate * duration.as_secs_f64()).ceil() as usize + settings.workers + 16;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bodies = tokio::task::block_in_place(|| signer.bodies(needed, threads))?;
    let pool = Arc::new(Pool::new(bodies));
    load::warm_up(target, &pool, settings.workers).await?;
    load::open_loop(target, &pool, settings.workers, settings.rate, duration, server.pid).await
}

/// `settings.adds` times: a fresh certificate (its own RSA key), `keyward app cert add
/// bench-client` (or the client's appId, every other time) on `server`, then token requests signed with it until one succeeds, on
/// `server`, or, given a `follower` on the same database, on the follower instead. Reads the reload counters of the
/// server polled around it all.
async fn cert_adds(
    settings: &Settings,
    server: &Server,
    client: &Client,
    target: &Arc<Target>,
    follower: Option<(&Server, &Arc<Target>)>,
) -> anyhow::Result<CertAdds> {
    let (polled, polled_target) = follower.unwrap_or((server, target));
    let before = counters(polled_target, polled).await;
    let (mut by_name_us, mut by_app_id_us) = (Vec::new(), Vec::new());
    let mut token_us = Vec::new();
    let mut tokens = 0;
    let dir = tempfile::tempdir().context("cannot make a directory for the certificates")?;
    for n in 0..settings.adds {
        let key = PrivateKey::generate(KeyType::Rsa2048)?;
        let certificate = CertificateSpec::new(Name::parse(&format!("CN=scale-added-{n}"))?)
            .validity(Validity::Days(2))
            .self_signed(&key)?;
        let file = dir.path().join(format!("added-{n}.cer"));
        std::fs::write(&file, certificate.der()).with_context(|| format!("cannot write {}", file.display()))?;
        let file = file.to_str().context("the temporary path is not UTF-8")?;
        // Every other add names the client by appId: by display name the CLI lists every
        // application to find it, which is a cost of its own.
        let (named, samples) = if n % 2 == 0 {
            ("bench-client", &mut by_name_us)
        } else {
            (client.app_id.as_str(), &mut by_app_id_us)
        };
        let started = Instant::now();
        tokio::task::block_in_place(|| server.cli(&["app", "cert", "add", named, file]))?;
        let acknowledged = Instant::now();
        samples.push(Latencies::sample(acknowledged - started));

        let new = Client {
            app_id: client.app_id.clone(),
            certificate,
            key,
        };
        let signer = RequestSigner::new(&new, polled.token_endpoint())?;
        loop {
            let body = signer.body(unix_now()?)?;
            if polled_target.post(body).await.is_ok() {
                token_us.push(Latencies::sample(acknowledged.elapsed()));
                tokens += 1;
                break;
            }
            if acknowledged.elapsed() > NEW_CERT_DEADLINE {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
    }
    let after = counters(polled_target, polled).await;
    let delta = |i: usize| match (before[i], after[i]) {
        (Some(b), Some(a)) => Some(a - b),
        _ => None,
    };
    Ok(CertAdds {
        adds: settings.adds,
        by_name: Latencies::new(by_name_us).summary_ms(),
        by_app_id: Latencies::new(by_app_id_us).summary_ms(),
        new_cert_tokens: tokens,
        until_token: Latencies::new(token_us).summary_ms(),
        reloads: delta(0),
        reload_seconds: delta(1),
        apps_rebuilt: delta(2),
        apps_read: delta(3),
    })
}

/// The reload counters of [`RELOAD_COUNTERS`], each `None` if the server does not export it
/// (or `/metrics` does not answer).
async fn counters(target: &Target, server: &Server) -> [Option<f64>; 4] {
    match target.text(&metrics_url(server)).await {
        Ok(text) => RELOAD_COUNTERS.map(|name| load::metric(&text, name)),
        Err(_) => [None; 4],
    }
}

/// A line on standard error, as the soak writes them.
fn progress(message: &str) {
    eprintln!("scale: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_kib_reads_our_own_memory() {
        let pid = std::process::id();
        let rss = status_kib(pid, "VmRSS").unwrap();
        let peak = status_kib(pid, "VmHWM").unwrap();
        assert!(rss > 0 && peak >= rss, "{rss} {peak}");
        assert!(status_kib(pid, "VmNothing").is_err());
    }
}
