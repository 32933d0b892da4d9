//! The benchmark's applications, registered with `keyward app` as an administrator would: a
//! resource `bench-api` with the app role `Tasks.Read.All`, and a client `bench-client` that
//! holds the role and authenticates with an RSA-2048 certificate.

use anyhow::Context;
use keyward_pki::{Certificate, CertificateSpec, KeyType, Name, PrivateKey, Validity};

use crate::server::Server;

/// The resource's identifier URI.
pub const RESOURCE_URI: &str = "api://bench";
/// The scope the client asks for.
pub const SCOPE: &str = "api://bench/.default";

/// The registered client and its credential.
pub struct Client {
    /// Its appId (`client_id`, and the assertion's `iss` and `sub`).
    pub app_id: String,
    /// The certificate registered on it.
    pub certificate: Certificate,
    /// The certificate's private key.
    pub key: PrivateKey,
}

/// Registers the resource and the client on `server`.
pub fn register(server: &Server) -> anyhow::Result<Client> {
    server.cli(&["app", "create", "--name", "bench-api", "--identifier-uri", RESOURCE_URI])?;
    server.cli(&["app", "role", "add", "bench-api", "--value", "Tasks.Read.All"])?;
    let created = server.cli(&["app", "create", "--name", "bench-client"])?;
    let app_id = created["appId"]
        .as_str()
        .context("keyward app create printed no appId")?
        .to_owned();
    server.cli(&["app", "grant", "bench-client", "bench-api", "Tasks.Read.All"])?;

    let key = PrivateKey::generate(KeyType::Rsa2048)?;
    let certificate = CertificateSpec::new(Name::parse("CN=bench-client")?)
        .validity(Validity::Days(2))
        .self_signed(&key)?;
    let cer = server.data().join("bench-client.cer");
    std::fs::write(&cer, certificate.der()).with_context(|| format!("cannot write {}", cer.display()))?;
    let cer = cer.to_str().context("the temporary directory's path is not UTF-8")?;
    server.cli(&["app", "cert", "add", "bench-client", cer])?;
    Ok(Client {
        app_id,
        certificate,
        key,
    })
}
