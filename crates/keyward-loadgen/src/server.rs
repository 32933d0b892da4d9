//! The server under test: `keyward serve` on a temporary data directory, driven by `keyward app`
//! and stopped with SIGTERM when done, on every path (dropping a [`Server`] stops it too).
//!
//! A process of its own, not an in-process `keyward_server::start`: the server's CPU per token
//! is read from `/proc/PID/stat`, exactly, with nothing to attribute. In this process it would
//! have to be summed per thread by name, which loses the time of threads that exit (the
//! runtime's blocking pool, SQLite workers) to the load generator's share, and it would share
//! the allocator with the load it measures; and the figures would stop being comparable with
//! those measured before.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

/// How long `keyward serve` may take to write `server.json`.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one `keyward app` command may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server may take to exit after SIGTERM (it finishes requests for up to 10 s).
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Environment variables that would point the server or the CLI elsewhere, or make the server
/// log every request (which would be measured as token endpoint cost).
const SCRUBBED_ENV: [&str; 4] = ["KEYWARD_DATA", "KEYWARD_SERVER", "KEYWARD_LOG", "RUST_LOG"];

/// The connections the server accepts at once, all from loopback: more than `--concurrency`
/// allows (4096), with room for the CLI and connections the clients are closing.
const LOOPBACK_CONNECTIONS: &str = "8192";

/// A running `keyward serve`.
pub struct Server {
    child: Option<Child>,
    /// `None` only once [`Server::stop_keeping_data`] has taken it.
    data: Option<tempfile::TempDir>,
    data_path: PathBuf,
    keyward: PathBuf,
    cli_timeout: Duration,
    /// Its public URL, e.g. `https://localhost:41234`.
    pub url: String,
    /// The default tenant's name.
    pub tenant: String,
    /// Its process id.
    pub pid: u32,
}

impl Server {
    /// Starts `KEYWARD serve --data TMP --listen 127.0.0.1:0` and waits until it has written
    /// `TMP/server.json`.
    pub fn start(keyward: &Path) -> anyhow::Result<Self> {
        Self::start_with(keyward, Options::default())
    }

    /// A new, empty temporary data directory, for [`Options::data`].
    pub fn temporary_data() -> anyhow::Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix("keyward-loadgen-")
            .tempdir()
            .context("cannot make a temporary data directory")
    }

    /// Starts `KEYWARD serve` as [`Server::start`] does, with `options`.
    pub fn start_with(keyward: &Path, options: Options) -> anyhow::Result<Self> {
        let data = match options.data {
            Some(data) => data,
            None => Self::temporary_data()?,
        };
        let mut command = Command::new(keyward);
        command
            .arg("serve")
            .arg("--data")
            .arg(data.path())
            .args(["--listen", "127.0.0.1:0"])
            .args(&options.args)
            // Every client of a benchmark comes from 127.0.0.1: the per-address cap is the total.
            .args(["--max-connections", LOOPBACK_CONNECTIONS])
            .args(["--max-connections-per-address", LOOPBACK_CONNECTIONS])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for name in SCRUBBED_ENV {
            command.env_remove(name);
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {} serve", keyward.display()))?;
        let pid = child.id();
        // From here on, dropping `server` stops the process.
        let mut server = Self {
            child: Some(child),
            data_path: data.path().to_owned(),
            data: Some(data),
            keyward: keyward.to_owned(),
            cli_timeout: options.cli_timeout.unwrap_or(CLI_TIMEOUT),
            url: String::new(),
            tenant: String::new(),
            pid,
        };
        let info_path = server.data_path.join("server.json");
        let start_timeout = options.start_timeout.unwrap_or(START_TIMEOUT);
        let deadline = Instant::now() + start_timeout;
        loop {
            if let Ok(text) = std::fs::read_to_string(&info_path)
                && let Ok(info) = serde_json::from_str::<Value>(&text)
                && info["pid"] == pid
            {
                server.url = info["url"].as_str().context("server.json has no url")?.to_owned();
                server.tenant = info["tenant"].as_str().context("server.json has no tenant")?.to_owned();
                return Ok(server);
            }
            if let Some(child) = server.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                server.child = None;
                bail!("keyward serve exited with {status} before it was ready (run it by hand to see why)");
            }
            if Instant::now() > deadline {
                bail!("keyward serve did not write server.json within {start_timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.data_path
    }

    /// The CA certificate (PEM) the server's TLS certificate chains to.
    pub fn ca_pem(&self) -> anyhow::Result<Vec<u8>> {
        let path = self.data().join("tls/ca.pem");
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    }

    /// The token endpoint of the default tenant, as an assertion's `aud` names it.
    pub fn token_endpoint(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.url, self.tenant)
    }

    /// The TCP port, from the URL.
    pub fn port(&self) -> anyhow::Result<u16> {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .with_context(|| format!("the server URL {} has no port", self.url))
    }

    /// Runs `keyward ARGS --data TMP --json` and returns the JSON it prints.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<Value> {
        let mut command = Command::new(&self.keyward);
        command
            .args(args)
            .arg("--data")
            .arg(self.data())
            .arg("--json")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in SCRUBBED_ENV {
            command.env_remove(name);
        }
        let shown = format!("keyward {}", args.join(" "));
        let out = output_within(command, self.cli_timeout).with_context(|| shown.clone())?;
        if !out.status.success() {
            bail!(
                "{shown} failed with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout).with_context(|| format!("{shown} did not print JSON"))
    }

    /// Stops the server with SIGTERM and waits for it; an error if it does not exit cleanly.
    pub fn stop(mut self) -> anyhow::Result<()> {
        match self.child.take() {
            Some(child) => stop(child),
            None => Ok(()),
        }
    }

    /// Stops the server as [`Server::stop`] does and hands over its data directory instead of
    /// deleting it.
    pub fn stop_keeping_data(mut self) -> anyhow::Result<tempfile::TempDir> {
        if let Some(child) = self.child.take() {
            stop(child)?;
        }
        self.data.take().context("the data directory was already taken")
    }
}

/// How [`Server::start_with`] starts the server.
#[derive(Debug, Default)]
pub struct Options {
    /// The data directory to run on (it may hold a directory made before: the server reads it);
    /// a new temporary one if `None`.
    pub data: Option<tempfile::TempDir>,
    /// More arguments for `keyward serve`, e.g. `--database postgres://...`.
    pub args: Vec<String>,
    /// How long it may take to write `server.json`; 60 s if `None`.
    pub start_timeout: Option<Duration>,
    /// How long one [`Server::cli`] command may take; 60 s if `None`.
    pub cli_timeout: Option<Duration>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            stop(child).ok();
        }
    }
}

/// SIGTERM (with the `kill` command: we take no libc), then SIGKILL if it has not exited in
/// time.
fn stop(mut child: Child) -> anyhow::Result<()> {
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !sent.is_ok_and(|s| s.success()) {
        child.kill().ok();
        child.wait().ok();
        bail!("could not send SIGTERM to keyward serve (pid {pid}); killed it");
    }
    match wait_within(&mut child, STOP_TIMEOUT)? {
        Some(status) if status.success() => Ok(()),
        Some(status) => bail!("keyward serve exited with {status} after SIGTERM"),
        None => {
            child.kill().ok();
            child.wait().ok();
            bail!("keyward serve did not stop within {STOP_TIMEOUT:?} of SIGTERM; killed it")
        }
    }
}

fn wait_within(child: &mut Child, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a command to completion, collecting its output; kills it after `timeout`.
fn output_within(mut command: Command, timeout: Duration) -> anyhow::Result<Output> {
    let child = command.spawn().context("cannot start")?;
    let pid = child.id().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(timeout) {
        Ok(output) => Ok(output?),
        Err(_) => {
            Command::new("kill").args(["-KILL", &pid]).status().ok();
            bail!("did not finish within {timeout:?}; killed it")
        }
    }
}
