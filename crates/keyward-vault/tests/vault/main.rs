//! The vault against a real SQLite store: the domain service called directly, and the HTTP
//! layer through its router with real signed tokens.

mod certificates;
mod common;
mod extensions;
mod http;
mod links;
mod renewal;
mod secrets;
