//! The parts of `keyward-loadgen` its binaries share: starting `keyward serve` on a temporary
//! data directory, registering the benchmark's applications with `keyward app`, pre-signed
//! client assertions, latency percentiles, and the soak run (mixed traffic for minutes, the
//! server's memory and descriptors watched).

pub mod assertions;
pub mod latency;
pub mod registration;
pub mod server;
pub mod soak;
