//! NSS databases, which Chromium (`~/.pki/nssdb`) and Firefox (one per profile) read their
//! trusted CAs from, changed with NSS's `certutil` (Debian: libnss3-tools).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use super::op::Op;

/// The files of an NSS database in the `sql:` format.
pub const DB_FILES: [&str; 3] = ["cert9.db", "key4.db", "pkcs11.txt"];

/// Trust flags: a CA trusted to issue TLS server certificates (`C`), nothing for mail or code.
const TRUST: &str = "C,,";

/// The NSS databases of this user: Chromium's `~/.pki/nssdb` (also the snap's) and each Firefox
/// profile's, where a `cert9.db` exists. Databases in the old format (`cert8.db` only) are
/// returned in the second list.
pub fn find(home: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut candidates = vec![home.join(".pki/nssdb"), home.join("snap/chromium/current/.pki/nssdb")];
    for profiles in [
        home.join(".mozilla/firefox"),
        home.join("snap/firefox/common/.mozilla/firefox"),
    ] {
        if let Ok(entries) = std::fs::read_dir(&profiles) {
            let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            dirs.sort();
            candidates.extend(dirs);
        }
    }
    let mut current = Vec::new();
    let mut old = Vec::new();
    for dir in candidates {
        if dir.join("cert9.db").is_file() {
            current.push(dir);
        } else if dir.join("cert8.db").is_file() {
            old.push(dir);
        }
    }
    (current, old)
}

/// Whether `dir` holds a database in the `sql:` format.
pub fn exists(dir: &Path) -> bool {
    dir.join("cert9.db").is_file()
}

/// `sql:DIR`, as certutil takes a database.
fn sql(db: &Path) -> String {
    format!("sql:{}", db.display())
}

/// The nicknames of the certificates in `db`.
pub fn nicknames(certutil: &Path, db: &Path) -> anyhow::Result<Vec<String>> {
    Ok(listing(certutil, db)?.into_iter().map(|(name, _)| name).collect())
}

/// `certutil -L`: each certificate's nickname and trust flags (`C,,`).
pub fn listing(certutil: &Path, db: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let out = Command::new(certutil)
        .args(["-L", "-d", &sql(db)])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", certutil.display()))?;
    if !out.status.success() {
        bail!(
            "certutil cannot list the NSS database {}: {}",
            db.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // A header (title, then the columns' "SSL,S/MIME,JAR/XPI"), then "NICKNAME   FLAGS" lines.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .skip_while(|line| !line.contains("SSL,S/MIME,JAR/XPI"))
        .skip(1)
        .filter_map(|line| {
            let (name, flags) = line.trim_end().rsplit_once(char::is_whitespace)?;
            let name = name.trim_end();
            (!name.is_empty()).then(|| (name.to_owned(), flags.to_owned()))
        })
        .collect())
}

/// The certificate (DER) under `nickname` in `db` and its trust flags, if there is one.
pub fn certificate(certutil: &Path, db: &Path, nickname: &str) -> Option<(Vec<u8>, String)> {
    let out = Command::new(certutil)
        .args(["-L", "-d", &sql(db), "-n", nickname, "-r"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let flags = listing(certutil, db)
        .ok()?
        .into_iter()
        .find(|(name, _)| name == nickname)
        .map(|(_, flags)| flags)
        .unwrap_or_default();
    Some((out.stdout, flags))
}

/// Whether `db` holds `der` under `nickname`, trusted for TLS servers.
pub fn holds(certutil: &Path, db: &Path, nickname: &str, der: &[u8]) -> bool {
    certificate(certutil, db, nickname).is_some_and(|(have, flags)| have == der && flags.starts_with('C'))
}

/// What adds `ca_file` to `db` under `nickname`, making the database first when `create`.
pub fn add(certutil: &Path, db: &Path, nickname: &str, ca_file: &Path, create: bool) -> Vec<Op> {
    let mut ops = Vec::new();
    if create {
        ops.push(Op::CreateDir(db.to_path_buf()));
        ops.push(Op::run(certutil, ["-N", "--empty-password", "-d", &sql(db)]));
    }
    ops.push(Op::run(
        certutil,
        [
            "-A",
            "-d",
            &sql(db),
            "-t",
            TRUST,
            "-n",
            nickname,
            "-i",
            &ca_file.display().to_string(),
        ],
    ));
    ops
}

/// What removes `nickname` from `db` (and the database, if `keyward trust` made it and it holds
/// nothing else then).
pub fn remove(certutil: &Path, db: &Path, nickname: &str, created: bool) -> Vec<Op> {
    let mut ops = vec![Op::run(certutil, ["-D", "-d", &sql(db), "-n", nickname])];
    if created {
        ops.push(Op::RemoveEmptyNssDb {
            db: db.to_path_buf(),
            certutil: certutil.to_path_buf(),
        });
    }
    ops
}

/// How to get `certutil` on this system.
pub fn install_hint() -> &'static str {
    if cfg!(target_os = "macos") {
        "brew install nss"
    } else if Path::new("/etc/debian_version").exists() {
        "sudo apt-get install libnss3-tools"
    } else if Path::new("/etc/fedora-release").exists() || Path::new("/etc/redhat-release").exists() {
        "sudo dnf install nss-tools"
    } else {
        "install NSS's tools (Debian/Ubuntu: sudo apt-get install libnss3-tools; Fedora: sudo dnf install nss-tools; macOS: brew install nss)"
    }
}
