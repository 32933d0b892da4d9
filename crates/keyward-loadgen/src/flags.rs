//! Command-line flags, validated into [`Settings`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;

/// Drives `keyward serve`'s token endpoint with pre-signed client assertions and reports
/// tokens/s, latency, and the server's CPU per token next to the raw cost of RSA.
///
/// It starts its own server on a temporary data directory, registers a client with an RSA-2048
/// certificate through `keyward app`, and stops the server at the end.
#[derive(Debug, Parser)]
#[command(
    name = "keyward-loadgen",
    after_help = "Example:\n  keyward-loadgen --keyward target/release/keyward --seconds 10 --concurrency 32"
)]
struct Flags {
    /// The keyward binary to benchmark (a release build).
    #[arg(long, value_name = "PATH")]
    keyward: PathBuf,
    /// Length of each phase (peak, then half load), in seconds.
    #[arg(long, default_value_t = 10, value_name = "N")]
    seconds: u64,
    /// Connections (and workers) driving the token endpoint.
    #[arg(long, default_value_t = 32, value_name = "N")]
    concurrency: usize,
    /// Assertions to pre-sign [default: as many as the server could possibly use in the peak
    /// phase, from the measured RSA cost; topped up before the half-load phase]. A phase that
    /// runs out stops early and says so.
    #[arg(long, value_name = "N")]
    assertions: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// What one run does.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The keyward binary.
    pub keyward: PathBuf,
    /// Length of each phase.
    pub phase: Duration,
    /// Connections and workers.
    pub concurrency: usize,
    /// A fixed number of assertions for the whole run, or `None` to size them from the RSA cost.
    pub assertions: Option<usize>,
    /// Report as JSON.
    pub json: bool,
}

impl Settings {
    /// Parses and checks the command line.
    pub fn from_args() -> anyhow::Result<Self> {
        Self::from_flags(Flags::parse())
    }

    fn from_flags(flags: Flags) -> anyhow::Result<Self> {
        let keyward = flags
            .keyward
            .canonicalize()
            .with_context(|| format!("--keyward {}", flags.keyward.display()))?;
        if !keyward.is_file() {
            bail!("--keyward {} is not a file", keyward.display());
        }
        if !(1..=600).contains(&flags.seconds) {
            bail!("--seconds takes 1 to 600, not {}", flags.seconds);
        }
        if !(1..=4096).contains(&flags.concurrency) {
            bail!("--concurrency takes 1 to 4096, not {}", flags.concurrency);
        }
        if let Some(n) = flags.assertions
            && n <= flags.concurrency
        {
            bail!(
                "--assertions must be more than --concurrency ({}): the first {} only open the connections",
                flags.concurrency,
                flags.concurrency
            );
        }
        Ok(Self {
            keyward,
            phase: Duration::from_secs(flags.seconds),
            concurrency: flags.concurrency,
            assertions: flags.assertions,
            json: flags.json,
        })
    }
}
