//! The data directory: everything one server needs, created on first start, secrets 0600.
//!
//! ```text
//! keyward.db          SQLite (WAL)
//! master.key          seals private keys at rest
//! tls/ca.pem          the local CA: what clients trust
//! tls/ca.key          its key
//! tls/server.pem      the server's certificate chain
//! tls/server.key      its key
//! tls/trust.json      where `keyward trust` installed the CA (written by the CLI)
//! admin/admin.pem     the bootstrap admin application's certificate
//! admin/admin.key     its key
//! admin/admin.json    the admin application's appId and tenant, for the CLI
//! server.json         the running server's URL, for the CLI
//! ```
//!
//! The server writes it; the CLI reads it to find the server and act as its admin.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The largest file of a data directory (certificates, keys, small JSON files).
const MAX_FILE: u64 = 1024 * 1024;

/// Paths inside a data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// What the CLI needs to call the management API as the bootstrap admin
/// (`admin/admin.json`).
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

/// Where the server is, written when it starts (`server.json`) and removed when it stops.
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

/// Who may read a file the server writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// 0644: certificates and what the CLI reads, which are public.
    Public,
    /// 0600: anything holding a private key.
    OwnerOnly,
}

impl DataDir {
    /// A data directory at `root` (not created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
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

    /// Reads a file of the data directory (at most 1 MiB).
    pub fn read(&self, relative: &str) -> Result<Vec<u8>> {
        let path = self.path(relative);
        let read = || -> std::io::Result<Vec<u8>> {
            let mut bytes = Vec::new();
            File::open(&path)?.take(MAX_FILE + 1).read_to_end(&mut bytes)?;
            if bytes.len() as u64 > MAX_FILE {
                return Err(std::io::Error::other(format!(
                    "the file is larger than {MAX_FILE} bytes; the data directory's files are a few kilobytes"
                )));
            }
            Ok(bytes)
        };
        read().map_err(|source| Error::File {
            action: "read",
            path,
            source,
        })
    }

    /// Reads a JSON file.
    pub fn read_json<T: serde::de::DeserializeOwned>(&self, relative: &str) -> Result<T> {
        let bytes = self.read(relative)?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Damaged {
            path: self.path(relative),
            source: Box::new(e),
        })
    }

    /// Creates the directory tree, private to the owner.
    pub(crate) fn create(&self) -> Result<()> {
        for dir in [
            self.root.clone(),
            self.root.join("tls"),
            self.root.join("admin"),
            self.root.join("managed-identity"),
        ] {
            fs::create_dir_all(&dir).map_err(|source| Error::File {
                action: "create",
                path: dir.clone(),
                source,
            })?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(|source| Error::File {
                action: "restrict",
                path: dir.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Writes a file of the data directory atomically: a temporary file beside it, flushed to
    /// disk, then moved into place.
    pub(crate) fn write(&self, relative: &str, contents: &[u8], access: Access) -> Result<()> {
        let path = self.path(relative);
        let dir = path.parent().map_or_else(|| self.root.clone(), Path::to_path_buf);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let mode = match access {
            Access::Public => 0o644,
            Access::OwnerOnly => 0o600,
        };
        let write = || -> std::io::Result<()> {
            let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
            file.write_all(contents)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            File::open(&dir).and_then(|d| d.sync_all()).ok();
            Ok(())
        };
        write().map_err(|source| {
            fs::remove_file(&tmp).ok();
            Error::File {
                action: "write",
                path: path.clone(),
                source,
            }
        })
    }

    /// Writes a JSON file.
    pub(crate) fn write_json(&self, relative: &str, value: &impl Serialize, access: Access) -> Result<()> {
        let json = serde_json::to_vec_pretty(value).map_err(|e| Error::Damaged {
            path: self.path(relative),
            source: Box::new(e),
        })?;
        self.write(relative, &json, access)
    }

    /// Restricts files the server did not write itself (the SQLite files) to their owner.
    pub(crate) fn restrict(&self, relative: &str) {
        fs::set_permissions(self.path(relative), fs::Permissions::from_mode(0o600)).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_whole_with_their_access_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("data"));
        dir.create().unwrap();
        dir.write("tls/ca.key", b"secret", Access::OwnerOnly).unwrap();
        dir.write("tls/ca.key", b"replaced", Access::OwnerOnly).unwrap();
        dir.write_json(
            "server.json",
            &serde_json::json!({"url": "https://x", "tenant": "t", "pid": 1}),
            Access::Public,
        )
        .unwrap();
        let mode = |p: &str| fs::metadata(dir.path(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (mode("tls/ca.key"), mode("server.json"), mode("")),
            (0o600, 0o644, 0o700)
        );
        assert_eq!(dir.read("tls/ca.key").unwrap(), b"replaced");
        assert_eq!(dir.read_json::<ServerInfo>("server.json").unwrap().url, "https://x");
        dir.write("admin/admin.json", b"{", Access::Public).unwrap();
        let damaged = dir.read_json::<AdminInfo>("admin/admin.json").unwrap_err();
        assert!(damaged.to_string().ends_with("admin.json is damaged"), "{damaged}");
        let missing = dir.read("nothing").unwrap_err();
        assert!(missing.to_string().starts_with("cannot read "), "{missing}");
    }
}
