//! The flags of `keyward serve`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The data directory. `:memory:` makes a temporary one (printed at start, with the
    /// `--data` the other commands need to reach the server) that is removed when the server
    /// stops (SIGINT or SIGTERM): for throwaway runs in tests and CI.
    #[arg(long, env = "KEYWARD_DATA", default_value = "keyward-data", value_name = "DIR")]
    pub data: PathBuf,
    /// The address to listen on. Port 0 picks a free port: the line `keyward: listening on URL`
    /// (and --ready-file) says which.
    #[arg(long, default_value = "127.0.0.1:8443", value_name = "ADDR")]
    pub listen: String,
    /// Once the server answers, write its URL (e.g. https://localhost:43121) to this file,
    /// atomically (a temporary file renamed): a script waits for the file, then reads it.
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,
    /// Let administrators mint test tokens (`keyward token mint`, POST /admin/api/test-tokens):
    /// tokens signed with the tenant's real key, for any audience, without a credential, marked
    /// with the claim keyward_minted: true and audited. For test servers only.
    #[arg(long)]
    pub allow_test_tokens: bool,
    /// Let administrators move the server's clock (`keyward time shift +335d`, POST
    /// /admin/api/time): tokens, certificates, sessions, vault auto-renewal and expiry warnings
    /// follow it. For test servers only.
    #[arg(long)]
    pub allow_time_travel: bool,
    /// The origin clients use [default: https://localhost:PORT]. Issuers and endpoints use it.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The tenant's name (also answers to NAME.onmicrosoft.com and its GUID). Repeat it for
    /// more tenants; the first is the default, where the admin application lives
    /// [default: contoso, or the --config file's tenants].
    #[arg(long = "tenant", value_name = "NAME")]
    pub tenants: Vec<String>,
    /// Apply this declarative state file (TOML: tenants, apps, users, vaults; see
    /// `keyward apply --help` and docs/config.md) at start, before the server answers. A file
    /// that cannot be applied stops the start with its errors, each naming its line, and
    /// nothing of it is applied. Applying the same file at every start changes nothing.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A database URL (sqlite://PATH or postgres://...) [default: the data directory's keyward.db].
    #[arg(long, env = "KEYWARD_DATABASE", hide_env_values = true, value_name = "URL")]
    pub database: Option<String>,
    /// Lifetime of access tokens in seconds (Entra's default is about an hour; short ones are
    /// for testing clients' refresh).
    #[arg(long, default_value_t = 3599, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(10..=86_400))]
    pub token_lifetime: u32,
    /// How long service-principal sign-in records (`keyward app sign-ins`) are kept: 90s, 12h,
    /// 30d. Older ones are deleted in the background.
    #[arg(long, default_value = "30d", value_name = "DURATION", value_parser = super::app::parse_age)]
    pub sign_in_retention: time::Duration,
    /// development: helpful errors, open /metrics, the master key in the data directory.
    /// production: Entra's terse errors (nothing about registrations, an unknown client and a
    /// wrong credential look alike), /metrics only with a management API token, and the master
    /// key from --master-key-file or KEYWARD_MASTER_KEY.
    #[arg(long, env = "KEYWARD_PROFILE", value_enum, default_value_t = ServeProfile::Development, value_name = "PROFILE")]
    pub profile: ServeProfile,
    /// Read the master key (32 bytes, as `keyward master-key new --out` writes it) from this
    /// file, which must be outside the data directory and readable by its owner only. Or set
    /// KEYWARD_MASTER_KEY to the key in base64 (`keyward master-key new` prints one).
    #[arg(long, value_name = "PATH")]
    pub master_key_file: Option<PathBuf>,
    /// Connections open at once, in total; more are closed as soon as they are accepted.
    #[arg(long, default_value_t = keyward_server::limits::MAX_CONNECTIONS, value_name = "N")]
    pub max_connections: usize,
    /// Connections open at once from one client address (loopback included); more are closed
    /// as soon as they are accepted. Raise it for load generators and proxies on one address.
    #[arg(long, default_value_t = keyward_server::limits::MAX_CONNECTIONS_PER_ADDRESS, value_name = "N")]
    pub max_connections_per_address: usize,
    /// A reverse proxy's network (CIDR, e.g. 10.0.0.0/8 or 127.0.0.1/32) whose X-Forwarded-For
    /// (or Forwarded: for=) names the client, so that sign-ins are throttled per client and not
    /// per proxy. Repeat it for more; KEYWARD_TRUSTED_PROXIES takes a comma-separated list. Only
    /// requests from these addresses are believed; without it the headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "KEYWARD_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub trusted_proxies: Vec<keyward_server::Cidr>,
    /// The mail server that sign-up codes go through: smtp://HOST:PORT (a relay needing no
    /// password), smtp://USER:PASSWORD@HOST:587 (STARTTLS, required) or
    /// smtps://USER:PASSWORD@HOST:465 (implicit TLS). With it, sign-up mails a
    /// one-time code and creates the account only when the code comes back; without it, sign-up
    /// creates accounts at once with email_verified false (for development).
    #[arg(long, env = "KEYWARD_SMTP_URL", hide_env_values = true, value_name = "URL")]
    pub smtp_url: Option<String>,
    /// The sender address of the codes.
    #[arg(
        long,
        default_value = "keyward@localhost",
        value_name = "ADDR",
        requires = "smtp_url"
    )]
    pub smtp_from: String,
    /// Trust this CA certificate (PEM) for the mail server's TLS, besides the public roots.
    #[arg(long, value_name = "FILE", requires = "smtp_url")]
    pub smtp_ca: Option<PathBuf>,
    /// Warn this long before an application's certificate or client secret expires: 30d, 12h,
    /// or a number of days (1 to 365 days). Each credential raises one warning: a log line, an
    /// audit row on the application's page, and a POST to --expiry-webhook if given.
    #[arg(long, default_value = "30d", value_name = "DURATION", value_parser = parse_window)]
    pub expiry_warning: std::time::Duration,
    /// POST each expiry warning as JSON to this https:// URL (http:// is refused). Deliveries
    /// are queued and retried with backoff (5 attempts); no request waits on them.
    #[arg(long, env = "KEYWARD_EXPIRY_WEBHOOK", value_name = "URL")]
    pub expiry_webhook: Option<String>,
    /// Trust this CA certificate (PEM) for the webhook's TLS, besides the public roots.
    #[arg(long, value_name = "FILE", requires = "expiry_webhook")]
    pub expiry_webhook_ca: Option<PathBuf>,
    /// Also answer as Microsoft's hosts, on the same listener: login.microsoftonline.com,
    /// login.microsoft.com, login.windows.net, TENANT.ciamlogin.com, management.azure.com and
    /// VAULT.vault.azure.net, each in that service's own form (issuer, endpoints, Key Vault's
    /// challenge), so that code written for Entra and Key Vault runs unchanged. Point the names
    /// here with `keyward hosts`; their certificates come from the data directory's separate
    /// Azure-hosts CA (tls/azure-hosts-ca.pem, name-constrained to those domains), which you
    /// give to test processes only (NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE). Listen on port
    /// 443 (e.g. --listen 127.0.0.1:443) for the clients' default URLs.
    #[arg(long)]
    pub azure_hosts: bool,
    /// Serve a managed identity endpoint for an application (its client ID or display name),
    /// as APP or APP=ADDR (default 127.0.0.1 on a free port): App Service's IDENTITY_ENDPOINT +
    /// IDENTITY_HEADER protocol and IMDS's /metadata/identity/oauth2/token, so that
    /// ManagedIdentityCredential and DefaultAzureCredential get the app's tokens with no secret
    /// or certificate in its environment. The environment to give the app is written to
    /// DATA/managed-identity/APP.env. Repeat it for more apps (each gets its own endpoint).
    #[arg(long = "managed-identity", value_name = "APP[=ADDR]")]
    pub managed_identities: Vec<String>,
    /// Let --managed-identity listen on a non-loopback address (anyone who reaches it gets the
    /// app's tokens, as on an Azure VM).
    #[arg(long, requires = "managed_identities")]
    pub managed_identity_any_address: bool,
}

/// `--profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServeProfile {
    /// Helpful errors; for a developer's machine and tests.
    Development,
    /// Terse errors, protected /metrics, the master key outside the data directory.
    Production,
}

/// `--expiry-warning`: `30d`, `12h`, or a bare number of days (as `--expiring` reads them).
fn parse_window(text: &str) -> Result<std::time::Duration, String> {
    super::app::parse_window(text).map(|window| window.unsigned_abs())
}
