//! The flags of `keyward serve`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The data directory.
    #[arg(long, env = "KEYWARD_DATA", default_value = "keyward-data", value_name = "DIR")]
    pub data: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443", value_name = "ADDR")]
    pub listen: String,
    /// The origin clients use [default: https://localhost:PORT]. Issuers and endpoints use it.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The tenant's name (also answers to NAME.onmicrosoft.com and its GUID). Repeat it for
    /// more tenants; the first is the default, where the admin application lives.
    #[arg(long = "tenant", default_value = "contoso", value_name = "NAME")]
    pub tenants: Vec<String>,
    /// A database URL (sqlite://PATH or postgres://...) [default: the data directory's keyward.db].
    #[arg(long, env = "KEYWARD_DATABASE", hide_env_values = true, value_name = "URL")]
    pub database: Option<String>,
    /// Lifetime of access tokens in seconds (Entra's default is about an hour; short ones are
    /// for testing clients' refresh).
    #[arg(long, default_value_t = 3599, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(10..=86_400))]
    pub token_lifetime: u32,
    /// Connections open at once, in total; more are closed as soon as they are accepted.
    #[arg(long, default_value_t = keyward_server::limits::MAX_CONNECTIONS, value_name = "N")]
    pub max_connections: usize,
    /// Connections open at once from one client address (loopback included); more are closed
    /// as soon as they are accepted. Raise it for load generators and proxies on one address.
    #[arg(long, default_value_t = keyward_server::limits::MAX_CONNECTIONS_PER_ADDRESS, value_name = "N")]
    pub max_connections_per_address: usize,
}
