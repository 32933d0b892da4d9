//! The operating system's store of trusted CAs: Debian/Ubuntu (`update-ca-certificates`),
//! Fedora/RHEL (`update-ca-trust`), macOS (the System keychain, with `security`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::op::Op;

/// Which system store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SystemKind {
    /// `/usr/local/share/ca-certificates/*.crt` + `update-ca-certificates`.
    Debian,
    /// `/etc/pki/ca-trust/source/anchors/*.pem` + `update-ca-trust extract`.
    Fedora,
    /// `/Library/Keychains/System.keychain`, through `security`.
    MacOs,
}

/// The macOS System keychain.
const KEYCHAIN: &str = "/Library/Keychains/System.keychain";

/// A system store on this machine (or, for Debian, under a root directory).
#[derive(Debug, Clone)]
pub struct SystemStore {
    /// Which.
    pub kind: SystemKind,
    /// The program that rebuilds it (or `security`).
    pub program: PathBuf,
    /// The root it lives under (`--root`), or none for `/`.
    pub root: Option<PathBuf>,
}

impl SystemKind {
    /// In sentences.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Debian => "the system store (Debian/Ubuntu, update-ca-certificates)",
            Self::Fedora => "the system store (Fedora/RHEL, update-ca-trust)",
            Self::MacOs => "the System keychain (macOS)",
        }
    }
}

impl SystemStore {
    /// The store of this machine, or (`root`) the Debian layout under `root`; an error says
    /// why there is none.
    pub fn detect(root: Option<&Path>) -> Result<Self, String> {
        if let Some(root) = root {
            return match find_program("update-ca-certificates") {
                Some(program) => Ok(Self {
                    kind: SystemKind::Debian,
                    program,
                    root: Some(root.to_path_buf()),
                }),
                None => Err("--root works with the Debian layout only, and update-ca-certificates is not installed (apt-get install ca-certificates)".into()),
            };
        }
        if cfg!(target_os = "macos") {
            return find_program("security")
                .map(|program| Self {
                    kind: SystemKind::MacOs,
                    program,
                    root: None,
                })
                .ok_or_else(|| "the `security` command is missing".to_owned());
        }
        if let Some(program) = find_program("update-ca-certificates") {
            return Ok(Self {
                kind: SystemKind::Debian,
                program,
                root: None,
            });
        }
        if let Some(program) = find_program("update-ca-trust") {
            return Ok(Self {
                kind: SystemKind::Fedora,
                program,
                root: None,
            });
        }
        Err("this system has neither update-ca-certificates (Debian/Ubuntu: apt-get install ca-certificates) nor update-ca-trust (Fedora/RHEL: dnf install ca-certificates); keyward trust knows those and macOS. Add the CA to this system's store by hand, or use --store nss".into())
    }

    /// `path` under the root.
    fn under(&self, path: &str) -> PathBuf {
        match &self.root {
            Some(root) => root.join(path.trim_start_matches('/')),
            None => PathBuf::from(path),
        }
    }

    /// Where the certificate file named `stem` goes (Debian, Fedora), or the keychain (macOS).
    pub fn target(&self, stem: &str) -> PathBuf {
        match self.kind {
            SystemKind::Debian => self.under(&format!("/usr/local/share/ca-certificates/{stem}.crt")),
            SystemKind::Fedora => PathBuf::from(format!("/etc/pki/ca-trust/source/anchors/{stem}.pem")),
            SystemKind::MacOs => PathBuf::from(KEYCHAIN),
        }
    }

    /// The bundle of every trusted CA that programs reading "the system's CAs" read (what
    /// `SSL_CERT_FILE` and `REQUESTS_CA_BUNDLE` can name), if the store has one.
    pub fn bundle(&self) -> Option<PathBuf> {
        match self.kind {
            SystemKind::Debian => Some(self.under("/etc/ssl/certs/ca-certificates.crt")),
            SystemKind::Fedora => Some(PathBuf::from("/etc/pki/tls/certs/ca-bundle.crt")),
            SystemKind::MacOs => None,
        }
    }

    /// Whether changing it needs root (it does, unless it is under a root of the caller's).
    pub fn needs_root(&self) -> bool {
        self.root.is_none()
    }

    /// Whether the store holds `pem` at `target` already.
    pub fn holds(&self, target: &Path, pem: &[u8], sha1_hex: &str) -> bool {
        match self.kind {
            SystemKind::Debian | SystemKind::Fedora => {
                std::fs::read(target).is_ok_and(|have| have == pem)
                    && self
                        .bundle()
                        .and_then(|b| std::fs::read_to_string(b).ok())
                        .is_some_and(|bundle| bundle.contains(String::from_utf8_lossy(pem).trim()))
            }
            SystemKind::MacOs => std::process::Command::new(&self.program)
                .args(["find-certificate", "-a", "-Z", KEYCHAIN])
                .output()
                .is_ok_and(|out| {
                    String::from_utf8_lossy(&out.stdout)
                        .to_ascii_uppercase()
                        .contains(&sha1_hex.to_ascii_uppercase())
                }),
        }
    }

    /// The arguments that rebuild a Debian store (under the root, when there is one).
    fn rebuild(&self, fresh: bool) -> Op {
        let mut args: Vec<OsString> = Vec::new();
        if fresh {
            args.push("--fresh".into());
        }
        if self.root.is_some() {
            for (flag, path) in [
                ("--certsconf", "/etc/ca-certificates.conf"),
                ("--certsdir", "/usr/share/ca-certificates"),
                ("--localcertsdir", "/usr/local/share/ca-certificates"),
                ("--etccertsdir", "/etc/ssl/certs"),
                ("--hooksdir", "/etc/ca-certificates/update.d"),
            ] {
                args.push(flag.into());
                args.push(self.under(path).into());
            }
        }
        Op::run(&self.program, args)
    }

    /// What installs the CA (its PEM `pem`, in the file `ca_file`) as `target`.
    pub fn add(&self, target: &Path, pem: &[u8], ca_file: &Path) -> Vec<Op> {
        match self.kind {
            SystemKind::Debian => {
                let mut ops = Vec::new();
                if self.root.is_some() {
                    ops.push(Op::CreateDir(self.under("/usr/local/share/ca-certificates")));
                    ops.push(Op::CreateDir(self.under("/etc/ssl/certs")));
                }
                ops.push(Op::WriteFile {
                    path: target.to_path_buf(),
                    contents: pem.to_vec(),
                });
                ops.push(self.rebuild(false));
                ops
            }
            SystemKind::Fedora => vec![
                Op::WriteFile {
                    path: target.to_path_buf(),
                    contents: pem.to_vec(),
                },
                Op::run(&self.program, ["extract"]),
            ],
            SystemKind::MacOs => vec![Op::run(
                &self.program,
                [
                    OsString::from("add-trusted-cert"),
                    "-d".into(),
                    "-r".into(),
                    "trustRoot".into(),
                    "-k".into(),
                    KEYCHAIN.into(),
                    ca_file.into(),
                ],
            )],
        }
    }

    /// What removes an installed CA (at `target`; by its SHA-1 thumbprint on macOS).
    pub fn remove(&self, target: &Path, sha1_hex: &str) -> Vec<Op> {
        match self.kind {
            // --fresh: a removed file's links in /etc/ssl/certs go only with a fresh rebuild.
            SystemKind::Debian => vec![Op::RemoveFile(target.to_path_buf()), self.rebuild(true)],
            SystemKind::Fedora => vec![
                Op::RemoveFile(target.to_path_buf()),
                Op::run(&self.program, ["extract"]),
            ],
            SystemKind::MacOs => vec![Op::run(
                &self.program,
                ["delete-certificate", "-Z", sha1_hex, "-t", KEYCHAIN],
            )],
        }
    }
}

/// `program` in PATH or in the sbin directories (which a user's PATH often lacks).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
