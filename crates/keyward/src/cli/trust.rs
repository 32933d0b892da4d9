//! The flags of `keyward trust`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// The server's data directory: its local CA is tls/ca.pem.
    #[arg(long, env = "KEYWARD_DATA", default_value = "keyward-data", value_name = "DIR")]
    pub data: PathBuf,
    /// Remove what `keyward trust` added (recorded in DIR/tls/trust.json), and nothing else.
    #[arg(long)]
    pub uninstall: bool,
    /// Show what would be added or removed, and the commands, without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Where to install: `system` (the store of the operating system: Debian/Ubuntu
    /// update-ca-certificates, Fedora/RHEL update-ca-trust, the macOS System keychain; needs
    /// root) and/or `nss` (the NSS databases Chromium and Firefox read: ~/.pki/nssdb and each
    /// Firefox profile; per user, with certutil).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Store::System, Store::Nss], value_name = "STORES")]
    pub store: Vec<Store>,
    /// This NSS database instead of the ones found (~/.pki/nssdb, Firefox profiles); made when
    /// there is none. Repeat it for more.
    #[arg(long = "nss-db", value_name = "DIR")]
    pub nss_dbs: Vec<PathBuf>,
    /// Use the Debian system store under DIR instead of / (DIR/usr/local/share/ca-certificates,
    /// DIR/etc/ssl/certs): for tests and image builds; needs no root when DIR is yours.
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
    /// Also install the Azure host names mode's CA (tls/azure-hosts-ca.pem), which vouches for
    /// Microsoft's names (login.microsoftonline.com, *.ciamlogin.com, *.vault.azure.net, ...):
    /// this machine would then believe this server is Microsoft sign-in. Never needed for
    /// localhost; prefer NODE_EXTRA_CA_CERTS/REQUESTS_CA_BUNDLE in test processes.
    #[arg(long)]
    pub also_trust_azure_hosts_ca_for_microsoft_names: bool,
}

/// A kind of certificate store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Store {
    /// The operating system's store.
    System,
    /// The NSS databases of Chromium and Firefox.
    Nss,
}
