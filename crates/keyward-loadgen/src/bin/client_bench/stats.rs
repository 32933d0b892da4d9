//! Timings and their summaries: means, nearest-rank percentiles.

use std::time::Duration;

use serde::Serialize;

/// A duration in nanoseconds, saturating.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// One side's cache hits in one round.
#[derive(Debug, Default)]
pub struct CacheRound {
    /// Calls in the loop timed as a whole.
    pub calls: usize,
    /// That loop's wall time.
    pub total_ns: u64,
    /// Calls timed one by one afterwards.
    pub sample_ns: Vec<u64>,
}

impl CacheRound {
    /// Adds another round's figures.
    pub fn add(&mut self, other: CacheRound) {
        self.calls += other.calls;
        self.total_ns += other.total_ns;
        self.sample_ns.extend(other.sample_ns);
    }
}

/// The `p`th percentile (0 < p <= 100) of sorted samples by the nearest-rank method.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64 / 100.0).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Cache hits, one side.
#[derive(Debug, Clone, Serialize)]
pub struct CacheFigures {
    /// Calls timed as a whole (all rounds).
    pub calls: usize,
    /// Their wall time.
    pub seconds: f64,
    /// Wall time / calls.
    pub mean_ns: f64,
    /// Calls timed one by one (all rounds).
    pub sampled: usize,
    /// Median of those.
    pub p50_ns: u64,
    /// 99th percentile of those.
    pub p99_ns: u64,
    /// What timing one call adds: the median of two clock reads back to back.
    pub clock_ns: u64,
}

impl CacheFigures {
    /// Summarises the rounds; `clock` are empty timed calls.
    pub fn of(mut rounds: CacheRound, mut clock: Vec<u64>) -> Self {
        rounds.sample_ns.sort_unstable();
        clock.sort_unstable();
        Self {
            calls: rounds.calls,
            seconds: rounds.total_ns as f64 / 1e9,
            mean_ns: rounds.total_ns as f64 / rounds.calls.max(1) as f64,
            sampled: rounds.sample_ns.len(),
            p50_ns: percentile(&rounds.sample_ns, 50.0),
            p99_ns: percentile(&rounds.sample_ns, 99.0),
            clock_ns: percentile(&clock, 50.0),
        }
    }
}

/// New tokens, one side.
#[derive(Debug, Clone, Serialize)]
pub struct TokenFigures {
    /// Tokens timed.
    pub tokens: usize,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl TokenFigures {
    /// Summarises the samples.
    pub fn of(mut samples_ns: Vec<u64>) -> Self {
        samples_ns.sort_unstable();
        let ms = |ns: u64| ns as f64 / 1e6;
        Self {
            tokens: samples_ns.len(),
            mean_ms: samples_ns.iter().map(|&ns| ms(ns)).sum::<f64>() / samples_ns.len().max(1) as f64,
            p50_ms: ms(percentile(&samples_ns, 50.0)),
            p99_ms: ms(percentile(&samples_ns, 99.0)),
            max_ms: ms(samples_ns.last().copied().unwrap_or(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50.0), 50);
        assert_eq!(percentile(&sorted, 99.0), 99);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn summaries() {
        let t = TokenFigures::of(vec![3_000_000, 1_000_000, 2_000_000]);
        assert_eq!((t.tokens, t.mean_ms, t.p50_ms, t.max_ms), (3, 2.0, 2.0, 3.0));
        let mut rounds = CacheRound {
            calls: 1000,
            total_ns: 500_000,
            sample_ns: vec![400, 600],
        };
        rounds.add(CacheRound {
            calls: 1000,
            total_ns: 300_000,
            sample_ns: vec![500],
        });
        let c = CacheFigures::of(rounds, vec![20, 30, 25]);
        assert_eq!(
            (c.calls, c.mean_ns, c.p50_ns, c.p99_ns, c.clock_ns),
            (2000, 400.0, 500, 600, 25)
        );
    }
}
