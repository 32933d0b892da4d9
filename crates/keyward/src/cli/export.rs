//! `keyward export`'s arguments.

use std::path::PathBuf;

use clap::Args;

use super::ServerArgs;

/// `keyward export`: a running server's state as the document `keyward apply` reads.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the document to FILE (0600 with --include-secrets) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite --out when it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Export this tenant (repeatable) [default: the admin credential's tenant, the only one a
    /// management token can read].
    #[arg(long, value_name = "NAME")]
    pub tenant: Vec<String>,
    /// Include secret material: client secrets' and passwords' hashes (the old values keep
    /// working), vault secrets' values and vault certificates' private keys, each sealed with
    /// the passphrase (PBKDF2-SHA256, AES-256-GCM). Without it, applying the document generates
    /// new values and makes new vault certificates from their policies.
    #[arg(long)]
    pub include_secrets: bool,
    /// The passphrase that seals secret material: the first line of FILE. Or set
    /// KEYWARD_EXPORT_PASSPHRASE. `keyward apply FILE --passphrase-file F` opens it.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
}
