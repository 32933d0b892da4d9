//! The flags of `keyward signing-key`: the tenant's token-signing keys.

use clap::Subcommand;

use super::ServerArgs;

#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// List the signing keys: the active one and retired ones still published.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Make a new signing key; the old one stays published until the tokens it signed expire.
    Rotate {
        #[command(flatten)]
        server: ServerArgs,
    },
}
