//! What `keyward cert` prints: aligned text for people, JSON (Graph-style field names) for
//! machines.

use std::path::Path;

use keyward_pki::{Certificate, Contents, KeyAlgorithm, PrivateKey};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::output::emit;

/// The portal's view of a certificate, and then some.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertReport {
    thumbprint: String,
    thumbprint_sha256: String,
    x5t: String,
    #[serde(rename = "x5t#S256")]
    x5t_s256: String,
    subject: String,
    issuer: String,
    serial_number: String,
    start_date_time: String,
    end_date_time: String,
    expired: bool,
    not_yet_valid: bool,
    key_type: String,
    key_size: Option<usize>,
    key_usages: Vec<&'static str>,
    extended_key_usages: Vec<String>,
    subject_alternative_names: Vec<String>,
    is_ca: bool,
    self_signed: bool,
    signature_algorithm: String,
}

impl CertReport {
    fn of(cert: &Certificate) -> Self {
        let info = cert.info();
        let now = OffsetDateTime::now_utc();
        let (key_type, key_size) = match info.key {
            Some(KeyAlgorithm::Rsa { bits }) => ("RSA".to_owned(), Some(bits)),
            Some(ec @ KeyAlgorithm::Ec(_)) => (ec.to_string(), Some(ec.bits())),
            None => (info.key_oid.clone(), None),
        };
        Self {
            thumbprint: info.thumbprints.sha1_hex(),
            thumbprint_sha256: info.thumbprints.sha256_hex(),
            x5t: info.thumbprints.x5t(),
            x5t_s256: info.thumbprints.x5t_s256(),
            subject: info.subject.clone(),
            issuer: info.issuer.clone(),
            serial_number: info.serial.clone(),
            start_date_time: rfc3339(info.not_before),
            end_date_time: rfc3339(info.not_after),
            expired: now > info.not_after,
            not_yet_valid: now < info.not_before,
            key_type,
            key_size,
            key_usages: info.key_usage.clone(),
            extended_key_usages: info.extended_key_usage.clone(),
            subject_alternative_names: info.subject_alt_names.clone(),
            is_ca: info.is_ca,
            self_signed: info.self_issued,
            signature_algorithm: signature_name(&info.signature_algorithm),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyReport {
    key_type: String,
    key_size: usize,
    matches_certificate: Option<bool>,
}

impl KeyReport {
    fn of(key: &PrivateKey, cert: Option<&Certificate>) -> Self {
        let algorithm = key.algorithm();
        let key_type = match algorithm {
            KeyAlgorithm::Rsa { .. } => "RSA".to_owned(),
            ec => ec.to_string(),
        };
        Self {
            key_type,
            key_size: algorithm.bits(),
            matches_certificate: cert.map(|c| c.matches_key(key)),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChainEntry {
    subject: String,
    issuer: String,
    thumbprint: String,
    end_date_time: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pkcs12Report<'a> {
    mac: Option<&'a str>,
    mac_iterations: u64,
    encryption: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShowReport<'a> {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_file: Option<String>,
    format: &'static str,
    encrypted: bool,
    has_private_key: bool,
    #[serde(flatten)]
    certificate: Option<CertReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_key: Option<KeyReport>,
    chain: Vec<ChainEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pkcs12: Option<Pkcs12Report<'a>>,
}

pub fn print_show(file: &Path, key_file: Option<&Path>, contents: &Contents, json: bool) -> anyhow::Result<()> {
    let leaf = contents.certificate();
    let report = ShowReport {
        file: file.display().to_string(),
        key_file: key_file.map(|k| k.display().to_string()),
        format: contents.format.name(),
        encrypted: contents.encrypted,
        has_private_key: contents.private_key.is_some(),
        certificate: leaf.map(CertReport::of),
        private_key: contents.private_key.as_ref().map(|k| KeyReport::of(k, leaf)),
        chain: contents
            .certificates
            .iter()
            .skip(1)
            .map(|c| ChainEntry {
                subject: c.info().subject.clone(),
                issuer: c.info().issuer.clone(),
                thumbprint: c.thumbprints().sha1_hex(),
                end_date_time: rfc3339(c.info().not_after),
            })
            .collect(),
        pkcs12: contents.pkcs12.as_ref().map(|p| Pkcs12Report {
            mac: p.mac.as_deref(),
            mac_iterations: p.mac_iterations,
            encryption: &p.encryption,
        }),
    };
    if json {
        return emit(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    }
    let mut out = Text::default();
    let encrypted = if report.encrypted { ", encrypted" } else { "" };
    out.line("File", format!("{} ({}{encrypted})", report.file, report.format));
    if let Some(p) = &report.pkcs12 {
        let mac = match p.mac {
            Some(m) => format!("{m} MAC, {} iterations", p.mac_iterations),
            None => "no MAC".into(),
        };
        let enc = if p.encryption.is_empty() {
            "not encrypted".into()
        } else {
            dedup(p.encryption).join(", ")
        };
        out.line("Protection", format!("{enc}; {mac}"));
    }
    match (leaf, &report.certificate) {
        (Some(cert), Some(c)) => certificate_text(&mut out, cert, c),
        _ => out.line("Certificate", "none in this file".into()),
    }
    match &report.private_key {
        Some(k) => {
            let matches = match k.matches_certificate {
                Some(true) => ", matches the certificate",
                Some(false) => ", does NOT match the certificate",
                None => "",
            };
            let from = report
                .key_file
                .as_deref()
                .map(|f| format!(" (from {f})"))
                .unwrap_or_default();
            out.line(
                "Private key",
                format!("present{from}: {} {}{matches}", k.key_type, k.key_size),
            );
        }
        None => out.line("Private key", "not in this file".into()),
    }
    for (i, c) in report.chain.iter().enumerate() {
        out.line(
            if i == 0 { "Chain" } else { "" },
            format!(
                "{} (thumbprint {}, expires {})",
                c.subject, c.thumbprint, c.end_date_time
            ),
        );
    }
    emit(&out.0)
}

fn certificate_text(out: &mut Text, cert: &Certificate, c: &CertReport) {
    let info = cert.info();
    out.line(
        "Thumbprint",
        format!("{}  (SHA-1, as the Entra portal shows it)", c.thumbprint),
    );
    out.line("Start date", human_date(info.not_before));
    let status = if c.expired {
        "  EXPIRED".to_owned()
    } else if c.not_yet_valid {
        "  NOT YET VALID".to_owned()
    } else {
        format!(
            "  ({} days left)",
            (info.not_after - OffsetDateTime::now_utc()).whole_days()
        )
    };
    out.line("Expires", format!("{}{status}", human_date(info.not_after)));
    out.line("SHA-256", c.thumbprint_sha256.clone());
    out.line("x5t", c.x5t.clone());
    out.line("x5t#S256", c.x5t_s256.clone());
    out.line("Subject", c.subject.clone());
    let self_signed = if c.self_signed { "  (self-signed)" } else { "" };
    out.line("Issuer", format!("{}{self_signed}", c.issuer));
    out.line("Serial", c.serial_number.clone());
    out.line("Key", info.key_description());
    out.line("Signature", c.signature_algorithm.clone());
    out.line("Key usage", none_if_empty(c.key_usages.join(", ")));
    out.line("Extended usage", none_if_empty(c.extended_key_usages.join(", ")));
    if !c.subject_alternative_names.is_empty() {
        out.line("Alt names", c.subject_alternative_names.join(", "));
    }
    out.line("CA", if c.is_ca { "yes" } else { "no" }.into());
}

/// The files `cert new` wrote.
pub struct NewFiles<'a> {
    pub cer: &'a Path,
    pub pem: &'a Path,
    pub key: &'a Path,
    pub pfx: &'a Path,
    /// The key and certificate in one PEM, when asked for (`--combined`).
    pub combined: Option<&'a Path>,
    pub encrypted: bool,
    pub legacy_pfx: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewReport {
    files: NewFilesReport,
    encrypted: bool,
    #[serde(flatten)]
    certificate: CertReport,
    private_key: KeyReport,
}

#[derive(Serialize)]
struct NewFilesReport {
    cer: String,
    pem: String,
    key: String,
    pfx: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    combined: Option<String>,
}

pub fn print_new(cert: &Certificate, key: &PrivateKey, files: &NewFiles<'_>, json: bool) -> anyhow::Result<()> {
    let report = NewReport {
        files: NewFilesReport {
            cer: files.cer.display().to_string(),
            pem: files.pem.display().to_string(),
            key: files.key.display().to_string(),
            pfx: files.pfx.display().to_string(),
            combined: files.combined.map(|p| p.display().to_string()),
        },
        encrypted: files.encrypted,
        certificate: CertReport::of(cert),
        private_key: KeyReport::of(key, Some(cert)),
    };
    if json {
        return emit(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    }
    let info = cert.info();
    let mut text = format!(
        "Made a self-signed certificate for {} ({}), valid until {}.\n",
        info.subject,
        info.key_description(),
        human_date(info.not_after)
    );
    let key_note = if files.encrypted {
        "PKCS#8, encrypted with your password"
    } else {
        "PKCS#8, NOT encrypted"
    };
    let pfx_note = match (files.legacy_pfx, files.encrypted) {
        (true, true) => "3DES, for old Windows; your password",
        (true, false) => "3DES, for old Windows; empty password",
        (false, true) => "AES-256; your password",
        (false, false) => "AES-256; empty password",
    };
    let width = [files.cer, files.pem, files.key, files.pfx]
        .iter()
        .chain(files.combined.iter())
        .map(|p| p.display().to_string().len())
        .max()
        .unwrap_or(0);
    let combined = files.combined.map(|path| {
        (
            path,
            format!(
                "private key ({}) and certificate, PEM: for AZURE_CLIENT_CERTIFICATE_PATH; only you can read it",
                if files.encrypted { "encrypted" } else { "NOT encrypted" }
            ),
        )
    });
    for (path, what) in [
        (
            files.cer,
            "certificate, DER: upload this to the app registration".to_owned(),
        ),
        (files.pem, "certificate, PEM".to_owned()),
        (files.key, format!("private key, {key_note}; only you can read it")),
        (
            files.pfx,
            format!("certificate and private key, PKCS#12 ({pfx_note}); only you can read it"),
        ),
    ]
    .into_iter()
    .chain(combined)
    {
        text.push_str(&format!("  {:width$}  {what}\n", path.display().to_string()));
    }
    let mut out = Text::default();
    out.line(
        "Thumbprint",
        format!(
            "{}  (SHA-1, as the Entra portal shows it)",
            report.certificate.thumbprint
        ),
    );
    out.line("SHA-256", report.certificate.thumbprint_sha256.clone());
    out.line("Start date", human_date(info.not_before));
    out.line("Expires", human_date(info.not_after));
    text.push('\n');
    text.push_str(&out.0);
    text.push_str(&format!(
        "\nNext: upload the certificate (keyward app cert add APP {}), and give your app the key ({}) with the thumbprint above, or the .pfx ({}).\n",
        files.cer.display(),
        files.key.display(),
        files.pfx.display()
    ));
    emit(&text)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractReport {
    file: String,
    encrypted: bool,
    private_key: KeyReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    thumbprint: Option<String>,
}

pub fn print_extracted(out_path: &Path, contents: &Contents, encrypted: bool, json: bool) -> anyhow::Result<()> {
    let Some(key) = &contents.private_key else {
        return Ok(());
    };
    let leaf = contents.certificate();
    let report = ExtractReport {
        file: out_path.display().to_string(),
        encrypted,
        private_key: KeyReport::of(key, leaf),
        thumbprint: leaf.map(|c| c.thumbprints().sha1_hex()),
    };
    if json {
        return emit(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    }
    let of = leaf
        .map(|c| format!(" of {} (thumbprint {})", c.info().subject, c.thumbprints().sha1_hex()))
        .unwrap_or_default();
    let how = if encrypted {
        "encrypted PKCS#8 (AES-256-CBC)"
    } else {
        "unencrypted PKCS#8"
    };
    emit(&format!(
        "Wrote the {} private key{of} to {} as {how}; only you can read it.\n",
        key.algorithm(),
        report.file
    ))
}

/// Label-aligned lines.
#[derive(Default)]
struct Text(String);

impl Text {
    fn line(&mut self, label: &str, value: String) {
        let label = if label.is_empty() {
            String::new()
        } else {
            format!("{label}:")
        };
        self.0.push_str(&format!("{label:<16}{value}\n"));
    }
}

fn none_if_empty(s: String) -> String {
    if s.is_empty() { "(none)".into() } else { s }
}

fn dedup(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

fn rfc3339(when: OffsetDateTime) -> String {
    when.format(&Rfc3339).unwrap_or_default()
}

fn human_date(when: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    when.format(&format).unwrap_or_default()
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        other => other,
    }
    .to_owned()
}
