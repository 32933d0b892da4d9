//! The checks that need no network: the files open, the key is the certificate's, the typed
//! thumbprint is this certificate's, the certificate is within its dates.

use std::path::{Path, PathBuf};

use keyward_pki::{Certificate, Format, PrivateKey, Thumbprint, ThumbprintHash, WrongPassword};
use time::OffsetDateTime;

use super::finding::Finding;
use crate::files;

/// Certificates expiring within this many days are a warning.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// Files in the folder read when looking for the certificate a key or thumbprint belongs to.
const FOLDER_LIMIT: usize = 200;

/// Where the certificate comes from.
pub enum Source<'a> {
    /// A file (`--cert`).
    File(&'a Path),
    /// The contents of a vault's secret, named `label` in messages.
    Fetched { label: &'a str, bytes: &'a [u8] },
}

/// What the local checks work on.
pub struct Local<'a> {
    pub cert: Source<'a>,
    pub key: Option<&'a Path>,
    pub password: Option<&'a str>,
    /// The SHA-1 thumbprint as typed.
    pub thumbprint_sha1: Option<&'a str>,
    /// The SHA-256 thumbprint as typed.
    pub thumbprint_sha256: Option<&'a str>,
}

/// Runs the local checks but the dates (judged later, by the server's clock when it is known);
/// returns the certificate, and with it its key when both are usable.
pub fn check(local: &Local<'_>, findings: &mut Vec<Finding>) -> (Option<Certificate>, Option<PrivateKey>) {
    let certificate = load_certificate(local, findings);
    let key = match &certificate {
        Some((_, key_in_bundle)) => load_key(local, key_in_bundle.clone(), findings),
        None => {
            findings.push(Finding::skipped("private-key", "not checked: no certificate"));
            None
        }
    };
    let certificate = certificate.map(|(c, _)| c);
    let matched = match (&certificate, key) {
        (Some(certificate), Some(key)) => {
            let matched = key_match(local, certificate, &key, findings);
            matched.then_some(key)
        }
        _ => {
            findings.push(Finding::skipped("key-match", "not checked: no certificate and key"));
            None
        }
    };
    match &certificate {
        Some(certificate) => thumbprints(local, certificate, findings),
        None => findings.push(Finding::skipped("thumbprint", "not checked: no certificate")),
    }
    (certificate, matched)
}

fn name(path: &Path) -> String {
    path.display().to_string()
}

impl Local<'_> {
    /// The certificate as messages name it: the file, or `vault certificate NAME`.
    pub fn cert_name(&self) -> String {
        match &self.cert {
            Source::File(path) => name(path),
            Source::Fetched { label, .. } => (*label).to_owned(),
        }
    }

    /// The --cert file, when the certificate is one.
    fn cert_file(&self) -> Option<&Path> {
        match &self.cert {
            Source::File(path) => Some(path),
            Source::Fetched { .. } => None,
        }
    }

    fn read_cert(&self) -> Result<Vec<u8>, String> {
        match &self.cert {
            Source::File(path) => read(path),
            Source::Fetched { bytes, .. } => Ok(bytes.to_vec()),
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    files::read_limited(path, keyward_pki::MAX_INPUT).map_err(|e| e.to_string())
}

/// The certificate, and the key when the same file holds it.
fn load_certificate(local: &Local<'_>, findings: &mut Vec<Finding>) -> Option<(Certificate, Option<PrivateKey>)> {
    let file = local.cert_name();
    let bytes = match local.read_cert() {
        Ok(bytes) => bytes,
        Err(e) => {
            findings.push(Finding::fail(
                "certificate",
                format!("cannot read {file}: {e}"),
                "give the path of the certificate file the app is configured with",
            ));
            return None;
        }
    };
    let contents = match keyward_pki::read(&bytes, local.password) {
        Ok(contents) => contents,
        Err(keyward_pki::Error::WrongPassword(WrongPassword::Pkcs12Mac | WrongPassword::Pkcs12Bag)) => {
            findings.push(Finding::fail(
                "certificate",
                format!("the password does not open {file}"),
                "give the password the PFX was exported with (--password-file FILE or KEYWARD_PASSWORD)",
            ));
            return None;
        }
        Err(keyward_pki::Error::KeyMismatch) => {
            findings.push(Finding::fail(
                "certificate",
                format!("{file} holds a private key that belongs to none of its certificates"),
                "put the certificate and the key made with it in the file",
            ));
            return None;
        }
        Err(e) => {
            findings.push(Finding::fail(
                "certificate",
                format!("cannot read {file}: {e}"),
                e.hint().unwrap_or("give a PEM, DER or PFX certificate file").to_owned(),
            ));
            return None;
        }
    };
    let Some(certificate) = contents.certificate().cloned() else {
        findings.push(Finding::fail(
            "certificate",
            format!("{file} holds no certificate"),
            "give the certificate with --cert (.pem, .cer, .crt or .pfx) and the key with --key",
        ));
        return None;
    };
    findings.push(Finding::ok(
        "certificate",
        format!(
            "{file}: {} ({}), SHA-1 thumbprint {}",
            certificate.info().subject,
            contents.format.name(),
            certificate.thumbprints().sha1_hex()
        ),
    ));
    let key_in_file = contents.private_key.clone();
    // A PFX without its key is a mistake of its own, told apart from "no --key given".
    if local.key.is_none() && key_in_file.is_none() {
        let (message, fix) = if contents.format == Format::Pkcs12 {
            (
                format!("{file} holds the certificate but not its private key"),
                "export the PFX again with its private key (Windows: \"Yes, export the private key\"; \
                 `openssl pkcs12 -export -in app.pem -inkey app.key -out app.pfx`), or give the key with --key",
            )
        } else {
            (
                format!("{file} holds no private key, and no --key was given"),
                "give the key file the app is configured with (--key app.key), or a PFX holding both",
            )
        };
        findings.push(Finding::fail("private-key", message, fix));
        return Some((certificate, None));
    }
    Some((certificate, key_in_file))
}

/// The private key: from --key, or the one the certificate file held.
fn load_key(local: &Local<'_>, key_in_file: Option<PrivateKey>, findings: &mut Vec<Finding>) -> Option<PrivateKey> {
    let Some(path) = local.key else {
        // No --key: the failure (if any) was reported with the certificate file.
        let key = key_in_file?;
        findings.push(Finding::ok(
            "private-key",
            format!("{} holds the private key ({})", local.cert_name(), key.algorithm()),
        ));
        return Some(key);
    };
    let file = name(path);
    let bytes = match read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            findings.push(Finding::fail(
                "private-key",
                format!("cannot read {file}: {e}"),
                "give the path of the key file the app is configured with",
            ));
            return None;
        }
    };
    match keyward_pki::read(&bytes, local.password) {
        Ok(contents) => match contents.private_key {
            Some(key) => {
                let encrypted = if contents.encrypted { ", encrypted" } else { "" };
                findings.push(Finding::ok(
                    "private-key",
                    format!("{file} opens ({}{encrypted})", key.algorithm()),
                ));
                Some(key)
            }
            None => {
                findings.push(Finding::fail(
                    "private-key",
                    format!("{file} holds no private key"),
                    "give the key file made with the certificate (-----BEGIN PRIVATE KEY----- or a PFX)",
                ));
                None
            }
        },
        Err(keyward_pki::Error::WrongPassword(_)) => {
            findings.push(Finding::fail(
                "private-key",
                format!("the passphrase does not decrypt {file}"),
                format!(
                    "give the passphrase {file} was encrypted with (--password-file FILE or KEYWARD_PASSWORD); \
                     `openssl pkey -in {file} -noout` asks for it and tells"
                ),
            ));
            None
        }
        Err(keyward_pki::Error::PasswordRequired { .. }) => {
            findings.push(Finding::fail(
                "private-key",
                format!("{file} is encrypted and no passphrase was given"),
                "give its passphrase with --password-file FILE or KEYWARD_PASSWORD, as the app does",
            ));
            None
        }
        Err(e) => {
            findings.push(Finding::fail(
                "private-key",
                format!("cannot read {file}: {e}"),
                e.hint().unwrap_or("give a PEM, DER or PFX private key").to_owned(),
            ));
            None
        }
    }
}

fn key_match(local: &Local<'_>, certificate: &Certificate, key: &PrivateKey, findings: &mut Vec<Finding>) -> bool {
    let cert = local.cert_name();
    let key_file = local.key.map(name).unwrap_or_else(|| cert.clone());
    if certificate.matches_key(key) {
        let message = match local.key {
            Some(_) => format!("{key_file} is the private key of {cert}"),
            None => format!("the private key in {cert} is its certificate's"),
        };
        findings.push(Finding::ok("key-match", message));
        return true;
    }
    let owner = folder_certificates(local)
        .into_iter()
        .find(|(_, c)| c.matches_key(key))
        .map(|(path, _)| format!("; it belongs to {}", path.display()))
        .unwrap_or_default();
    findings.push(Finding::fail(
        "key-match",
        format!("{key_file} is not the private key of {cert} (their public keys differ){owner}"),
        format!("give the key made together with {cert}, or the certificate that goes with {key_file}"),
    ));
    false
}

fn thumbprints(local: &Local<'_>, certificate: &Certificate, findings: &mut Vec<Finding>) {
    let typed = [
        (local.thumbprint_sha1, ThumbprintHash::Sha1),
        (local.thumbprint_sha256, ThumbprintHash::Sha256),
    ];
    if typed.iter().all(|(t, _)| t.is_none()) {
        findings.push(Finding::skipped(
            "thumbprint",
            "none given (good: the library computes it from the certificate)",
        ));
        return;
    }
    for (given, slot) in typed {
        if let Some(given) = given {
            findings.push(thumbprint(local, certificate, given, slot));
        }
    }
}

fn thumbprint(local: &Local<'_>, certificate: &Certificate, given: &str, slot: ThumbprintHash) -> Finding {
    let cert = local.cert_name();
    let own = certificate.thumbprints();
    let expected = match slot {
        ThumbprintHash::Sha1 => own.sha1_hex(),
        ThumbprintHash::Sha256 => own.sha256_hex(),
    };
    let shown: String = given.trim().chars().take(100).collect();
    let parsed = match Thumbprint::parse(given) {
        Ok(t) => t,
        Err(e) => {
            return Finding::fail(
                "thumbprint",
                format!("the {slot} thumbprint {shown:?} is not a thumbprint: {e}"),
                format!("the {slot} thumbprint of {cert} is {expected}"),
            );
        }
    };
    if own.matches(&parsed) {
        if parsed.hash() == slot {
            return Finding::ok("thumbprint", format!("the {slot} thumbprint given is {cert}'s"));
        }
        let field = match slot {
            ThumbprintHash::Sha1 => "MSAL's `thumbprint`",
            ThumbprintHash::Sha256 => "MSAL Node's `thumbprintSha256`",
        };
        return Finding::fail(
            "thumbprint",
            format!(
                "the thumbprint given as {slot} is {cert}'s {} thumbprint",
                parsed.hash()
            ),
            format!(
                "put {cert}'s {slot} thumbprint there ({field}): {expected}; or give this value where a {} thumbprint goes",
                parsed.hash()
            ),
        );
    }
    if let Some((path, _)) = folder_certificates(local)
        .into_iter()
        .find(|(_, c)| c.thumbprints().matches(&parsed))
    {
        return Finding::fail(
            "thumbprint",
            format!(
                "the {slot} thumbprint given is that of {}, not of {cert}",
                path.display()
            ),
            format!(
                "configure {cert}'s {slot} thumbprint, {expected}, or use {} and its key",
                path.display()
            ),
        );
    }
    Finding::fail(
        "thumbprint",
        format!("the {slot} thumbprint given matches neither {cert} nor any certificate in its folder"),
        format!("{cert}'s {slot} thumbprint is {expected}; better, let the library compute it from the certificate"),
    )
}

/// Within its dates at `now` (told by `clock`), and not about to leave them.
pub fn validity(certificate: &Certificate, now: OffsetDateTime, clock: &str, file: &str) -> Finding {
    let info = certificate.info();
    let date = |t: OffsetDateTime| t.date().to_string();
    let renew = "make a new certificate (`keyward cert new --subject CN=...`), register it on the app, \
                 switch the app to it, then remove the old one";
    if info.not_after <= now {
        let days = (now - info.not_after).whole_days();
        return Finding::fail(
            "validity",
            format!(
                "{file} expired on {} ({days} days ago, by {clock})",
                date(info.not_after)
            ),
            renew,
        );
    }
    if info.not_before > now {
        return Finding::fail(
            "validity",
            format!("{file} is not valid before {} (by {clock})", info.not_before),
            "wait until then, or check this machine's clock",
        );
    }
    let left = (info.not_after - now).whole_days();
    if left < EXPIRY_WARNING_DAYS {
        return Finding::warn(
            "validity",
            format!("{file} expires on {} (in {left} days)", date(info.not_after)),
            renew,
        );
    }
    Finding::ok(
        "validity",
        format!(
            "{file} is valid until {} ({left} days left, by {clock})",
            date(info.not_after)
        ),
    )
}

/// The certificates in the files beside the --cert file (other than it), for naming the file a
/// key or a thumbprint belongs to.
fn folder_certificates(local: &Local<'_>) -> Vec<(PathBuf, Certificate)> {
    let Some(cert_file) = local.cert_file() else {
        return Vec::new();
    };
    let dir = match cert_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .take(FOLDER_LIMIT)
        .collect();
    paths.sort();
    let own = std::fs::canonicalize(cert_file).ok();
    let mut found = Vec::new();
    for path in paths {
        if std::fs::canonicalize(&path).ok() == own {
            continue;
        }
        let Ok(bytes) = read(&path) else { continue };
        let Ok(contents) = keyward_pki::read(&bytes, local.password) else {
            continue;
        };
        for certificate in contents.certificates {
            found.push((path.clone(), certificate));
        }
    }
    found
}
