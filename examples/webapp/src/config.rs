//! The app's settings, from the same variables as the article's `authConfig.js`.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `CLIENT_ID` | the Application (client) ID | required |
//! | `AUTHORITY` | e.g. `https://localhost:8443/contoso/` | `https://{TENANT_SUBDOMAIN}.ciamlogin.com/` |
//! | `TENANT_SUBDOMAIN` | `contoso` for `contoso.onmicrosoft.com` | needed when `AUTHORITY` is not set |
//! | `REDIRECT_URI` | where the authority sends the code | `http://localhost:3000/auth/redirect` |
//! | `POST_LOGOUT_REDIRECT_URI` | where the authority sends the browser after sign-out | `http://localhost:3000` |
//! | `CERTIFICATE_PATH` | the certificate (PEM or DER), or a PFX / PEM holding certificate and key | |
//! | `PRIVATE_KEY_PATH` | the private key (the article's `PATH_TO_YOUR_PRIVATE_KEY_FILE`) | in `CERTIFICATE_PATH` |
//! | `PRIVATE_KEY_PASSPHRASE` | opens an encrypted key or PFX (the article's `Add_Passphrase_Here`) | none |
//! | `CERTIFICATE_THUMBPRINT` | checked against the certificate (SHA-1 or SHA-256) | not checked |
//! | `KEY_VAULT_URL`, `CERTIFICATE_NAME` | the certificate from a vault instead of files | |
//! | `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_CERTIFICATE_PATH` or `AZURE_CLIENT_SECRET`, `AZURE_AUTHORITY_HOST` | who reads the vault (azure-identity's `EnvironmentCredential`) | `KEYWARD_DATA`'s admin |
//! | `KEYWARD_DATA` | a Keyward data directory: its CA, and its admin to read the vault | |
//! | `KEYWARD_CA` | a CA to trust besides the public roots | `$KEYWARD_DATA/tls/ca.pem` |
//! | `PORT` | where the app listens | `3000` |
//!
//! The certificate is read again while the app runs: the files when they change (looked at
//! every 10 s), the vault certificate when it nears its expiry, and either when the authority
//! refuses it (AADSTS700027). To rotate without a restart: register the new certificate on the
//! app, replace the files (or let the vault make a new version), then remove the old one.
//!
//! The library reads no environment itself: [`Config::from_vars`] takes the variables.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

/// Where the app's certificate credential comes from.
#[derive(Clone)]
pub enum CredentialSource {
    /// Files: what the article's "Configure your Node.js app to use certificate" reads.
    Files {
        /// The certificate, or a PFX / PEM bundle holding the certificate and the key.
        certificate: PathBuf,
        /// The private key, when it is not in `certificate`.
        private_key: Option<PathBuf>,
        /// The passphrase of an encrypted key or PFX.
        passphrase: Option<Zeroizing<String>>,
        /// A thumbprint to check the certificate against (SHA-1 or SHA-256, any common form).
        thumbprint: Option<String>,
    },
    /// A vault: the article's "Use a self-signed certificate directly from Azure Key Vault".
    KeyVault {
        /// The vault, e.g. `https://localhost:8443/` or `https://myvault.vault.azure.net/`.
        url: String,
        /// The certificate's name in the vault.
        certificate_name: String,
        /// Who the app is when it reads the vault.
        access: VaultAccess,
    },
}

/// The identity that reads the vault: what `DefaultAzureCredential` finds in the article.
#[derive(Clone)]
pub enum VaultAccess {
    /// azure-identity's `EnvironmentCredential` variables: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// and `AZURE_CLIENT_CERTIFICATE_PATH` (+ `AZURE_CLIENT_CERTIFICATE_PASSWORD`) or
    /// `AZURE_CLIENT_SECRET`; `AZURE_AUTHORITY_HOST` (default `https://login.microsoftonline.com`).
    Environment {
        /// `https://login.microsoftonline.com`, or a Keyward server's origin.
        authority_host: String,
        /// The tenant.
        tenant_id: String,
        /// The identity's client id.
        client_id: String,
        /// Its certificate (PEM with the key, or PFX).
        certificate: Option<PathBuf>,
        /// The certificate file's password.
        certificate_password: Option<Zeroizing<String>>,
        /// Its secret, when it has no certificate.
        secret: Option<Zeroizing<String>>,
    },
    /// The admin credential of a Keyward data directory (`KEYWARD_DATA`), as `az login` signs
    /// the developer in for the article.
    KeywardData(PathBuf),
}

impl fmt::Debug for VaultAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment {
                authority_host,
                tenant_id,
                client_id,
                certificate,
                ..
            } => f
                .debug_struct("Environment")
                .field("authority_host", authority_host)
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("certificate", certificate)
                .finish_non_exhaustive(),
            Self::KeywardData(dir) => f.debug_tuple("KeywardData").field(dir).finish(),
        }
    }
}

impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Files {
                certificate,
                private_key,
                passphrase,
                thumbprint,
            } => f
                .debug_struct("Files")
                .field("certificate", certificate)
                .field("private_key", private_key)
                .field("passphrase", &passphrase.as_ref().map(|_| "(set)"))
                .field("thumbprint", thumbprint)
                .finish(),
            Self::KeyVault {
                url,
                certificate_name,
                access,
            } => f
                .debug_struct("KeyVault")
                .field("url", url)
                .field("certificate_name", certificate_name)
                .field("access", access)
                .finish(),
        }
    }
}

/// Everything the app needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Application (client) ID.
    pub client_id: String,
    /// The authority URL.
    pub authority: String,
    /// The redirect URI registered on the app, where the code arrives.
    pub redirect_uri: String,
    /// Where the authority sends the browser after sign-out (also registered on the app).
    pub post_logout_redirect_uri: String,
    /// The certificate credential.
    pub credential: CredentialSource,
    /// A CA certificate (PEM or DER file) to trust besides the public roots, e.g. a Keyward
    /// server's `tls/ca.pem`.
    pub trusted_ca: Option<PathBuf>,
    /// The port the binary listens on ([`crate::run`] takes a bound listener instead).
    pub port: u16,
}

/// A setting that is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong and what to do.
    pub problem: String,
}

impl Config {
    /// Reads the settings from environment variables (see the module docs).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let error = |variable: &'static str, problem: &str| ConfigError {
            variable,
            problem: problem.to_owned(),
        };
        let client_id = get("CLIENT_ID").ok_or_else(|| {
            error(
                "CLIENT_ID",
                "not set: give the Application (client) ID of the app registration",
            )
        })?;
        let authority = match (get("AUTHORITY"), get("TENANT_SUBDOMAIN")) {
            (Some(authority), _) => authority,
            (None, Some(sub)) => format!("https://{sub}.ciamlogin.com/"),
            (None, None) => {
                return Err(error(
                    "AUTHORITY",
                    "not set, and no TENANT_SUBDOMAIN either: set AUTHORITY (e.g. https://localhost:8443/contoso/) \
                     or TENANT_SUBDOMAIN (contoso for contoso.onmicrosoft.com)",
                ));
            }
        };
        keyward_client::Authority::parse(&authority).map_err(|e| error("AUTHORITY", &e.to_string()))?;
        let redirect_uri = get("REDIRECT_URI").unwrap_or_else(|| "http://localhost:3000/auth/redirect".into());
        let post_logout_redirect_uri =
            get("POST_LOGOUT_REDIRECT_URI").unwrap_or_else(|| "http://localhost:3000".into());
        for (variable, value) in [
            ("REDIRECT_URI", &redirect_uri),
            ("POST_LOGOUT_REDIRECT_URI", &post_logout_redirect_uri),
        ] {
            let url = url::Url::parse(value).map_err(|_| error(variable, "not a URL"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(error(variable, "must be an http:// or https:// URL"));
            }
        }
        let credential = match (get("CERTIFICATE_PATH"), get("KEY_VAULT_URL"), get("CERTIFICATE_NAME")) {
            (Some(certificate), None, _) => CredentialSource::Files {
                certificate: certificate.into(),
                private_key: get("PRIVATE_KEY_PATH").map(PathBuf::from),
                // The passphrase is taken as given: spaces may be part of it.
                passphrase: vars
                    .get("PRIVATE_KEY_PASSPHRASE")
                    .filter(|p| !p.is_empty())
                    .map(|p| Zeroizing::new(p.clone())),
                thumbprint: get("CERTIFICATE_THUMBPRINT"),
            },
            (None, Some(url), Some(certificate_name)) => CredentialSource::KeyVault {
                url,
                certificate_name,
                access: vault_access(vars)?,
            },
            (None, Some(_), None) => {
                return Err(error(
                    "CERTIFICATE_NAME",
                    "not set: give the certificate's name in the vault at KEY_VAULT_URL",
                ));
            }
            (Some(_), Some(_), _) => {
                return Err(error(
                    "CERTIFICATE_PATH",
                    "set together with KEY_VAULT_URL: choose one source for the certificate",
                ));
            }
            (None, None, _) => {
                return Err(error(
                    "CERTIFICATE_PATH",
                    "not set: give the certificate file (with PRIVATE_KEY_PATH for its key), \
                     or KEY_VAULT_URL and CERTIFICATE_NAME for a certificate in a vault",
                ));
            }
        };
        let trusted_ca = match (get("KEYWARD_CA"), get("KEYWARD_DATA")) {
            (Some(ca), _) => Some(PathBuf::from(ca)),
            (None, Some(data)) => Some(PathBuf::from(data).join("tls").join("ca.pem")),
            (None, None) => None,
        };
        let port = match get("PORT") {
            Some(port) => port.parse().map_err(|_| error("PORT", "not a port number (1-65535)"))?,
            None => 3000,
        };
        Ok(Self {
            client_id,
            authority,
            redirect_uri,
            post_logout_redirect_uri,
            credential,
            trusted_ca,
            port,
        })
    }
}

/// Who reads the vault: the `AZURE_*` variables when set, else the Keyward data directory's admin.
fn vault_access(vars: &HashMap<String, String>) -> Result<VaultAccess, ConfigError> {
    let get = |name: &str| vars.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let secret = |name: &str| {
        vars.get(name)
            .filter(|v| !v.is_empty())
            .map(|v| Zeroizing::new(v.clone()))
    };
    if let Some(client_id) = get("AZURE_CLIENT_ID") {
        let tenant_id = get("AZURE_TENANT_ID").ok_or_else(|| ConfigError {
            variable: "AZURE_TENANT_ID",
            problem: "not set, but AZURE_CLIENT_ID is: give the tenant of the identity that reads the vault".into(),
        })?;
        let certificate = get("AZURE_CLIENT_CERTIFICATE_PATH").map(PathBuf::from);
        let client_secret = secret("AZURE_CLIENT_SECRET");
        if certificate.is_none() && client_secret.is_none() {
            return Err(ConfigError {
                variable: "AZURE_CLIENT_CERTIFICATE_PATH",
                problem: "not set, and no AZURE_CLIENT_SECRET either: give the vault reader's credential".into(),
            });
        }
        return Ok(VaultAccess::Environment {
            authority_host: get("AZURE_AUTHORITY_HOST").unwrap_or_else(|| "https://login.microsoftonline.com".into()),
            tenant_id,
            client_id,
            certificate,
            certificate_password: secret("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
            secret: client_secret,
        });
    }
    match get("KEYWARD_DATA") {
        Some(dir) => Ok(VaultAccess::KeywardData(dir.into())),
        None => Err(ConfigError {
            variable: "AZURE_CLIENT_ID",
            problem: "not set: to read the vault, give AZURE_TENANT_ID, AZURE_CLIENT_ID and \
                      AZURE_CLIENT_CERTIFICATE_PATH (or AZURE_CLIENT_SECRET), or KEYWARD_DATA for a Keyward \
                      server's admin credential"
                .into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_the_articles() {
        let config = Config::from_vars(&vars(&[
            ("CLIENT_ID", "00000000-0000-0000-0000-000000000001"),
            ("TENANT_SUBDOMAIN", "contoso"),
            ("CERTIFICATE_PATH", "app.pem"),
            ("PRIVATE_KEY_PATH", "app.key"),
        ]))
        .unwrap();
        assert_eq!(config.authority, "https://contoso.ciamlogin.com/");
        assert_eq!(config.redirect_uri, "http://localhost:3000/auth/redirect");
        assert_eq!(config.post_logout_redirect_uri, "http://localhost:3000");
        assert_eq!(config.port, 3000);
        assert!(config.trusted_ca.is_none());
        assert!(matches!(
            config.credential,
            CredentialSource::Files { passphrase: None, .. }
        ));
    }

    #[test]
    fn an_authority_wins_over_the_subdomain_and_the_data_dir_gives_the_ca() {
        let config = Config::from_vars(&vars(&[
            ("CLIENT_ID", "app"),
            ("TENANT_SUBDOMAIN", "contoso"),
            ("AUTHORITY", "https://localhost:8443/contoso/"),
            ("KEY_VAULT_URL", "https://localhost:8443/"),
            ("CERTIFICATE_NAME", "ciam-client-app"),
            ("KEYWARD_DATA", "/srv/keyward"),
            ("PORT", "4000"),
        ]))
        .unwrap();
        assert_eq!(config.authority, "https://localhost:8443/contoso/");
        assert_eq!(config.trusted_ca, Some(PathBuf::from("/srv/keyward/tls/ca.pem")));
        assert_eq!(config.port, 4000);
        assert!(matches!(
            config.credential,
            CredentialSource::KeyVault {
                access: VaultAccess::KeywardData(_),
                ..
            }
        ));
        let with_reader = |extra: &[(&str, &str)]| {
            let mut all = vec![
                ("CLIENT_ID", "app"),
                ("AUTHORITY", "https://localhost:8443/contoso/"),
                ("KEY_VAULT_URL", "https://localhost:8443/"),
                ("CERTIFICATE_NAME", "ciam-client-app"),
            ];
            all.extend_from_slice(extra);
            Config::from_vars(&vars(&all))
        };
        let reader = with_reader(&[
            ("AZURE_CLIENT_ID", "reader"),
            ("AZURE_TENANT_ID", "contoso"),
            ("AZURE_CLIENT_SECRET", "s3cret"),
        ])
        .unwrap();
        assert!(!format!("{reader:?}").contains("s3cret"));
        let CredentialSource::KeyVault {
            access: VaultAccess::Environment { authority_host, .. },
            ..
        } = reader.credential
        else {
            panic!("the environment's reader")
        };
        assert_eq!(authority_host, "https://login.microsoftonline.com");
        assert_eq!(with_reader(&[]).unwrap_err().variable, "AZURE_CLIENT_ID");
        assert_eq!(
            with_reader(&[("AZURE_CLIENT_ID", "r"), ("AZURE_TENANT_ID", "t")])
                .unwrap_err()
                .variable,
            "AZURE_CLIENT_CERTIFICATE_PATH"
        );
    }

    #[test]
    fn says_which_variable_is_wrong() {
        let check = |pairs: &[(&str, &str)]| Config::from_vars(&vars(pairs)).unwrap_err().variable;
        assert_eq!(check(&[]), "CLIENT_ID");
        assert_eq!(check(&[("CLIENT_ID", "a"), ("CERTIFICATE_PATH", "c")]), "AUTHORITY");
        assert_eq!(
            check(&[
                ("CLIENT_ID", "a"),
                ("AUTHORITY", "http://localhost/contoso"),
                ("CERTIFICATE_PATH", "c")
            ]),
            "AUTHORITY"
        );
        assert_eq!(
            check(&[("CLIENT_ID", "a"), ("TENANT_SUBDOMAIN", "c")]),
            "CERTIFICATE_PATH"
        );
        assert_eq!(
            check(&[
                ("CLIENT_ID", "a"),
                ("TENANT_SUBDOMAIN", "c"),
                ("KEY_VAULT_URL", "https://v/")
            ]),
            "CERTIFICATE_NAME"
        );
        assert_eq!(
            check(&[
                ("CLIENT_ID", "a"),
                ("TENANT_SUBDOMAIN", "c"),
                ("CERTIFICATE_PATH", "c"),
                ("PORT", "x")
            ]),
            "PORT"
        );
        assert_eq!(
            check(&[
                ("CLIENT_ID", "a"),
                ("TENANT_SUBDOMAIN", "c"),
                ("CERTIFICATE_PATH", "c"),
                ("REDIRECT_URI", "ftp://x/")
            ]),
            "REDIRECT_URI"
        );
    }

    #[test]
    fn debug_hides_the_passphrase() {
        let config = Config::from_vars(&vars(&[
            ("CLIENT_ID", "a"),
            ("TENANT_SUBDOMAIN", "c"),
            ("CERTIFICATE_PATH", "c.pem"),
            ("PRIVATE_KEY_PASSPHRASE", "hunter2"),
        ]))
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
