//! The soak's report: errors (there must be none), the server's memory and descriptors other
//! than sockets with their least-squares slope over the second half of the soak, its sockets
//! before and after the load, and latency by minute and by kind of operation.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::watch::{self, Descriptors, KindTally};
use super::{Kind, Settings, SoakPhase};
use crate::latency::Latencies;

/// The most growth per minute allowed over the second half of the soak.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Bounds {
    /// Resident memory, KiB per minute.
    pub rss_kib_per_min: f64,
    /// Open descriptors other than sockets, per minute (sockets follow the connections).
    pub other_fds_per_min: f64,
}

impl Bounds {
    /// For soaks of minutes (`cargo xtask soak`). 1 MiB a minute is a leak of 16 bytes per
    /// operation at a thousand operations a second, 80 bytes at 216 (the rate on this
    /// project's busy 2-core machine); one descriptor a minute is one lost per ten thousand
    /// operations at that rate. A warm server's steady state moves by much less: the
    /// allocator's arenas and SQLite's page cache fill during the first minutes, then stay.
    pub const LONG: Bounds = Bounds {
        rss_kib_per_min: 1024.0,
        other_fds_per_min: 1.0,
    };
}

/// One sample: the window since the one before, and the server at its end.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Seconds since the soak started.
    pub t_s: f64,
    /// Operations answered in the window.
    pub ops: u64,
    /// Of which failed.
    pub errors: u64,
    /// Median latency in the window.
    pub p50_ms: f64,
    /// 99th percentile latency in the window.
    pub p99_ms: f64,
    /// The server's resident memory.
    pub rss_kib: u64,
    /// The server's open sockets (listeners and connections).
    pub sockets: u64,
    /// Its other open descriptors.
    pub other_fds: u64,
}

/// One minute of the soak.
#[derive(Debug, Clone, Serialize)]
pub struct MinuteRow {
    /// From 1.
    pub minute: usize,
    /// Operations answered.
    pub ops: u64,
    /// The windows it holds, seconds (samples do not fall on the minute exactly).
    pub seconds: f64,
    /// Of which failed.
    pub errors: u64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// The server's resident memory at the minute's last sample, MiB.
    pub rss_mib: f64,
    /// Its open sockets then.
    pub sockets: u64,
    /// Its other open descriptors then.
    pub other_fds: u64,
}

/// One kind of operation over the whole soak.
#[derive(Debug, Clone, Serialize)]
pub struct KindRow {
    /// What it is.
    pub kind: &'static str,
    /// Its share, per thousand operations.
    pub per_mille: u32,
    /// Answered.
    pub ops: u64,
    /// Failed (in the soak).
    pub errors: u64,
    /// Failed in the peak phase.
    pub peak_errors: u64,
    /// Median latency in the soak.
    pub p50_ms: f64,
    /// 99th percentile latency in the soak.
    pub p99_ms: f64,
    /// Slowest in the soak.
    pub max_ms: f64,
    /// What the first failure said (soak, else peak).
    pub first_error: Option<String>,
}

/// A series' least-squares slope over the second half of the soak.
#[derive(Debug, Clone, Serialize)]
pub struct Slope {
    /// Change per minute (KiB for memory).
    pub per_minute: f64,
    /// The most allowed.
    pub bound: f64,
    /// Whether `per_minute` is within `bound` (shrinking always is).
    pub met: bool,
    /// Samples it was fitted to.
    pub samples: usize,
    /// The value at the soak's start, its least and greatest over the soak, and at its end.
    pub start: u64,
    /// Least.
    pub min: u64,
    /// Greatest.
    pub max: u64,
    /// At the end.
    pub end: u64,
}

/// The peak phase.
#[derive(Debug, Clone, Serialize)]
pub struct Peak {
    /// Operations answered.
    pub ops: u64,
    /// Its length.
    pub seconds: f64,
    /// Operations per second.
    pub rate: f64,
    /// Connections.
    pub connections: usize,
    /// Failed operations.
    pub errors: u64,
    /// 99th percentile latency.
    pub p99_ms: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Cores the machine has.
    pub cores: usize,
    /// Load averages before the server started.
    pub load_average_before: Option<[f64; 3]>,
    /// And after it stopped.
    pub load_average_after: Option<[f64; 3]>,
    /// The server's process id.
    pub server_pid: u32,
    /// The peak phase.
    pub peak: Peak,
    /// The soak's rate: half of the peak's.
    pub target_rate: f64,
    /// Operations answered per second in the soak.
    pub achieved_rate: f64,
    /// Soak length, seconds.
    pub soak_seconds: f64,
    /// Time between samples, seconds.
    pub sample_every_s: f64,
    /// Operations due in the soak.
    pub sent: u64,
    /// Operations answered in the soak.
    pub ops: u64,
    /// Failures in the peak phase and the soak.
    pub errors: u64,
    /// By kind.
    pub kinds: Vec<KindRow>,
    /// By minute.
    pub minutes: Vec<MinuteRow>,
    /// Every sample.
    pub samples: Vec<Sample>,
    /// The server's resident memory (KiB).
    pub rss: Slope,
    /// The server's open descriptors other than sockets.
    pub other_fds: Slope,
    /// Its open sockets over the soak (they follow the connections; no bound on the slope).
    pub sockets: Slope,
    /// Its open descriptors before any traffic, and once the load generator had closed its
    /// connections after the soak.
    pub descriptors_before: Descriptors,
    /// See `descriptors_before`; `None` until [`Report::note_after_load`].
    pub descriptors_after_load: Option<Descriptors>,
    /// Whole-soak latency over all kinds.
    pub p50_ms: f64,
    /// Whole-soak 99th percentile.
    pub p99_ms: f64,
    /// Refresh tokens circulating at the end.
    pub refresh_chains: usize,
    /// Applications created by the management writes and not deleted at the end.
    pub applications_alive: usize,
    /// No errors, both slopes within their bounds, and every connection's socket closed after
    /// the load.
    pub passed: bool,
}

pub(crate) struct Inputs<'a> {
    pub settings: &'a Settings,
    pub pid: u32,
    pub peak_rate: f64,
    pub peak_ops: u64,
    pub peak_elapsed: Duration,
    pub peak_kinds: [KindTally; Kind::ALL.len()],
    pub rate: f64,
    pub soak: SoakPhase,
    pub kinds: [KindTally; Kind::ALL.len()],
    pub chains: usize,
    pub applications_alive: usize,
    pub descriptors_before: Descriptors,
}

impl Report {
    pub(crate) fn new(inputs: Inputs<'_>) -> Self {
        let Inputs {
            settings,
            pid,
            peak_rate,
            peak_ops,
            peak_elapsed,
            peak_kinds,
            rate,
            soak,
            kinds,
            chains,
            applications_alive,
            descriptors_before,
        } = inputs;
        let peak_errors: u64 = peak_kinds.iter().map(|k| k.errors).sum();
        let peak_latencies = Latencies::new(peak_kinds.iter().flat_map(|k| k.latencies_us.clone()).collect());
        let all = Latencies::new(kinds.iter().flat_map(|k| k.latencies_us.clone()).collect()).summary_ms();
        let ops: u64 = kinds.iter().map(|k| k.latencies_us.len() as u64).sum();
        let soak_errors: u64 = kinds.iter().map(|k| k.errors).sum();
        let kind_rows = Kind::ALL
            .iter()
            .zip(kinds)
            .zip(peak_kinds)
            .map(|((kind, tally), peak)| {
                let summary = Latencies::new(tally.latencies_us.clone()).summary_ms();
                KindRow {
                    kind: kind.name(),
                    per_mille: kind.per_mille(),
                    ops: tally.latencies_us.len() as u64,
                    errors: tally.errors,
                    peak_errors: peak.errors,
                    p50_ms: summary.p50_ms,
                    p99_ms: summary.p99_ms,
                    max_ms: summary.max_ms,
                    first_error: tally.first_error.or(peak.first_error),
                }
            })
            .collect();
        let minutes = soak
            .minutes
            .into_iter()
            .enumerate()
            .map(|(i, (latencies, errors))| {
                let last = soak
                    .samples
                    .iter()
                    .rev()
                    .find(|s| super::minute_of(s.t_s, settings.soak) == i);
                let ends = |minute: usize| {
                    soak.samples
                        .iter()
                        .rev()
                        .find(|s| super::minute_of(s.t_s, settings.soak) == minute)
                        .map_or(0.0, |s| s.t_s)
                };
                let start = if i == 0 { 0.0 } else { ends(i - 1) };
                let ops = latencies.len() as u64;
                let summary = Latencies::new(latencies).summary_ms();
                MinuteRow {
                    minute: i + 1,
                    ops,
                    seconds: last.map_or(0.0, |s| s.t_s) - start,
                    errors,
                    p50_ms: summary.p50_ms,
                    p99_ms: summary.p99_ms,
                    rss_mib: last.map_or(0.0, |s| s.rss_kib as f64 / 1024.0),
                    sockets: last.map_or(0, |s| s.sockets),
                    other_fds: last.map_or(0, |s| s.other_fds),
                }
            })
            .collect();
        let half = settings.soak.as_secs_f64() / 2.0;
        let rss = slope(&soak.samples, half, |s| s.rss_kib, settings.bounds.rss_kib_per_min);
        let other_fds = slope(&soak.samples, half, |s| s.other_fds, settings.bounds.other_fds_per_min);
        let sockets = slope(&soak.samples, half, |s| s.sockets, f64::MAX);
        let errors = peak_errors + soak_errors;
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_average_before: None,
            load_average_after: None,
            server_pid: pid,
            peak: Peak {
                ops: peak_ops,
                seconds: peak_elapsed.as_secs_f64(),
                rate: peak_rate,
                connections: settings.peak_connections,
                errors: peak_errors,
                p99_ms: peak_latencies.summary_ms().p99_ms,
            },
            target_rate: rate,
            achieved_rate: ops as f64 / soak.elapsed.as_secs_f64().max(1e-9),
            soak_seconds: soak.elapsed.as_secs_f64(),
            sample_every_s: settings.sample_every.as_secs_f64(),
            sent: soak.sent,
            ops,
            errors,
            kinds: kind_rows,
            minutes,
            samples: soak.samples,
            // Decided again once the sockets after the load are known.
            passed: false,
            rss,
            other_fds,
            sockets,
            descriptors_before,
            descriptors_after_load: None,
            p50_ms: all.p50_ms,
            p99_ms: all.p99_ms,
            refresh_chains: chains,
            applications_alive,
        }
    }

    /// Notes the server's descriptors once the load generator has closed its connections, and
    /// decides whether the run passed: no errors, memory and non-socket descriptors flat, and
    /// no more sockets open than before the traffic (a connection the server never closed would
    /// stay).
    pub fn note_after_load(&mut self, after: Descriptors) {
        self.descriptors_after_load = Some(after);
        self.passed = self.errors == 0 && self.rss.met && self.other_fds.met && self.sockets_released();
    }

    /// Whether the server had no more sockets open after the load than before it.
    pub fn sockets_released(&self) -> bool {
        self.descriptors_after_load
            .is_some_and(|after| after.sockets <= self.descriptors_before.sockets)
    }

    /// The report as text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let load = |l: Option<[f64; 3]>| l.map_or("?".to_owned(), |l| format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2]));
        let _ = writeln!(
            out,
            "soak: keyward serve (pid {}), {} cores, load average before {}, after {}",
            self.server_pid,
            self.cores,
            load(self.load_average_before),
            load(self.load_average_after)
        );
        let _ = writeln!(
            out,
            "peak (closed loop, mixed traffic, {} connections, {:.0} s): {:.0} operations/s, p99 {:.1} ms",
            self.peak.connections, self.peak.seconds, self.peak.rate, self.peak.p99_ms
        );
        let _ = writeln!(
            out,
            "soak (open loop at half of peak): {:.0} operations/s due, {:.0} answered, {:.0} s, {} operations, p50 {:.2} ms, p99 {:.1} ms",
            self.target_rate, self.achieved_rate, self.soak_seconds, self.ops, self.p50_ms, self.p99_ms
        );
        let _ = writeln!(
            out,
            "\n{:<24} {:>6} {:>9} {:>7} {:>9} {:>9} {:>9}",
            "operation", "share", "ops", "errors", "p50 ms", "p99 ms", "max ms"
        );
        for k in &self.kinds {
            let _ = writeln!(
                out,
                "{:<24} {:>5.1}% {:>9} {:>7} {:>9.2} {:>9.1} {:>9.1}",
                k.kind,
                f64::from(k.per_mille) / 10.0,
                k.ops,
                k.errors + k.peak_errors,
                k.p50_ms,
                k.p99_ms,
                k.max_ms
            );
        }
        let _ = writeln!(
            out,
            "\n{:>6} {:>9} {:>7} {:>9} {:>9} {:>9} {:>7} {:>6}",
            "minute", "ops/s", "errors", "p50 ms", "p99 ms", "RSS MiB", "sockets", "other"
        );
        for m in &self.minutes {
            let _ = writeln!(
                out,
                "{:>6} {:>9.0} {:>7} {:>9.2} {:>9.1} {:>9.1} {:>7} {:>6}",
                m.minute,
                m.ops as f64 / m.seconds.max(1e-9),
                m.errors,
                m.p50_ms,
                m.p99_ms,
                m.rss_mib,
                m.sockets,
                m.other_fds
            );
        }
        let p99s: Vec<f64> = self.minutes.iter().map(|m| m.p99_ms).collect();
        if let (Some(lo), Some(hi)) = (
            p99s.iter().copied().reduce(f64::min),
            p99s.iter().copied().reduce(f64::max),
        ) {
            let _ = writeln!(out, "p99 by minute: {lo:.1} to {hi:.1} ms");
        }
        let _ = writeln!(
            out,
            "\nerrors: {} (peak {}, soak {})",
            self.errors,
            self.peak.errors,
            self.errors - self.peak.errors
        );
        for k in self.kinds.iter().filter(|k| k.first_error.is_some()) {
            let _ = writeln!(
                out,
                "  first {} error: {}",
                k.kind,
                k.first_error.as_deref().unwrap_or_default()
            );
        }
        let _ = writeln!(
            out,
            "RSS: {:.1} MiB at the start, {:.1} to {:.1}, {:.1} at the end; slope over the second half {:+.1} KiB/min (bound {:.0}, {} samples): {}",
            self.rss.start as f64 / 1024.0,
            self.rss.min as f64 / 1024.0,
            self.rss.max as f64 / 1024.0,
            self.rss.end as f64 / 1024.0,
            self.rss.per_minute,
            self.rss.bound,
            self.rss.samples,
            if self.rss.met { "flat" } else { "GROWING" }
        );
        let _ = writeln!(
            out,
            "open descriptors other than sockets: {} before the traffic, {} at the soak's start, {} to {}, {} at the end; slope over the second half {:+.2}/min (bound {:.2}): {}",
            self.descriptors_before.other,
            self.other_fds.start,
            self.other_fds.min,
            self.other_fds.max,
            self.other_fds.end,
            self.other_fds.per_minute,
            self.other_fds.bound,
            if self.other_fds.met { "flat" } else { "GROWING" }
        );
        let after = self
            .descriptors_after_load
            .map_or("not measured".to_owned(), |d| d.sockets.to_string());
        let _ = writeln!(
            out,
            "open sockets: {} before the traffic, {} to {} during the soak (slope over the second half {:+.2}/min, following the connections), {} once the load generator closed its connections: {}",
            self.descriptors_before.sockets,
            self.sockets.min,
            self.sockets.max,
            self.sockets.per_minute,
            after,
            if self.sockets_released() {
                "all released"
            } else {
                "NOT RELEASED"
            }
        );
        let _ = writeln!(
            out,
            "refresh tokens circulating at the end: {}; applications alive: {}",
            self.refresh_chains, self.applications_alive
        );
        let _ = writeln!(out, "result: {}", if self.passed { "PASS" } else { "FAIL" });
        out
    }
}

/// The slope of `value` per minute over the samples from `from_s` seconds on.
fn slope(samples: &[Sample], from_s: f64, value: impl Fn(&Sample) -> u64, bound: f64) -> Slope {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.t_s >= from_s)
        .map(|s| (s.t_s / 60.0, value(s) as f64))
        .collect();
    let per_minute = watch::slope(&points).unwrap_or(0.0);
    let values = samples.iter().map(&value);
    Slope {
        per_minute,
        bound,
        met: per_minute <= bound,
        samples: points.len(),
        start: samples.first().map(&value).unwrap_or_default(),
        min: values.clone().min().unwrap_or_default(),
        max: values.max().unwrap_or_default(),
        end: samples.last().map(&value).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_s: f64, rss_kib: u64, other_fds: u64) -> Sample {
        Sample {
            t_s,
            ops: 0,
            errors: 0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            rss_kib,
            sockets: 40,
            other_fds,
        }
    }

    #[test]
    fn the_slope_is_fitted_to_the_second_half_only() {
        // Growth in the first half (warming up), flat after.
        let samples: Vec<_> = (0..=20)
            .map(|i| {
                let t = f64::from(i) * 30.0;
                (t, if i <= 10 { 50_000 + 1_000 * i as u64 } else { 60_000 })
            })
            .map(|(t, rss)| sample(t, rss, 20))
            .collect();
        let s = slope(&samples, 300.0, |s| s.rss_kib, 1024.0);
        assert_eq!(s.per_minute, 0.0);
        assert!(s.met);
        assert_eq!(
            (s.start, s.min, s.max, s.end, s.samples),
            (50_000, 50_000, 60_000, 60_000, 11)
        );
        // 2 MiB a minute all along is over a 1 MiB bound.
        let growing: Vec<_> = (0..=20)
            .map(|i| sample(f64::from(i) * 30.0, 1024 * i as u64, 20))
            .collect();
        let s = slope(&growing, 300.0, |s| s.rss_kib, 1024.0);
        assert!((s.per_minute - 2048.0).abs() < 1e-6, "{}", s.per_minute);
        assert!(!s.met);
        // Shrinking is within any bound.
        let shrinking: Vec<_> = (0..=20)
            .map(|i| sample(f64::from(i) * 30.0, 100 - i as u64, 20))
            .collect();
        assert!(slope(&shrinking, 300.0, |s| s.rss_kib, 0.0).met);
    }
}
