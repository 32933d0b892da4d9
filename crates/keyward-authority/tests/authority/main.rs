//! The authority's HTTP layer through its router, in process (`tower::ServiceExt::oneshot`),
//! over a real SQLite store, with real client assertions and real signed tokens: the token
//! endpoint and discovery, the management API, Keyward's admin endpoints, the sign-in pages and
//! the device code flow.
//! The end-to-end tests against the real binary are in `crates/keyward/tests`.

mod common;
mod device;
mod graph;
mod key_rotation;
mod pages;
mod roles;
mod signin;
mod token;
