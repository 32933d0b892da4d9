//! Reading input files with a size limit, and writing output files safely: never over an
//! existing file without `--force`, private keys created 0600, each file complete or absent.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Who may read a file we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// 0644: certificates, which are public.
    Public,
    /// 0600: anything holding a private key.
    OwnerOnly,
}

/// Reads a whole file, refusing files larger than `limit` before reading them.
pub fn read_limited(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(io::Error::other(format!(
            "the file is larger than {limit} bytes; certificate and key files are a few kilobytes"
        )));
    }
    Ok(bytes)
}

/// Fails, naming them, if any of `paths` exists and `force` is not set.
pub fn check_absent(paths: &[&Path], force: bool) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    let existing: Vec<String> = paths
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        bail!(
            "{} already exist{}; use --force to overwrite, or choose another name with --out",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        );
    }
    Ok(())
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then moved into place. Without `force`, an existing file is never replaced, even one
/// created since [`check_absent`].
pub fn write_new(path: &Path, contents: &[u8], access: Access, force: bool) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).with_context(|| format!("cannot create the directory {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mode = match access {
        Access::Public => 0o644,
        Access::OwnerOnly => 0o600,
    };
    let result = (|| -> anyhow::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        if force {
            fs::rename(&tmp, path)?;
        } else {
            // A hard link fails if the target exists, unlike rename.
            fs::hard_link(&tmp, path).map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => {
                    anyhow::anyhow!("it already exists; use --force to overwrite")
                }
                _ => e.into(),
            })?;
            fs::remove_file(&tmp)?;
        }
        File::open(&dir).and_then(|d| d.sync_all()).ok();
        Ok(())
    })();
    if result.is_err() {
        fs::remove_file(&tmp).ok();
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}
