//! `keyward vault`: certificates and secrets in the server's vault, through the Key Vault REST
//! API and `keyward_client::VaultClient` (we use what we sell), and access grants through the
//! vault management API.

use std::io::Read;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_client::{VaultCertificate, VaultClient};
use keyward_pki::{MAX_INPUT, PfxEncryption};
use reqwest::Method;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::app::find;
use crate::cli::{
    DownloadFormat, SecretContentType, ServerArgs, VaultArgs, VaultCertCommand, VaultCommand, VaultSecretCommand,
};
use crate::connection::Connection;
use crate::files::{self, Access};
use crate::output::print;
use crate::password;

/// Key Vault's limit on a secret's value.
const MAX_SECRET: usize = 25 * 1024;

pub fn run(command: VaultCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(dispatch(command))
}

async fn dispatch(command: VaultCommand) -> anyhow::Result<()> {
    match command {
        VaultCommand::Cert(command) => certificate(command).await,
        VaultCommand::Secret(command) => secret(command).await,
        VaultCommand::Grant {
            app,
            certificates,
            secrets,
            vault,
            server,
        } => grant(&app, certificates, secrets, &vault, &server).await,
    }
}

async fn open(args: &VaultArgs) -> anyhow::Result<VaultClient> {
    Connection::open(&args.server).await?.vault(args.vault_url.as_deref())
}

async fn certificate(command: VaultCertCommand) -> anyhow::Result<()> {
    match command {
        VaultCertCommand::Create {
            name,
            subject,
            content_type,
            months,
            vault,
        } => {
            keyward_pki::Name::parse(&subject).with_context(|| format!("the subject {subject:?}"))?;
            let content_type = match content_type {
                SecretContentType::Pem => "application/x-pem-file",
                SecretContentType::Pkcs12 => "application/x-pkcs12",
            };
            let policy = json!({
                "key_props": {"exportable": true, "kty": "RSA", "key_size": 2048, "reuse_key": false},
                "secret_props": {"contentType": content_type},
                "x509_props": {"subject": subject, "validity_months": months},
                "issuer": {"name": "Self"},
            });
            let client = open(&vault).await?;
            let created = client
                .create_certificate(&name, policy)
                .await
                .with_context(|| format!("cannot create the certificate {name:?}"))?;
            print(vault.server.json, &created.raw, || {
                format!("Created {name}\n{}", describe(&created))
            })
        }
        VaultCertCommand::Import {
            name,
            file,
            password,
            vault,
        } => {
            let bytes = Zeroizing::new(
                files::read_limited(&file, MAX_INPUT).with_context(|| format!("cannot read {}", file.display()))?,
            );
            let mut given = password::given(password.password.as_deref(), password.password_file.as_deref())?;
            // Read it here first: a wrong password or a file without a key is told about
            // before anything is sent, with the same messages as `keyward cert show`.
            let contents = match keyward_pki::read(&bytes, given.as_deref().map(String::as_str)) {
                Err(keyward_pki::Error::PasswordRequired { .. }) if password::can_prompt() => {
                    let typed = password::prompt_existing(&file.display().to_string())?;
                    let contents = keyward_pki::read(&bytes, Some(&typed));
                    given = Some(typed);
                    contents
                }
                other => other,
            }
            .with_context(|| format!("cannot read {}", file.display()))?;
            contents
                .certificate_and_key()
                .with_context(|| format!("{} must hold a certificate and its private key", file.display()))?;
            let content_type = match contents.format {
                keyward_pki::Format::Pkcs12 => "application/x-pkcs12",
                _ => "application/x-pem-file",
            };
            let policy = json!({"secret_props": {"contentType": content_type}});
            let client = open(&vault).await?;
            let imported = client
                .import_certificate(&name, &bytes, given.as_deref().map(String::as_str), Some(policy))
                .await
                .with_context(|| format!("cannot import {} as {name:?}", file.display()))?;
            print(vault.server.json, &imported.raw, || {
                format!("Imported {} as {name}\n{}", file.display(), describe(&imported))
            })
        }
        VaultCertCommand::Show { name, version, vault } => {
            let client = open(&vault).await?;
            let found = client.get_certificate(&name, version.as_deref()).await?;
            print(vault.server.json, &found.raw, || {
                format!("{name}\n{}", describe(&found))
            })
        }
        VaultCertCommand::Download {
            name,
            format,
            out,
            version,
            password_file,
            force,
            vault,
        } => {
            files::check_absent(&[&out], force)?;
            let client = open(&vault).await?;
            let found = client.get_certificate(&name, version.as_deref()).await?;
            let (bytes, access) = match format {
                DownloadFormat::Cer => (Zeroizing::new(found.certificate.der().to_vec()), Access::Public),
                DownloadFormat::Pem | DownloadFormat::Pfx => {
                    let credential = client.get_secret(&name, Some(&found.version)).await?;
                    let bundle = match credential.content_type.as_deref() {
                        Some("application/x-pkcs12") => Zeroizing::new(
                            STANDARD
                                .decode(credential.value.trim())
                                .context("the vault's PKCS#12 secret is not base64")?,
                        ),
                        _ => Zeroizing::new(credential.value.as_bytes().to_vec()),
                    };
                    let contents = keyward_pki::read(&bundle, None)?;
                    let (certificate, key) = contents.certificate_and_key().with_context(|| {
                        format!("the vault holds no private key for {name:?}: its policy makes the key non-exportable")
                    })?;
                    let chain: Vec<_> = contents.certificates.iter().skip(1).cloned().collect();
                    let bytes = match format {
                        DownloadFormat::Pfx => {
                            let pw = match &password_file {
                                Some(path) => password::from_file(path)?,
                                None => Zeroizing::new(String::new()),
                            };
                            Zeroizing::new(keyward_pki::write_pfx(
                                certificate,
                                &chain,
                                key,
                                &pw,
                                PfxEncryption::default(),
                            )?)
                        }
                        _ => {
                            let mut pem = key.to_pkcs8_pem(None)?.as_bytes().to_vec();
                            pem.extend_from_slice(certificate.pem().as_bytes());
                            for c in &chain {
                                pem.extend_from_slice(c.pem().as_bytes());
                            }
                            Zeroizing::new(pem)
                        }
                    };
                    (bytes, Access::OwnerOnly)
                }
            };
            files::write_new(&out, &bytes, access, force)?;
            print(
                vault.server.json,
                &json!({"id": found.id, "out": out, "thumbprint": found.thumbprint()}),
                || format!("Wrote {} ({})\n", out.display(), found.thumbprint()),
            )
        }
        command
        @ (VaultCertCommand::Link { .. } | VaultCertCommand::Unlink { .. } | VaultCertCommand::Links { .. }) => {
            links(command).await
        }
        VaultCertCommand::List { vault } => {
            let client = open(&vault).await?;
            let items = client.list_certificates().await?;
            print(vault.server.json, &Value::Array(items.clone()), || {
                let mut text = format!("{:<44}{:<30}{}\n", "NAME", "X5T", "EXPIRES");
                for item in &items {
                    let id = item["id"].as_str().unwrap_or_default();
                    let name = id.rsplit('/').next().unwrap_or(id);
                    text.push_str(&format!(
                        "{:<44}{:<30}{}\n",
                        name,
                        item["x5t"].as_str().unwrap_or_default(),
                        date(item["attributes"]["exp"].as_i64())
                    ));
                }
                text
            })
        }
    }
}

async fn secret(command: VaultSecretCommand) -> anyhow::Result<()> {
    match command {
        VaultSecretCommand::Set {
            name,
            file,
            content_type,
            vault,
        } => {
            let bytes = Zeroizing::new(match &file {
                Some(path) => files::read_limited(path, MAX_SECRET + 1)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                None => {
                    let mut bytes = Vec::new();
                    std::io::stdin()
                        .take(MAX_SECRET as u64 + 1)
                        .read_to_end(&mut bytes)
                        .context("cannot read the value from standard input")?;
                    bytes
                }
            });
            if bytes.len() > MAX_SECRET {
                bail!("the value is larger than Key Vault's limit of 25 KiB");
            }
            let value = Zeroizing::new(String::from_utf8(bytes.to_vec()).context(
                "the value is not UTF-8 text; store binary data base64-encoded with --content-type application/octet-stream",
            )?);
            let client = open(&vault).await?;
            let stored = client.set_secret(&name, &value, content_type.as_deref()).await?;
            print(
                vault.server.json,
                &json!({"id": stored.id, "contentType": stored.content_type}),
                || format!("Stored {}\n", stored.id),
            )
        }
        VaultSecretCommand::Show { name, version, vault } => {
            let client = open(&vault).await?;
            let found = client.get_secret(&name, version.as_deref()).await?;
            let value = found.value.as_str();
            let bundle =
                json!({"id": found.id, "value": value, "contentType": found.content_type, "managed": found.managed});
            print(vault.server.json, &bundle, || {
                let mut text = value.to_owned();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                text
            })
        }
    }
}

/// `keyward vault cert link`, `unlink` and `links`: through the vault management API.
async fn links(command: VaultCertCommand) -> anyhow::Result<()> {
    let (name, app, vault, server, method) = match command {
        VaultCertCommand::Link {
            name,
            app,
            vault,
            server,
        } => (name, Some(app), vault, server, Method::PUT),
        VaultCertCommand::Unlink {
            name,
            app,
            vault,
            server,
        } => (name, Some(app), vault, server, Method::DELETE),
        VaultCertCommand::Links { name, vault, server } => (name, None, vault, server, Method::GET),
        _ => bail!("not a link command"),
    };
    let api = Connection::open(&server).await?;
    let base = format!("/admin/api/vaults/{vault}/certificates/{name}/links");
    let Some(app) = app else {
        let listed = api
            .call(Method::GET, &base, None)
            .await
            .with_context(|| format!("cannot list the links of the certificate {name:?}"))?;
        return print(server.json, &listed, || {
            let links = listed["value"].as_array().cloned().unwrap_or_default();
            if links.is_empty() {
                return format!("{name} is linked to no application\n");
            }
            let mut text = format!("{name} is linked to:\n");
            for link in links {
                let shown = link["displayName"].as_str().unwrap_or("(deleted application)");
                text.push_str(&format!("  {shown} ({})\n", link["appId"].as_str().unwrap_or_default()));
            }
            text
        });
    };
    let found = find(&api, &app).await?;
    let path = format!("{base}/{}", found.app_id);
    let answer = api
        .call(method.clone(), &path, None)
        .await
        .with_context(|| format!("cannot change the link of {name:?} to {}", found.display_name))?;
    let shown = &found.display_name;
    let app_id = &found.app_id;
    print(server.json, &answer, || {
        if method == Method::DELETE {
            return format!(
                "Unlinked {name} (vault {vault}) from {shown} ({app_id}): new versions are no longer added to it; \
                 the certificates already added stay on the application\n"
            );
        }
        let now = if answer["latestVersionAdded"].as_bool() == Some(true) {
            "its latest version was added to the application now"
        } else {
            "its latest version was already on the application"
        };
        format!(
            "Linked {name} (vault {vault}) to {shown} ({app_id}): {now}, and each new version will be.\n\
             The old certificate stays on the application until you remove it (keyward app cert remove {shown} THUMBPRINT).\n"
        )
    })
}

async fn grant(
    app: &str,
    certificates: Vec<String>,
    secrets: Vec<String>,
    vault: &str,
    server: &ServerArgs,
) -> anyhow::Result<()> {
    if certificates.is_empty() && secrets.is_empty() {
        bail!("give --certificates and/or --secrets, e.g. --certificates get,list --secrets get");
    }
    let api = Connection::open(server).await?;
    let found = find(&api, app).await?;
    let app_id = found.app_id.as_str();
    let principal = api
        .service_principal(app_id)
        .await
        .with_context(|| format!("cannot find the service principal of {app_id}"))?;
    if principal.id.is_empty() {
        bail!("the service principal has no id");
    }
    let object_id = principal.id.as_str();
    let normalize =
        |perms: Vec<String>| -> Vec<String> { perms.iter().map(|p| p.trim().to_ascii_lowercase()).collect() };
    let (certificates, secrets) = (normalize(certificates), normalize(secrets));
    let result = api
        .set_access_policy(vault, object_id, &certificates, &secrets)
        .await
        .with_context(|| format!("cannot grant {app_id} access to the vault {vault:?}"))?;
    print(server.json, &result, || {
        format!(
            "Granted {} ({app_id}, object id {object_id}) on vault {vault}:\n  certificates: {}\n  secrets:      {}\n",
            found.display_name,
            join(&certificates),
            join(&secrets),
        )
    })
}

fn describe(certificate: &VaultCertificate) -> String {
    let info = certificate.certificate.info();
    let attributes = &certificate.raw["attributes"];
    let secret_type = certificate.raw["policy"]["secret_props"]["contentType"]
        .as_str()
        .unwrap_or("-");
    format!(
        "  Thumbprint:     {}\n  x5t:            {}\n  Subject:        {}\n  Not before:     {}\n  Expires:        {}\n  Enabled:        {}\n  Secret type:    {secret_type}\n  Id:             {}\n  Secret id:      {}\n",
        certificate.thumbprint(),
        certificate.x5t,
        info.subject,
        date(attributes["nbf"].as_i64()),
        date(attributes["exp"].as_i64()),
        attributes["enabled"]
            .as_bool()
            .map_or("-", |e| if e { "yes" } else { "no" }),
        certificate.id,
        certificate.sid.as_deref().unwrap_or("-"),
    )
}

fn date(unix: Option<i64>) -> String {
    unix.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "-".into())
}

fn join(list: &[String]) -> String {
    if list.is_empty() { "-".into() } else { list.join(", ") }
}
