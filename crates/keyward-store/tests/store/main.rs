//! keyward-store against real databases: the conformance suite, run on SQLite and PostgreSQL,
//! what servers sharing PostgreSQL coordinate through it (`cluster.rs`),
//! and the durability of acknowledged writes through `kill -9`.

mod cluster;
mod conformance;
mod kill9;
