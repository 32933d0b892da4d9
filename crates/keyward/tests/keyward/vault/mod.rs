//! The vault end to end against a real server: the CLI, the client library loading a
//! credential from the vault, authentication and authorization, and durability.

mod support;

mod access;
mod cli;
mod durability;
