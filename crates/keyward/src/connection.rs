//! A connection to a running server's management API, authenticated as the bootstrap admin with
//! its certificate through `keyward-client` (we use what we sell).

use std::path::Path;

use anyhow::{Context, anyhow};
use keyward_client::{CertificateCredential, ConfidentialClient, VaultClient};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::cli::ServerArgs;
use keyward_server::{AdminInfo, DataDir, ServerInfo};

/// An authenticated client of the management API.
pub struct Connection {
    http: reqwest::Client,
    url: String,
    token: String,
    client: ConfidentialClient,
}

impl Connection {
    /// Finds the server and the admin credential in the data directory and gets a token.
    pub async fn open(args: &ServerArgs) -> anyhow::Result<Self> {
        Self::to(&args.data, args.server.as_deref()).await
    }

    /// Finds the admin credential in the data directory `data`, and the server there unless
    /// `server` names its URL, and gets a token.
    pub async fn to(data: &Path, server: Option<&str>) -> anyhow::Result<Self> {
        let dir = DataDir::new(data);
        let hint = || {
            format!(
                "is the server running with --data {}? Start it with `keyward serve --data {0}`",
                data.display()
            )
        };
        let url = match server {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                dir.read_json::<ServerInfo>("server.json")
                    .with_context(|| format!("no running server found: {}", hint()))?
                    .url
            }
        };
        let admin: AdminInfo = dir.read_json("admin/admin.json").with_context(hint)?;
        let ca = dir.read("tls/ca.pem")?;
        let http = http_client(&ca)?;
        let credential =
            CertificateCredential::from_pem(&dir.read("admin/admin.pem")?, &dir.read("admin/admin.key")?, None)?;
        let client = ConfidentialClient::builder(&format!("{url}/{}", admin.tenant_id), &admin.app_id, credential)
            .trust_ca(&ca)
            .build()?;
        let token = match client
            .acquire_token_for_client(&["https://graph.microsoft.com/.default"])
            .await
        {
            Ok(token) => token.secret().to_owned(),
            // Nothing answers there: say so, not that a credential was refused.
            Err(e @ keyward_client::Error::Network { .. }) => {
                let given = if server.is_some() {
                    "check the --server URL (or KEYWARD_SERVER)".to_owned()
                } else {
                    hint()
                };
                return Err(anyhow::anyhow!("nothing answers at {url} ({e}); {given}"));
            }
            Err(e) => {
                return Err(anyhow::Error::new(e))
                    .with_context(|| format!("the server at {url} refused the admin credential ({})", hint()));
            }
        };
        Ok(Self {
            http,
            url,
            token,
            client,
        })
    }

    /// A Key Vault client for `vault_url` (default: the server's own origin, its default vault),
    /// authenticated as the admin. The vault's resource is not a parent domain of `localhost`,
    /// so the challenge's resource is not verified: the vault is this server, found through
    /// the data directory.
    pub fn vault(&self, vault_url: Option<&str>) -> anyhow::Result<VaultClient> {
        let url = vault_url.unwrap_or(&self.url);
        Ok(VaultClient::new(url, self.client.clone())?.verify_challenge_resource(false))
    }

    /// Sends a management request; returns the status and the JSON body (`Null` when there is
    /// none), whatever the status: for callers that read a refusal's details.
    pub async fn send_raw(&self, method: Method, path: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
        let response = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("cannot reach the server at {}", self.url))?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Sends a management request; returns the JSON body (`Null` for 204).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the server at {}", self.url))?;
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        if !status.is_success() {
            let refusal: Option<Refusal> = response.json().await.ok();
            let message = refusal
                .and_then(|r| r.error.message)
                .unwrap_or_else(|| "no details".to_owned());
            return Err(anyhow!("the server refused: {message}"));
        }
        Ok(response.json().await.unwrap_or(Value::Null))
    }

    /// The server's time, which `keyward time shift` may have moved: what days left, expiry
    /// windows and ages are counted from. The local clock when the server does not say.
    pub async fn server_time(&self) -> time::OffsetDateTime {
        let now = self.call(Method::GET, "/admin/api/time", None).await.ok();
        now.as_ref()
            .and_then(|state| state["serverTime"].as_str())
            .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(time::OffsetDateTime::now_utc)
    }
}

/// Graph's error shape: `{"error": {"code": ..., "message": ...}}`.
#[derive(serde::Deserialize)]
struct Refusal {
    error: RefusalDetail,
}

#[derive(serde::Deserialize)]
struct RefusalDetail {
    message: Option<String>,
}

/// An HTTP client that trusts `ca_pem` and nothing else.
pub fn http_client(ca_pem: &[u8]) -> anyhow::Result<reqwest::Client> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for block in keyward_pki::read(ca_pem, None)?.certificates {
        roots
            .add(rustls::pki_types::CertificateDer::from(block.der().to_vec()))
            .context("the CA certificate is not usable")?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")
}
