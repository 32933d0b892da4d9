//! What the soak watches: the server's resident memory and open descriptors from `/proc`, every
//! answer's latency and outcome (by kind, and by sampling window), and the least-squares slope
//! of a series.

use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;

use super::traffic::Kind;
use crate::latency::Latencies;

/// The server's resident set size in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("{path} has no VmRSS line"))
}

/// A process's open descriptors (entries of `/proc/PID/fd`), in two kinds: sockets follow the
/// clients' connections (opened and closed with keep-alive as the load comes and goes), the
/// others (files, pipes, event and timer descriptors) should not move once the server is warm:
/// a leak shows there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Descriptors {
    /// Sockets: listeners and connections.
    pub sockets: u64,
    /// Everything else.
    pub other: u64,
}

/// The descriptors `pid` has open. One closed between the listing and its link being read is
/// not counted.
pub fn open_fds(pid: u32) -> anyhow::Result<Descriptors> {
    let path = format!("/proc/{pid}/fd");
    let entries = std::fs::read_dir(&path).with_context(|| format!("cannot list {path}"))?;
    let mut found = Descriptors::default();
    for entry in entries.flatten() {
        match std::fs::read_link(entry.path()) {
            Ok(target) if target.as_os_str().as_encoded_bytes().starts_with(b"socket:") => found.sockets += 1,
            Ok(_) => found.other += 1,
            Err(_) => {}
        }
    }
    Ok(found)
}

/// The machine's load averages (1, 5, 15 minutes), if `/proc/loadavg` reads.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// Latencies and outcomes of one kind of operation.
#[derive(Default)]
pub struct KindTally {
    /// Every answered operation's latency, in microseconds.
    pub latencies_us: Vec<u32>,
    /// Operations that failed.
    pub errors: u64,
    /// What the first failure said.
    pub first_error: Option<String>,
}

/// Latencies and errors since the last sample.
#[derive(Default)]
pub struct Window {
    /// Latencies in microseconds.
    pub latencies_us: Vec<u32>,
    /// Failures.
    pub errors: u64,
}

#[derive(Default)]
struct State {
    kinds: [KindTally; Kind::ALL.len()],
    window: Window,
}

/// Collects every operation's outcome, from any task.
#[derive(Default)]
pub struct Recorder {
    state: Mutex<State>,
}

impl Recorder {
    /// Notes one operation.
    pub fn record(&self, kind: Kind, latency: Duration, result: Result<(), String>) {
        let sample = Latencies::sample(latency);
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tally = &mut state.kinds[kind as usize];
        tally.latencies_us.push(sample);
        if let Err(e) = &result {
            tally.errors += 1;
            tally.first_error.get_or_insert_with(|| e.clone());
        }
        state.window.latencies_us.push(sample);
        if result.is_err() {
            state.window.errors += 1;
        }
    }

    /// The window since the last call; a new one starts.
    pub fn take_window(&self) -> Window {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut state.window)
    }

    /// Everything recorded, by kind (in the order of [`Kind::ALL`]).
    pub fn into_kinds(self) -> [KindTally; Kind::ALL.len()] {
        self.state
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .kinds
    }
}

/// The least-squares slope of `points` (x, y); `None` for fewer than two distinct x.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_and_of_a_flat_series() {
        let line: Vec<_> = (0..10).map(|x| (f64::from(x), 3.0 * f64::from(x) + 7.0)).collect();
        assert!((slope(&line).unwrap() - 3.0).abs() < 1e-9);
        let flat: Vec<_> = (0..10).map(|x| (f64::from(x), 42.0)).collect();
        assert_eq!(slope(&flat), Some(0.0));
        assert_eq!(slope(&[(1.0, 2.0)]), None);
        assert_eq!(slope(&[(1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn noise_around_a_flat_line_has_a_small_slope() {
        let noisy: Vec<_> = (0..60)
            .map(|x| (f64::from(x), 100.0 + if x % 2 == 0 { 5.0 } else { -5.0 }))
            .collect();
        assert!(slope(&noisy).unwrap().abs() < 0.2);
    }

    #[test]
    fn this_process_has_memory_and_descriptors() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        // A socket we hold is counted as one, the standard streams as others.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = open_fds(me).unwrap();
        assert!(open.sockets >= 1 && open.other >= 3, "{open:?}");
        drop(listener);
    }

    #[test]
    fn the_recorder_counts_errors_by_kind_and_window() {
        let recorder = Recorder::default();
        recorder.record(Kind::SecretRead, Duration::from_millis(2), Ok(()));
        recorder.record(Kind::SecretRead, Duration::from_millis(3), Err("HTTP 500".into()));
        recorder.record(Kind::Refresh, Duration::from_millis(1), Ok(()));
        let window = recorder.take_window();
        assert_eq!((window.latencies_us.len(), window.errors), (3, 1));
        assert_eq!(recorder.take_window().latencies_us.len(), 0);
        let kinds = recorder.into_kinds();
        let secret = &kinds[Kind::SecretRead as usize];
        assert_eq!((secret.latencies_us.len(), secret.errors), (2, 1));
        assert_eq!(secret.first_error.as_deref(), Some("HTTP 500"));
        assert_eq!(kinds[Kind::Refresh as usize].errors, 0);
    }
}
