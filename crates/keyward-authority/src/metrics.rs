//! Counters for `/metrics`, in the Prometheus text format.

use std::sync::atomic::{AtomicU64, Ordering};

/// What the token endpoint has done since start.
#[derive(Debug, Default)]
pub struct Metrics {
    tokens_issued: AtomicU64,
    token_errors: AtomicU64,
}

impl Metrics {
    pub(crate) fn token_issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn token_refused(&self) {
        self.token_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus exposition.
    pub fn render(&self) -> String {
        format!(
            "# HELP keyward_token_requests_total Token endpoint requests by result.\n\
             # TYPE keyward_token_requests_total counter\n\
             keyward_token_requests_total{{result=\"issued\"}} {}\n\
             keyward_token_requests_total{{result=\"refused\"}} {}\n",
            self.tokens_issued.load(Ordering::Relaxed),
            self.token_errors.load(Ordering::Relaxed)
        )
    }
}
