//! The raw cost of the two RSA operations a token needs: one RSA-2048 PKCS#1 v1.5 SHA-256
//! signature (the access token) and one verification (the client's assertion), measured with
//! aws-lc-rs in this process, with keys parsed once as the server keeps them.
//!
//! Each batch is timed by this thread's CPU clock, the same kind of time as the server's
//! CPU-seconds it is compared with, so that other processes taking the core do not count; the
//! wall time is kept too.

use std::time::{Duration, Instant};

use anyhow::Context;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair, ParsedPublicKey, RsaKeyPair};
use keyward_pki::PrivateKey;
use rustix::time::{ClockId, clock_gettime};

/// The size of the signed message: about what a token's signing input is.
const MESSAGE_LEN: usize = 1024;

/// Timings of sign + verify pairs, in batches.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RsaCost {
    /// Sign + verify pairs per batch.
    pub pairs_per_batch: usize,
    /// The mean CPU time of one pair in each batch, in microseconds, in the order measured.
    pub batches_us: Vec<f64>,
    /// The same in wall time.
    pub batches_wall_us: Vec<f64>,
}

impl RsaCost {
    /// An empty measurement of `pairs_per_batch`-pair batches.
    pub fn new(pairs_per_batch: usize) -> Self {
        Self {
            pairs_per_batch,
            batches_us: Vec::new(),
            batches_wall_us: Vec::new(),
        }
    }

    /// The median batch, in CPU microseconds per sign + verify.
    pub fn median_us(&self) -> f64 {
        median(&self.batches_us)
    }

    /// The median batch in wall-clock microseconds.
    pub fn median_wall_us(&self) -> f64 {
        median(&self.batches_wall_us)
    }

    /// Runs `batches` more batches with `key` (an RSA-2048 key), after one unmeasured batch
    /// that warms caches and clocks.
    pub fn measure(&mut self, key: &PrivateKey, batches: usize) -> anyhow::Result<()> {
        let pair = RsaKeyPair::from_pkcs8(key.pkcs8_der()).map_err(|e| anyhow::anyhow!("RSA key: {e}"))?;
        let public = ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref())
            .map_err(|e| anyhow::anyhow!("RSA public key: {e}"))?;
        let rng = SystemRandom::new();
        let mut message = [0u8; MESSAGE_LEN];
        for (i, b) in message.iter_mut().enumerate() {
            *b = b'A' + (i % 26) as u8;
        }
        let mut sig = vec![0; pair.public_modulus_len()];
        let mut once = |n: u8| -> anyhow::Result<()> {
            message[0] = n;
            pair.sign(&signature::RSA_PKCS1_SHA256, &rng, &message, &mut sig)
                .ok()
                .context("RSA signing failed")?;
            public
                .verify_sig(&message, &sig)
                .ok()
                .context("the RSA signature does not verify")
        };
        let per_pair_us = |d: Duration| d.as_secs_f64() * 1e6 / self.pairs_per_batch.max(1) as f64;
        for batch in 0..=batches {
            let (cpu, wall) = (thread_cpu(), Instant::now());
            for i in 0..self.pairs_per_batch {
                once(i as u8)?;
            }
            let (cpu, wall) = (thread_cpu().saturating_sub(cpu), wall.elapsed());
            if batch > 0 {
                self.batches_us.push(per_pair_us(cpu));
                self.batches_wall_us.push(per_pair_us(wall));
            }
        }
        Ok(())
    }
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec.max(0) as u64, t.tv_nsec.clamp(0, 999_999_999) as u32)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_none() {
        assert_eq!(median(&[300.0, 100.0, 200.0]), 200.0);
        assert_eq!(median(&[400.0, 100.0, 200.0, 300.0]), 250.0);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn a_batch_takes_cpu_time() {
        let key = PrivateKey::generate(keyward_pki::KeyType::Rsa2048).expect("key");
        let mut cost = RsaCost::new(5);
        cost.measure(&key, 3).expect("measure");
        assert_eq!(cost.batches_us.len(), 3);
        assert!(cost.median_us() > 1.0, "{cost:?}");
        assert!(cost.median_wall_us() > 1.0, "{cost:?}");
    }
}
