//! What both sides are given: the authority, the registered client, its certificate and key as
//! PEM text (also written to files for MSAL Node), the server's CA.

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_loadgen::registration::{self, SCOPE};
use keyward_loadgen::server::Server;
use serde_json::{Value, json};

/// The app role the client is granted on the resource (see `registration`).
pub const ROLE: &str = "Tasks.Read.All";

/// The client's configuration.
#[derive(Clone)]
pub struct Setup {
    /// `https://localhost:PORT/TENANT`.
    pub authority: String,
    /// The client's appId.
    pub client_id: String,
    /// `api://bench/.default`.
    pub scope: String,
    /// The certificate, PEM.
    pub certificate_pem: Vec<u8>,
    /// Its private key, unencrypted PKCS#8 PEM.
    pub private_key_pem: Vec<u8>,
    /// The certificate's SHA-256 thumbprint, hex (what MSAL Node is given).
    pub thumbprint_sha256: String,
    /// The server's CA, PEM.
    pub ca_pem: Vec<u8>,
}

impl Setup {
    /// Registers the resource (with the role) and the client (granted it, with an RSA-2048
    /// certificate) on `server`, writes the certificate and key as PEM files in its data
    /// directory and returns the configuration.
    pub fn register(server: &Server) -> anyhow::Result<Self> {
        let client = registration::register(server)?;
        let setup = Self {
            authority: format!("{}/{}", server.url, server.tenant),
            client_id: client.app_id,
            scope: SCOPE.to_owned(),
            certificate_pem: client.certificate.pem().into_bytes(),
            private_key_pem: client.key.to_pkcs8_pem(None)?.as_bytes().to_vec(),
            thumbprint_sha256: client.certificate.thumbprints().sha256_hex(),
            ca_pem: server.ca_pem()?,
        };
        write(&server.data().join("bench-client.pem"), &setup.certificate_pem)?;
        write(&server.data().join("bench-client.key"), &setup.private_key_pem)?;
        Ok(setup)
    }

    /// Writes MSAL Node's configuration (see `bench/client/msal.mjs`) into `dir` and returns its
    /// path. The authority ends with a slash, as MSAL's documentation writes it.
    pub fn write_msal_config(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let config = json!({
            "authority": format!("{}/", self.authority),
            "clientId": self.client_id,
            "scope": self.scope,
            "role": ROLE,
            "privateKeyPem": dir.join("bench-client.key"),
            "thumbprintSha256": self.thumbprint_sha256,
        });
        let path = dir.join("msal-config.json");
        write(&path, serde_json::to_string_pretty(&config)?.as_bytes())?;
        Ok(path)
    }

    /// A JWT whose claims carry [`ROLE`].
    pub fn check_jwt(&self, jwt: &str) -> anyhow::Result<()> {
        let mut parts = jwt.split('.');
        let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            anyhow::bail!("the access token is not a JWT");
        };
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
        let has_role = claims["roles"]
            .as_array()
            .is_some_and(|roles| roles.iter().any(|r| r == ROLE));
        ensure!(has_role, "the access token does not carry the role {ROLE}");
        Ok(())
    }
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
