//! The flags of `keyward master-key`.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Make a new master key for `keyward serve --profile production`: 32 random bytes, written
    /// to --out (mode 0600; keep it outside the data directory) for --master-key-file, or
    /// printed in base64 for KEYWARD_MASTER_KEY.
    ///
    /// A server's master key seals the private keys it stores: a server started with another
    /// key than the one its database was sealed with cannot read them. To move an existing
    /// development server to production, move its data directory's master.key out of the
    /// directory instead of making a new one.
    #[command(
        after_help = "Examples:\n  keyward master-key new --out /etc/keyward/master.key\n  keyward serve --profile production --master-key-file /etc/keyward/master.key\n  KEYWARD_MASTER_KEY=$(keyward master-key new) keyward serve --profile production"
    )]
    New {
        /// Write the key (32 raw bytes, mode 0600) to this file instead of printing it.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
}
