//! keyward-store against real databases: the conformance suite, run on SQLite and PostgreSQL,
//! and the durability of acknowledged writes through `kill -9`.

mod conformance;
mod kill9;
