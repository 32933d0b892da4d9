//! `keyward app`: app registrations of a running server, through its Graph-shaped management
//! API, as the bootstrap admin.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_pki::{MAX_INPUT, Thumbprint};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::cli::{AppCertCommand, AppCommand, AppRoleCommand, AppSecretCommand, SigningKeyCommand};
use crate::connection::Connection;
use crate::files;
use crate::output::print;

pub fn run(command: AppCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(dispatch(command))
}

pub fn run_signing_key(command: SigningKeyCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (server, path, method) = match &command {
            SigningKeyCommand::List { server } => (server, "/admin/api/signing-keys", Method::GET),
            SigningKeyCommand::Rotate { server } => (server, "/admin/api/signing-keys/rotate", Method::POST),
        };
        let api = Connection::open(server).await?;
        let result = api.call(method, path, None).await?;
        let keys = if result["keys"].is_array() {
            &result["keys"]
        } else {
            &result["value"]
        };
        print(server.json, &result, || {
            let mut text = match result["kid"].as_str() {
                Some(kid) => format!("Rotated: new tokens are signed with {kid}.\n"),
                None => String::new(),
            };
            text.push_str(&format!(
                "  {:<30}{:<10}{:<24}{}\n",
                "KID", "ACTIVE", "CREATED", "PUBLISHED UNTIL"
            ));
            for key in keys.as_array().into_iter().flatten() {
                text.push_str(&format!(
                    "  {:<30}{:<10}{:<24}{}\n",
                    key["kid"].as_str().unwrap_or_default(),
                    if key["active"] == true { "yes" } else { "no" },
                    key["createdDateTime"].as_str().unwrap_or_default(),
                    key["publishedUntil"].as_str().unwrap_or("-")
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
            let mut body = json!({"displayName": name, "web": {"redirectUris": redirect_uris}});
            if !identifier_uris.is_empty() {
                body["identifierUris"] = json!(identifier_uris);
            }
            let app = api.call(Method::POST, "/v1.0/applications", Some(body)).await?;
            print(server.json, &app, || {
                format!(
                    "Registered {}\n  Application (client) ID:  {}\n  Object ID:                {}\n  Identifier URI:           {}\n",
                    app["displayName"].as_str().unwrap_or_default(),
                    app["appId"].as_str().unwrap_or_default(),
                    app["id"].as_str().unwrap_or_default(),
                    app["identifierUris"][0].as_str().unwrap_or_default()
                )
            })
        }
        AppCommand::List { server } => {
            let api = Connection::open(&server).await?;
            let apps = api.call(Method::GET, "/v1.0/applications", None).await?;
            print(server.json, &apps["value"], || {
                let mut text = format!(
                    "{:<38}{:<6}{:<8}{}\n",
                    "APPLICATION (CLIENT) ID", "CERTS", "SECRETS", "NAME"
                );
                for app in apps["value"].as_array().into_iter().flatten() {
                    text.push_str(&format!(
                        "{:<38}{:<6}{:<8}{}\n",
                        app["appId"].as_str().unwrap_or_default(),
                        app["keyCredentials"].as_array().map_or(0, Vec::len),
                        app["passwordCredentials"].as_array().map_or(0, Vec::len),
                        app["displayName"].as_str().unwrap_or_default()
                    ));
                }
                text
            })
        }
        AppCommand::Show { app, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            print(server.json, &found, || describe(&found))
        }
        AppCommand::Delete { app, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            api.call(Method::DELETE, &format!("/v1.0/applications/{}", id(&found)), None)
                .await?;
            print(server.json, &json!({"deleted": found["appId"]}), || {
                format!(
                    "Deleted {} ({}).\n",
                    found["displayName"].as_str().unwrap_or_default(),
                    found["appId"].as_str().unwrap_or_default()
                )
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
            let mut roles = found["appRoles"].as_array().cloned().unwrap_or_default();
            if roles.iter().any(|r| r["value"] == value.as_str()) {
                bail!(
                    "{} already defines the app role {value}",
                    found["displayName"].as_str().unwrap_or_default()
                );
            }
            roles.push(json!({"id": Uuid::new_v4(), "value": value, "displayName": value,
                "description": description.unwrap_or_default(), "allowedMemberTypes": ["Application"], "isEnabled": true}));
            api.call(
                Method::PATCH,
                &format!("/v1.0/applications/{}", id(&found)),
                Some(json!({"appRoles": roles})),
            )
            .await?;
            print(server.json, &json!({"value": value, "appId": found["appId"]}), || {
                format!(
                    "Added the app role {value} to {}.\n",
                    found["displayName"].as_str().unwrap_or_default()
                )
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
            let client_sp = api
                .call(
                    Method::GET,
                    &format!(
                        "/v1.0/servicePrincipals(appId='{}')",
                        client["appId"].as_str().unwrap_or_default()
                    ),
                    None,
                )
                .await?;
            let resource_sp = api
                .call(
                    Method::GET,
                    &format!(
                        "/v1.0/servicePrincipals(appId='{}')",
                        resource["appId"].as_str().unwrap_or_default()
                    ),
                    None,
                )
                .await?;
            let Some(role_id) = resource["appRoles"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["value"] == role.as_str())
                .map(|r| r["id"].clone())
            else {
                bail!(
                    "{} defines no app role {role}; add it with `keyward app role add`",
                    resource["displayName"].as_str().unwrap_or_default()
                );
            };
            let assignment = api
                .call(
                    Method::POST,
                    &format!(
                        "/v1.0/servicePrincipals/{}/appRoleAssignedTo",
                        resource_sp["id"].as_str().unwrap_or_default()
                    ),
                    Some(
                        json!({"principalId": client_sp["id"], "resourceId": resource_sp["id"], "appRoleId": role_id}),
                    ),
                )
                .await?;
            print(server.json, &assignment, || {
                format!(
                    "Granted {role} on {} to {}.\n",
                    resource["displayName"].as_str().unwrap_or_default(),
                    client["displayName"].as_str().unwrap_or_default()
                )
            })
        }
    }
}

async fn cert(command: AppCertCommand) -> anyhow::Result<()> {
    match command {
        AppCertCommand::Add {
            app,
            file,
            description,
            server,
        } => {
            let bytes =
                files::read_limited(&file, MAX_INPUT).with_context(|| format!("cannot read {}", file.display()))?;
            let contents = keyward_pki::read(&bytes, None).with_context(|| file.display().to_string())?;
            if contents.private_key.is_some() || contents.format == keyward_pki::Format::Pkcs12 {
                bail!(
                    "{} holds a private key: upload only the certificate (the .cer or .pem that `keyward cert new` wrote); the key stays with the application",
                    file.display()
                );
            }
            let certificate = contents
                .certificate()
                .with_context(|| format!("{} holds no certificate", file.display()))?;
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            let mut keys: Vec<Value> = found["keyCredentials"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|k| json!({"keyId": k["keyId"]}))
                .collect();
            let mut new =
                json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(certificate.der())});
            if let Some(d) = description {
                new["displayName"] = json!(d);
            }
            keys.push(new);
            api.call(
                Method::PATCH,
                &format!("/v1.0/applications/{}", id(&found)),
                Some(json!({"keyCredentials": keys})),
            )
            .await?;
            let updated = api
                .call(Method::GET, &format!("/v1.0/applications/{}", id(&found)), None)
                .await?;
            let thumbprint = certificate.thumbprints().sha1_hex();
            let added = updated["keyCredentials"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|k| k["customKeyIdentifier"] == thumbprint.as_str())
                .cloned()
                .unwrap_or(Value::Null);
            print(server.json, &added, || {
                format!(
                    "Added a certificate to {}.\n  Thumbprint:  {}\n  Start date:  {}\n  Expires:     {}\n  Key ID:      {}\n",
                    found["displayName"].as_str().unwrap_or_default(),
                    thumbprint,
                    added["startDateTime"].as_str().unwrap_or_default(),
                    added["endDateTime"].as_str().unwrap_or_default(),
                    added["keyId"].as_str().unwrap_or_default()
                )
            })
        }
        AppCertCommand::List { app, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            let keys = &found["keyCredentials"];
            print(server.json, keys, || {
                credentials_table(keys, "customKeyIdentifier", "THUMBPRINT")
            })
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
            let all: Vec<&Value> = found["keyCredentials"].as_array().into_iter().flatten().collect();
            let matches = |k: &Value| {
                let by_id = key_id.is_some_and(|id| k["keyId"].as_str() == Some(&id.to_string()));
                let by_thumbprint = thumbprint.is_some_and(|t| {
                    let hex = t.to_hex();
                    k["customKeyIdentifier"].as_str() == Some(&hex) || k["thumbprintSha256"].as_str() == Some(&hex)
                });
                by_id || by_thumbprint
            };
            if !all.iter().any(|k| matches(k)) {
                bail!(
                    "{} has no certificate with thumbprint or key id {certificate}; see `keyward app cert list`",
                    found["displayName"].as_str().unwrap_or_default()
                );
            }
            let keep: Vec<Value> = all
                .iter()
                .filter(|k| !matches(k))
                .map(|k| json!({"keyId": k["keyId"]}))
                .collect();
            api.call(
                Method::PATCH,
                &format!("/v1.0/applications/{}", id(&found)),
                Some(json!({"keyCredentials": keep})),
            )
            .await?;
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
            let end = OffsetDateTime::now_utc() + time::Duration::days(i64::from(months) * 30);
            let body = json!({"passwordCredential": {"displayName": description.unwrap_or_default(), "endDateTime": end.format(&Rfc3339)?}});
            let created = api
                .call(
                    Method::POST,
                    &format!("/v1.0/applications/{}/addPassword", id(&found)),
                    Some(body),
                )
                .await?;
            print(server.json, &created, || {
                format!(
                    "Added a client secret to {}. Copy it now: it is not shown again.\n  Value:    {}\n  Key ID:   {}\n  Expires:  {}\n",
                    found["displayName"].as_str().unwrap_or_default(),
                    created["secretText"].as_str().unwrap_or_default(),
                    created["keyId"].as_str().unwrap_or_default(),
                    created["endDateTime"].as_str().unwrap_or_default()
                )
            })
        }
        AppSecretCommand::List { app, server } => {
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            let secrets = &found["passwordCredentials"];
            print(server.json, secrets, || credentials_table(secrets, "hint", "HINT"))
        }
        AppSecretCommand::Remove { app, key_id, server } => {
            let key_id =
                Uuid::parse_str(&key_id).context("give the secret's key id (see `keyward app secret list`)")?;
            let api = Connection::open(&server).await?;
            let found = find(&api, &app).await?;
            api.call(
                Method::POST,
                &format!("/v1.0/applications/{}/removePassword", id(&found)),
                Some(json!({"keyId": key_id})),
            )
            .await?;
            print(server.json, &json!({"removed": key_id}), || {
                format!("Removed the secret {key_id}; it is refused from now on.\n")
            })
        }
    }
}

/// An application by appId, object id or display name.
pub(crate) async fn find(api: &Connection, app: &str) -> anyhow::Result<Value> {
    if let Ok(uuid) = Uuid::parse_str(app) {
        if let Ok(found) = api
            .call(Method::GET, &format!("/v1.0/applications(appId='{uuid}')"), None)
            .await
        {
            return Ok(found);
        }
        if let Ok(found) = api.call(Method::GET, &format!("/v1.0/applications/{uuid}"), None).await {
            return Ok(found);
        }
        bail!("no application has the appId or object id {uuid}");
    }
    let all = api.call(Method::GET, "/v1.0/applications", None).await?;
    let named: Vec<&Value> = all["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["displayName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(app)))
        .collect();
    match named.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("no application is named {app:?}; see `keyward app list`"),
        many => bail!(
            "{} applications are named {app:?}; give the appId instead: {}",
            many.len(),
            many.iter()
                .filter_map(|a| a["appId"].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn id(app: &Value) -> &str {
    app["id"].as_str().unwrap_or_default()
}

fn describe(app: &Value) -> String {
    let mut text = format!(
        "{}\n  Application (client) ID:  {}\n  Object ID:                {}\n  Identifier URIs:          {}\n  Redirect URIs:            {}\n",
        app["displayName"].as_str().unwrap_or_default(),
        app["appId"].as_str().unwrap_or_default(),
        app["id"].as_str().unwrap_or_default(),
        join(&app["identifierUris"]),
        join(&app["web"]["redirectUris"]),
    );
    text.push_str("Certificates:\n");
    text.push_str(&credentials_table(
        &app["keyCredentials"],
        "customKeyIdentifier",
        "THUMBPRINT",
    ));
    text.push_str("Client secrets:\n");
    text.push_str(&credentials_table(&app["passwordCredentials"], "hint", "HINT"));
    text
}

fn join(values: &Value) -> String {
    let items: Vec<&str> = values
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

fn credentials_table(list: &Value, field: &str, label: &str) -> String {
    let items = list.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return "  (none)\n".into();
    }
    let mut text = format!(
        "  {:<42}{:<22}{:<22}{:<38}{}\n",
        label, "START DATE", "EXPIRES", "KEY ID", "DESCRIPTION"
    );
    for item in items {
        text.push_str(&format!(
            "  {:<42}{:<22}{:<22}{:<38}{}\n",
            item[field].as_str().unwrap_or_default(),
            item["startDateTime"].as_str().unwrap_or_default(),
            item["endDateTime"].as_str().unwrap_or_default(),
            item["keyId"].as_str().unwrap_or_default(),
            item["displayName"].as_str().unwrap_or_default()
        ));
    }
    text
}
