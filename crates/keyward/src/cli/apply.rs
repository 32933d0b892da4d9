//! The flags of `keyward apply`.

use std::path::PathBuf;

use clap::Args;

use super::ServerArgs;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The state file (TOML).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Say what would change, change nothing on the server (generated files are still made).
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}
