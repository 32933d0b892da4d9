//! The parts of `keyward-loadgen` its binaries share: starting `keyward serve` on a temporary
//! data directory, registering the benchmark's applications with `keyward app`, pre-signed
//! client assertions, latency percentiles, and the soak run (mixed traffic for minutes, the
//! server's memory and descriptors watched), and the scale run (a directory of a hundred
//! thousand applications and a million users: start-up, memory, token latency, the cost of one
//! write).

pub mod assertions;
pub mod latency;
pub mod load;
pub mod proc_stat;
pub mod registration;
pub mod scale;
pub mod server;
pub mod soak;
