//! `keyward doctor`: checks what a client application is configured with, end to end, in the
//! order that makes the first failure the mistake to fix: the vault the certificate is read from
//! (with `--vault-url`/`--vault-cert`), the files, the key, the thumbprint, the dates (no
//! network), then the authority, its tenant and issuer, the clock, the app and its
//! certificate, a real assertion and the scope.

mod finding;
mod local;
mod remote;
mod token;
mod vault;

use anyhow::{Context, bail};
use serde_json::json;

use crate::cli::DoctorArgs;
use crate::files;
use crate::password;
use finding::{Finding, Status};

/// The checks in the order they are reported: each one's failure would make the later ones fail
/// too, so the first failure is the one to fix. (The dates come after the clock, by which they
/// are judged.)
const ORDER: [&str; 14] = [
    "vault",
    "certificate",
    "private-key",
    "key-match",
    "thumbprint",
    "authority",
    "tenant",
    "issuer",
    "clock",
    "validity",
    "application",
    "registration",
    "assertion",
    "scope",
];

pub fn run(args: DoctorArgs) -> anyhow::Result<()> {
    let skew = match &args.clock_skew {
        Some(text) => parse_skew(text)?,
        None => time::Duration::ZERO,
    };
    let authority = match (&args.authority, &args.server, &args.tenant) {
        (Some(authority), _, _) => authority.clone(),
        (None, Some(server), Some(tenant)) => format!("{}/{}", server.trim_end_matches('/'), tenant.trim_matches('/')),
        _ => bail!("give --authority https://HOST/TENANT, or --server URL and --tenant TENANT"),
    };
    let ca = match &args.ca {
        Some(path) => Some(
            files::read_limited(path, keyward_pki::MAX_INPUT)
                .with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None => None,
    };
    let password = password::given(
        args.password.password.as_deref(),
        args.password.password_file.as_deref(),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut findings = Vec::new();
    let fetched = match (&args.vault_url, &args.vault_cert) {
        (Some(url), Some(name)) => {
            let vault = vault::Vault {
                url,
                name,
                data: args.data.as_deref(),
            };
            Some(runtime.block_on(vault::check(&vault, &mut findings)))
        }
        _ => None,
    };
    let source = match (&fetched, &args.cert) {
        (Some(Some(fetched)), _) => Some(local::Source::Fetched {
            label: &fetched.label,
            bytes: &fetched.bytes,
        }),
        (Some(None), _) => None,
        (None, Some(path)) => Some(local::Source::File(path)),
        (None, None) => bail!("give the certificate: --cert FILE, or --vault-url URL and --vault-cert NAME"),
    };
    let (certificate, key, cert_name) = match source {
        Some(source) => {
            let local = local::Local {
                cert: source,
                key: args.key.as_deref(),
                password: password.as_deref().map(String::as_str),
                thumbprint_sha1: args.thumbprint.as_deref(),
                thumbprint_sha256: args.thumbprint_sha256.as_deref(),
            };
            let (certificate, key) = local::check(&local, &mut findings);
            (certificate, key, local.cert_name())
        }
        None => {
            for check in ["certificate", "private-key", "key-match", "thumbprint"] {
                findings.push(Finding::skipped(check, "not checked: nothing read from the vault"));
            }
            let name = args.vault_cert.as_deref().unwrap_or_default();
            (None, None, format!("vault certificate {name}"))
        }
    };
    let credential = certificate.clone().zip(key);
    let remote = remote::Remote {
        authority: &authority,
        client_id: &args.client_id,
        scope: &args.scope,
        ca,
        data: args.data.as_deref(),
        skew,
        cert_file: cert_name.clone(),
        vault_cert: args.vault_cert.as_deref(),
    };
    let server_now = runtime.block_on(remote::check(&remote, credential.as_ref(), &mut findings));
    // The server judges the dates: by its clock when it told it, else by ours.
    let (now, clock) = match server_now {
        Some(now) => (now, "the server's clock"),
        None => (time::OffsetDateTime::now_utc() + skew, "the local clock"),
    };
    findings.push(match &certificate {
        Some(certificate) => local::validity(certificate, now, clock, &cert_name),
        None => Finding::skipped("validity", "not checked: no certificate"),
    });
    findings.sort_by_key(|f| ORDER.iter().position(|c| *c == f.check).unwrap_or(ORDER.len()));

    let failed = findings.iter().filter(|f| f.status == Status::Fail).count();
    let report = json!({ "ok": failed == 0, "findings": findings });
    crate::output::print(args.json, &report, || text(&findings, failed))?;
    if failed > 0 {
        let first = findings
            .iter()
            .find(|f| f.status == Status::Fail)
            .map(|f| f.check)
            .unwrap_or_default();
        bail!(
            "doctor found {failed} problem{}; fix the {first} first",
            if failed == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

fn text(findings: &[Finding], failed: usize) -> String {
    let mut out: String = findings.iter().map(Finding::render).collect();
    let warned = findings.iter().filter(|f| f.status == Status::Warn).count();
    out.push_str(&match (failed, warned) {
        (0, 0) => "\nAll green: this configuration gets tokens.\n".to_owned(),
        (0, w) => format!(
            "\nThis configuration gets tokens; {w} warning{} to act on.\n",
            plural(w)
        ),
        (f, _) => format!("\n{f} problem{}; the first ✗ is the one to fix first.\n", plural(f)),
    });
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `-10m`, `90s`, `+1h`, `-2d`: a signed number and a unit.
fn parse_skew(text: &str) -> anyhow::Result<time::Duration> {
    let invalid =
        || anyhow::anyhow!("invalid --clock-skew {text:?}: give a signed amount and a unit, e.g. -10m, 90s, +1h");
    let trimmed = text.trim();
    let unit = trimmed.chars().last().ok_or_else(invalid)?;
    let number: i64 = trimmed[..trimmed.len() - unit.len_utf8()]
        .trim_start_matches('+')
        .parse()
        .map_err(|_| invalid())?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(invalid()),
    };
    number
        .checked_mul(seconds)
        .filter(|s| s.abs() <= 3650 * 86_400)
        .map(time::Duration::seconds)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_skew_is_a_signed_amount_with_a_unit() {
        assert_eq!(parse_skew("-10m").unwrap(), time::Duration::minutes(-10));
        assert_eq!(parse_skew("+1h").unwrap(), time::Duration::hours(1));
        assert_eq!(parse_skew("90s").unwrap(), time::Duration::seconds(90));
        for bad in ["", "10", "m", "-10x", "99999999d", "1.5m"] {
            assert!(parse_skew(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_finding_is_one_line_and_its_fix_the_next() {
        let text = Finding::fail("key-match", "app.key is not the key of app.pem", "use the right key").render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("✗ key-match"), "{text}");
        assert!(
            lines[1].starts_with("  ") && lines[1].contains("fix: use the right key"),
            "{text}"
        );
        assert_eq!(Finding::ok("clock", "fine").render().lines().count(), 1);
    }
}
