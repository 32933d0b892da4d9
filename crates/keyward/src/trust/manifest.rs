//! What `keyward trust` added, recorded in the data directory (`tls/trust.json`), so that
//! `--uninstall` removes exactly that and a second run knows what is already done.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::files::{self, Access};

/// The manifest's path in the data directory, relative to it.
pub const FILE: &str = "tls/trust.json";

/// Every place a CA of this data directory was installed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// The installations, in the order they were made.
    pub installed: Vec<Entry>,
}

/// Which of the data directory's CAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaKind {
    /// `tls/ca.pem`: the names the server serves.
    Local,
    /// `tls/azure-hosts-ca.pem`: Microsoft's names (the Azure host names mode).
    AzureHosts,
}

impl CaKind {
    /// The CA certificate's path in the data directory, relative to it.
    pub fn file(self) -> &'static str {
        match self {
            Self::Local => keyward_server::LOCAL_CA,
            Self::AzureHosts => keyward_server::AZURE_HOSTS_CA,
        }
    }

    /// Its name in sentences.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Local => "the local CA",
            Self::AzureHosts => "the Azure-hosts CA",
        }
    }

    /// The stem of file names and nicknames (`keyward-local-ca`).
    pub fn stem(self) -> &'static str {
        match self {
            Self::Local => "keyward-local-ca",
            Self::AzureHosts => "keyward-azure-hosts-ca",
        }
    }

    /// The start of its NSS nickname (`Keyward Local CA`).
    pub fn nickname(self) -> &'static str {
        match self {
            Self::Local => "Keyward Local CA",
            Self::AzureHosts => "Keyward Azure Host Names CA",
        }
    }
}

/// One installation of one CA certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Which CA.
    pub ca: CaKind,
    /// The certificate's SHA-256 thumbprint (hex): a CA made again is another certificate.
    pub sha256: String,
    /// Its SHA-1 thumbprint (hex), by which the macOS keychain finds it.
    pub sha1: String,
    /// Where.
    #[serde(flatten)]
    pub place: Place,
}

/// Where a CA certificate was installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "store", rename_all = "kebab-case")]
pub enum Place {
    /// The operating system's store.
    System {
        /// Which kind.
        system: super::system::SystemKind,
        /// The file written (Debian, Fedora) or the keychain (macOS).
        path: PathBuf,
        /// The root the Debian store was under (`--root`), if not `/`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        root: Option<PathBuf>,
    },
    /// An NSS database.
    Nss {
        /// The database's directory (`sql:` format).
        db: PathBuf,
        /// The certificate's nickname in it.
        nickname: String,
        /// Whether `keyward trust` made the database (then uninstall removes it when it holds
        /// nothing else).
        #[serde(rename = "createdDb", default)]
        created_db: bool,
    },
}

impl Manifest {
    /// The data directory's manifest; empty when there is none.
    pub fn load(data: &Path) -> anyhow::Result<Self> {
        let path = data.join(FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is damaged (it records what keyward trust installed); fix or remove it",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes it back (removed when empty).
    pub fn save(&self, data: &Path) -> anyhow::Result<()> {
        let path = data.join(FILE);
        if self.installed.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(e).with_context(|| format!("cannot remove {}", path.display()))
                }
                _ => Ok(()),
            };
        }
        let json = serde_json::to_vec_pretty(self)?;
        files::write_new(&path, &json, Access::Public, true)
    }

    /// Records `entry` (once).
    pub fn add(&mut self, entry: Entry) {
        if !self.installed.contains(&entry) {
            self.installed.push(entry);
        }
    }

    /// Forgets `entry`.
    pub fn remove(&mut self, entry: &Entry) {
        self.installed.retain(|e| e != entry);
    }
}
