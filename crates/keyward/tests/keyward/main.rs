//! Integration tests of the `keyward` binary and the server it runs, over real HTTPS, against
//! real clients and the real OpenSSL: one test target, one module per theme.
//!
//! Servers start in this process through `keyward-server` (a runtime on a thread of its own,
//! on `127.0.0.1:0`), except where a test needs a process: `kill -9`, SIGTERM, restarts, and
//! `keyward serve`'s own flags and output. See [`common::Server`].

mod common;

mod admin;
mod app_lookup;
mod app_policy;
mod arm;
mod authority;
mod cli;
mod client;
mod cluster;
mod connections;
mod doctor;
mod expiry;
mod expiry_events;
mod export;
mod first_hour;
mod last_use;
mod managed_identity;
mod mint;
mod outage;
mod profile;
mod readme;
mod reload;
mod rotation;
mod scale;
mod signin;
mod soak;
mod state;
mod time_travel;
mod trust;
mod vault;
