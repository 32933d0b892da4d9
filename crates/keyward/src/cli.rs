//! Command-line flags. Parsed here, validated into settings by each command.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

/// Keyward: certificate credentials for applications, without the cloud.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make, inspect and convert certificates and keys.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Run the server over HTTPS: the authority (token service, discovery, customer sign-in,
    /// management API) and the Key Vault-compatible vault, on one origin.
    ///
    /// On first start it creates the data directory: a local CA (tls/ca.pem is what clients
    /// trust), the SQLite database, the tenant with its signing key, the default vault, and a
    /// bootstrap admin application whose certificate the `keyward app`, `user` and `vault`
    /// commands use.
    #[command(
        after_help = "Examples:\n  keyward serve\n  keyward serve --data /var/lib/keyward --listen 0.0.0.0:8443 --public-url https://id.example.test:8443"
    )]
    Serve(ServeArgs),
    /// Manage app registrations of a running server: create, credentials, roles, grants.
    #[command(subcommand)]
    App(AppCommand),
    /// Customer accounts of a running server: create, list, show, disable, enable, reset the
    /// password, delete. What sign-up creates, an administrator can manage here.
    #[command(subcommand)]
    User(UserCommand),
    /// Get an access token with the client credentials grant, from Keyward or Entra ID.
    ///
    /// Prints the token, or with --json the whole response with the decoded header and claims.
    /// The certificate's thumbprint is computed from the certificate. Assertions are PS256 with
    /// x5t#S256 unless --sha1 (RS256 with x5t).
    #[command(after_help = "Examples:\n  \
        keyward token --authority https://localhost:8443/contoso --client-id APPID --cert app.pem --key app.key --scope api://tasks/.default --ca keyward-data/tls/ca.pem\n  \
        keyward token --authority https://login.microsoftonline.com/contoso.onmicrosoft.com --client-id APPID --cert app.pfx --password-file pw --scope https://graph.microsoft.com/.default --json")]
    Token(TokenArgs),
    /// The tenant's token-signing keys.
    #[command(subcommand, name = "signing-key")]
    SigningKey(SigningKeyCommand),
    /// The article, end to end: the server, the app registration, its certificate, and the
    /// sample web app with customer sign-in on http://localhost:3000.
    ///
    /// Starts the server (as `keyward serve`), registers ciam-client-app with the sample's
    /// redirect URIs, adds a client secret, makes a certificate, uploads it, removes the
    /// secret, and starts the sample web app with the certificate. Each step prints the command
    /// that does it by hand. Running it again reuses the app and the certificate. Ctrl-C stops
    /// the server and the app.
    #[command(
        after_help = "Examples:\n  keyward quickstart\n  keyward quickstart --data /tmp/kw --listen 127.0.0.1:9443 --port 3001"
    )]
    Quickstart(QuickstartArgs),
    /// Certificates and secrets in the server's Key Vault-compatible vault, and who may use them.
    ///
    /// The commands speak the Key Vault REST API, as the admin application (which may do
    /// everything in the default vault). Applications get access with `keyward vault grant`.
    #[command(subcommand)]
    Vault(VaultCommand),
}

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

#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// List the signing keys: the active one and retired ones still published.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Make a new signing key; the old one stays published until the tokens it signed expire.
    Rotate {
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The data directory.
    #[arg(long, env = "KEYWARD_DATA", default_value = "keyward-data", value_name = "DIR")]
    pub data: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443", value_name = "ADDR")]
    pub listen: String,
    /// The origin clients use [default: https://localhost:PORT]. Issuers and endpoints use it.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The tenant's name (also answers to NAME.onmicrosoft.com and its GUID). Repeat it for
    /// more tenants; the first is the default, where the admin application lives.
    #[arg(long = "tenant", default_value = "contoso", value_name = "NAME")]
    pub tenants: Vec<String>,
    /// A database URL (sqlite://PATH or postgres://...) [default: the data directory's keyward.db].
    #[arg(long, env = "KEYWARD_DATABASE", hide_env_values = true, value_name = "URL")]
    pub database: Option<String>,
    /// Lifetime of access tokens in seconds (Entra's default is about an hour; short ones are
    /// for testing clients' refresh).
    #[arg(long, default_value_t = 3599, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(10..=86_400))]
    pub token_lifetime: u32,
}

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// The data directory (the server's, and the app's certificate in DIR/quickstart).
    #[arg(long, env = "KEYWARD_DATA", default_value = "keyward-data", value_name = "DIR")]
    pub data: PathBuf,
    /// The address the server listens on.
    #[arg(long, default_value = "127.0.0.1:8443", value_name = "ADDR")]
    pub listen: String,
    /// The sample web app's port (its redirect URIs are http://localhost:PORT/auth/redirect and
    /// http://localhost:PORT).
    #[arg(long, default_value_t = 3000, value_name = "PORT")]
    pub port: u16,
}

/// How `app` commands reach the server.
#[derive(Debug, Args, Clone)]
pub struct ServerArgs {
    /// The server's data directory: its URL, CA and admin credential are read from it.
    #[arg(
        long,
        env = "KEYWARD_DATA",
        default_value = "keyward-data",
        value_name = "DIR",
        global = true
    )]
    pub data: PathBuf,
    /// The server URL [default: the one the running server wrote to the data directory].
    #[arg(long, env = "KEYWARD_SERVER", value_name = "URL", global = true)]
    pub server: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application.
    Create {
        /// Its display name.
        #[arg(long)]
        name: String,
        /// A redirect URI of the web platform (repeatable).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// An identifier URI [default: api://APPID].
        #[arg(long = "identifier-uri", value_name = "URI")]
        identifier_uris: Vec<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the applications.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show one application (by appId, object id or display name).
    Show {
        /// The application.
        app: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete an application and its grants.
    Delete {
        /// The application.
        app: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Certificate credentials.
    #[command(subcommand)]
    Cert(AppCertCommand),
    /// Client secrets.
    #[command(subcommand)]
    Secret(AppSecretCommand),
    /// App roles an application defines as a resource.
    #[command(subcommand)]
    Role(AppRoleCommand),
    /// Grant a resource's app role to a client application (what admin consent does).
    Grant {
        /// The client application.
        client: String,
        /// The resource application.
        resource: String,
        /// The role's value, e.g. Tasks.Read.All.
        role: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCertCommand {
    /// Upload a certificate (.cer, .crt or .pem: the public part only) as a credential.
    Add {
        /// The application.
        app: String,
        /// The certificate file.
        file: PathBuf,
        /// A description (Graph displayName) [default: the subject].
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List an application's certificates: thumbprint, start date and expiry, as the portal.
    List {
        /// The application.
        app: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a certificate by thumbprint (any form) or key id.
    Remove {
        /// The application.
        app: String,
        /// The certificate's thumbprint or key id.
        certificate: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppSecretCommand {
    /// Add a client secret; it is shown once.
    Add {
        /// The application.
        app: String,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        /// Months until it expires (at most 24).
        #[arg(long, default_value_t = 6)]
        months: u32,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List an application's secrets (hint, start and expiry; never the value).
    List {
        /// The application.
        app: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a secret by key id.
    Remove {
        /// The application.
        app: String,
        /// The secret's key id.
        key_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppRoleCommand {
    /// Define an app role on a resource application.
    Add {
        /// The resource application.
        app: String,
        /// The role's value, as it will appear in the roles claim.
        #[arg(long)]
        value: String,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// `keyward user`: customer accounts. USER is an email or an object id.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password comes from --password-file, else it is asked twice on
    /// a terminal, else read from the first line of standard input.
    #[command(
        after_help = "Examples:\n  keyward user create --email alice@example.com --name \"Alice Smith\"\n  \
        keyward user create --email bob@example.com --password-file pw.txt --json"
    )]
    Create {
        /// The sign-in email.
        #[arg(long)]
        email: String,
        /// The display name [default: the email's part before @].
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of this file.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the accounts.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show one account.
    Show {
        /// The account's email or object id.
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Disable an account: it cannot sign in, and its sessions and refresh tokens are revoked.
    Disable {
        /// The account's email or object id.
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Enable a disabled account.
    Enable {
        /// The account's email or object id.
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Set a new password (revokes the account's sessions and refresh tokens).
    ResetPassword {
        /// The account's email or object id.
        user: String,
        /// Read the password from the first line of this file.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete an account.
    Delete {
        /// The account's email or object id.
        user: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Make a self-signed certificate and its key, as an app credential.
    ///
    /// Writes PREFIX.cer (DER certificate, what the Entra portal takes), PREFIX.pem (PEM
    /// certificate), PREFIX.key (PKCS#8 private key, encrypted when a password is set) and
    /// PREFIX.pfx (PKCS#12 with both). Defaults follow Microsoft's recommendation for an app
    /// credential: RSA 2048, SHA-256, valid 12 months from 10 minutes ago.
    ///
    /// On a terminal it asks for a password (press Enter for none). Elsewhere it never asks:
    /// give --password-file, KEYWARD_PASSWORD or --no-password.
    #[command(after_help = "Examples:\n  keyward cert new --subject \"CN=ciam-client-app\"\n  \
        keyward cert new --subject \"CN=api,O=Contoso\" --key-type ec-p256 --days 90 --password-file pw.txt\n  \
        keyward cert new --subject CN=localhost --san localhost --san 127.0.0.1 --no-password --out tls/server")]
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
        keyward cert extract-key app.pfx --password-file pfx-pw.txt --out app.key --new-password-file key-pw.txt")]
    ExtractKey(ExtractKeyArgs),
}

/// Where the password of an existing file comes from.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// The file's password. Visible in the process list: prefer --password-file.
    #[arg(
        long,
        env = "KEYWARD_PASSWORD",
        hide_env_values = true,
        conflicts_with = "password_file"
    )]
    pub password: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
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
    /// Certificates: create, import, show, download, list.
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
        #[arg(long, default_value = "default", value_name = "NAME")]
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Clap checks its definitions only when a command is parsed: a clash in a subcommand
    /// nobody ran would panic at a user's first use. This walks them all.
    #[test]
    fn every_subcommand_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
