//! The single changes `keyward trust` makes (write a file, run a command), shown as they are by
//! `--dry-run` and done by a run.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::files::{self, Access};

/// One change to the machine.
#[derive(Debug, Clone)]
pub enum Op {
    /// Create a directory (and its parents), 0755.
    CreateDir(PathBuf),
    /// Write a certificate file, 0644, replacing one of the same name.
    WriteFile {
        /// Where.
        path: PathBuf,
        /// The PEM.
        contents: Vec<u8>,
    },
    /// Remove a file.
    RemoveFile(PathBuf),
    /// Run a program; it must succeed.
    Run {
        /// The program (a full path when found).
        program: PathBuf,
        /// Its arguments.
        args: Vec<OsString>,
    },
    /// Remove an NSS database that `keyward trust` made, if it holds no certificate any more.
    RemoveEmptyNssDb {
        /// The database's directory.
        db: PathBuf,
        /// `certutil`.
        certutil: PathBuf,
    },
}

impl Op {
    /// A command.
    pub fn run<I, S>(program: &Path, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self::Run {
            program: program.to_path_buf(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// Does it.
    pub fn apply(&self) -> anyhow::Result<()> {
        match self {
            Self::CreateDir(path) => {
                std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))
            }
            Self::WriteFile { path, contents } => files::write_new(path, contents, Access::Public, true),
            Self::RemoveFile(path) => match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(e).with_context(|| format!("cannot remove {}", path.display()))
                }
                _ => Ok(()),
            },
            Self::Run { program, args } => {
                let out = Command::new(program)
                    .args(args)
                    .stdin(Stdio::null())
                    .output()
                    .with_context(|| format!("cannot run {}", program.display()))?;
                if !out.status.success() {
                    bail!(
                        "`{self}` failed ({}): {}{}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim(),
                        String::from_utf8_lossy(&out.stdout).trim()
                    );
                }
                Ok(())
            }
            Self::RemoveEmptyNssDb { db, certutil } => {
                let listed = super::nss::nicknames(certutil, db)?;
                if !listed.is_empty() {
                    println!(
                        "  kept the NSS database {} that keyward trust made: it holds other certificates now",
                        db.display()
                    );
                    return Ok(());
                }
                for file in super::nss::DB_FILES {
                    Self::RemoveFile(db.join(file)).apply()?;
                }
                // The directory too, if it is empty now (and was made with the database).
                std::fs::remove_dir(db).ok();
                Ok(())
            }
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateDir(path) => write!(f, "mkdir -p {}", quote(path.as_os_str())),
            Self::WriteFile { path, .. } => write!(f, "write {}", quote(path.as_os_str())),
            Self::RemoveFile(path) => write!(f, "rm -f {}", quote(path.as_os_str())),
            Self::Run { program, args } => {
                let name = program.file_name().unwrap_or(program.as_os_str());
                write!(f, "{}", quote(name))?;
                for arg in args {
                    write!(f, " {}", quote(arg))?;
                }
                Ok(())
            }
            Self::RemoveEmptyNssDb { db, .. } => write!(
                f,
                "remove the NSS database {} (keyward trust made it) if it holds nothing else",
                quote(db.as_os_str())
            ),
        }
    }
}

/// A word as a shell reads it: quoted when it has anything but safe characters.
fn quote(word: &std::ffi::OsStr) -> String {
    let text = word.to_string_lossy();
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
