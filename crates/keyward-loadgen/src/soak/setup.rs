//! What the soak registers before it starts, as an administrator would with `keyward`: the
//! benchmark's client (client credentials), a vault reader with a secret and a certificate to
//! read, a web application and customers to sign in to it; and Graph access from the admin
//! credential `keyward serve` writes to its data directory.

use anyhow::Context;
use keyward_client::{CertificateCredential, ClientCredential, ConfidentialClient};
use serde_json::Value;

use super::traffic::WebApp;
use crate::registration::{self, Client};
use crate::server::Server;

/// The vault secret the soak reads.
pub const SECRET_NAME: &str = "soak-secret";
/// The vault certificate the soak reads.
pub const CERTIFICATE_NAME: &str = "soak-cert";
/// The web application's redirect URI.
const REDIRECT: &str = "https://localhost:3000/auth/redirect";
/// The customers' password.
const PASSWORD: &str = "soak correct horse battery";

/// What the operations authenticate with.
pub struct Prepared {
    /// The client credentials client (an RSA-2048 certificate).
    pub client: Client,
    /// A client with `get` on the vault's secrets and certificates (a client secret).
    pub vault: ConfidentialClient,
    /// The administrator's client, for Graph.
    pub graph: ConfidentialClient,
    /// The application customers sign in to.
    pub web: WebApp,
    /// The customers' emails.
    pub users: Vec<String>,
    /// Their password.
    pub password: String,
}

/// Registers everything on `server`, with `users` customers.
pub fn prepare(server: &Server, users: usize) -> anyhow::Result<Prepared> {
    let client = registration::register(server)?;
    let ca = server.ca_pem()?;
    let authority = format!("{}/{}", server.url, server.tenant);
    let dir = server.data();

    let reader = server.cli(&["app", "create", "--name", "soak-vault-reader"])?;
    let reader_secret = secret_text(&server.cli(&["app", "secret", "add", "soak-vault-reader"])?)?;
    server.cli(&[
        "vault",
        "grant",
        "soak-vault-reader",
        "--secrets",
        "get",
        "--certificates",
        "get",
    ])?;
    let value_file = dir.join("soak-secret.txt");
    std::fs::write(&value_file, "soak secret value")
        .with_context(|| format!("cannot write {}", value_file.display()))?;
    server.cli(&["vault", "secret", "set", SECRET_NAME, "--file", utf8(&value_file)?])?;
    server.cli(&["vault", "cert", "create", CERTIFICATE_NAME, "--subject", "CN=soak-cert"])?;
    let vault = ConfidentialClient::builder(&authority, app_id(&reader)?, ClientCredential::secret(reader_secret))
        .trust_ca(&ca)
        .build()
        .context("the vault reader's client")?;

    let web = server.cli(&["app", "create", "--name", "soak-web", "--redirect-uri", REDIRECT])?;
    let web = WebApp {
        app_id: app_id(&web)?.to_owned(),
        secret: secret_text(&server.cli(&["app", "secret", "add", "soak-web"])?)?,
        redirect: REDIRECT.to_owned(),
    };
    let password_file = dir.join("soak-password.txt");
    std::fs::write(&password_file, format!("{PASSWORD}\n"))
        .with_context(|| format!("cannot write {}", password_file.display()))?;
    let users = (0..users)
        .map(|i| {
            let email = format!("soak-user-{i}@example.com");
            server.cli(&[
                "user",
                "create",
                "--email",
                &email,
                "--password-file",
                utf8(&password_file)?,
            ])?;
            Ok(email)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    let admin_json = dir.join("admin/admin.json");
    let admin: Value = serde_json::from_slice(
        &std::fs::read(&admin_json).with_context(|| format!("cannot read {}", admin_json.display()))?,
    )
    .with_context(|| format!("{} is not JSON", admin_json.display()))?;
    let read = |name: &str| {
        let path = dir.join("admin").join(name);
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let credential = CertificateCredential::from_pem(&read("admin.pem")?, &read("admin.key")?, None)
        .context("the admin credential")?;
    let graph = ConfidentialClient::builder(
        &format!(
            "{}/{}",
            server.url,
            admin["tenantId"].as_str().context("admin.json has no tenantId")?
        ),
        admin["appId"].as_str().context("admin.json has no appId")?,
        credential,
    )
    .trust_ca(&ca)
    .build()
    .context("the admin's Graph client")?;

    Ok(Prepared {
        client,
        vault,
        graph,
        web,
        users,
        password: PASSWORD.to_owned(),
    })
}

fn app_id(app: &Value) -> anyhow::Result<&str> {
    app["appId"].as_str().with_context(|| format!("no appId in {app}"))
}

fn secret_text(added: &Value) -> anyhow::Result<String> {
    added["secretText"]
        .as_str()
        .map(str::to_owned)
        .context("keyward app secret add printed no secretText")
}

fn utf8(path: &std::path::Path) -> anyhow::Result<&str> {
    path.to_str().context("the temporary directory's path is not UTF-8")
}
