//! The report: every figure measured in this run; only the targets are fixed.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::stats::{CacheFigures, TokenFigures};

/// A cache hit must be at least this many times faster than MSAL Node's (issue 4).
pub const TARGET_CACHE_HIT_RATIO: f64 = 100.0;
/// A new token must be no slower than MSAL Node's (issue 4).
pub const TARGET_NEW_TOKEN_RATIO: f64 = 1.0;

/// Everything one run found.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The machine and the clients.
    pub machine: Machine,
    /// How much was measured, and how.
    pub method: Method,
    /// (a) A token from the cache: the same client, the same scope.
    pub cache_hit: Comparison<CacheFigures>,
    /// (b1) A new token as a process that just started has it: a new client per token, a new
    /// TLS connection, discovery, the assertion, the token request.
    pub new_token_cold: Comparison<TokenFigures>,
    /// (b2) A new token on an open connection with discovery done: a new client per token (no
    /// cached token or assertion); the assertion and the token request.
    pub new_token_warm: Comparison<TokenFigures>,
    /// What MSAL Node sent, counted, to show the modes did what they say.
    pub msal_node_traffic: MsalTraffic,
    /// The targets, judged on the means.
    pub targets: Targets,
    /// Wall time of the whole run, server start to stop.
    pub run_seconds: f64,
}

/// The machine and the clients.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Cores available.
    pub cores: usize,
    /// 1, 5 and 15 minute load averages before the run.
    pub load_average_before: Option<[f64; 3]>,
    /// Node's version.
    pub node: String,
    /// MSAL Node's version.
    pub msal_node: String,
}

/// How much was measured.
#[derive(Debug, Serialize)]
pub struct Method {
    /// Rounds; the side going first alternates.
    pub rounds: usize,
    /// Cache hits timed as a whole for at least this long, per side per round.
    pub cache_ms_per_side_per_round: u64,
    /// Cache hits timed one by one, per side per round.
    pub sampled_per_side_per_round: usize,
    /// Untimed cache hits before the first round, per side.
    pub cache_warmup: usize,
    /// New tokens per side per round.
    pub tokens_per_side_per_round: usize,
    /// Untimed new tokens before the first round, per side.
    pub token_warmup: usize,
}

/// Figures with a mean and a median.
pub trait Central {
    /// The mean.
    fn mean(&self) -> f64;
    /// The median.
    fn p50(&self) -> f64;
}

impl Central for CacheFigures {
    fn mean(&self) -> f64 {
        self.mean_ns
    }
    fn p50(&self) -> f64 {
        self.p50_ns as f64
    }
}

impl Central for TokenFigures {
    fn mean(&self) -> f64 {
        self.mean_ms
    }
    fn p50(&self) -> f64 {
        self.p50_ms
    }
}

/// Both sides and how they compare.
#[derive(Debug, Serialize)]
pub struct Comparison<T> {
    /// keyward-client.
    pub keyward_client: T,
    /// MSAL Node.
    pub msal_node: T,
    /// MSAL Node's mean / keyward-client's: above 1 means keyward-client is faster.
    pub ratio_mean: f64,
    /// The same for the medians.
    pub ratio_p50: f64,
}

impl<T: Central> Comparison<T> {
    /// Compares the two sides.
    pub fn new(keyward_client: T, msal_node: T) -> Self {
        let ratio = |theirs: f64, ours: f64| if ours > 0.0 { theirs / ours } else { 0.0 };
        Self {
            ratio_mean: ratio(msal_node.mean(), keyward_client.mean()),
            ratio_p50: ratio(msal_node.p50(), keyward_client.p50()),
            keyward_client,
            msal_node,
        }
    }
}

/// MSAL Node's HTTP requests and TLS connections (counted with undici's diagnostics channels).
#[derive(Debug, Default, Serialize)]
pub struct MsalTraffic {
    /// Tokens in (b1).
    pub cold_tokens: u64,
    /// Requests in (b1): discovery and the token request, two per token.
    pub cold_requests: u64,
    /// TLS connections opened in (b1): at least one per token.
    pub cold_connections: u64,
    /// Tokens in (b2).
    pub warm_tokens: u64,
    /// Requests in (b2): the token request alone, one per token.
    pub warm_requests: u64,
    /// TLS connections opened in (b2), expected none.
    pub warm_connections: u64,
}

/// The targets and whether this run met them.
#[derive(Debug, Serialize)]
pub struct Targets {
    /// (a).
    pub cache_hit: Target,
    /// (b1).
    pub new_token_cold: Target,
    /// (b2).
    pub new_token_warm: Target,
}

/// One target.
#[derive(Debug, Serialize)]
pub struct Target {
    /// The lowest acceptable MSAL / keyward-client ratio of the means.
    pub min_ratio: f64,
    /// The ratio measured.
    pub ratio: f64,
    /// Whether it was met.
    pub met: bool,
}

impl Target {
    fn new(min_ratio: f64, ratio: f64) -> Self {
        Self {
            min_ratio,
            ratio,
            met: ratio >= min_ratio,
        }
    }
}

impl Report {
    /// Puts the figures together and judges the targets.
    pub fn new(
        machine: Machine,
        method: Method,
        cache_hit: Comparison<CacheFigures>,
        new_token_cold: Comparison<TokenFigures>,
        new_token_warm: Comparison<TokenFigures>,
        msal_node_traffic: MsalTraffic,
        run: Duration,
    ) -> Self {
        let targets = Targets {
            cache_hit: Target::new(TARGET_CACHE_HIT_RATIO, cache_hit.ratio_mean),
            new_token_cold: Target::new(TARGET_NEW_TOKEN_RATIO, new_token_cold.ratio_mean),
            new_token_warm: Target::new(TARGET_NEW_TOKEN_RATIO, new_token_warm.ratio_mean),
        };
        Self {
            machine,
            method,
            cache_hit,
            new_token_cold,
            new_token_warm,
            msal_node_traffic,
            targets,
            run_seconds: run.as_secs_f64(),
        }
    }

    /// The report as text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let load = m
            .load_average_before
            .map_or_else(|| "?".to_owned(), |l| format!("{:.2}", l[0]));
        let me = &self.method;
        let _ = writeln!(
            out,
            "keyward-client against MSAL Node {} (Node {}), one keyward serve (release), {} cores, load {load} before",
            m.msal_node, m.node, m.cores
        );
        let _ = writeln!(
            out,
            "{} rounds, the side going first alternating; one side runs at a time, each on one thread",
            me.rounds
        );

        let c = &self.cache_hit;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "(a) cache hit: the same client and scope, after one token and {} untimed hits",
            fmt_int(me.cache_warmup as f64)
        );
        let _ = writeln!(
            out,
            "    keyward-client acquire_token_for_client (token.from_cache) / MSAL acquireTokenByClientCredential (fromCache)"
        );
        let _ = writeln!(
            out,
            "                      {:>12}  {:>12}  {:>10}  {:>10}  {:>8}",
            "calls", "mean ns", "p50 ns", "p99 ns", "clock ns"
        );
        for (name, f) in [("keyward-client", &c.keyward_client), ("MSAL Node", &c.msal_node)] {
            let _ = writeln!(
                out,
                "    {name:<16}  {:>12}  {:>12.1}  {:>10}  {:>10}  {:>8}",
                fmt_int(f.calls as f64),
                f.mean_ns,
                fmt_int(f.p50_ns as f64),
                fmt_int(f.p99_ns as f64),
                f.clock_ns
            );
        }
        let _ = writeln!(
            out,
            "    mean: a loop timed as a whole ({} ms per side per round); p50/p99: {} calls per side per round",
            me.cache_ms_per_side_per_round,
            fmt_int(me.sampled_per_side_per_round as f64)
        );
        let _ = writeln!(out, "    timed one by one (each includes one clock read: \"clock ns\")");
        let _ = writeln!(
            out,
            "    MSAL / keyward-client: mean {:.1}x, p50 {:.1}x   target >= {:.0}x: {}",
            c.ratio_mean,
            c.ratio_p50,
            self.targets.cache_hit.min_ratio,
            met(self.targets.cache_hit.met)
        );

        let t = &self.msal_node_traffic;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "(b) new token: a new client per token (no cached token, no cached assertion), sequential, {} per side;",
            self.new_token_cold.keyward_client.tokens
        );
        let _ = writeln!(
            out,
            "    PS256 assertion with x5t#S256 signed from the PEM key, token request; every token checked (JWT, role)"
        );
        let _ = writeln!(
            out,
            "                      {:>9}  {:>9}  {:>9}  {:>9}",
            "mean ms", "p50 ms", "p99 ms", "max ms"
        );
        let sections = [
            (
                "(b1) cold: client built, new TLS connection, discovery, assertion, token request",
                &self.new_token_cold,
                &self.targets.new_token_cold,
                format!(
                    "MSAL: {} requests, {} new TLS connections for {} tokens",
                    t.cold_requests, t.cold_connections, t.cold_tokens
                ),
            ),
            (
                "(b2) warm: client built and discovery done untimed, connection open; assertion + token request",
                &self.new_token_warm,
                &self.targets.new_token_warm,
                format!(
                    "MSAL: given authorityMetadata; {} requests, {} new TLS connections for {} tokens",
                    t.warm_requests, t.warm_connections, t.warm_tokens
                ),
            ),
        ];
        for (title, c, target, traffic) in sections {
            let _ = writeln!(out, "  {title}");
            for (name, f) in [("keyward-client", &c.keyward_client), ("MSAL Node", &c.msal_node)] {
                let _ = writeln!(
                    out,
                    "    {name:<16}  {:>9.2}  {:>9.2}  {:>9.2}  {:>9.2}",
                    f.mean_ms, f.p50_ms, f.p99_ms, f.max_ms
                );
            }
            let _ = writeln!(
                out,
                "    MSAL / keyward-client: mean {:.2}x, p50 {:.2}x   target >= {:.1}x: {}",
                c.ratio_mean,
                c.ratio_p50,
                target.min_ratio,
                met(target.met)
            );
            let _ = writeln!(out, "    ({traffic})");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "run time {:.1} s (server start to stop)", self.run_seconds);
        out
    }
}

fn met(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

/// A whole number with thousands separators.
fn fmt_int(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands() {
        assert_eq!(fmt_int(0.0), "0");
        assert_eq!(fmt_int(999.0), "999");
        assert_eq!(fmt_int(1000.0), "1,000");
        assert_eq!(fmt_int(1234567.0), "1,234,567");
    }

    #[test]
    fn ratios_above_one_mean_keyward_client_is_faster() {
        let ours = TokenFigures::of(vec![1_000_000]);
        let theirs = TokenFigures::of(vec![3_000_000]);
        let c = Comparison::new(ours, theirs);
        assert_eq!((c.ratio_mean, c.ratio_p50), (3.0, 3.0));
        assert!(Target::new(TARGET_NEW_TOKEN_RATIO, c.ratio_mean).met);
        assert!(!Target::new(TARGET_CACHE_HIT_RATIO, c.ratio_mean).met);
    }
}
