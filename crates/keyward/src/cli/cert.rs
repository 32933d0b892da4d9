//! The flags of `keyward cert`: certificate and key files.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};

use super::PasswordArgs;

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Make a self-signed certificate and its key, as an app credential.
    ///
    /// Writes PREFIX.cer (DER certificate, what the Entra portal takes), PREFIX.pem (PEM
    /// certificate), PREFIX.key (PKCS#8 private key, encrypted when a password is set) and
    /// PREFIX.pfx (PKCS#12 with both); with --combined also PREFIX.combined.pem (key and
    /// certificate in one PEM, for AZURE_CLIENT_CERTIFICATE_PATH). Defaults follow Microsoft's recommendation for an app
    /// credential: RSA 2048, SHA-256, valid 12 months from 10 minutes ago.
    ///
    /// On a terminal it asks for a password (press Enter for none). Elsewhere it never asks:
    /// give --password-file, KEYWARD_PASSWORD or --no-password.
    #[command(after_help = "Examples:\n  keyward cert new --subject \"CN=ciam-client-app\"\n  \
        keyward cert new --subject \"CN=api,O=Contoso\" --key-type ec-p256 --days 90 --password-file pw.txt\n  \
        keyward cert new --subject CN=localhost --san localhost --san 127.0.0.1 \\\n      --no-password --out tls/server\n  \
        keyward cert new --subject CN=startup-identity --no-password --combined\n  \
        export AZURE_CLIENT_CERTIFICATE_PATH=$PWD/startup-identity.combined.pem")]
    New(NewArgs),
    /// Show what a certificate or key file holds: thumbprints, dates, subject, key.
    ///
    /// Reads DER and PEM certificates (.cer, .crt, .pem), PKCS#12 (.pfx, .p12) and private keys
    /// (PKCS#8 plain or encrypted, PKCS#1, SEC1, OpenSSL's encrypted PEM). The format is told
    /// from the content, not the file name. "Thumbprint" is the SHA-1 hex the Entra portal shows.
    #[command(after_help = "Examples:\n  keyward cert show ciam-client-app.pfx\n  \
        keyward cert show ciam-client-app.pem --key ciam-client-app.key --password-file pw.txt\n  \
        keyward cert show cert.cer --json")]
    Show(ShowArgs),
    /// Write the private key of a .pfx (or any file holding a key) as a PKCS#8 PEM file.
    ///
    /// What `openssl pkcs12 -in FILE.pfx -nocerts -out FILE.key` does, without the legacy
    /// provider trouble. The new key file is created 0600.
    #[command(after_help = "Examples:\n  keyward cert extract-key app.pfx --no-encrypt\n  \
        keyward cert extract-key app.pfx --password-file pfx-pw.txt --out app.key \\\n      --new-password-file key-pw.txt")]
    ExtractKey(ExtractKeyArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("validity").args(["months", "days"])))]
pub struct NewArgs {
    /// The subject, e.g. "CN=ciam-client-app" or "CN=api,O=Contoso,C=US".
    #[arg(long)]
    pub subject: String,
    /// Path prefix of the files written [default: the subject's CN].
    #[arg(long, value_name = "PREFIX")]
    pub out: Option<PathBuf>,
    /// Key type.
    #[arg(long, default_value = "rsa-2048", value_name = "TYPE",
          value_parser = ["rsa-2048", "rsa-3072", "rsa-4096", "ec-p256", "ec-p384"])]
    pub key_type: String,
    /// Validity in months [default: 12].
    #[arg(long, value_name = "N")]
    pub months: Option<u32>,
    /// Validity in days.
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// A subject alternative name: DNS name, IP address, e-mail or URI (repeatable).
    #[arg(long = "san", value_name = "NAME")]
    pub sans: Vec<String>,
    /// Password for the .key and .pfx. Visible in the process list: prefer --password-file.
    #[arg(long, env = "KEYWARD_PASSWORD", hide_env_values = true, conflicts_with_all = ["password_file", "no_password"])]
    pub password: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE", conflicts_with = "no_password")]
    pub password_file: Option<PathBuf>,
    /// Write the .key unencrypted and the .pfx with an empty password.
    #[arg(long)]
    pub no_password: bool,
    /// Protect the .pfx with 3DES and a SHA-1 MAC, for Windows Server 2016 and older.
    #[arg(long)]
    pub legacy_pfx: bool,
    /// Also write PREFIX.combined.pem: the private key and the certificate in one PEM file
    /// (0600), what AZURE_CLIENT_CERTIFICATE_PATH and `az login --certificate` read.
    #[arg(long)]
    pub combined: bool,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The certificate, PFX or key file.
    pub file: PathBuf,
    /// A private key file to check against the certificate.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExtractKeyArgs {
    /// The .pfx (or other file) holding the key.
    pub file: PathBuf,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Where to write the key, "-" for standard output [default: FILE with the extension .key].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Encrypt the written key with this password. Visible in the process list.
    #[arg(long, env = "KEYWARD_NEW_PASSWORD", hide_env_values = true,
          conflicts_with_all = ["new_password_file", "no_encrypt"])]
    pub new_password: Option<String>,
    /// Encrypt the written key with the password on the first line of this file.
    #[arg(long, value_name = "FILE", conflicts_with = "no_encrypt")]
    pub new_password_file: Option<PathBuf>,
    /// Write the key unencrypted.
    #[arg(long)]
    pub no_encrypt: bool,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
