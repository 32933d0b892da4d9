//! Where the master key comes from: [`MasterKeySource`].
//!
//! In development the key lives in the data directory (`master.key`, made on first start),
//! beside the database it protects: convenient, and useless against anyone who copies the
//! directory. The production profile refuses that: the key comes from a file outside the data
//! directory, readable by its owner only, or from the caller (the binary reads it from
//! `KEYWARD_MASTER_KEY`). Either holds the same 32 bytes as a data directory's `master.key`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use keyward_authority::{MasterKey, Profile};
use zeroize::Zeroizing;

use crate::data_dir::{Access, DataDir};
use crate::error::{Error, Result};

/// Where a server's master key comes from.
#[derive(Clone, Default)]
pub enum MasterKeySource {
    /// `master.key` in the data directory, made on first start (development only).
    #[default]
    DataDir,
    /// A file outside the data directory, mode 0600 or stricter.
    File(PathBuf),
    /// The key's bytes, from wherever the caller keeps them.
    Bytes(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DataDir => f.write_str("DataDir"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Bytes(_) => f.write_str("Bytes(..)"),
        }
    }
}

/// Why the master key cannot be had.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// The production profile was asked to use the data directory's key.
    #[error(
        "the production profile keeps the master key out of the data directory: give a key file outside it or the key's bytes"
    )]
    ProductionNeedsKey,
    /// A production start found a `master.key` still in the data directory.
    #[error(
        "the data directory still holds {}: the production profile keeps the master key away from the database; move it out of the directory and give it with --master-key-file, or delete it if the server uses another key",
        path.display()
    )]
    LeftInDataDir {
        /// The data directory's `master.key`.
        path: PathBuf,
    },
    /// The key file is inside the data directory.
    #[error(
        "the master key file {} is inside the data directory {}: whoever copies the directory would have the key; keep it elsewhere",
        path.display(), data.display()
    )]
    FileInsideDataDir {
        /// The key file.
        path: PathBuf,
        /// The data directory.
        data: PathBuf,
    },
    /// The key file does not exist or cannot be read.
    #[error("cannot read the master key file {}", path.display())]
    Unreadable {
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Group or others may access the key file.
    #[error(
        "the master key file {} has mode {mode:04o}: group and others must not have access to it; chmod 600 it",
        path.display()
    )]
    FileNotPrivate {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key is not 32 bytes.
    #[error("the master key from {origin} is {len} bytes; a master key is 32 bytes")]
    WrongLength {
        /// Where it came from: the file's path, or `the caller`.
        origin: String,
        /// Its length.
        len: usize,
    },
}

impl MasterKeySource {
    /// The key's bytes for `profile` when they come from outside the data directory `data`
    /// (checking a key file's place and mode); `None` when the data directory's own key is to
    /// be used (development only). Called before the data directory is created, so that a
    /// refused production start leaves nothing behind.
    pub(crate) fn external(&self, profile: Profile, data: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, MasterKeyError> {
        let bytes = match self {
            Self::DataDir if profile == Profile::Development => return Ok(None),
            Self::DataDir => return Err(MasterKeyError::ProductionNeedsKey),
            Self::File(path) => read_key_file(path, data)?,
            Self::Bytes(bytes) => bytes.clone(),
        };
        // A copy left beside the database defeats the point of keeping one elsewhere.
        let left = data.join("master.key");
        if profile == Profile::Production && left.exists() {
            return Err(MasterKeyError::LeftInDataDir { path: left });
        }
        if bytes.len() != keyward_authority::sealing::MASTER_KEY_LEN {
            let origin = match self {
                Self::File(path) => path.display().to_string(),
                _ => "the caller".to_owned(),
            };
            return Err(MasterKeyError::WrongLength {
                origin,
                len: bytes.len(),
            });
        }
        Ok(Some(bytes))
    }
}

/// Reads a key file, refusing one inside `data` or accessible to group or others.
fn read_key_file(path: &Path, data: &Path) -> Result<Zeroizing<Vec<u8>>, MasterKeyError> {
    let unreadable = |source| MasterKeyError::Unreadable {
        path: path.to_owned(),
        source,
    };
    let real = std::fs::canonicalize(path).map_err(unreadable)?;
    let data_real = std::fs::canonicalize(data).unwrap_or_else(|_| data.to_owned());
    if real.starts_with(&data_real) {
        return Err(MasterKeyError::FileInsideDataDir {
            path: path.to_owned(),
            data: data.to_owned(),
        });
    }
    let mode = std::fs::metadata(&real).map_err(unreadable)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(MasterKeyError::FileNotPrivate {
            path: path.to_owned(),
            mode,
        });
    }
    // A key is 32 bytes: read a little more, to say how long a wrong file is without reading
    // a large one whole.
    let mut bytes = Zeroizing::new(Vec::with_capacity(64));
    use std::io::Read;
    std::fs::File::open(&real)
        .and_then(|f| f.take(4096).read_to_end(&mut bytes))
        .map_err(unreadable)?;
    Ok(bytes)
}

/// The data directory's `master.key`, made on first start.
pub(crate) fn data_dir_key(dir: &DataDir) -> Result<Zeroizing<Vec<u8>>> {
    let path = dir.path("master.key");
    if !path.exists() {
        let bytes = MasterKey::generate().map_err(Error::MasterKey)?;
        dir.write("master.key", &bytes, Access::OwnerOnly)?;
    }
    Ok(Zeroizing::new(dir.read("master.key")?))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn setup() -> (tempfile::TempDir, DataDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path().join("data"));
        dir.create().unwrap();
        (tmp, dir)
    }

    fn key_file(path: &Path, mode: u32) {
        fs::write(path, [7u8; 32]).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn production_refuses_the_data_directorys_key() {
        let (_tmp, dir) = setup();
        let err = MasterKeySource::DataDir
            .external(Profile::Production, dir.root())
            .unwrap_err();
        assert!(matches!(err, MasterKeyError::ProductionNeedsKey));
        let development = MasterKeySource::DataDir.external(Profile::Development, dir.root());
        assert!(development.unwrap().is_none());
        assert!(!dir.path("master.key").exists());
        assert_eq!(data_dir_key(&dir).unwrap().len(), 32);
        assert!(dir.path("master.key").exists());
        // Production then refuses to start while that copy sits beside the database.
        let bytes = MasterKeySource::Bytes(Zeroizing::new(vec![1u8; 32]));
        assert!(matches!(
            bytes.external(Profile::Production, dir.root()),
            Err(MasterKeyError::LeftInDataDir { .. })
        ));
        assert!(bytes.external(Profile::Development, dir.root()).is_ok());
    }

    #[test]
    fn a_key_file_must_be_private_outside_the_data_directory_and_32_bytes() {
        let (tmp, dir) = setup();
        let load = |path: &Path| MasterKeySource::File(path.to_owned()).external(Profile::Production, dir.root());
        let outside = tmp.path().join("master.key");
        assert!(matches!(load(&outside), Err(MasterKeyError::Unreadable { .. })));
        key_file(&outside, 0o644);
        assert!(matches!(
            load(&outside),
            Err(MasterKeyError::FileNotPrivate { mode: 0o644, .. })
        ));
        let inside = dir.path("tls/master.key");
        key_file(&inside, 0o600);
        assert!(matches!(load(&inside), Err(MasterKeyError::FileInsideDataDir { .. })));
        key_file(&outside, 0o600);
        assert_eq!(*load(&outside).unwrap().unwrap(), vec![7u8; 32]);
        fs::write(&outside, [7u8; 31]).unwrap();
        assert!(matches!(
            load(&outside),
            Err(MasterKeyError::WrongLength { len: 31, .. })
        ));
    }

    #[test]
    fn bytes_are_checked_and_never_printed() {
        let (_tmp, dir) = setup();
        let source = MasterKeySource::Bytes(Zeroizing::new(vec![9u8; 32]));
        assert_eq!(format!("{source:?}"), "Bytes(..)");
        assert_eq!(
            source.external(Profile::Production, dir.root()).unwrap().unwrap().len(),
            32
        );
        let short = MasterKeySource::Bytes(Zeroizing::new(vec![9u8; 3]));
        assert!(short.external(Profile::Production, dir.root()).is_err());
    }
}
