//! The authority driven over real HTTPS: `keyward serve` started as a process on a fresh data
//! directory, applications registered through `keyward app`, assertions made here.

#[path = "authority/common.rs"]
#[allow(dead_code)] // shared with tests/client.rs, which uses other parts
mod common;

#[path = "authority/accepted.rs"]
mod accepted;
#[path = "authority/attacks.rs"]
mod attacks;
#[path = "authority/persistence.rs"]
mod persistence;
#[path = "authority/shared_database.rs"]
mod shared_database;
