//! `keyward-soak`: minutes of mixed traffic (client credentials, vault reads, refresh tokens,
//! management writes, customer sign-ins) at half of peak against a `keyward serve` it starts,
//! sampling the server's memory, open descriptors and latency. Exits non-zero on any error or
//! if memory or descriptors grow faster than the bounds. `cargo xtask soak` builds and runs it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use keyward_loadgen::soak::{self, Settings};

/// Soaks `keyward serve` at half of its peak with mixed traffic and reports errors, memory and
/// descriptor slopes, and latency by minute.
#[derive(Debug, Parser)]
#[command(
    name = "keyward-soak",
    after_help = "Example:\n  keyward-soak --keyward target/release/keyward --minutes 10"
)]
struct Flags {
    /// The keyward binary to run as the server (a release build).
    #[arg(long, value_name = "PATH")]
    keyward: PathBuf,
    /// Length of the soak at half of peak, in minutes (after a 10 s peak phase).
    #[arg(long, default_value_t = 10, value_name = "N")]
    minutes: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("keyward-soak: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<bool> {
    let flags = Flags::parse();
    if !(1..=45).contains(&flags.minutes) {
        // Under an hour: the server's default token lifetime, which nothing here tests.
        bail!("--minutes takes 1 to 45, not {}", flags.minutes);
    }
    let keyward = flags
        .keyward
        .canonicalize()
        .with_context(|| format!("--keyward {}", flags.keyward.display()))?;
    let report = soak::run(&Settings::long(keyward, flags.minutes))?;
    if flags.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(report.passed)
}
