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
    /// The passphrase of a document's sealed secret material (`keyward export
    /// --include-secrets`): the first line of FILE. Or set KEYWARD_EXPORT_PASSPHRASE.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}
