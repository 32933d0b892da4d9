//! The vault end to end against a real `keyward serve`: the CLI, the client library loading a
//! credential from the vault, authentication and authorization, and durability.

#[path = "authority/common.rs"]
#[allow(dead_code)]
mod common;
mod vault {
    pub mod access;
    pub mod cli;
    pub mod durability;
    pub mod support;
}
