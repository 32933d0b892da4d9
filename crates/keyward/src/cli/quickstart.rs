//! The flags of `keyward quickstart`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// The data directory (the server's, and the app's certificate in DIR/quickstart).
    #[arg(long, env = "KEYWARD_DATA", default_value = "keyward-data", value_name = "DIR")]
    pub data: PathBuf,
    /// The address the server listens on.
    #[arg(long, default_value = "127.0.0.1:8443", value_name = "ADDR")]
    pub listen: String,
    /// The sample web app's port (its redirect URIs are http://localhost:PORT/auth/redirect and
    /// http://localhost:PORT).
    #[arg(long, default_value_t = 3000, value_name = "PORT")]
    pub port: u16,
}
