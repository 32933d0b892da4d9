//! The app's certificate credential, from files or from a vault, as the article's two ways; read
//! again while the app runs when the certificate is rotated (see [`ReloadingCertificate`]).

use std::path::Path;

use keyward_client::{CertificateCredential, ClientCredential, ConfidentialClient, ReloadingCertificate, VaultClient};
use serde::Deserialize;

use crate::Error;
use crate::config::{CredentialSource, VaultAccess};

/// Loads the certificate credential; `trusted_ca` (PEM or DER) is trusted for the vault too.
/// The files are read again when they change, the vault when the certificate nears its expiry,
/// and either when the authority refuses the certificate (it was rotated and removed): the app
/// picks up a new certificate without a restart. A thumbprint given is checked at start.
pub async fn load(source: &CredentialSource, trusted_ca: Option<&[u8]>) -> Result<ReloadingCertificate, Error> {
    match source {
        CredentialSource::Files {
            certificate,
            private_key,
            passphrase,
            thumbprint,
        } => {
            let given = passphrase.as_deref().map(String::as_str);
            let credential =
                ReloadingCertificate::from_files(certificate, private_key.as_deref(), given).map_err(|e| match e {
                    keyward_client::Error::Credential(
                        e @ (keyward_pki::Error::WrongPassword(_) | keyward_pki::Error::PasswordRequired { .. }),
                    ) => Error::Passphrase {
                        file: private_key.clone().unwrap_or_else(|| certificate.clone()),
                        given: passphrase.is_some(),
                        detail: e.to_string(),
                    },
                    e => e.into(),
                })?;
            if let Some(thumbprint) = thumbprint {
                CertificateCredential::clone(&credential.current()).expect_thumbprint(thumbprint)?;
            }
            Ok(credential)
        }
        CredentialSource::KeyVault {
            url,
            certificate_name,
            access,
        } => {
            let reader = vault_reader(access, url, trusted_ca)?;
            let vault = VaultClient::new(url, reader)?.verify_challenge_resource(is_azure_vault(url));
            ReloadingCertificate::from_vault(vault, certificate_name)
                .await
                .map_err(|e| Error::Vault {
                    url: url.clone(),
                    certificate_name: certificate_name.clone(),
                    source: e,
                })
        }
    }
}

/// Azure's vaults name themselves as the challenge's resource; Keyward's vault (on any host)
/// names `https://vault.keyward.localhost`, so the check is for Azure's hosts only.
fn is_azure_vault(url: &str) -> bool {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    [
        ".vault.azure.net",
        ".vault.azure.cn",
        ".vault.usgovcloudapi.net",
        ".vault.microsoftazure.de",
        ".managedhsm.azure.net",
    ]
    .iter()
    .any(|suffix| host.ends_with(suffix))
}

/// The admin credential of a Keyward data directory (`admin/admin.json` names it).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdminInfo {
    app_id: String,
    tenant_id: String,
}

/// Where the running server is (`server.json`).
#[derive(Deserialize)]
struct ServerInfo {
    url: String,
}

/// The confidential client that gets the vault's tokens.
fn vault_reader(access: &VaultAccess, vault_url: &str, trusted_ca: Option<&[u8]>) -> Result<ConfidentialClient, Error> {
    let (authority, client_id, credential): (String, String, ClientCredential) = match access {
        VaultAccess::Environment {
            authority_host,
            tenant_id,
            client_id,
            certificate,
            certificate_password,
            secret,
        } => {
            let credential = match (certificate, secret) {
                (Some(path), _) => {
                    CertificateCredential::from_bundle_file(path, certificate_password.as_deref().map(String::as_str))?
                        .into()
                }
                (None, Some(secret)) => ClientCredential::secret(secret.as_str()),
                (None, None) => {
                    return Err(Error::Config(crate::ConfigError {
                        variable: "AZURE_CLIENT_CERTIFICATE_PATH",
                        problem: "not set, and no AZURE_CLIENT_SECRET either".into(),
                    }));
                }
            };
            (
                format!("{}/{tenant_id}", authority_host.trim_end_matches('/')),
                client_id.clone(),
                credential,
            )
        }
        VaultAccess::KeywardData(dir) => {
            let read = |name: &str| {
                let path = dir.join(name);
                std::fs::read(&path).map_err(|e| Error::KeywardData {
                    path: path.clone(),
                    detail: e.to_string(),
                })
            };
            let admin: AdminInfo =
                serde_json::from_slice(&read("admin/admin.json")?).map_err(|e| Error::KeywardData {
                    path: dir.join("admin/admin.json"),
                    detail: e.to_string(),
                })?;
            let origin = match read("server.json")
                .ok()
                .and_then(|b| serde_json::from_slice::<ServerInfo>(&b).ok())
            {
                Some(server) => server.url,
                None => origin_of(vault_url),
            };
            let credential =
                CertificateCredential::from_pem(&read("admin/admin.pem")?, &read("admin/admin.key")?, None)?;
            (
                format!("{}/{}", origin.trim_end_matches('/'), admin.tenant_id),
                admin.app_id,
                credential.into(),
            )
        }
    };
    let mut builder = ConfidentialClient::builder(&authority, &client_id, credential);
    if let Some(ca) = trusted_ca {
        builder = builder.trust_ca(ca);
    }
    Ok(builder.build()?)
}

fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.to_owned())
}

/// Reads the CA file to trust.
pub fn read_ca(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::TrustedCa {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_azure_vaults_have_their_challenge_resource_checked() {
        assert!(is_azure_vault("https://contoso.vault.azure.net"));
        assert!(is_azure_vault("https://CONTOSO.vault.azure.net/"));
        assert!(!is_azure_vault("https://localhost:8443"));
        assert!(!is_azure_vault("https://vault.azure.net.evil.test"));
    }
}
