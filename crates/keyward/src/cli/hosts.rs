//! The flags of `keyward hosts`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct HostsArgs {
    /// The server's data directory: its default tenant's name and id, and its Azure-hosts CA.
    #[arg(long, env = "KEYWARD_DATA", default_value = "keyward-data", value_name = "DIR")]
    pub data: PathBuf,
    /// The address Microsoft's names should resolve to: the server's.
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub address: IpAddr,
    /// Another tenant to reach as NAME.ciamlogin.com, besides the data directory's default one.
    /// Repeat it for more.
    #[arg(long = "tenant", value_name = "NAME")]
    pub tenants: Vec<String>,
    /// A vault to reach as NAME.vault.azure.net (hosts files take no wildcards). Repeat it for
    /// more [default: the default vault].
    #[arg(long = "vault", value_name = "NAME")]
    pub vaults: Vec<String>,
    /// Add the lines to the hosts file, as a block between marker comments that the next run
    /// replaces; the file as it was is kept beside it (FILE.keyward-backup).
    #[arg(long, conflicts_with = "remove")]
    pub write: bool,
    /// Remove the block that --write added.
    #[arg(long)]
    pub remove: bool,
    /// The hosts file to change.
    #[arg(long, default_value = "/etc/hosts", value_name = "FILE")]
    pub hosts_file: PathBuf,
}
