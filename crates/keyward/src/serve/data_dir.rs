//! The data directory: everything one server needs, created on first start, secrets 0600.
//!
//! ```text
//! keyward.db          SQLite (WAL)
//! master.key          seals private keys at rest
//! tls/ca.pem          the local CA: what clients trust
//! tls/ca.key          its key
//! tls/server.pem      the server's certificate chain
//! tls/server.key      its key
//! admin/admin.pem     the bootstrap admin application's certificate
//! admin/admin.key     its key
//! admin/admin.json    the admin application's appId and tenant, for the CLI
//! server.json         the running server's URL, for the CLI
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::files::{self, Access};

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// What the CLI needs to call the management API as the bootstrap admin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminInfo {
    /// The admin application's client id.
    pub app_id: String,
    /// The tenant it lives in (GUID).
    pub tenant_id: String,
    /// The tenant's name.
    pub tenant: String,
}

/// Where the server is, written when it starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// The public URL, e.g. `https://localhost:8443`.
    pub url: String,
    /// The default tenant's name.
    pub tenant: String,
    /// The process id.
    pub pid: u32,
}

impl DataDir {
    /// A data directory at `root` (not created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Creates the directory tree, private to the owner.
    pub fn create(&self) -> anyhow::Result<()> {
        for dir in [self.root.clone(), self.root.join("tls"), self.root.join("admin")] {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict {}", dir.display()))?;
        }
        Ok(())
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the directory.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// The SQLite database URL.
    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self.path("keyward.db").display())
    }

    /// The CA clients trust.
    pub fn ca_pem(&self) -> PathBuf {
        self.path("tls/ca.pem")
    }

    /// Reads a file of the data directory.
    pub fn read(&self, relative: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.path(relative);
        files::read_limited(&path, 1024 * 1024).with_context(|| format!("cannot read {}", path.display()))
    }

    /// Writes a file of the data directory atomically.
    pub fn write(&self, relative: &str, contents: &[u8], access: Access) -> anyhow::Result<()> {
        files::write_new(&self.path(relative), contents, access, true)
    }

    /// Reads a JSON file.
    pub fn read_json<T: serde::de::DeserializeOwned>(&self, relative: &str) -> anyhow::Result<T> {
        let bytes = self.read(relative)?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", self.path(relative).display()))
    }

    /// Writes a JSON file.
    pub fn write_json(&self, relative: &str, value: &impl Serialize, access: Access) -> anyhow::Result<()> {
        self.write(relative, &serde_json::to_vec_pretty(value)?, access)
    }
}
