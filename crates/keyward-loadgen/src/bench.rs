//! One benchmark run, in order: start the server, register the client, measure RSA, pre-sign,
//! warm up, the peak phase, the half-load phase, measure RSA again, stop the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::assertions::{Pool, RequestSigner};
use crate::flags::Settings;
use crate::load::{self, Target};
use crate::proc_stat::{self, ClockTicks};
use crate::registration;
use crate::report::{
    self, AssertionCounts, LastUseWrites, Machine, PhaseReport, Reference, Report, RsaFigures, Targets,
};
use crate::rsa_cost::RsaCost;
use crate::server::Server;

/// RSA batches measured before the peak phase, and again after the half-load phase.
const RSA_BATCHES_EACH: usize = 6;
/// Sign + verify pairs per RSA batch.
const RSA_PAIRS_PER_BATCH: usize = 200;
/// Never pre-sign more than this many at once (about 1.2 KB each).
const MAX_ASSERTIONS: usize = 400_000;
/// Headroom over the most tokens the server could issue if RSA were all it did.
const HEADROOM: f64 = 1.1;

/// Runs the benchmark; the server is stopped whatever happens.
pub fn run(settings: &Settings) -> anyhow::Result<Report> {
    let machine = Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        clk_tck: ClockTicks::get()?.0,
        load_average_before: proc_stat::load_average(),
    };
    progress(&format!("starting {} serve", settings.keyward.display()));
    let server = Server::start(&settings.keyward)?;
    let result = with_server(settings, &server, machine);
    let stopped = server.stop().context("stopping the server");
    match (result, stopped) {
        (Ok(report), Ok(())) => Ok(report),
        (Ok(_), Err(e)) => Err(e),
        (Err(e), stopped) => {
            if let Err(also) = stopped {
                eprintln!("keyward-loadgen: also: {also:#}");
            }
            Err(e)
        }
    }
}

/// Credentials the run uses: the benchmark client's certificate, and the admin's that
/// registers it.
const CREDENTIALS_USED: u64 = 2;

fn with_server(settings: &Settings, server: &Server, machine: Machine) -> anyhow::Result<Report> {
    let started = Instant::now();
    progress(&format!(
        "server {} (pid {}); registering bench-api and bench-client",
        server.url, server.pid
    ));
    let client = registration::register(server)?;
    let signer = RequestSigner::new(&client, server.token_endpoint())?;
    let cores = machine.cores;
    let clock = ClockTicks(machine.clk_tck);

    let mut rsa = RsaCost::new(RSA_PAIRS_PER_BATCH);
    rsa.measure(&client.key, RSA_BATCHES_EACH)?;
    let presigned = match settings.assertions {
        Some(n) => n,
        None => peak_bound(rsa.median_us(), cores, settings.phase) + settings.concurrency,
    };
    progress(&format!(
        "RSA sign + verify {:.0} µs; pre-signing {presigned} assertions on {cores} threads",
        rsa.median_us()
    ));
    let signing = Instant::now();
    let bodies = signer.bodies(presigned, cores)?;
    let mut signing_time = signing.elapsed();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let (peak, half, topped_up, half_rate, last_use_writes) = runtime.block_on(async {
        let target = Arc::new(Target::new(
            server.token_endpoint(),
            &server.ca_pem()?,
            server.port()?,
            settings.concurrency,
        )?);
        let pool = Arc::new(Pool::new(bodies));
        load::warm_up(&target, &pool, settings.concurrency).await?;
        progress(&format!(
            "peak: closed loop, {} connections, {:?}",
            settings.concurrency, settings.phase
        ));
        let peak = load::closed_loop(&target, &pool, settings.concurrency, settings.phase, server.pid).await?;
        let half_rate = peak.tokens as f64 / peak.elapsed.as_secs_f64().max(1e-9) / 2.0;

        let mut rest = pool.rest();
        let mut topped_up = 0;
        if settings.assertions.is_none() {
            let need =
                ((half_rate * settings.phase.as_secs_f64()).ceil() as usize + settings.concurrency).min(MAX_ASSERTIONS);
            if rest.len() < need {
                topped_up = need - rest.len();
                progress(&format!("signing {topped_up} more assertions for the half-load phase"));
                let signing = Instant::now();
                rest.extend(signer.bodies(topped_up, cores)?);
                signing_time += signing.elapsed();
            }
        }
        let pool = Arc::new(Pool::new(rest));
        progress(&format!(
            "half load: open loop, {half_rate:.0} requests/s, {:?}",
            settings.phase
        ));
        let half = load::open_loop(
            &target,
            &pool,
            settings.concurrency,
            half_rate,
            settings.phase,
            server.pid,
        )
        .await?;
        let writes = target
            .counter(&format!("{}/metrics", server.url), "keyward_last_use_writes_total")
            .await;
        anyhow::Ok((peak, half, topped_up, half_rate, writes))
    })?;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    // Closes the connections before the server is asked to stop.
    drop(runtime);
    rsa.measure(&client.key, RSA_BATCHES_EACH)?;

    let rsa_ms = rsa.median_us() / 1000.0;
    let peak = PhaseReport::new(&peak, "closed loop", settings.concurrency, None, clock);
    let half_load = PhaseReport::new(&half, "open loop", settings.concurrency, Some(half_rate), clock);
    let rsa_share = peak.rsa_share_pct(rsa_ms);
    let last_use = last_use_writes.map(|writes| LastUseWrites {
        writes,
        credentials: CREDENTIALS_USED,
        minutes,
        bound: CREDENTIALS_USED * (minutes.floor() as u64 + 1),
        tokens: peak.tokens + half_load.tokens,
    });
    let targets = Targets {
        rsa_share_min_pct: report::TARGET_RSA_SHARE_PCT,
        rsa_share_met: rsa_share >= report::TARGET_RSA_SHARE_PCT,
        half_load_p99_max_ms: report::TARGET_HALF_LOAD_P99_MS,
        half_load_p99_met: half_load.tokens > 0 && half_load.latency.p99_ms < report::TARGET_HALF_LOAD_P99_MS,
    };
    Ok(Report {
        machine,
        assertions: AssertionCounts {
            presigned,
            signed_between_phases: topped_up,
            signing_seconds: signing_time.as_secs_f64(),
        },
        rsa: RsaFigures {
            sign_plus_verify_ms: rsa_ms,
            sign_plus_verify_wall_ms: rsa.median_wall_us() / 1000.0,
            pairs_per_batch: RSA_PAIRS_PER_BATCH,
            batches_us: rsa.batches_us.clone(),
        },
        rsa_share_of_server_cpu_pct: rsa_share,
        rsa_share_of_server_cpu_pct_half_load: half_load.rsa_share_pct(rsa_ms),
        peak,
        half_load,
        reference: Reference::default(),
        targets,
        last_use,
    })
}

/// The most tokens the server could issue in `phase` if it did nothing but one sign and one
/// verify per token on every core, with some headroom: enough assertions for the peak phase.
fn peak_bound(rsa_us: f64, cores: usize, phase: Duration) -> usize {
    let per_second = cores as f64 * 1e6 / rsa_us.max(1.0);
    ((per_second * phase.as_secs_f64() * HEADROOM).ceil() as usize).min(MAX_ASSERTIONS)
}

fn progress(message: &str) {
    eprintln!("keyward-loadgen: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_bound_covers_every_core_doing_only_rsa() {
        // 250 µs per token on 2 cores is 8,000 tokens/s; 10 s with 10 % headroom.
        assert_eq!(peak_bound(250.0, 2, Duration::from_secs(10)), 88_000);
        assert_eq!(peak_bound(1.0, 64, Duration::from_secs(600)), MAX_ASSERTIONS);
    }
}
