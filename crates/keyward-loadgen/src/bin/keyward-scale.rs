//! `keyward-scale`: a million credentials (issue 16, point 4). Makes `--apps × --certs` real
//! RSA certificates and a directory of that many applications and `--users` users, starts
//! `keyward serve` on it and on a fresh directory, and reports start-up time, memory, token
//! latency at the same rate on both, and the cost of `keyward app cert add` on both (and, with
//! `--postgres`, how soon a second server on the same database takes a new certificate).
//! Certificates and populated directories are cached under `--cache-dir`. `cargo xtask scale`
//! builds and runs it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use keyward_loadgen::scale::{self, Settings};

/// Measures `keyward serve` with a hundred thousand applications of ten certificates and a
/// million users against a fresh directory, in the same run.
#[derive(Debug, Parser)]
#[command(
    name = "keyward-scale",
    after_help = "Example:\n  keyward-scale --keyward target/release/keyward --apps 10000 --users 100000"
)]
struct Flags {
    /// The keyward binary to run as the servers (a release build).
    #[arg(long, value_name = "PATH")]
    keyward: PathBuf,
    /// Applications in the big directory.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    apps: usize,
    /// Certificates per application.
    #[arg(long, default_value_t = 10, value_name = "N")]
    certs: usize,
    /// Users in the big directory's tenant.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    users: usize,
    /// Seconds of token requests per server (in two halves, alternating with the other).
    #[arg(long, default_value_t = 20, value_name = "N")]
    seconds: u64,
    /// Token requests per second, the same on both servers.
    #[arg(long, default_value_t = 300.0, value_name = "N")]
    rate: f64,
    /// Certificates added with `keyward app cert add` on each server.
    #[arg(long, default_value_t = 10, value_name = "N")]
    adds: usize,
    /// Keep the big directory in PostgreSQL (a fresh schema of postgres://postgres@127.0.0.1:5432/test)
    /// and measure a second server on it.
    #[arg(long)]
    postgres: bool,
    /// Where certificates and populated directories are cached between runs.
    #[arg(long, default_value = "target/keyward-scale", value_name = "DIR")]
    cache_dir: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyward-scale: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let flags = Flags::parse();
    if !(2..=600).contains(&flags.seconds) {
        bail!("--seconds takes 2 to 600, not {}", flags.seconds);
    }
    let keyward = flags
        .keyward
        .canonicalize()
        .with_context(|| format!("--keyward {}", flags.keyward.display()))?;
    let mut settings = Settings::full(keyward, flags.cache_dir);
    settings.apps = flags.apps;
    settings.certs = flags.certs;
    settings.users = flags.users;
    settings.seconds = Duration::from_secs(flags.seconds);
    settings.rate = flags.rate;
    settings.adds = flags.adds;
    settings.postgres = flags.postgres;
    let report = scale::run(&settings)?;
    if flags.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}
