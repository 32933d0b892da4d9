//! The parts of `keyward-loadgen` its binaries share: starting `keyward serve` on a temporary
//! data directory, registering the benchmark's applications with `keyward app`, and latency
//! percentiles.

pub mod latency;
pub mod registration;
pub mod server;
