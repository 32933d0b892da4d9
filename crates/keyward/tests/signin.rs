//! Customer sign-in against a real `keyward serve`: the authorization code flow with PKCE
//! through the hosted pages, driven by a minimal browser (cookies, forms, no redirects
//! followed), tokens checked against the published keys, and the attacks the flow must stop.
//! Also `keyward user`.

#[path = "authority/common.rs"]
#[allow(dead_code)] // shared with tests/authority.rs and tests/client.rs
mod common;

#[path = "signin/browser.rs"]
#[allow(dead_code)]
mod browser;
#[path = "signin/flow.rs"]
#[allow(dead_code)]
mod flow;

#[path = "signin/abuse.rs"]
mod abuse;
#[path = "signin/attacks.rs"]
mod attacks;
#[path = "signin/cli.rs"]
mod cli;
#[path = "signin/client_library.rs"]
mod client_library;
#[path = "signin/flows.rs"]
mod flows;
#[path = "signin/grants.rs"]
mod grants;
