//! `client_bench`: keyward-client against MSAL Node 7 in the same run, against one `keyward
//! serve`: (a) a token from the cache, (b) a new token from the server, assertion included.
//!
//! It starts the server on a temporary data directory, registers a resource with an app role
//! and a client granted it with an RSA-2048 certificate (via `keyward app`), starts
//! `node bench/client/msal.mjs` and measures both sides in rounds, alternating which side goes
//! first, with only one side running at a time. `cargo xtask bench client` builds and runs it.

mod keyward_side;
mod msal_side;
mod report;
mod setup;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use keyward_loadgen::server::Server;

use crate::keyward_side::KeywardSide;
use crate::msal_side::{MsalSide, NewTokens};
use crate::report::{Comparison, Machine, Method, MsalTraffic, Report};
use crate::setup::Setup;
use crate::stats::{CacheFigures, CacheRound, TokenFigures};

/// keyward-client against MSAL Node 7 on one `keyward serve`: cache hits and new tokens.
#[derive(Debug, Parser)]
#[command(
    name = "client_bench",
    after_help = "Example:\n  client_bench --keyward target/release/keyward --node-script bench/client/msal.mjs"
)]
struct Flags {
    /// The keyward binary (a release build).
    #[arg(long, value_name = "PATH")]
    keyward: PathBuf,
    /// MSAL Node's side, `bench/client/msal.mjs` (it loads MSAL from interop/node/node_modules).
    #[arg(long, value_name = "PATH")]
    node_script: PathBuf,
    /// The Node.js binary.
    #[arg(long, value_name = "PATH", default_value = "node")]
    node: PathBuf,
    /// Rounds; the side that goes first alternates.
    #[arg(long, default_value_t = 6, value_name = "N")]
    rounds: usize,
    /// Cache hits timed as a whole, per side per round, for at least this long.
    #[arg(long, default_value_t = 300, value_name = "MS")]
    cache_ms: u64,
    /// Cache hits timed one by one, per side per round (for the percentiles).
    #[arg(long, default_value_t = 5000, value_name = "N")]
    sample: usize,
    /// Untimed cache hits before the first round, per side.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    warmup: usize,
    /// New tokens per side in all (spread over the rounds).
    #[arg(long, default_value_t = 300, value_name = "N")]
    tokens: usize,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Untimed new tokens per side before the first round (first-use costs in either runtime).
const TOKEN_WARMUP: usize = 10;
/// A pause after each measurement, so that the side just measured (V8's background threads,
/// the server's) is idle before the other starts.
const SETTLE: Duration = Duration::from_millis(100);
/// Empty timed calls measured per side, for the cost of timing one call.
const CLOCK_SAMPLES: usize = 10_000;

fn main() -> ExitCode {
    let flags = Flags::parse();
    match run(&flags) {
        Ok(report) => {
            if flags.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("client_bench: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", report.text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("client_bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(flags: &Flags) -> anyhow::Result<Report> {
    ensure!((1..=100).contains(&flags.rounds), "--rounds takes 1 to 100");
    ensure!(flags.tokens >= flags.rounds, "--tokens must be at least --rounds");
    ensure!(
        flags.sample >= 1 && flags.cache_ms >= 1,
        "--sample and --cache-ms take at least 1"
    );
    let keyward = flags
        .keyward
        .canonicalize()
        .with_context(|| format!("--keyward {}", flags.keyward.display()))?;
    let script = flags
        .node_script
        .canonicalize()
        .with_context(|| format!("--node-script {}", flags.node_script.display()))?;
    let started = Instant::now();
    let load_average_before = load_average();
    progress(&format!("starting {} serve", keyward.display()));
    let server = Server::start(&keyward)?;
    let result = with_server(flags, &script, &server, load_average_before, started);
    let stopped = server.stop().context("stopping the server");
    match (result, stopped) {
        (Ok(report), Ok(())) => Ok(report),
        (Ok(_), Err(e)) => Err(e),
        (Err(e), stopped) => {
            if let Err(also) = stopped {
                eprintln!("client_bench: also: {also:#}");
            }
            Err(e)
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Keyward,
    Msal,
}

fn with_server(
    flags: &Flags,
    script: &std::path::Path,
    server: &Server,
    load_average_before: Option<[f64; 3]>,
    started: Instant,
) -> anyhow::Result<Report> {
    progress(&format!(
        "server {} (pid {}); registering bench-api (role Tasks.Read.All) and bench-client (RSA-2048 certificate)",
        server.url, server.pid
    ));
    let setup = Setup::register(server)?;
    let config = setup.write_msal_config(server.data())?;
    let mut msal = MsalSide::start(&flags.node, script, &config, &server.data().join("tls/ca.pem"))?;
    let result = measure(flags, setup, &mut msal);
    let machine = Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average_before,
        node: msal.node_version.clone(),
        msal_node: msal.msal_version.clone(),
    };
    let quit = msal.quit();
    let measured = result?;
    quit?;
    let method = Method {
        rounds: flags.rounds,
        cache_ms_per_side_per_round: flags.cache_ms,
        sampled_per_side_per_round: flags.sample,
        cache_warmup: flags.warmup,
        tokens_per_side_per_round: flags.tokens.div_ceil(flags.rounds),
        token_warmup: TOKEN_WARMUP,
    };
    Ok(Report::new(
        machine,
        method,
        measured.cache_hit,
        measured.cold,
        measured.warm,
        measured.traffic,
        started.elapsed(),
    ))
}

/// How a new client gets its token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// As a process that just started: building the client, a new TLS connection, discovery,
    /// the assertion and the token request, all timed.
    Cold,
    /// The client built, discovery done and a connection open, untimed: the assertion and the
    /// token request timed.
    Warm,
}

struct Measured {
    cache_hit: Comparison<CacheFigures>,
    cold: Comparison<TokenFigures>,
    warm: Comparison<TokenFigures>,
    traffic: MsalTraffic,
}

fn measure(flags: &Flags, setup: Setup, msal: &mut MsalSide) -> anyhow::Result<Measured> {
    let mut ours = KeywardSide::new(setup)?;
    let cache_min = Duration::from_millis(flags.cache_ms);
    let per_round = flags.tokens.div_ceil(flags.rounds);

    progress(&format!(
        "warm-up: one client each, first token, {} cache hits; {TOKEN_WARMUP} new clients each, cold and warm",
        flags.warmup
    ));
    ours.prepare(flags.warmup)?;
    settle();
    msal.prepare(flags.warmup)?;
    settle();
    for mode in [Mode::Cold, Mode::Warm] {
        ours.new_tokens(TOKEN_WARMUP, mode)?;
        settle();
        msal.new_tokens(TOKEN_WARMUP, mode)?;
        settle();
    }

    let (mut our_cache, mut their_cache) = (CacheRound::default(), CacheRound::default());
    let mut our_tokens = [Vec::new(), Vec::new()];
    let mut their_tokens = [Vec::new(), Vec::new()];
    let mut traffic = MsalTraffic::default();
    for round in 0..flags.rounds {
        let order = if round % 2 == 0 {
            [Side::Keyward, Side::Msal]
        } else {
            [Side::Msal, Side::Keyward]
        };
        progress(&format!(
            "round {}/{}: {} first; cache hits, then {per_round} new tokens each cold, then warm",
            round + 1,
            flags.rounds,
            if order[0] == Side::Keyward {
                "keyward-client"
            } else {
                "MSAL Node"
            }
        ));
        for side in order {
            match side {
                Side::Keyward => our_cache.add(ours.cache(cache_min, flags.sample)?),
                Side::Msal => their_cache.add(msal.cache(cache_min, flags.sample)?),
            }
            settle();
        }
        for (i, mode) in [Mode::Cold, Mode::Warm].into_iter().enumerate() {
            for side in order {
                match side {
                    Side::Keyward => our_tokens[i].extend(ours.new_tokens(per_round, mode)?),
                    Side::Msal => {
                        let new = msal.new_tokens(per_round, mode)?;
                        traffic.add(mode, &new);
                        their_tokens[i].extend(new.samples_ns);
                    }
                }
                settle();
            }
        }
    }
    traffic.check()?;
    let our_clock = ours.clock(CLOCK_SAMPLES);
    let their_clock = msal.clock(CLOCK_SAMPLES)?;
    let [our_cold, our_warm] = our_tokens;
    let [their_cold, their_warm] = their_tokens;
    Ok(Measured {
        cache_hit: Comparison::new(
            CacheFigures::of(our_cache, our_clock),
            CacheFigures::of(their_cache, their_clock),
        ),
        cold: Comparison::new(TokenFigures::of(our_cold), TokenFigures::of(their_cold)),
        warm: Comparison::new(TokenFigures::of(our_warm), TokenFigures::of(their_warm)),
        traffic,
    })
}

impl MsalTraffic {
    fn add(&mut self, mode: Mode, new: &NewTokens) {
        let n = new.samples_ns.len() as u64;
        let (tokens, requests, connections) = match mode {
            Mode::Cold => (
                &mut self.cold_tokens,
                &mut self.cold_requests,
                &mut self.cold_connections,
            ),
            Mode::Warm => (
                &mut self.warm_tokens,
                &mut self.warm_requests,
                &mut self.warm_connections,
            ),
        };
        *tokens += n;
        *requests += new.requests;
        *connections += new.connections;
    }

    /// MSAL did what each mode says: cold, discovery and a token request per client on
    /// connections of its own; warm, the token request alone.
    fn check(&self) -> anyhow::Result<()> {
        if self.cold_requests != 2 * self.cold_tokens || self.cold_connections < self.cold_tokens {
            bail!(
                "cold MSAL clients made {} requests on {} new connections for {} tokens (expected discovery and \
                 the token request on at least one new connection each)",
                self.cold_requests,
                self.cold_connections,
                self.cold_tokens
            );
        }
        if self.warm_requests != self.warm_tokens {
            bail!(
                "warm MSAL clients made {} requests for {} tokens (expected the token request alone)",
                self.warm_requests,
                self.warm_tokens
            );
        }
        Ok(())
    }
}

fn settle() {
    std::thread::sleep(SETTLE);
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

fn progress(message: &str) {
    eprintln!("client_bench: {message}");
}
