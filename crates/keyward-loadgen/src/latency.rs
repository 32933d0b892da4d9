//! Latency samples in microseconds and their percentiles.

use std::time::Duration;

/// Every latency of a phase, sorted.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    sorted_us: Vec<u32>,
}

impl Latencies {
    /// Takes samples in any order.
    pub fn new(mut samples_us: Vec<u32>) -> Self {
        samples_us.sort_unstable();
        Self { sorted_us: samples_us }
    }

    /// A duration as a sample: microseconds, saturating at `u32::MAX` (over an hour).
    pub fn sample(elapsed: Duration) -> u32 {
        u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX)
    }

    /// The `p`th percentile (0 < p <= 100) by the nearest-rank method: the smallest sample
    /// that at least `p` % of the samples are less than or equal to. `None` without samples.
    pub fn percentile(&self, p: f64) -> Option<u32> {
        let n = self.sorted_us.len();
        if n == 0 || !(p > 0.0 && p <= 100.0) {
            return None;
        }
        // p * n first: 99 * 1000 / 100 is exactly 990, while 0.99 * 1000 need not be.
        let rank = (p * n as f64 / 100.0).ceil() as usize;
        self.sorted_us.get(rank.clamp(1, n) - 1).copied()
    }

    /// Every sample, in microseconds, smallest first.
    pub fn samples_us(&self) -> &[u32] {
        &self.sorted_us
    }

    /// The largest sample.
    pub fn max(&self) -> Option<u32> {
        self.sorted_us.last().copied()
    }

    /// p50, p99 and max in milliseconds (zero without samples).
    pub fn summary_ms(&self) -> LatencySummary {
        let ms = |us: Option<u32>| f64::from(us.unwrap_or(0)) / 1000.0;
        LatencySummary {
            p50_ms: ms(self.percentile(50.0)),
            p99_ms: ms(self.percentile(99.0)),
            max_ms: ms(self.max()),
        }
    }
}

/// The figures the report shows.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct LatencySummary {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred() {
        let l = Latencies::new((1..=100).rev().collect());
        assert_eq!(l.percentile(50.0), Some(50));
        assert_eq!(l.percentile(99.0), Some(99));
        assert_eq!(l.percentile(99.5), Some(100));
        assert_eq!(l.percentile(100.0), Some(100));
        assert_eq!(l.percentile(0.1), Some(1));
        assert_eq!(l.max(), Some(100));
    }

    #[test]
    fn p99_of_a_small_set_is_its_maximum() {
        let l = Latencies::new(vec![7, 3, 5]);
        assert_eq!(l.percentile(50.0), Some(5));
        assert_eq!(l.percentile(99.0), Some(7));
    }

    #[test]
    fn a_slow_tail_shows_in_p99_not_p50() {
        let mut samples = vec![1_000; 990];
        samples.extend(vec![50_000; 10]);
        let l = Latencies::new(samples).summary_ms();
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (1.0, 1.0, 50.0));
        let mut samples = vec![1_000; 989];
        samples.extend(vec![50_000; 11]);
        assert_eq!(Latencies::new(samples).summary_ms().p99_ms, 50.0);
    }

    #[test]
    fn no_samples_or_out_of_range_percentile() {
        assert_eq!(Latencies::new(Vec::new()).percentile(50.0), None);
        assert_eq!(Latencies::new(vec![1]).percentile(0.0), None);
        assert_eq!(Latencies::new(vec![1]).percentile(101.0), None);
        assert_eq!(Latencies::new(Vec::new()).summary_ms().p99_ms, 0.0);
    }

    #[test]
    fn samples_saturate() {
        assert_eq!(Latencies::sample(Duration::from_micros(1500)), 1500);
        assert_eq!(Latencies::sample(Duration::from_secs(10_000)), u32::MAX);
    }
}
