//! The MSAL Node side: `node bench/client/msal.mjs CONFIG` as a child process that waits on
//! stdin between commands, so that it is idle while keyward-client is measured.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::Mode;
use crate::stats::CacheRound;

/// The longest one command may take (the longest is a round of new tokens).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// How long Node may take to exit after `quit`.
const QUIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `msal.mjs`.
pub struct MsalSide {
    child: Option<Child>,
    stdin: ChildStdin,
    lines: mpsc::Receiver<std::io::Result<String>>,
    /// `@azure/msal-node`'s version, as MSAL reports it.
    pub msal_version: String,
    /// `process.version`.
    pub node_version: String,
}

/// New tokens on the MSAL side.
pub struct NewTokens {
    /// One timing per token.
    pub samples_ns: Vec<u64>,
    /// HTTP requests made.
    pub requests: u64,
    /// TLS connections opened.
    pub connections: u64,
}

impl MsalSide {
    /// Starts Node with the server's CA in `NODE_EXTRA_CA_CERTS` and waits until MSAL is loaded.
    pub fn start(node: &Path, script: &Path, config: &Path, ca: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(node)
            .arg(script)
            .arg(config)
            .env("NODE_EXTRA_CA_CERTS", ca)
            .env_remove("NODE_OPTIONS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {} {}", node.display(), script.display()))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut side = Self {
            child: Some(child),
            stdin,
            lines,
            msal_version: String::new(),
            node_version: String::new(),
        };
        let ready = side.answer().context("msal.mjs did not start")?;
        side.msal_version = ready["msal"].as_str().unwrap_or("?").to_owned();
        side.node_version = ready["node"].as_str().unwrap_or("?").to_owned();
        Ok(side)
    }

    fn answer(&mut self) -> anyhow::Result<Value> {
        let line = match self.lines.recv_timeout(COMMAND_TIMEOUT) {
            Ok(line) => line.context("reading msal.mjs's answer")?,
            Err(mpsc::RecvTimeoutError::Timeout) => bail!("msal.mjs did not answer within {COMMAND_TIMEOUT:?}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("msal.mjs exited (its errors are above)"),
        };
        let answer: Value =
            serde_json::from_str(&line).with_context(|| format!("msal.mjs printed something else: {line}"))?;
        if answer["ok"] != true {
            bail!("MSAL Node side: {}", answer["error"].as_str().unwrap_or(&line));
        }
        Ok(answer)
    }

    fn command(&mut self, command: Value) -> anyhow::Result<Value> {
        writeln!(self.stdin, "{command}").context("msal.mjs is gone")?;
        self.stdin.flush().context("msal.mjs is gone")?;
        self.answer()
    }

    /// See `msal.mjs`: one client, its first token, `warmup` untimed cache hits.
    pub fn prepare(&mut self, warmup: usize) -> anyhow::Result<()> {
        self.command(json!({ "cmd": "prepare", "warmup": warmup }))?;
        Ok(())
    }

    /// Cache hits for at least `min`, then `sample` timed one by one.
    pub fn cache(&mut self, min: Duration, sample: usize) -> anyhow::Result<CacheRound> {
        let answer = self.command(json!({
            "cmd": "cache",
            "minMs": min.as_secs_f64() * 1000.0,
            "sample": sample,
        }))?;
        Ok(CacheRound {
            calls: answer["calls"].as_u64().context("no calls")? as usize,
            total_ns: answer["totalNs"].as_u64().context("no totalNs")?,
            sample_ns: numbers(&answer["sampleNs"])?,
        })
    }

    /// `n` new clients, one token each (see [`Mode`]); the timings, and the HTTP requests and
    /// TLS connections they made.
    pub fn new_tokens(&mut self, n: usize, mode: Mode) -> anyhow::Result<NewTokens> {
        let mode = match mode {
            Mode::Cold => "cold",
            Mode::Warm => "warm",
        };
        let answer = self.command(json!({ "cmd": "new", "n": n, "mode": mode }))?;
        Ok(NewTokens {
            samples_ns: numbers(&answer["samplesNs"])?,
            requests: answer["requests"].as_u64().context("no requests")?,
            connections: answer["connections"].as_u64().context("no connections")?,
        })
    }

    /// The cost of one timed empty call.
    pub fn clock(&mut self, n: usize) -> anyhow::Result<Vec<u64>> {
        numbers(&self.command(json!({ "cmd": "clock", "n": n }))?["sampleNs"])
    }

    /// Asks Node to exit and waits for it.
    pub fn quit(mut self) -> anyhow::Result<()> {
        writeln!(self.stdin, "{}", json!({ "cmd": "quit" })).ok();
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let deadline = std::time::Instant::now() + QUIT_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    bail!("msal.mjs exited with {status}");
                }
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                child.kill().ok();
                child.wait().ok();
                bail!("msal.mjs did not exit within {QUIT_TIMEOUT:?}; killed it");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for MsalSide {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

fn numbers(value: &Value) -> anyhow::Result<Vec<u64>> {
    value
        .as_array()
        .context("not an array")?
        .iter()
        .map(|n| n.as_u64().context("not a whole number of ns"))
        .collect()
}
