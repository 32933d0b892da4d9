//! What a scale run measured, as text and as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::Settings;
use super::certs::Certificates;
use super::populate::Populated;
use crate::latency::{Latencies, LatencySummary};
use crate::load::PhaseResult;

/// The whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Applications in the big directory (besides the built-in ones and the bench's).
    pub apps: usize,
    /// Certificates per application.
    pub certs: usize,
    /// Users in the big directory's tenant.
    pub users: usize,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Token requests per second in each open-loop phase.
    pub rate: f64,
    /// Seconds of open loop per server (two phases of half each).
    pub seconds: f64,
    /// Making (or reading) the certificates.
    pub certificates_seconds: f64,
    /// Whether they came from the cache file.
    pub certificates_cached: bool,
    /// RSA keys they were signed with (0 when cached).
    pub certificate_keys: usize,
    /// The cache file.
    pub certificates_file: String,
    /// Populating the data directory (or finding it).
    pub populate_seconds: f64,
    /// Of which the applications' bulk inserts.
    pub populate_apps_seconds: f64,
    /// Of which the users' bulk inserts.
    pub populate_users_seconds: f64,
    /// Whether the populated directory came from the cache.
    pub populate_cached: bool,
    /// The populated directory.
    pub populated_dir: String,
    /// The server with the big directory.
    pub big: ServerFigures,
    /// The server with a fresh directory.
    pub small: ServerFigures,
    /// With PostgreSQL: a second server on the big directory's database.
    pub followers: Option<Followers>,
    /// `/proc/loadavg` when the run started.
    pub load_average_before: Option<[f64; 3]>,
    /// And when it ended.
    pub load_average_after: Option<[f64; 3]>,
}

/// One server's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerFigures {
    /// From spawning `keyward serve` to its `server.json`.
    pub startup_seconds: f64,
    /// `VmRSS` once ready.
    pub rss_kib: u64,
    /// `VmHWM` (peak resident) once ready.
    pub peak_rss_kib: u64,
    /// `VmRSS` at the end (after the load and the certificate adds).
    pub rss_after_kib: u64,
    /// `VmHWM` at the end.
    pub peak_rss_after_kib: u64,
    /// The database's size on disk once ready.
    pub database_bytes: u64,
    /// Registering the bench's resource and client (`keyward app` five times).
    pub register_seconds: f64,
    /// The open loop.
    pub latency: Latency,
    /// `keyward app cert add` on this server.
    pub cert_adds: CertAdds,
    /// One GET of `/metrics`, at the end.
    pub metrics_ms: f64,
    /// Its size.
    pub metrics_bytes: u64,
}

/// The open-loop phases of one server, together.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Requests due.
    pub sent: u64,
    /// Tokens issued.
    pub tokens: u64,
    /// Requests that got no token.
    pub errors: u64,
    /// What the first of them got.
    pub first_error: Option<String>,
    /// Whether a phase ran out of signed requests (then it sent fewer than due).
    pub ran_out: bool,
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
}

impl Latency {
    /// The phases' latencies and counts together.
    pub fn of(phases: Vec<PhaseResult>) -> Self {
        let mut all = Vec::new();
        let mut latency = Self::default();
        for phase in phases {
            all.extend_from_slice(phase.latencies.samples_us());
            latency.sent += phase.sent;
            latency.tokens += phase.tokens;
            latency.errors += phase.errors;
            latency.ran_out |= phase.ran_out;
            if latency.first_error.is_none() {
                latency.first_error = phase.first_error;
            }
        }
        let all = Latencies::new(all);
        let ms = |us: Option<u32>| f64::from(us.unwrap_or(0)) / 1000.0;
        latency.p50_ms = ms(all.percentile(50.0));
        latency.p90_ms = ms(all.percentile(90.0));
        latency.p99_ms = ms(all.percentile(99.0));
        latency.max_ms = ms(all.max());
        latency
    }
}

/// `keyward app cert add` several times on one server.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CertAdds {
    /// How many.
    pub adds: usize,
    /// Wall time of the command naming the client by display name (a process of its own,
    /// through the server's API; it lists every application to find the one named).
    pub by_name: LatencySummary,
    /// The same naming it by appId (one lookup).
    pub by_app_id: LatencySummary,
    /// New certificates that got a token (within 30 s of the add).
    pub new_cert_tokens: usize,
    /// From the command's exit to the first token with the new certificate.
    pub until_token: LatencySummary,
    /// Growth of `keyward_directory_reloads_total` over the adds, if the server exports it.
    pub reloads: Option<f64>,
    /// Growth of `keyward_directory_reload_seconds_total`.
    pub reload_seconds: Option<f64>,
    /// Growth of `keyward_directory_apps_read_total`: applications the reloads read.
    pub apps_read: Option<f64>,
    /// Growth of `keyward_directory_apps_rebuilt_total`.
    pub apps_rebuilt: Option<f64>,
}

/// A second server on the same PostgreSQL database, taking certificates added on the first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Followers {
    /// Its start-up and memory.
    pub server: ServerFigures,
    /// Certificates added on the first server, polled on this one (its counters).
    pub adds: CertAdds,
}

impl Report {
    /// The run's fixed facts; the figures are filled in as they are measured.
    pub(super) fn new(settings: &Settings, certificates: &Certificates, populated: &Populated) -> Self {
        Self {
            apps: settings.apps,
            certs: settings.certs,
            users: settings.users,
            backend: if settings.postgres { "postgres" } else { "sqlite" },
            rate: settings.rate,
            seconds: settings.seconds.as_secs_f64(),
            certificates_seconds: certificates.elapsed.as_secs_f64(),
            certificates_cached: certificates.from_cache,
            certificate_keys: certificates.keys,
            certificates_file: certificates.file.display().to_string(),
            populate_seconds: populated.elapsed.as_secs_f64(),
            populate_apps_seconds: populated.apps_elapsed.as_secs_f64(),
            populate_users_seconds: populated.users_elapsed.as_secs_f64(),
            populate_cached: populated.from_cache,
            populated_dir: populated.data.display().to_string(),
            ..Self::default()
        }
    }

    /// p99 of the big server over p99 of the small one.
    pub fn p99_ratio(&self) -> f64 {
        if self.small.latency.p99_ms > 0.0 {
            self.big.latency.p99_ms / self.small.latency.p99_ms
        } else {
            0.0
        }
    }

    /// The report as text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let credentials = self.apps * self.certs;
        let _ = writeln!(
            out,
            "scale: {} applications x {} certificates = {credentials} credentials, {} users, {}",
            self.apps, self.certs, self.users, self.backend
        );
        let _ = writeln!(
            out,
            "  certificates   {:>9.1} s  {}",
            self.certificates_seconds,
            if self.certificates_cached {
                format!("read from the cache {}", self.certificates_file)
            } else {
                format!(
                    "made: real self-signed RSA-2048, signed with a pool of {} keys (key generation is slow), cached in {}",
                    self.certificate_keys, self.certificates_file
                )
            }
        );
        let _ = writeln!(
            out,
            "  populate       {:>9.1} s  {}",
            self.populate_seconds,
            if self.populate_cached {
                format!("the cached data directory {}", self.populated_dir)
            } else {
                format!(
                    "applications {:.1} s, users {:.1} s (bulk inserts); users are copies of one made by `keyward user create`, same password hash (a million Argon2 hashes would take a day)",
                    self.populate_apps_seconds, self.populate_users_seconds
                )
            }
        );
        let _ = writeln!(out, "{:<34}{:>16}{:>16}", "", "big", "small");
        let row = |out: &mut String, name: &str, big: String, small: String| {
            let _ = writeln!(out, "  {name:<32}{big:>16}{small:>16}");
        };
        let (b, s) = (&self.big, &self.small);
        let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
        row(
            &mut out,
            "start-up (spawn to ready)",
            secs(b.startup_seconds),
            secs(s.startup_seconds),
        );
        row(&mut out, "RSS once ready", mib(b.rss_kib), mib(s.rss_kib));
        row(
            &mut out,
            "peak RSS once ready",
            mib(b.peak_rss_kib),
            mib(s.peak_rss_kib),
        );
        row(&mut out, "RSS at the end", mib(b.rss_after_kib), mib(s.rss_after_kib));
        row(
            &mut out,
            "peak RSS at the end",
            mib(b.peak_rss_after_kib),
            mib(s.peak_rss_after_kib),
        );
        row(
            &mut out,
            "database size",
            mib(b.database_bytes / 1024),
            mib(s.database_bytes / 1024),
        );
        row(
            &mut out,
            "register bench apps (5 CLI)",
            secs(b.register_seconds),
            secs(s.register_seconds),
        );
        let _ = writeln!(
            out,
            "  token requests at {:.0}/s, {:.0} s each (two phases, alternating big and small):",
            self.rate, self.seconds
        );
        row(
            &mut out,
            "tokens / due (errors)",
            format!("{}/{} ({})", b.latency.tokens, b.latency.sent, b.latency.errors),
            format!("{}/{} ({})", s.latency.tokens, s.latency.sent, s.latency.errors),
        );
        row(&mut out, "p50", ms(b.latency.p50_ms), ms(s.latency.p50_ms));
        row(&mut out, "p90", ms(b.latency.p90_ms), ms(s.latency.p90_ms));
        row(&mut out, "p99", ms(b.latency.p99_ms), ms(s.latency.p99_ms));
        row(&mut out, "max", ms(b.latency.max_ms), ms(s.latency.max_ms));
        let _ = writeln!(out, "  p99 big / small: {:.2}", self.p99_ratio());
        for (name, latency) in [("big", &b.latency), ("small", &s.latency)] {
            if let Some(e) = &latency.first_error {
                let _ = writeln!(out, "  first error ({name}): {e}");
            }
            if latency.ran_out {
                let _ = writeln!(out, "  ({name} ran out of signed requests: it sent fewer than due)");
            }
        }
        let _ = writeln!(
            out,
            "  keyward app cert add bench-client FILE, {} times:",
            b.cert_adds.adds
        );
        cert_add_rows(&mut out, &b.cert_adds, &s.cert_adds, row);
        row(&mut out, "GET /metrics", ms(b.metrics_ms), ms(s.metrics_ms));
        row(
            &mut out,
            "/metrics size",
            mib(b.metrics_bytes / 1024),
            mib(s.metrics_bytes / 1024),
        );
        if let Some(f) = &self.followers {
            let _ = writeln!(
                out,
                "  second server on the same database: start-up {}, RSS {} (peak {})",
                secs(f.server.startup_seconds),
                mib(f.server.rss_kib),
                mib(f.server.peak_rss_kib)
            );
            let _ = writeln!(
                out,
                "  certificate added on the first, token on the second: {} of {}, after median {} max {} (polled every 2 ms)",
                f.adds.new_cert_tokens,
                f.adds.adds,
                ms(f.adds.until_token.p50_ms),
                ms(f.adds.until_token.max_ms)
            );
            let _ = writeln!(
                out,
                "  the second's counters over the adds: reloads {}, reload seconds {}, apps read {}, apps rebuilt {}",
                counter(f.adds.reloads),
                seconds(f.adds.reload_seconds),
                counter(f.adds.apps_read),
                counter(f.adds.apps_rebuilt)
            );
        }
        let load = |l: Option<[f64; 3]>| l.map_or("n/a".to_owned(), |[a, b, c]| format!("{a:.2} {b:.2} {c:.2}"));
        let _ = writeln!(
            out,
            "  load average: {} at the start, {} at the end",
            load(self.load_average_before),
            load(self.load_average_after)
        );
        out
    }
}

fn cert_add_rows(out: &mut String, b: &CertAdds, s: &CertAdds, row: impl Fn(&mut String, &str, String, String)) {
    row(
        out,
        "by name: wall time median",
        ms(b.by_name.p50_ms),
        ms(s.by_name.p50_ms),
    );
    row(
        out,
        "by name: wall time max",
        ms(b.by_name.max_ms),
        ms(s.by_name.max_ms),
    );
    row(
        out,
        "by appId: wall time median",
        ms(b.by_app_id.p50_ms),
        ms(s.by_app_id.p50_ms),
    );
    row(
        out,
        "by appId: wall time max",
        ms(b.by_app_id.max_ms),
        ms(s.by_app_id.max_ms),
    );
    row(
        out,
        "new certificate got a token",
        format!("{}/{}", b.new_cert_tokens, b.adds),
        format!("{}/{}", s.new_cert_tokens, s.adds),
    );
    row(
        out,
        "until its first token, median",
        ms(b.until_token.p50_ms),
        ms(s.until_token.p50_ms),
    );
    row(
        out,
        "until its first token, max",
        ms(b.until_token.max_ms),
        ms(s.until_token.max_ms),
    );
    row(out, "directory reloads", counter(b.reloads), counter(s.reloads));
    row(
        out,
        "directory reload seconds",
        seconds(b.reload_seconds),
        seconds(s.reload_seconds),
    );
    row(out, "apps read by reloads", counter(b.apps_read), counter(s.apps_read));
    row(out, "apps rebuilt", counter(b.apps_rebuilt), counter(s.apps_rebuilt));
}

fn secs(s: f64) -> String {
    format!("{s:.2} s")
}

fn ms(v: f64) -> String {
    format!("{v:.1} ms")
}

fn seconds(v: Option<f64>) -> String {
    v.map_or("n/a".to_owned(), |v| format!("{v:.4}"))
}

fn counter(v: Option<f64>) -> String {
    v.map_or("n/a".to_owned(), |v| format!("{v}"))
}
