//! The flags of `keyward vault`: certificates and secrets in the server's vault, and grants.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{PasswordArgs, ServerArgs};

/// Which vault: the server's default vault unless --vault-url says otherwise.
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// The vault's URL [default: the server's URL, whose bare host serves the default vault].
    #[arg(long, env = "KEYWARD_VAULT_URL", value_name = "URL", global = true)]
    pub vault_url: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Certificates: create, import, show, download, list, link to an application.
    #[command(subcommand)]
    Cert(VaultCertCommand),
    /// Secrets: set, show.
    #[command(subcommand)]
    Secret(VaultSecretCommand),
    /// Give an application permissions on the vault (replacing the ones it had there).
    ///
    /// Certificate permissions: get, list, update, create, import, delete, recover, purge, ...;
    /// secret permissions: get, list, set, delete, recover, purge. The article's app needs
    /// `--certificates get --secrets get`.
    #[command(
        after_help = "Examples:\n  keyward vault grant ciam-client-app --certificates get,list --secrets get\n  \
        keyward vault grant 11111111-2222-3333-4444-555555555555 --secrets get,list,set"
    )]
    Grant {
        /// The application: its appId, object id or display name.
        app: String,
        /// Certificate permissions, comma-separated.
        #[arg(long, value_delimiter = ',', value_name = "PERMS")]
        certificates: Vec<String>,
        /// Secret permissions, comma-separated.
        #[arg(long, value_delimiter = ',', value_name = "PERMS")]
        secrets: Vec<String>,
        /// The vault's name [default: the default vault].
        #[arg(long, default_value = keyward_server::DEFAULT_VAULT, value_name = "NAME")]
        vault: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// The content type of the secret behind a vault certificate.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SecretContentType {
    /// `application/x-pem-file`: PKCS#8 key then certificate, as the article reads it.
    Pem,
    /// `application/x-pkcs12`: a PFX without password, base64.
    Pkcs12,
}

#[derive(Debug, Subcommand)]
pub enum VaultCertCommand {
    /// Create a self-signed certificate in the vault (its private key never leaves the vault
    /// unless you download it).
    #[command(
        after_help = "Examples:\n  keyward vault cert create ciam-client-app --subject CN=ciam-client-app --content-type pem\n  \
        keyward vault cert create api-tls --subject CN=api.contoso.test --months 3"
    )]
    Create {
        /// The certificate's name in the vault: letters, digits and '-'.
        name: String,
        /// The subject, e.g. "CN=ciam-client-app".
        #[arg(long, value_name = "DN")]
        subject: String,
        /// The content type of the secret that holds the key.
        #[arg(long, value_enum, default_value = "pkcs12")]
        content_type: SecretContentType,
        /// Validity in months.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1200))]
        months: u32,
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// Import a certificate with its private key: a PFX/P12 or a PEM holding both.
    #[command(
        after_help = "Examples:\n  keyward vault cert import ciam-client-app ciam-client-app.pfx --password-file pw.txt\n  \
        keyward vault cert import web-tls bundle.pem"
    )]
    Import {
        /// The certificate's name in the vault.
        name: String,
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        password: PasswordArgs,
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// Show a certificate: thumbprint, dates, ids.
    Show {
        /// The certificate's name in the vault.
        name: String,
        /// A version id [default: the latest].
        #[arg(id = "object_version", value_name = "VERSION")]
        version: Option<String>,
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// Download a certificate: the certificate alone (.cer, DER), or with its private key
    /// (.pem: key then certificate; .pfx: PKCS#12, AES-256, with --password-file or none).
    #[command(
        after_help = "Examples:\n  keyward vault cert download ciam-client-app --format cer --out ciam-client-app.cer\n  \
        keyward vault cert download ciam-client-app --format pem --out ciam-client-app.pem"
    )]
    Download {
        /// The certificate's name in the vault.
        name: String,
        /// What to write.
        #[arg(long, value_enum)]
        format: DownloadFormat,
        /// The file to write (created 0600 when it holds a private key).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// A version id [default: the latest].
        #[arg(id = "object_version", value_name = "VERSION")]
        version: Option<String>,
        /// The password of a .pfx (first line of this file) [default: none].
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// List the certificates of the vault.
    List {
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// Link a certificate to an application: its latest version is added to the application's
    /// certificates now, and every new version (a renewal by the vault's lifetime action, or a
    /// version made by hand) when it is made. The public part only; the key stays in the vault.
    ///
    /// The old certificate stays on the application, so that clients have the time to switch
    /// (keyward-client's ReloadingCertificate does it by itself); remove it there afterwards,
    /// e.g. with `keyward app cert rotate` or `keyward app cert remove`. Opt-in; undo with
    /// `keyward vault cert unlink`.
    #[command(
        after_help = "Examples:\n  keyward vault cert link ciam-client-app --app ciam-client-app\n  \
        keyward vault cert link api-cert --app 11111111-2222-3333-4444-555555555555 --vault payments"
    )]
    Link {
        /// The certificate's name in the vault.
        name: String,
        /// The application: its appId, object id or display name.
        #[arg(long, value_name = "APP")]
        app: String,
        /// The vault's name [default: the default vault].
        #[arg(long, default_value = keyward_server::DEFAULT_VAULT, value_name = "NAME")]
        vault: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove the link of a certificate to an application: new versions are no longer added
    /// to it. The certificates already added stay on the application.
    #[command(after_help = "Example:\n  keyward vault cert unlink ciam-client-app --app ciam-client-app")]
    Unlink {
        /// The certificate's name in the vault.
        name: String,
        /// The application: its appId, object id or display name.
        #[arg(long, value_name = "APP")]
        app: String,
        /// The vault's name [default: the default vault].
        #[arg(long, default_value = keyward_server::DEFAULT_VAULT, value_name = "NAME")]
        vault: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the applications a certificate is linked to.
    #[command(after_help = "Example:\n  keyward vault cert links ciam-client-app")]
    Links {
        /// The certificate's name in the vault.
        name: String,
        /// The vault's name [default: the default vault].
        #[arg(long, default_value = keyward_server::DEFAULT_VAULT, value_name = "NAME")]
        vault: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// What `keyward vault cert download` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DownloadFormat {
    /// The certificate, DER.
    Cer,
    /// Private key (PKCS#8) then certificate, PEM.
    Pem,
    /// PKCS#12 with the key and certificate.
    Pfx,
}

#[derive(Debug, Subcommand)]
pub enum VaultSecretCommand {
    /// Store a new version of a secret; the value comes from --file or standard input.
    #[command(after_help = "Examples:\n  keyward vault secret set db-password --file pw.txt\n  \
        printf %s \"$TOKEN\" | keyward vault secret set api-token")]
    Set {
        /// The secret's name.
        name: String,
        /// Read the value from this file [default: standard input].
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Its content type, e.g. text/plain.
        #[arg(long)]
        content_type: Option<String>,
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// Print a secret's value (with --json, the whole secret bundle).
    Show {
        /// The secret's name.
        name: String,
        /// A version id [default: the latest].
        #[arg(id = "object_version", value_name = "VERSION")]
        version: Option<String>,
        #[command(flatten)]
        vault: VaultArgs,
    },
}
