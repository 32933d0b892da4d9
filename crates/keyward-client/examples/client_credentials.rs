//! Gets a token with a certificate, from Keyward or from Entra ID: the article's
//! `ConfidentialClientApplication` with `clientCertificate`, in Rust.
//!
//! Against a local Keyward (`keyward serve`, then `keyward cert new`, `keyward app create`,
//! `keyward app cert add`):
//!
//! ```sh
//! AUTHORITY=https://localhost:8443/contoso CLIENT_ID=<appId> CERT=ciam-client-app.pem \
//!   KEY=ciam-client-app.key SCOPE=api://tasks/.default CA=keyward-data/tls/ca.pem \
//!   cargo run -p keyward-client --example client_credentials
//! ```
//!
//! Against Entra ID, the same program with the tenant's authority and no CA (the certificate
//! uploaded to the app registration in the portal, the key kept here):
//!
//! ```sh
//! AUTHORITY=https://login.microsoftonline.com/contoso.onmicrosoft.com CLIENT_ID=<appId> \
//!   CERT=ciam-client-app.pem KEY=ciam-client-app.key SCOPE=https://graph.microsoft.com/.default \
//!   cargo run -p keyward-client --example client_credentials
//! ```
//!
//! External ID works the same way with `AUTHORITY=https://contoso.ciamlogin.com/`.

use keyward_client::{CertificateCredential, ConfidentialClient};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name} (see the example's docs)"));
    let credential = CertificateCredential::from_files(
        var("CERT")?.as_ref(),
        var("KEY")?.as_ref(),
        std::env::var("KEY_PASSPHRASE").ok().as_deref(),
    )?;
    println!(
        "Thumbprint (SHA-1, as the portal shows it): {}",
        credential.certificate().thumbprints().sha1_hex()
    );
    let mut builder = ConfidentialClient::builder(&var("AUTHORITY")?, &var("CLIENT_ID")?, credential);
    if let Ok(ca) = std::env::var("CA") {
        builder = builder.trust_ca(&std::fs::read(ca)?);
    }
    let client = builder.build()?;
    let scope = var("SCOPE")?;
    let token = client.acquire_token_for_client(&[&scope]).await?;
    println!("Got a token, valid until {}:\n{}", token.expires_on, token.secret());
    // The second call comes from the cache.
    let again = client.acquire_token_for_client(&[&scope]).await?;
    println!("Second call from the cache: {}", again.from_cache);
    Ok(())
}
