//! Customer sign-in against a real server: the authorization code flow with PKCE through the
//! hosted pages, driven by a minimal browser (cookies, forms, no redirects followed), tokens
//! checked against the published keys, and the attacks the flow must stop; the device code
//! flow through its verification page. Also `keyward user`.

pub(crate) mod browser;
pub(crate) mod flow;

mod abuse;
mod attacks;
mod cli;
mod client_library;
mod device;
pub(crate) mod flows;
mod grants;
mod lockout;
mod mailbox;
mod roles;
mod shared_database;
mod verify_email;
