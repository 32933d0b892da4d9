//! `keyward app cert rotate`: a new certificate beside the old, a grace period while clients
//! switch, then the old one removed, unless a client still used it in the grace period's second
//! half. (Uses in the first half are clients switching: a real client goes on using the old
//! certificate until it notices the new one, so refusing every use since the addition would
//! refuse every rotation with a live client.)

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use keyward_pki::{Certificate, KeyType, MAX_INPUT, Name, Thumbprint, Validity};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::find;
use crate::cert::{NewCertificate, default_prefix, new_password};
use crate::cli::RotateArgs;
use crate::connection::Connection;
use crate::files;
use crate::graph::{Application, KeyCredential, NewKeyCredential, Object};
use crate::output::print;

/// Where the new certificate came from.
enum Source {
    /// Made here: its four files.
    Made { files: [PathBuf; 4], encrypted: bool },
    /// A file the user made.
    File(PathBuf),
    /// The vault: the certificate's name and version.
    Vault { name: String, version: String },
}

/// An old certificate that was not removed, and why.
struct Kept {
    credential: KeyCredential,
    last_used: String,
    client_address: String,
}

pub(super) async fn rotate(args: RotateArgs) -> anyhow::Result<()> {
    let api = Connection::open(&args.server).await?;
    let app = find(&api, &args.app).await?;
    let now = OffsetDateTime::now_utc();
    let old = old_certificates(&app, &args.old, now)?;

    let (certificate, source) = new_certificate(&api, &args, &app, old.first().copied()).await?;
    let thumbprint = certificate.thumbprints().sha1_hex();
    if app
        .key_credentials
        .iter()
        .any(|k| k.custom_key_identifier == thumbprint)
    {
        bail!(
            "{} already has the certificate {thumbprint}: rotating needs a new one (make one, or give another --cert)",
            app.display_name
        );
    }
    let keep: Vec<&KeyCredential> = app.key_credentials.iter().map(|k| &**k).collect();
    let new = NewKeyCredential {
        der: certificate.der(),
        display_name: None,
    };
    api.set_key_credentials(&app.id, &keep, Some(new))
        .await
        .with_context(|| format!("cannot add the new certificate to {}", app.display_name))?;
    let added_at = OffsetDateTime::now_utc();
    let added = api
        .application(&app.id)
        .await?
        .key_credentials
        .iter()
        .find(|k| k.custom_key_identifier == thumbprint)
        .cloned()
        .ok_or_else(|| anyhow!("the server did not keep the new certificate {thumbprint}"))?;
    let old_ids: Vec<String> = old.iter().map(|k| k.key_id.clone()).collect();

    if args.no_wait || old.is_empty() {
        let later: Vec<String> = old
            .iter()
            .map(|k| remove_command(&args, &app, &k.custom_key_identifier))
            .collect();
        let json = json!({
            "added": added.json, "files": files_json(&source),
            "removed": [], "toRemoveLater": later,
        });
        return print(args.server.json, &json, || {
            let mut text = added_text(&app, &added, &source);
            if later.is_empty() {
                text.push_str("It had no other certificate: nothing to remove.\n");
            } else {
                text.push_str("\nOnce every client uses the new certificate, remove the old one:\n");
                for command in &later {
                    text.push_str(&format!("  {command}\n"));
                }
            }
            text
        });
    }

    wait(args.grace, &app.display_name, added_at)?;

    // Who still used an old certificate in the second half of the grace has not switched.
    let switched_by = added_at + args.grace / 2;
    let current = api.application(&app.id).await?;
    let mut remove = Vec::new();
    let mut kept = Vec::new();
    for key_id in &old_ids {
        let Some(credential) = current.key_credentials.iter().find(|k| &k.key_id == key_id) else {
            continue; // removed meanwhile
        };
        match used_since(credential, switched_by) {
            Some(last) if !args.force => kept.push(Kept {
                credential: (**credential).clone(),
                last_used: last.date_time.clone(),
                client_address: last
                    .client_address
                    .clone()
                    .unwrap_or_else(|| "an unknown address".into()),
            }),
            _ => remove.push((**credential).clone()),
        }
    }
    if !remove.is_empty() {
        let keep: Vec<&KeyCredential> = current
            .key_credentials
            .iter()
            .map(|k| &**k)
            .filter(|k| !remove.iter().any(|r| r.key_id == k.key_id))
            .collect();
        api.set_key_credentials(&app.id, &keep, None)
            .await
            .with_context(|| format!("cannot remove the old certificate from {}", app.display_name))?;
    }
    let json = json!({
        "added": added.json, "files": files_json(&source),
        "removed": remove.iter().map(|k| json!({"keyId": k.key_id, "thumbprint": k.custom_key_identifier})).collect::<Vec<_>>(),
        "kept": kept.iter().map(|k| json!({
            "keyId": k.credential.key_id, "thumbprint": k.credential.custom_key_identifier,
            "lastUsed": k.last_used, "clientAddress": k.client_address,
        })).collect::<Vec<_>>(),
    });
    print(args.server.json, &json, || {
        let mut text = added_text(&app, &added, &source);
        for k in &remove {
            text.push_str(&format!(
                "Removed the old certificate {} (key {}): it is refused from now on.\n",
                k.custom_key_identifier, k.key_id
            ));
        }
        text
    })?;
    if !kept.is_empty() {
        let lines: Vec<String> = kept
            .iter()
            .map(|k| {
                format!(
                    "the old certificate {} was used at {} from {}, in the second half of the grace period: a client still uses it and would fail. \
                     Point it at the new certificate, then run `{}` (or rerun with --force)",
                    k.credential.custom_key_identifier,
                    k.last_used,
                    k.client_address,
                    remove_command(&args, &app, &k.credential.custom_key_identifier)
                )
            })
            .collect();
        bail!("not removed, both certificates stay registered: {}", lines.join("; "));
    }
    Ok(())
}

/// The certificates to remove: those `--old` names, or the current one (the valid certificate
/// that expires last; else the one that expired last).
fn old_certificates<'a>(
    app: &'a Application,
    named: &[String],
    now: OffsetDateTime,
) -> anyhow::Result<Vec<&'a KeyCredential>> {
    if !named.is_empty() {
        return named
            .iter()
            .map(|given| {
                find_credential(app, given).ok_or_else(|| {
                    anyhow!(
                        "{} has no certificate with thumbprint or key id {given}; see `keyward app cert list {}`",
                        app.display_name,
                        app.app_id
                    )
                })
            })
            .collect();
    }
    let date = |s: &str| OffsetDateTime::parse(s, &Rfc3339).ok();
    let valid = |k: &&Object<KeyCredential>| {
        date(&k.start_date_time).is_some_and(|s| s <= now) && date(&k.end_date_time).is_some_and(|e| e > now)
    };
    let latest = |keys: Vec<&'a Object<KeyCredential>>| keys.into_iter().max_by_key(|k| date(&k.end_date_time));
    let current = latest(app.key_credentials.iter().filter(valid).collect())
        .or_else(|| latest(app.key_credentials.iter().collect()));
    Ok(current.map(|k| &**k).into_iter().collect())
}

/// The credential with this key id or thumbprint (SHA-1 or SHA-256, any form).
fn find_credential<'a>(app: &'a Application, given: &str) -> Option<&'a KeyCredential> {
    let key_id = Uuid::parse_str(given).ok();
    let thumbprint = Thumbprint::parse(given).ok();
    app.key_credentials.iter().map(|k| &**k).find(|k| {
        key_id.is_some_and(|id| k.key_id == id.to_string())
            || thumbprint.is_some_and(|t| {
                let hex = t.to_hex();
                k.custom_key_identifier == hex || k.thumbprint_sha256 == hex
            })
    })
}

/// Its last use, if after `since`.
fn used_since(credential: &KeyCredential, since: OffsetDateTime) -> Option<&crate::graph::LastUsed> {
    let last = credential.keyward_last_used.as_ref()?;
    let at = OffsetDateTime::parse(&last.date_time, &Rfc3339).ok()?;
    // Graph's dates have whole seconds: a use in the second of the addition counts.
    (at >= since.replace_nanosecond(0).unwrap_or(since)).then_some(last)
}

/// The new certificate: made, read from a file, or the vault's current version.
async fn new_certificate(
    api: &Connection,
    args: &RotateArgs,
    app: &Application,
    current: Option<&KeyCredential>,
) -> anyhow::Result<(Certificate, Source)> {
    if let Some(file) = &args.cert {
        let bytes = files::read_limited(file, MAX_INPUT).with_context(|| format!("cannot read {}", file.display()))?;
        let contents = keyward_pki::read(&bytes, None).with_context(|| file.display().to_string())?;
        if contents.private_key.is_some() || contents.format == keyward_pki::Format::Pkcs12 {
            bail!(
                "{} holds a private key: give only the certificate (.cer or .pem); the key stays with the application",
                file.display()
            );
        }
        let certificate = contents
            .certificate()
            .with_context(|| format!("{} holds no certificate", file.display()))?
            .clone();
        return Ok((certificate, Source::File(file.clone())));
    }
    if let Some(name) = &args.from_vault {
        let vault = api.vault(args.vault_url.as_deref())?;
        let found = vault
            .get_certificate(name, None)
            .await
            .with_context(|| format!("cannot read the vault certificate {name:?}"))?;
        return Ok((
            found.certificate,
            Source::Vault {
                name: name.clone(),
                version: found.version,
            },
        ));
    }
    let subject = match (&args.subject, current) {
        (Some(subject), _) => Name::parse(subject).with_context(|| format!("the subject {subject:?}"))?,
        (None, Some(current)) => subject_of(current).ok_or_else(|| {
            anyhow!(
                "the current certificate's description ({:?}) is not a subject; give the new one's with --subject \"CN=...\"",
                current.display_name
            )
        })?,
        (None, None) => bail!(
            "{} has no certificate to take the subject from; give --subject \"CN=...\"",
            app.display_name
        ),
    };
    let key_type: KeyType = args.key_type.parse().map_err(|e: String| anyhow!(e))?;
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
    let request = NewCertificate {
        prefix: dir.join(default_prefix(&subject)),
        subject,
        key_type,
        validity: Validity::Months(args.months),
        sans: Vec::new(),
        legacy_pfx: false,
        combined: false,
        force: false,
    };
    request.check_absent().context(
        "the new certificate's files must not replace the old one's: choose another directory with --out DIR",
    )?;
    let password = new_password(
        args.password.as_deref(),
        args.password_file.as_deref(),
        args.no_password,
        "--password-file FILE (or set KEYWARD_PASSWORD), or --no-password",
    )?;
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let made = request.write(password.as_deref().map(String::as_str))?;
    Ok((
        made.certificate,
        Source::Made {
            files: [made.cer, made.pem, made.key_path, made.pfx],
            encrypted: password.is_some(),
        },
    ))
}

/// A credential's subject, from its description (the subject unless someone named it).
fn subject_of(credential: &KeyCredential) -> Option<Name> {
    let description = credential.display_name.trim();
    description
        .contains('=')
        .then(|| Name::parse(description).ok())
        .flatten()
}

/// Waits out the grace period, showing the time left on a terminal.
fn wait(grace: time::Duration, app: &str, from: OffsetDateTime) -> anyhow::Result<()> {
    let until = from + grace;
    let mut err = std::io::stderr();
    writeln!(
        err,
        "Both certificates of {app} are registered. Waiting {} (until {}) for clients to switch; \
         stopping now leaves both registered.",
        human(grace),
        until.replace_nanosecond(0).unwrap_or(until).format(&Rfc3339)?
    )?;
    let terminal = err.is_terminal();
    loop {
        let left = until - OffsetDateTime::now_utc();
        if left <= time::Duration::ZERO {
            break;
        }
        if terminal {
            write!(err, "\r  {} left   ", human(left))?;
            err.flush()?;
        }
        let step = left.min(time::Duration::SECOND);
        std::thread::sleep(step.try_into().unwrap_or(std::time::Duration::from_secs(1)));
    }
    if terminal {
        writeln!(err, "\r  done              ")?;
    }
    Ok(())
}

/// `1h 05m 10s`, `42s`.
fn human(d: time::Duration) -> String {
    let s = d.whole_seconds().max(0);
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, s) => format!("{h}h {m:02}m {s:02}s"),
    }
}

fn remove_command(args: &RotateArgs, app: &Application, thumbprint: &str) -> String {
    let data = if args.server.data == Path::new("keyward-data") {
        String::new()
    } else {
        format!(" --data {}", args.server.data.display())
    };
    format!("keyward app cert remove {} {thumbprint}{data}", app.app_id)
}

fn files_json(source: &Source) -> Value {
    match source {
        Source::Made {
            files: [cer, pem, key, pfx],
            encrypted,
        } => json!({
            "cer": cer, "pem": pem, "key": key, "pfx": pfx, "keyEncrypted": encrypted,
        }),
        Source::File(file) => json!({"cer": file}),
        Source::Vault { name, version } => json!({"vaultCertificate": name, "version": version}),
    }
}

/// What was added and what the client must do.
fn added_text(app: &Application, added: &KeyCredential, source: &Source) -> String {
    let mut text = format!(
        "Added a certificate to {}.\n  Thumbprint:  {}\n  Expires:     {}\n  Key ID:      {}\n",
        app.display_name, added.custom_key_identifier, added.end_date_time, added.key_id
    );
    match source {
        Source::Made { files: [cer, pem, key, pfx], encrypted } => {
            text.push_str(&format!(
                "  Files:       {} (certificate), {} (key{}), {} (both), {} (DER)\n\
                 Point the client at the new files: the certificate {} and the key {} (or the .pfx).\n",
                pem.display(),
                key.display(),
                if *encrypted { ", encrypted" } else { "" },
                pfx.display(),
                cer.display(),
                pem.display(),
                key.display()
            ));
        }
        Source::File(file) => text.push_str(&format!(
            "  From:        {}\nPoint the client at this certificate and its private key.\n",
            file.display()
        )),
        Source::Vault { name, version } => text.push_str(&format!(
            "  From:        vault certificate {name} (version {version})\n\
             A client that loads {name} from the vault picks it up when it next reads it; one that reads files needs the new \
             .pfx (`keyward vault cert download {name} --format pfx --out FILE`).\n"
        )),
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(keys: Value) -> Application {
        serde_json::from_value(json!({"id": "o", "appId": "a", "displayName": "app", "keyCredentials": keys})).unwrap()
    }

    #[test]
    fn the_current_certificate_is_the_valid_one_that_expires_last() {
        let now = OffsetDateTime::parse("2026-12-06T12:00:00Z", &Rfc3339).unwrap();
        let app = app(json!([
            {"keyId": "expired", "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "2026-12-01T00:00:00Z"},
            {"keyId": "current", "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2027-01-01T00:00:00Z"},
            {"keyId": "older", "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2026-12-31T00:00:00Z"},
            {"keyId": "future", "startDateTime": "2027-01-01T00:00:00Z", "endDateTime": "2028-01-01T00:00:00Z"},
        ]));
        let old = old_certificates(&app, &[], now).unwrap();
        assert_eq!(old.iter().map(|k| k.key_id.as_str()).collect::<Vec<_>>(), ["current"]);
        let none_valid = self::app(json!([
            {"keyId": "a", "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "2026-01-01T00:00:00Z"},
            {"keyId": "b", "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "2026-06-01T00:00:00Z"},
        ]));
        assert_eq!(old_certificates(&none_valid, &[], now).unwrap()[0].key_id, "b");
        assert!(old_certificates(&app, &["nope".into()], now).is_err());
    }

    #[test]
    fn only_a_use_since_the_addition_counts_and_the_field_may_be_absent() {
        let added = OffsetDateTime::parse("2026-12-06T12:00:00.700Z", &Rfc3339).unwrap();
        let key = |last: Value| -> KeyCredential {
            serde_json::from_value(json!({"keyId": "k", "keywardLastUsed": last})).unwrap()
        };
        assert!(
            used_since(
                &key(json!({"dateTime": "2026-12-06T12:00:00Z", "clientAddress": "10.0.0.1"})),
                added
            )
            .is_some()
        );
        assert!(used_since(&key(json!({"dateTime": "2026-12-06T11:59:59Z"})), added).is_none());
        assert!(used_since(&key(Value::Null), added).is_none());
        let absent: KeyCredential = serde_json::from_value(json!({"keyId": "k"})).unwrap();
        assert!(used_since(&absent, added).is_none());
    }

    #[test]
    fn the_subject_comes_from_a_description_that_is_one() {
        let key = |name: &str| -> KeyCredential { serde_json::from_value(json!({"displayName": name})).unwrap() };
        assert_eq!(
            subject_of(&key("CN=ciam-client-app")).and_then(|n| n.common_name().map(str::to_owned)),
            Some("ciam-client-app".to_owned())
        );
        assert!(subject_of(&key("production key")).is_none());
    }
}
