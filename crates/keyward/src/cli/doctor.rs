//! The flags of `keyward doctor`: what a client application is configured with.

use std::path::PathBuf;

use clap::{ArgGroup, Args};

use super::PasswordArgs;

/// The scope `doctor` asks for when none is given: Microsoft Graph exists in every Entra tenant
/// and every Keyward tenant, so the credential can be tried without knowing the app's API.
pub const DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("where").required(true).args(["authority", "server"])))]
#[command(group(ArgGroup::new("credential").required(true).args(["cert", "vault_cert"])))]
pub struct DoctorArgs {
    /// The authority the app is configured with: https://HOST:PORT/TENANT (Keyward),
    /// https://login.microsoftonline.com/TENANT (Entra ID) or https://SUB.ciamlogin.com/.
    #[arg(long, env = "KEYWARD_AUTHORITY", value_name = "URL", conflicts_with_all = ["server", "tenant"])]
    pub authority: Option<String>,
    /// The server, when the authority is given in two parts (with --tenant).
    #[arg(long, value_name = "URL", requires = "tenant")]
    pub server: Option<String>,
    /// The tenant (name, domain or GUID), with --server.
    #[arg(long, value_name = "TENANT", requires = "server")]
    pub tenant: Option<String>,
    /// The application (client) id.
    #[arg(long, env = "KEYWARD_CLIENT_ID", value_name = "ID")]
    pub client_id: String,
    /// The certificate: PEM or DER (with --key), or a PEM/PFX holding certificate and key.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The private key, when it is not in the --cert file.
    #[arg(long, value_name = "FILE", conflicts_with = "vault_cert")]
    pub key: Option<PathBuf>,
    /// The vault the certificate is read from, with --vault-cert: Keyward's
    /// (https://localhost:8443, or https://NAME.vault.azure.net with host names) or Azure's.
    /// It is read with the admin credential of --data; doctor cannot sign in to Azure Key Vault.
    #[arg(long, value_name = "URL", requires = "vault_cert")]
    pub vault_url: Option<String>,
    /// The certificate's name in the vault (--vault-url), instead of --cert: its secret, with
    /// the private key, is read as the app reads it.
    #[arg(long, value_name = "NAME", requires = "vault_url", conflicts_with = "cert")]
    pub vault_cert: Option<String>,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// The SHA-1 thumbprint the app is configured with, as typed (MSAL's `thumbprint`, the
    /// portal's Thumbprint column): colons, spaces and case do not matter.
    #[arg(long, value_name = "HEX")]
    pub thumbprint: Option<String>,
    /// The SHA-256 thumbprint the app is configured with, as typed (MSAL Node's
    /// `thumbprintSha256`).
    #[arg(long, value_name = "HEX")]
    pub thumbprint_sha256: Option<String>,
    /// The scope the app asks for, `<resource>/.default` [default: https://graph.microsoft.com/.default,
    /// which every tenant has: it tests the credential, not your API's scope].
    #[arg(long, value_name = "SCOPE", default_value = DEFAULT_SCOPE, hide_default_value = true)]
    pub scope: String,
    /// Also trust this CA (a Keyward server's keyward-data/tls/ca.pem). Verification is never
    /// switched off.
    #[arg(long, env = "KEYWARD_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// A Keyward server's data directory: with its admin credential, the app and its
    /// certificates are looked up through the management API instead of inferred from the
    /// token endpoint's answer.
    #[arg(long, env = "KEYWARD_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Testing aid, not a fix: act as if the local clock were off by DURATION (e.g. -10m, 90s,
    /// +1h) when comparing it with the server's and signing the assertion, to see what a client
    /// with a wrong clock meets. The machine's clock is not touched.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub clock_skew: Option<String>,
    /// Print JSON ({"ok": ..., "findings": [...]}) for CI.
    #[arg(long)]
    pub json: bool,
}
