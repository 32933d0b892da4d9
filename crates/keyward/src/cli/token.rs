//! The flags of `keyward token`: the client credentials grant.

use std::path::PathBuf;

use clap::{ArgGroup, Args};

use super::PasswordArgs;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("credential").required(true).args(["cert", "secret", "secret_file"])))]
pub struct TokenArgs {
    /// The authority: https://HOST:PORT/TENANT, https://login.microsoftonline.com/TENANT or https://SUB.ciamlogin.com/.
    #[arg(long, env = "KEYWARD_AUTHORITY", value_name = "URL")]
    pub authority: String,
    /// The application (client) id.
    #[arg(long, env = "KEYWARD_CLIENT_ID", value_name = "ID")]
    pub client_id: String,
    /// The certificate: a PEM or DER certificate (with --key), or a PEM/PFX holding both.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The private key, when not in the --cert file.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// A client secret. Visible in the process list: prefer --secret-file or KEYWARD_CLIENT_SECRET.
    #[arg(long, env = "KEYWARD_CLIENT_SECRET", hide_env_values = true, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Read the client secret from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// The scope, e.g. api://tasks/.default (repeatable).
    #[arg(long = "scope", required = true, value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Also trust this CA (e.g. keyward-data/tls/ca.pem). Verification is never switched off.
    #[arg(long, env = "KEYWARD_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Check that the certificate has this thumbprint (SHA-1 or SHA-256, any form).
    #[arg(long, value_name = "THUMBPRINT", requires = "cert")]
    pub thumbprint: Option<String>,
    /// Sign RS256 and send x5t (SHA-1), as older MSAL versions do.
    #[arg(long, requires = "cert")]
    pub sha1: bool,
    /// Send the certificate chain in x5c.
    #[arg(long, requires = "cert")]
    pub x5c: bool,
    /// Print the whole response, with the token's decoded header and claims.
    #[arg(long)]
    pub json: bool,
}
