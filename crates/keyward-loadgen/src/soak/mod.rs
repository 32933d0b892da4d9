//! The soak: minutes of mixed traffic at half of peak against a `keyward serve` process, with
//! its resident memory, open descriptors, latency and errors sampled every few seconds.
//!
//! In order: start the server, register what the traffic needs ([`setup`]), sign some customers
//! in so that refresh tokens circulate, find the peak (a closed loop with the same mix), then
//! run an open loop at half that rate for the soak's length (requests due at fixed times,
//! latency counted from then) while a sampler reads `/proc/PID/status` and `/proc/PID/fd`
//! (sockets apart from the other descriptors: sockets follow the connections, which keep-alive
//! opens and closes as the load moves; a leak of them shows once the load generator has closed
//! its connections, when the server must be back to the sockets it had before the traffic).
//! Client assertions are signed while the run goes, by a thread of their own a few thousand
//! ahead: minutes of pre-signed assertions would not fit in memory.

mod report;
mod setup;
mod signin;
mod traffic;
mod watch;

pub use report::{Bounds, KindRow, MinuteRow, Peak, Report, Sample, Slope};
pub use traffic::Kind;
pub use watch::Descriptors;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::assertions::{RequestSigner, unix_now};
use crate::latency::Latencies;
use crate::server::Server;
use traffic::{Traffic, TrafficSetup};
use watch::Recorder;

/// What one soak run does.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The keyward binary to run as the server.
    pub keyward: PathBuf,
    /// Length of the soak at half of peak.
    pub soak: Duration,
    /// Length of the closed-loop phase that finds the peak.
    pub peak: Duration,
    /// Time between samples.
    pub sample_every: Duration,
    /// Connections (workers) of the peak phase.
    pub peak_connections: usize,
    /// Workers of the soak (more than needed at half load, so that none waits for another).
    pub workers: usize,
    /// Client assertions signed ahead.
    pub signed_ahead: usize,
    /// Customers registered.
    pub users: usize,
    /// Customers signed in before the peak phase, so that refresh tokens circulate.
    pub chains: usize,
    /// The most growth allowed.
    pub bounds: Bounds,
}

impl Settings {
    /// The settings of `cargo xtask soak`: `minutes` of soak after a 10 s peak phase, sampled
    /// every 5 s, with the bounds [`Bounds::LONG`].
    pub fn long(keyward: PathBuf, minutes: u64) -> Self {
        Self {
            keyward,
            soak: Duration::from_secs(minutes * 60),
            peak: Duration::from_secs(10),
            sample_every: Duration::from_secs(5),
            peak_connections: 32,
            workers: 64,
            signed_ahead: 8192,
            users: 16,
            chains: 32,
            bounds: Bounds::LONG,
        }
    }
}

/// Runs the soak; the server is stopped whatever happens.
pub fn run(settings: &Settings) -> anyhow::Result<Report> {
    progress(&format!("starting {} serve", settings.keyward.display()));
    let load_before = watch::load_average();
    let server = Server::start(&settings.keyward)?;
    let result = with_server(settings, &server);
    let stopped = server.stop().context("stopping the server");
    match (result, stopped) {
        (Ok(mut report), Ok(())) => {
            report.load_average_before = load_before;
            report.load_average_after = watch::load_average();
            Ok(report)
        }
        (Ok(_), Err(e)) => Err(e),
        (Err(e), stopped) => {
            if let Err(also) = stopped {
                eprintln!("soak: also: {also:#}");
            }
            Err(e)
        }
    }
}

fn with_server(settings: &Settings, server: &Server) -> anyhow::Result<Report> {
    progress(&format!(
        "server {} (pid {}); registering clients, a vault reader, a web app and {} customers",
        server.url, server.pid, settings.users
    ));
    let descriptors_before = watch::open_fds(server.pid)?;
    let prepared = setup::prepare(server, settings.users)?;
    let signer = RequestSigner::new(&prepared.client, server.token_endpoint())?;
    let (tx, rx) = mpsc::channel::<Bytes>(settings.signed_ahead.max(1));
    let probe = tx.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let traffic_setup = TrafficSetup {
        origin: server.url.clone(),
        tenant: server.tenant.clone(),
        ca_pem: server.ca_pem()?,
        port: server.port()?,
        connections: settings.workers.max(settings.peak_connections),
        assertions: rx,
        vault: prepared.vault,
        graph: prepared.graph,
        secret_name: setup::SECRET_NAME.to_owned(),
        certificate_name: setup::CERTIFICATE_NAME.to_owned(),
        web: prepared.web,
        users: prepared.users,
        password: prepared.password,
    };
    std::thread::scope(|scope| {
        let signing = scope.spawn(move || sign_ahead(&signer, tx));
        let result = runtime.block_on(phases(settings, server.pid, traffic_setup, probe, descriptors_before));
        // Every task and connection goes with the runtime; the signing thread then finds the
        // channel closed and stops.
        drop(runtime);
        let mut report = match signing.join() {
            Ok(Ok(())) => result,
            Ok(Err(e)) => result.and(Err(e.context("signing client assertions"))),
            Err(_) => result.and(Err(anyhow::anyhow!("the signing thread panicked"))),
        }?;
        report.note_after_load(released_sockets(server.pid, descriptors_before.sockets)?);
        Ok(report)
    })
}

/// The server's descriptors once it has closed the connections the load generator closed: read
/// until no more sockets are open than `before`, for up to 15 s (the server sees each close at
/// once; the wait is for a machine busy with other work).
fn released_sockets(pid: u32, before: u64) -> anyhow::Result<Descriptors> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = watch::open_fds(pid)?;
        if now.sockets <= before || Instant::now() > deadline {
            return Ok(now);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Signs client credentials requests until the channel closes.
fn sign_ahead(signer: &RequestSigner<'_>, tx: mpsc::Sender<Bytes>) -> anyhow::Result<()> {
    loop {
        let body = signer.body(unix_now()?)?;
        if tx.blocking_send(body).is_err() {
            return Ok(());
        }
    }
}

/// The async part: the first sign-ins, the peak, the soak.
async fn phases(
    settings: &Settings,
    pid: u32,
    traffic_setup: TrafficSetup,
    probe: mpsc::Sender<Bytes>,
    descriptors_before: Descriptors,
) -> anyhow::Result<Report> {
    let traffic = Arc::new(Traffic::new(traffic_setup)?);
    progress(&format!("signing in {} customers", settings.chains));
    for _ in 0..settings.chains {
        if let Err(e) = traffic.sign_in().await {
            bail!("a first sign-in failed (the setup is wrong): {e}");
        }
    }
    // One of each, so that a setup mistake says what it is, and the vault and Graph tokens are
    // in the client library's cache before the clock starts.
    for kind in Kind::ALL {
        if let Err(e) = traffic.run(kind).await {
            bail!("the first {} failed (the setup is wrong): {e}", kind.name());
        }
    }
    progress(&format!("signing {} client assertions ahead", settings.signed_ahead));
    let deadline = Instant::now() + Duration::from_secs(300);
    while probe.capacity() > 0 {
        if Instant::now() > deadline {
            bail!("signing {} assertions took over 5 minutes", settings.signed_ahead);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(probe);
    let schedule: Arc<[Kind]> = traffic::schedule().into();

    progress(&format!(
        "peak: closed loop, mixed traffic, {} connections, {:?}",
        settings.peak_connections, settings.peak
    ));
    let peak_recorder = Arc::new(Recorder::default());
    let (peak_ops, peak_elapsed) = closed_loop(
        &traffic,
        &schedule,
        &peak_recorder,
        settings.peak_connections,
        settings.peak,
    )
    .await?;
    let peak_rate = peak_ops as f64 / peak_elapsed.as_secs_f64().max(1e-9);
    let peak_kinds = Arc::try_unwrap(peak_recorder)
        .map_err(|_| anyhow::anyhow!("a peak worker outlived its phase"))?
        .into_kinds();
    let rate = peak_rate / 2.0;

    progress(&format!(
        "soak: open loop at {rate:.0} operations/s (half of {peak_rate:.0}), {} workers, {:?}, sampled every {:?}",
        settings.workers, settings.soak, settings.sample_every
    ));
    let recorder = Arc::new(Recorder::default());
    let soak = open_loop(&traffic, &schedule, &recorder, settings, rate, pid).await?;
    let kinds = Arc::try_unwrap(recorder)
        .map_err(|_| anyhow::anyhow!("a soak worker outlived its phase"))?
        .into_kinds();
    Ok(Report::new(report::Inputs {
        settings,
        pid,
        peak_rate,
        peak_ops,
        peak_elapsed,
        peak_kinds,
        rate,
        soak,
        kinds,
        chains: traffic.chains(),
        applications_alive: traffic.applications_alive(),
        descriptors_before,
    }))
}

/// Each worker sends its next operation as soon as the last is answered, for `duration`.
async fn closed_loop(
    traffic: &Arc<Traffic>,
    schedule: &Arc<[Kind]>,
    recorder: &Arc<Recorder>,
    workers: usize,
    duration: Duration,
) -> anyhow::Result<(u64, Duration)> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (traffic, schedule, recorder, next) = (
                Arc::clone(traffic),
                Arc::clone(schedule),
                Arc::clone(recorder),
                Arc::clone(&next),
            );
            tokio::spawn(async move {
                let mut ops = 0u64;
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let kind = schedule[i % schedule.len()];
                    let sent = Instant::now();
                    let result = traffic.run(kind).await;
                    recorder.record(kind, sent.elapsed(), result);
                    ops += 1;
                }
                ops
            })
        })
        .collect();
    let mut ops = 0;
    for task in tasks {
        ops += task.await?;
    }
    Ok((ops, start.elapsed()))
}

/// What the soak phase saw, besides each operation's outcome.
pub(crate) struct SoakPhase {
    /// Operations due.
    pub sent: u64,
    /// From the first due time to the last answer.
    pub elapsed: Duration,
    /// Samples, the first at the start.
    pub samples: Vec<Sample>,
    /// Latencies and errors by minute.
    pub minutes: Vec<(Vec<u32>, u64)>,
}

/// Operations due at `rate` a second for the soak's length, handed to whichever worker is
/// free; a sampler reads the server's memory and descriptors and the window's latencies.
async fn open_loop(
    traffic: &Arc<Traffic>,
    schedule: &Arc<[Kind]>,
    recorder: &Arc<Recorder>,
    settings: &Settings,
    rate: f64,
    pid: u32,
) -> anyhow::Result<SoakPhase> {
    if !(rate > 0.0 && rate.is_finite()) {
        bail!("the peak phase measured no throughput ({rate} operations/s): nothing to soak at");
    }
    let duration = settings.soak;
    let (due_tx, due_rx) = mpsc::unbounded_channel::<(Instant, usize)>();
    let due_rx = Arc::new(tokio::sync::Mutex::new(due_rx));
    let workers: Vec<_> = (0..settings.workers)
        .map(|_| {
            let (traffic, schedule, recorder, due_rx) = (
                Arc::clone(traffic),
                Arc::clone(schedule),
                Arc::clone(recorder),
                Arc::clone(&due_rx),
            );
            tokio::spawn(async move {
                loop {
                    let next = due_rx.lock().await.recv().await;
                    let Some((due, i)) = next else { break };
                    let kind = schedule[i % schedule.len()];
                    let result = traffic.run(kind).await;
                    recorder.record(kind, due.elapsed(), result);
                }
            })
        })
        .collect();

    let start = Instant::now();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sampler = tokio::spawn(sample(
        Arc::clone(recorder),
        pid,
        start,
        settings.sample_every,
        duration,
        stop_rx,
    ));
    let ticker = tokio::task::spawn_blocking(move || {
        let mut sent = 0u64;
        while let Ok(offset) = Duration::try_from_secs_f64(sent as f64 / rate) {
            if offset >= duration {
                break;
            }
            let due = start + offset;
            // The standard library's sleep is precise to tens of microseconds on Linux.
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if due_tx.send((due, sent as usize)).is_err() {
                break;
            }
            sent += 1;
        }
        sent
    });
    let sent = ticker.await?;
    for worker in workers {
        worker.await?;
    }
    let elapsed = start.elapsed();
    stop_tx.send(()).ok();
    let (samples, minutes) = sampler.await??;
    Ok(SoakPhase {
        sent,
        elapsed,
        samples,
        minutes,
    })
}

type Sampled = (Vec<Sample>, Vec<(Vec<u32>, u64)>);

/// Every `every` until stopped (and once more then): the window's latencies and errors, the
/// server's resident memory and open descriptors.
async fn sample(
    recorder: Arc<Recorder>,
    pid: u32,
    start: Instant,
    every: Duration,
    soak: Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<Sampled> {
    let descriptors = watch::open_fds(pid)?;
    let mut samples = vec![Sample {
        t_s: 0.0,
        ops: 0,
        errors: 0,
        p50_ms: 0.0,
        p99_ms: 0.0,
        rss_kib: watch::rss_kib(pid)?,
        sockets: descriptors.sockets,
        other_fds: descriptors.other,
    }];
    let mut minutes: Vec<(Vec<u32>, u64)> = Vec::new();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let last = tokio::select! {
            _ = ticks.tick() => false,
            _ = &mut stop => true,
        };
        let window = recorder.take_window();
        let t_s = start.elapsed().as_secs_f64();
        let minute = minute_of(t_s, soak);
        if minutes.len() <= minute {
            minutes.resize_with(minute + 1, Default::default);
        }
        let ops = window.latencies_us.len() as u64;
        let latencies = Latencies::new(window.latencies_us.clone()).summary_ms();
        minutes[minute].0.extend(window.latencies_us);
        minutes[minute].1 += window.errors;
        let descriptors = watch::open_fds(pid)?;
        samples.push(Sample {
            t_s,
            ops,
            errors: window.errors,
            p50_ms: latencies.p50_ms,
            p99_ms: latencies.p99_ms,
            rss_kib: watch::rss_kib(pid)?,
            sockets: descriptors.sockets,
            other_fds: descriptors.other,
        });
        if last {
            return Ok((samples, minutes));
        }
    }
}

/// The minute (from 0) a sample taken `t_s` seconds into the soak closes; the last sample,
/// taken once the last answers are in, belongs to the soak's last minute.
pub(crate) fn minute_of(t_s: f64, soak: Duration) -> usize {
    let last = ((soak.as_secs_f64() / 60.0).ceil() as usize).saturating_sub(1);
    (((t_s - 1e-6).max(0.0) / 60.0) as usize).min(last)
}

fn progress(message: &str) {
    eprintln!("soak: {message}");
}
