//! `keyward app`: app registrations of a running server, through its Graph-shaped management
//! API ([`crate::graph`]), as the bootstrap admin.

use anyhow::{Context, bail};
use keyward_pki::Thumbprint;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

mod rotate;

use crate::cli::{AppCertCommand, AppCommand, AppRoleCommand, AppSecretCommand, SigningKeyCommand};
use crate::connection::Connection;
use crate::graph::{
    Application, KeyCredential, LastUsed, NewKeyCredential, Object, PasswordCredential, SignIn, json_list,
};
use crate::output::print;
use crate::password;
use crate::upload;

pub fn run(command: AppCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(dispatch(command))
}

pub fn run_signing_key(command: SigningKeyCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let server = match &command {
            SigningKeyCommand::List { server } | SigningKeyCommand::Rotate { server } => server,
        };
        let api = Connection::open(server).await?;
        let result = match &command {
            SigningKeyCommand::List { .. } => api.signing_keys().await?,
            SigningKeyCommand::Rotate { .. } => api.rotate_signing_key().await?,
        };
        print(server.json, &result.json, || {
            let mut text = match &result.kid {
                Some(kid) => format!("Rotated: new tokens are signed with {kid}.\n"),
                None => String::new(),
            };
            text.push_str(&format!(
                "  {:<30}{:<10}{:<24}{}\n",
                "KID", "ACTIVE", "CREATED", "PUBLISHED UNTIL"
            ));
            for key in result.keys() {
                text.push_str(&format!(
                    "  {:<30}{:<10}{:<24}{}\n",
                    key.kid,
                    if key.active { "yes" } else { "no" },
                    key.created_date_time,
                    key.published_until.as_deref().unwrap_or("-")
                ));
            }
            text
        })
    })
}

async fn dispatch(command: AppCommand) -> anyhow::Result<()> {
    match command {
        AppCommand::Create {
            name,
            redirect_uris,
            identifier_uris,
            server,
        } => {
            let api = Connection::open(&server).await?;
            let app = api.create_application(&name, &redirect_uris, &identifier_uris).await?;
            print(server.json, &app.json, || {
                format!(
                    "Registered {}\n  Application (client) ID:  {}\n  Object ID:                {}\n  Identifier URI:           {}\n",
                    app.display_name,
                    app.app_id,
                    app.id,
                    app.identifier_uris.first().map_or("", String::as_str)
                )
            })
        }
        AppCommand::List { server } => {
            let api = Connection::open(&server).await?;
            let apps = api.applications().await?;
            print(server.json, &json_list(&apps), || {
                let mut text = format!(
                    "{:<38}{:<6}{:<8}{}\n",
                    "APPLICATION (CLIENT) ID", "CERTS", "SECRETS", "NAME"
                );
                for app in &apps {
                    text.push_str(&format!(
                        "{:<38}{:<6}{:<8}{}\n",
                        app.app_id,
                        app.key_credentials.len(),
                        app.password_credentials.len(),
                        app.display_name
                    ));
                }
                text
            })
        }
        AppCommand::Show { app, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            let now = api.server_time().await;
            print(server.json, &found.json, || describe(&found, now))
        }
        AppCommand::Delete { app, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            api.delete_application(&found.id).await?;
            print(server.json, &json!({"deleted": found.app_id}), || {
                format!("Deleted {} ({}).\n", found.display_name, found.app_id)
            })
        }
        AppCommand::Cert(cmd) => cert(cmd).await,
        AppCommand::Secret(cmd) => secret(cmd).await,
        AppCommand::Role(AppRoleCommand::Add {
            app,
            value,
            description,
            server,
        }) => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            if found.app_roles.iter().any(|r| r.value == value) {
                bail!("{} already defines the app role {value}", found.display_name);
            }
            let mut roles: Vec<Value> = found.app_roles.iter().map(|r| r.json.clone()).collect();
            roles.push(Connection::new_app_role(&value, &description.unwrap_or_default()));
            api.set_app_roles(&found.id, roles).await?;
            print(server.json, &json!({"value": value, "appId": found.app_id}), || {
                format!("Added the app role {value} to {}.\n", found.display_name)
            })
        }
        AppCommand::SignIns {
            app,
            failures,
            since,
            server,
        } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            let now = api.server_time().await;
            let since = since.map(|age| sortable_utc(now - age)).transpose()?;
            let records = api.sign_ins(&found.app_id, since.as_deref(), failures).await?;
            print(server.json, &json_list(&records), || {
                sign_ins_table(&found.display_name, &records, failures)
            })
        }
        AppCommand::Grant {
            client,
            resource,
            role,
            server,
        } => {
            let api = Connection::open(&server).await?;
            let client = find(&api, &client).await?;
            let resource = find(&api, &resource).await?;
            let client_sp = api.service_principal(&client.app_id).await?;
            let resource_sp = api.service_principal(&resource.app_id).await?;
            let Some(app_role) = resource.app_roles.iter().find(|r| r.value == role) else {
                bail!(
                    "{} defines no app role {role}; add it with `keyward app role add`",
                    resource.display_name
                );
            };
            let assignment = api.assign_app_role(&client_sp, &resource_sp, &app_role.id).await?;
            print(server.json, &assignment, || {
                format!(
                    "Granted {role} on {} to {}.\n",
                    resource.display_name, client.display_name
                )
            })
        }
    }
}

async fn cert(command: AppCertCommand) -> anyhow::Result<()> {
    match command {
        AppCertCommand::Rotate(args) => rotate::rotate(args).await,
        AppCertCommand::Add {
            app,
            file,
            description,
            password,
            server,
        } => {
            let password = password::given(password.password.as_deref(), password.password_file.as_deref())?;
            let upload = upload::certificate(&file, password.as_ref())?;
            let certificate = &upload.certificate;
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            let keep: Vec<&KeyCredential> = found.key_credentials.iter().map(|k| &**k).collect();
            let new = NewKeyCredential {
                der: certificate.der(),
                display_name: description.as_deref(),
            };
            api.set_key_credentials(&found.id, &keep, Some(new)).await?;
            let updated = api.application(&found.id).await?;
            let thumbprint = certificate.thumbprints().sha1_hex();
            let added = updated
                .key_credentials
                .iter()
                .find(|k| k.custom_key_identifier == thumbprint);
            let json = added.map_or(Value::Null, |k| k.json.clone());
            let added = added.map(|k| (**k).clone()).unwrap_or_default();
            if let Some(note) = &upload.note {
                eprintln!("{note}");
            }
            print(server.json, &json, || {
                format!(
                    "Added a certificate to {}.\n  Thumbprint:  {}\n  Start date:  {}\n  Expires:     {}\n  Key ID:      {}\n",
                    found.display_name, thumbprint, added.start_date_time, added.end_date_time, added.key_id
                )
            })
        }
        AppCertCommand::List { app, expiring, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            let now = api.server_time().await;
            let shown: Vec<_> = found
                .key_credentials
                .iter()
                .filter(|k| within(&k.end_date_time, expiring, now))
                .collect();
            let json = Value::Array(shown.iter().map(|k| k.json.clone()).collect());
            print(server.json, &json, || certificates_table(&shown, now))
        }
        AppCertCommand::Remove {
            app,
            certificate,
            server,
        } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            let thumbprint = Thumbprint::parse(&certificate).ok();
            let key_id = Uuid::parse_str(&certificate).ok();
            let matches = |k: &KeyCredential| {
                let by_id = key_id.is_some_and(|id| k.key_id == id.to_string());
                let by_thumbprint = thumbprint.is_some_and(|t| {
                    let hex = t.to_hex();
                    k.custom_key_identifier == hex || k.thumbprint_sha256 == hex
                });
                by_id || by_thumbprint
            };
            if !found.key_credentials.iter().any(|k| matches(k)) {
                bail!(
                    "{} has no certificate with thumbprint or key id {certificate}; see `keyward app cert list`",
                    found.display_name
                );
            }
            let keep: Vec<&KeyCredential> = found
                .key_credentials
                .iter()
                .map(|k| &**k)
                .filter(|k| !matches(k))
                .collect();
            api.set_key_credentials(&found.id, &keep, None).await?;
            print(server.json, &json!({"removed": certificate}), || {
                format!("Removed the certificate {certificate}; it is refused from now on.\n")
            })
        }
    }
}

async fn secret(command: AppSecretCommand) -> anyhow::Result<()> {
    match command {
        AppSecretCommand::Add {
            app,
            description,
            months,
            server,
        } => {
            if months == 0 || months > 24 {
                bail!("--months must be between 1 and 24");
            }
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            let end = api.server_time().await + time::Duration::days(i64::from(months) * 30);
            let created = api
                .add_password(&found.id, &description.unwrap_or_default(), &end.format(&Rfc3339)?)
                .await?;
            print(server.json, &created.json, || {
                format!(
                    "Added a client secret to {}. Copy it now: it is not shown again.\n  Value:    {}\n  Key ID:   {}\n  Expires:  {}\n",
                    found.display_name, created.secret_text, created.key_id, created.end_date_time
                )
            })
        }
        AppSecretCommand::List { app, expiring, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            let now = api.server_time().await;
            let shown: Vec<_> = found
                .password_credentials
                .iter()
                .filter(|p| within(&p.end_date_time, expiring, now))
                .collect();
            let json = Value::Array(shown.iter().map(|p| p.json.clone()).collect());
            print(server.json, &json, || secrets_table(&shown, now))
        }
        AppSecretCommand::Remove { app, key_id, server } => {
            let key_id =
                Uuid::parse_str(&key_id).context("give the secret's key id (see `keyward app secret list`)")?;
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            api.remove_password(&found.id, &key_id.to_string()).await?;
            print(server.json, &json!({"removed": key_id}), || {
                format!("Removed the secret {key_id}; it is refused from now on.\n")
            })
        }
    }
}

/// An application by appId, object id or display name.
pub(crate) async fn find(api: &Connection, app: &str) -> anyhow::Result<Object<Application>> {
    if let Ok(uuid) = Uuid::parse_str(app) {
        if let Ok(found) = api.application_by_app_id(uuid).await {
            return Ok(found);
        }
        if let Ok(found) = api.application(&uuid.to_string()).await {
            return Ok(found);
        }
        bail!("no application has the appId or object id {uuid}");
    }
    let all = api.applications_named(app).await?;
    let named: Vec<&Object<Application>> = all.iter().collect();
    match named.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("no application is named {app:?}; see `keyward app list`"),
        many => bail!(
            "{} applications are named {app:?}; give the appId instead: {}",
            many.len(),
            many.iter()
                .map(|a| a.app_id.as_str())
                .filter(|id| !id.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn describe(app: &Application, now: OffsetDateTime) -> String {
    let mut text = format!(
        "{}\n  Application (client) ID:  {}\n  Object ID:                {}\n  Identifier URIs:          {}\n  Redirect URIs:            {}\n",
        app.display_name,
        app.app_id,
        app.id,
        join(&app.identifier_uris),
        join(&app.web.redirect_uris),
    );
    text.push_str("Certificates:\n");
    text.push_str(&certificates_table(
        &app.key_credentials.iter().collect::<Vec<_>>(),
        now,
    ));
    text.push_str("Client secrets:\n");
    text.push_str(&secrets_table(
        &app.password_credentials.iter().collect::<Vec<_>>(),
        now,
    ));
    text
}

fn join(values: &[String]) -> String {
    if values.is_empty() {
        "(none)".into()
    } else {
        values.join(", ")
    }
}

/// Certificates as `app cert list` shows them.
fn certificates_table(keys: &[&Object<KeyCredential>], now: OffsetDateTime) -> String {
    let rows = keys.iter().map(|k| {
        (
            [
                &k.custom_key_identifier,
                &k.start_date_time,
                &k.end_date_time,
                &k.key_id,
                &k.display_name,
            ],
            last_used(k.keyward_last_used.as_ref(), now),
        )
    });
    credentials_table("THUMBPRINT", now, rows)
}

/// Client secrets as `app secret list` shows them.
fn secrets_table(secrets: &[&Object<PasswordCredential>], now: OffsetDateTime) -> String {
    let rows = secrets.iter().map(|p| {
        (
            [
                &p.hint,
                &p.start_date_time,
                &p.end_date_time,
                &p.key_id,
                &p.display_name,
            ],
            last_used(p.keyward_last_used.as_ref(), now),
        )
    });
    credentials_table("HINT", now, rows)
}

/// A credential's last use for people: `2 min ago from 127.0.0.1`, `never`.
fn last_used(last: Option<&LastUsed>, now: OffsetDateTime) -> String {
    let Some(last) = last else {
        return "never".into();
    };
    let when = match OffsetDateTime::parse(&last.date_time, &Rfc3339) {
        Ok(at) => ago(now - at),
        Err(_) => last.date_time.clone(),
    };
    match &last.client_address {
        Some(address) => format!("{when} from {address}"),
        None => when,
    }
}

/// How long ago, roughly: `just now`, `40 s ago`, `2 min ago`, `5 h ago`, `3 days ago`.
fn ago(age: time::Duration) -> String {
    let seconds = age.whole_seconds().max(0);
    match seconds {
        0..5 => "just now".into(),
        5..60 => format!("{seconds} s ago"),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..172_800 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// A time as `--since` sends it: RFC 3339 in UTC.
fn sortable_utc(time: OffsetDateTime) -> anyhow::Result<String> {
    Ok(time.to_offset(time::UtcOffset::UTC).format(&Rfc3339)?)
}

/// Sign-in records as `app sign-ins` shows them, newest first.
fn sign_ins_table(app: &str, records: &[Object<SignIn>], failures: bool) -> String {
    if records.is_empty() {
        let what = if failures { "failed sign-ins" } else { "sign-ins" };
        return format!("{app} has no {what} in this period.\n");
    }
    let mut text = format!(
        "  {:<22}{:<16}{:<42}{:<18}{}\n",
        "TIME", "RESULT", "CREDENTIAL", "CLIENT ADDRESS", "CORRELATION ID"
    );
    for record in records {
        let result = match (record.status.error_code, record.keyward_requests) {
            (0, 0 | 1) => "success".to_owned(),
            (0, requests) => format!("success x{requests}"),
            (code, _) => format!("AADSTS{code}"),
        };
        let credential = record
            .service_principal_credential_thumbprint
            .as_deref()
            .or(record.service_principal_credential_key_id.as_deref())
            .unwrap_or("-");
        let time = record.created_date_time.split('.').next().unwrap_or_default();
        let time = if time.ends_with('Z') {
            time.to_owned()
        } else {
            format!("{time}Z")
        };
        text.push_str(&format!(
            "  {time:<22}{result:<16}{credential:<42}{:<18}{}\n",
            record.ip_address.as_deref().unwrap_or("-"),
            record.correlation_id.as_deref().unwrap_or("-"),
        ));
    }
    text
}

/// Whether a credential ending at `end` is shown for `--expiring window` (all without one).
fn within(end: &str, window: Option<time::Duration>, now: OffsetDateTime) -> bool {
    match (window, OffsetDateTime::parse(end, &Rfc3339)) {
        (None, _) => true,
        (Some(window), Ok(end)) => end <= now + window,
        (Some(_), Err(_)) => true,
    }
}

/// One credential a row: its identifier (thumbprint or hint), start, end, days left, key id,
/// last use, description.
fn credentials_table<'a>(
    label: &str,
    now: OffsetDateTime,
    rows: impl ExactSizeIterator<Item = ([&'a String; 5], String)>,
) -> String {
    if rows.len() == 0 {
        return "  (none)\n".into();
    }
    let mut text = format!(
        "  {:<42}{:<22}{:<22}{:<11}{:<38}{:<32}{}\n",
        label, "START DATE", "EXPIRES", "DAYS LEFT", "KEY ID", "LAST USED", "DESCRIPTION"
    );
    for ([id, start, end, key_id, description], last_used) in rows {
        let left = match OffsetDateTime::parse(end, &Rfc3339) {
            Ok(end) if end <= now => "expired".to_owned(),
            Ok(end) => (end - now).whole_days().to_string(),
            Err(_) => "?".to_owned(),
        };
        text.push_str(&format!(
            "  {id:<42}{start:<22}{end:<22}{left:<11}{key_id:<38}{last_used:<32}{description}\n"
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_use_reads_as_an_age_and_an_address() {
        let now = OffsetDateTime::parse("2026-12-06T14:30:00Z", &Rfc3339).unwrap();
        let used = |at: &str, address: Option<&str>| LastUsed {
            date_time: at.into(),
            client_address: address.map(Into::into),
        };
        assert_eq!(last_used(None, now), "never");
        assert_eq!(
            last_used(Some(&used("2026-12-06T14:28:00Z", Some("127.0.0.1"))), now),
            "2 min ago from 127.0.0.1"
        );
        assert_eq!(last_used(Some(&used("2026-12-06T14:29:58Z", None)), now), "just now");
        assert_eq!(last_used(Some(&used("2026-12-06T09:00:00Z", None)), now), "5 h ago");
        assert_eq!(last_used(Some(&used("2026-12-01T14:30:00Z", None)), now), "5 days ago");
    }
}
