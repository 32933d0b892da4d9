//! What a server is started with, validated before anything is created: [`ServeSettings`].
//!
//! The binary builds them from `keyward serve`'s flags; tests and the load generator build them
//! directly. Every refusal is a [`SettingsError`] that says what is wrong, why, and what to do.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use keyward_authority::smtp::SmtpSettings;
use keyward_authority::{Profile, TrustedProxies};
use zeroize::Zeroizing;

use crate::data_dir::DataDir;
use crate::limits::ConnectionLimits;
use crate::master_key::MasterKeySource;

/// The tenant a server has when no other is named.
pub const DEFAULT_TENANT: &str = "contoso";

/// Access tokens live this long unless told otherwise (Entra's default is about an hour).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);

/// The shortest access token lifetime accepted (short ones are for testing clients' refresh).
pub const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(10);

/// The longest access token lifetime accepted: one day.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);

/// The shortest expiry warning window accepted: one day.
pub const MIN_EXPIRY_WARNING: Duration = Duration::from_secs(86_400);

/// The longest expiry warning window accepted: one year.
pub const MAX_EXPIRY_WARNING: Duration = Duration::from_secs(365 * 86_400);

/// Service-principal sign-in records are kept this long unless told otherwise (as Entra keeps
/// sign-in logs: 30 days).
pub const DEFAULT_SIGN_IN_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// A server's validated settings.
///
/// ```
/// # fn main() -> Result<(), keyward_server::SettingsError> {
/// let settings = keyward_server::ServeSettings::new("keyward-data")
///     .public_url("https://id.example.test:8443")?
///     .tenants(["contoso", "fabrikam"])?;
/// assert_eq!(settings.tenant_names()[0], "contoso");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub(crate) data: DataDir,
    pub(crate) public_url: Option<String>,
    pub(crate) tenants: Vec<String>,
    pub(crate) database: Option<String>,
    pub(crate) token_lifetime: Duration,
    pub(crate) profile: Profile,
    pub(crate) master_key: MasterKeySource,
    pub(crate) connections: ConnectionLimits,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) smtp: Option<SmtpSettings>,
    pub(crate) azure_hosts: bool,
    pub(crate) allow_test_tokens: bool,
    pub(crate) allow_time_travel: bool,
    pub(crate) managed_identities: Vec<crate::ManagedIdentity>,
    pub(crate) expiry: crate::expiry::ExpirySettings,
    pub(crate) sign_in_retention: Duration,
    pub(crate) state: Option<keyward_state::Document>,
}

impl ServeSettings {
    /// Settings for a server on the data directory `data` (created on start if missing): the
    /// public URL `https://localhost:PORT` of the listener, the tenant [`DEFAULT_TENANT`], the
    /// directory's SQLite database, tokens that live [`DEFAULT_TOKEN_LIFETIME`], and the default
    /// [`ConnectionLimits`].
    pub fn new(data: impl Into<PathBuf>) -> Self {
        Self {
            data: DataDir::new(data),
            public_url: None,
            tenants: vec![DEFAULT_TENANT.to_owned()],
            database: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            profile: Profile::Development,
            master_key: MasterKeySource::DataDir,
            connections: ConnectionLimits::default(),
            trusted_proxies: TrustedProxies::default(),
            smtp: None,
            azure_hosts: false,
            allow_test_tokens: false,
            allow_time_travel: false,
            state: None,
            managed_identities: Vec::new(),
            expiry: crate::expiry::ExpirySettings::default(),
            sign_in_retention: DEFAULT_SIGN_IN_RETENTION,
        }
    }

    /// The origin clients use, e.g. `https://id.example.test:8443`: issuers and endpoints are
    /// built from it. It must be `https://` (MSAL and azure-identity insist on HTTPS).
    pub fn public_url(mut self, url: &str) -> Result<Self, SettingsError> {
        let url = url.trim_end_matches('/');
        let host = url
            .strip_prefix("https://")
            .ok_or_else(|| SettingsError::PublicUrlNotHttps { url: url.to_owned() })?;
        if host.split(['/', ':']).next().is_none_or(str::is_empty) {
            return Err(SettingsError::PublicUrlWithoutHost { url: url.to_owned() });
        }
        self.public_url = Some(url.to_owned());
        Ok(self)
    }

    /// The tenants, by name: the first is the default one, where the admin application lives.
    pub fn tenants<I, S>(mut self, names: I) -> Result<Self, SettingsError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if names.is_empty() {
            return Err(SettingsError::NoTenant);
        }
        self.tenants = names;
        Ok(self)
    }

    /// A database URL (`sqlite://PATH` or `postgres://...`) instead of the data directory's
    /// SQLite file. Several servers given the same PostgreSQL database act as one service.
    /// `keyward_store::open` checks it on start: it is the one place that chooses the backend.
    pub fn database(mut self, url: &str) -> Self {
        self.database = Some(url.to_owned());
        self
    }

    /// How long access tokens live, from [`MIN_TOKEN_LIFETIME`] to [`MAX_TOKEN_LIFETIME`].
    pub fn token_lifetime(mut self, lifetime: Duration) -> Result<Self, SettingsError> {
        if !(MIN_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME).contains(&lifetime) {
            return Err(SettingsError::TokenLifetimeOutOfRange { lifetime });
        }
        self.token_lifetime = lifetime;
        Ok(self)
    }

    /// The profile: [`Profile::Development`] (the default: helpful errors, open `/metrics`, the
    /// master key in the data directory) or [`Profile::Production`] (Entra's terse errors,
    /// `/metrics` for management API tokens only, and a master key from
    /// [`master_key_file`](Self::master_key_file) or [`master_key`](Self::master_key): a
    /// production start without one is refused).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Takes the master key from `path`, a file of 32 bytes outside the data directory that
    /// only its owner may access (checked on start).
    pub fn master_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.master_key = MasterKeySource::File(path.into());
        self
    }

    /// Takes the master key's 32 bytes from the caller (checked on start).
    pub fn master_key(mut self, bytes: Zeroizing<Vec<u8>>) -> Self {
        self.master_key = MasterKeySource::Bytes(bytes);
        self
    }

    /// The mail server sign-up codes go through, `smtp://host:port` (a relay that needs no
    /// password) or `smtps://user:password@host:port` (implicit TLS), and the sender address.
    /// With it, self-service sign-up mails a one-time code and creates the account only when
    /// the code comes back (ID tokens then say `email_verified: true`); without it, sign-up
    /// creates accounts at once, unverified (`email_verified: false`), as suits development.
    pub fn smtp(mut self, url: &str, from: &str) -> Result<Self, SettingsError> {
        let smtp = SmtpSettings::parse(url, from).map_err(|e| SettingsError::Smtp { reason: e.to_string() })?;
        self.smtp = Some(smtp);
        Ok(self)
    }

    /// Trusts the CA certificates in `pem` (PEM or DER) for the mail server's TLS, besides the
    /// Web PKI roots: for a relay whose certificate a private CA issued. After
    /// [`smtp`](Self::smtp).
    pub fn smtp_ca(mut self, pem: &[u8]) -> Result<Self, SettingsError> {
        let Some(mut smtp) = self.smtp.take() else {
            return Err(SettingsError::Smtp {
                reason: "--smtp-ca is given without --smtp-url; give both".into(),
            });
        };
        let contents = keyward_pki::read(pem, None).map_err(|e| SettingsError::Smtp {
            reason: format!("--smtp-ca: {e}; give a PEM or DER CA certificate"),
        })?;
        if contents.certificates.is_empty() {
            return Err(SettingsError::Smtp {
                reason: "--smtp-ca holds no certificate; give a PEM or DER CA certificate".into(),
            });
        }
        for certificate in &contents.certificates {
            smtp = smtp.trust(certificate.der().to_vec());
        }
        self.smtp = Some(smtp);
        Ok(self)
    }

    /// Whether sign-up verifies emails by a mailed code ([`smtp`](Self::smtp) was given).
    pub fn verifies_email(&self) -> bool {
        self.smtp.is_some()
    }

    /// The timeouts and caps of connections (see [`ConnectionLimits`]); none may be zero.
    pub fn connection_limits(mut self, limits: ConnectionLimits) -> Result<Self, SettingsError> {
        self.connections = limits.check()?;
        Ok(self)
    }

    /// The reverse proxies (by network) whose `X-Forwarded-For` or `Forwarded: for=` names the
    /// client, for throttling sign-ins per client rather than per proxy. Only a request whose TCP
    /// peer is in one of these networks is believed; the chain is read right to left past the
    /// trusted proxies (see [`keyward_authority::forwarded`]). None by default: the headers are
    /// ignored and the TCP peer is the client.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// The Azure host names mode: the server also answers, on the same listener, for
    /// `login.microsoftonline.com`, `login.microsoft.com`, `{tenant}.ciamlogin.com`,
    /// `management.azure.com` and `{vault}.vault.azure.net`, with a certificate from the data
    /// directory's Azure-hosts CA (`tls/azure-hosts-ca.pem`, name-constrained to those domains,
    /// apart from the local CA), and answers each in that service's exact form (issuer,
    /// endpoints), so that code written for Entra and Key Vault runs unchanged once the hosts
    /// file points those names here. Off by default.
    pub fn azure_hosts(mut self, on: bool) -> Self {
        self.azure_hosts = on;
        self
    }

    /// Lets administrators mint test tokens (`POST /admin/api/test-tokens`, `keyward token
    /// mint`): access tokens signed with a tenant's real key for any audience, without a
    /// credential, marked with `keyward_minted: true` and audited. For test servers only: anyone
    /// holding the admin credential can then make tokens every API of the tenant accepts. Off by
    /// default.
    pub fn allow_test_tokens(mut self, on: bool) -> Self {
        self.allow_test_tokens = on;
        self
    }

    /// A declarative state document (resolved: [`keyward_state::resolve`]) applied at start,
    /// before the server answers: `keyward serve --config FILE`. A document that cannot be
    /// applied stops the start ([`Error::State`](crate::Error::State)) and changes nothing.
    pub fn state(mut self, doc: keyward_state::Document) -> Self {
        self.state = Some(doc);
        self
    }

    /// Whether test tokens are allowed.
    pub fn allows_test_tokens(&self) -> bool {
        self.allow_test_tokens
    }

    /// Lets administrators move the server's clock (`POST /admin/api/time`, `keyward time
    /// shift +335d`; [`keyward_authority::time_travel`]): tokens, credentials, sessions, the
    /// vault's lifetime actions and purge dates and the expiry warnings all follow the shifted
    /// clock. For test servers only: a shift expires every credential and token it passes. Off
    /// by default; the server logs a warning at start and at every shift.
    pub fn allow_time_travel(mut self, on: bool) -> Self {
        self.allow_time_travel = on;
        self
    }

    /// Whether time travel is allowed.
    pub fn allows_time_travel(&self) -> bool {
        self.allow_time_travel
    }

    /// Serves a managed identity endpoint for the application `app` (client ID or display name)
    /// on `address` (see [`crate::managed_identity`]). Only a loopback address unless
    /// `any_address`: whoever reaches the endpoint's IMDS path gets the app's tokens, as on an
    /// Azure VM.
    pub fn managed_identity(
        mut self,
        app: &str,
        address: SocketAddr,
        any_address: bool,
    ) -> Result<Self, SettingsError> {
        if !address.ip().is_loopback() && !any_address {
            return Err(SettingsError::ManagedIdentityNotLoopback { address });
        }
        let app = app.trim();
        if app.is_empty() {
            return Err(SettingsError::ManagedIdentityWithoutApp);
        }
        self.managed_identities.push(crate::ManagedIdentity {
            app: app.to_owned(),
            address,
        });
        Ok(self)
    }

    /// How long before a certificate or client secret expires it raises a warning (default
    /// 30 days): one per credential, to the log, the audit log and the
    /// [`expiry_webhook`](Self::expiry_webhook) if given. From one day to one year.
    pub fn expiry_warning(mut self, window: Duration) -> Result<Self, SettingsError> {
        if !(MIN_EXPIRY_WARNING..=MAX_EXPIRY_WARNING).contains(&window) {
            return Err(SettingsError::ExpiryWarningOutOfRange { window });
        }
        let window = time::Duration::try_from(window).map_err(|_| SettingsError::ExpiryWarningOutOfRange { window })?;
        self.expiry.window = window;
        Ok(self)
    }

    /// Posts each expiry warning as JSON to `url`, which must be `https://` (the payload names
    /// applications and their credentials). Deliveries are queued and retried with backoff by a
    /// task of their own: no request waits on them.
    pub fn expiry_webhook(mut self, url: &str) -> Result<Self, SettingsError> {
        let parsed = url::Url::parse(url).map_err(|e| SettingsError::ExpiryWebhook {
            reason: format!(
                "--expiry-webhook {url:?} is not a URL ({e}); give one such as https://hooks.example.com/keyward"
            ),
        })?;
        if parsed.scheme() != "https" {
            return Err(SettingsError::ExpiryWebhook {
                reason: format!(
                    "--expiry-webhook {url} is not https://: warnings name applications and credentials and must not cross the network in clear text; give an https:// URL (and --expiry-webhook-ca if its certificate comes from a private CA)"
                ),
            });
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(SettingsError::ExpiryWebhook {
                reason: format!(
                    "--expiry-webhook {url} names no host; give one such as https://hooks.example.com/keyward"
                ),
            });
        }
        let extra_roots = self.expiry.webhook.take().map(|w| w.extra_roots).unwrap_or_default();
        self.expiry.webhook = Some(crate::expiry::Webhook {
            url: parsed.to_string(),
            extra_roots,
        });
        Ok(self)
    }

    /// Trusts the CA certificates in `pem` (PEM or DER) for the expiry webhook's TLS, besides
    /// the Web PKI roots: for a receiver whose certificate a private CA issued. After
    /// [`expiry_webhook`](Self::expiry_webhook).
    pub fn expiry_webhook_ca(mut self, pem: &[u8]) -> Result<Self, SettingsError> {
        let Some(webhook) = self.expiry.webhook.as_mut() else {
            return Err(SettingsError::ExpiryWebhook {
                reason: "--expiry-webhook-ca is given without --expiry-webhook; give both".into(),
            });
        };
        let contents = keyward_pki::read(pem, None).map_err(|e| SettingsError::ExpiryWebhook {
            reason: format!("--expiry-webhook-ca: {e}; give a PEM or DER CA certificate"),
        })?;
        if contents.certificates.is_empty() {
            return Err(SettingsError::ExpiryWebhook {
                reason: "--expiry-webhook-ca holds no certificate; give a PEM or DER CA certificate".into(),
            });
        }
        webhook
            .extra_roots
            .extend(contents.certificates.iter().map(|c| c.der().to_vec()));
        Ok(self)
    }

    /// Where the expiry watch reads the time instead of the server's clock, and how often it
    /// checks (hourly by default). For tests that move only the watch months ahead; `keyward
    /// serve` has no flag for it (time travel moves the whole server: [`Self::allow_time_travel`]).
    #[doc(hidden)]
    pub fn expiry_clock(mut self, clock: std::sync::Arc<dyn keyward_authority::clock::Clock>, every: Duration) -> Self {
        self.expiry.clock = Some(clock);
        self.expiry.every = every.max(Duration::from_millis(10));
        self
    }

    /// The expiry warning window.
    pub fn expiry_warning_window(&self) -> Duration {
        Duration::try_from(self.expiry.window).unwrap_or_default()
    }

    /// The expiry webhook's URL, if one is set.
    pub fn expiry_webhook_url(&self) -> Option<&str> {
        self.expiry.webhook.as_ref().map(|w| w.url.as_str())
    }

    /// Whether the Azure host names mode is on.
    pub fn answers_azure_hosts(&self) -> bool {
        self.azure_hosts
    }

    /// How long service-principal sign-in records are kept (default
    /// [`DEFAULT_SIGN_IN_RETENTION`]); older ones are deleted by a background task. At least one
    /// second.
    pub fn sign_in_retention(mut self, retention: Duration) -> Result<Self, SettingsError> {
        if retention < Duration::from_secs(1) {
            return Err(SettingsError::SignInRetentionTooShort { retention });
        }
        self.sign_in_retention = retention;
        Ok(self)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.data
    }

    /// The tenants' names, the default first.
    pub fn tenant_names(&self) -> &[String] {
        &self.tenants
    }

    /// The public URL for a server listening on `port`: the one given, else
    /// `https://localhost:PORT`.
    pub(crate) fn public_url_for(&self, port: u16) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("https://localhost:{port}"))
    }

    /// The database URL: the one given, else the data directory's SQLite file.
    pub(crate) fn database_url(&self) -> String {
        self.database.clone().unwrap_or_else(|| self.data.database_url())
    }
}

/// Settings that cannot make a server.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The public URL is not `https://`.
    #[error(
        "the public URL {url} is not an https:// URL: MSAL and azure-identity insist on HTTPS; give one such as https://localhost:8443"
    )]
    PublicUrlNotHttps {
        /// The URL given.
        url: String,
    },
    /// The public URL names no host.
    #[error("the public URL {url} names no host; give one such as https://localhost:8443")]
    PublicUrlWithoutHost {
        /// The URL given.
        url: String,
    },
    /// No tenant was named.
    #[error("no tenant: a server needs at least one, where its admin application lives; name one, e.g. contoso")]
    NoTenant,
    /// The token lifetime is too short or too long.
    #[error(
        "an access token lifetime of {} s is out of range: clients need at least 10 s to use a token and Entra issues none longer than a day; give 10 to 86400 seconds",
        lifetime.as_secs()
    )]
    TokenLifetimeOutOfRange {
        /// The lifetime given.
        lifetime: Duration,
    },
    /// The sign-in retention is under a second.
    #[error(
        "a sign-in retention of {retention:?} would delete sign-in records as they are written; give at least 1s, e.g. 30d"
    )]
    SignInRetentionTooShort {
        /// The retention given.
        retention: Duration,
    },
    /// A connection timeout or cap is zero.
    #[error("{limit} is zero: no client could connect or finish a request; give a positive value")]
    ZeroConnectionLimit {
        /// Which limit.
        limit: &'static str,
    },
    /// A managed identity endpoint on an address other hosts can reach, not allowed.
    #[error(
        "a managed identity endpoint on {address} could be reached from other machines, and anyone reaching it gets the app's tokens; listen on 127.0.0.1 (or [::1]), or allow it explicitly with --managed-identity-any-address"
    )]
    ManagedIdentityNotLoopback {
        /// The address given.
        address: SocketAddr,
    },
    /// A managed identity without an application.
    #[error(
        "a managed identity needs an application: give its client ID or display name, e.g. --managed-identity startup-identity"
    )]
    ManagedIdentityWithoutApp,
    /// The expiry warning window is too short or too long.
    #[error(
        "an expiry warning window of {} days is out of range: give 1 to 365 days, e.g. --expiry-warning 30d",
        window.as_secs() / 86_400
    )]
    ExpiryWarningOutOfRange {
        /// The window given.
        window: Duration,
    },
    /// The expiry webhook's URL or CA cannot be used.
    #[error("{reason}")]
    ExpiryWebhook {
        /// What is wrong and what to give instead.
        reason: String,
    },
    /// The SMTP URL or the sender address cannot be used.
    #[error("{reason}")]
    Smtp {
        /// What is wrong and what to give instead.
        reason: String,
    },
}

/// A database URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_must_be_https_with_a_host() {
        let settings = ServeSettings::new("d");
        assert!(matches!(
            settings.clone().public_url("http://localhost:8443"),
            Err(SettingsError::PublicUrlNotHttps { .. })
        ));
        assert!(matches!(
            settings.clone().public_url("https://:8443"),
            Err(SettingsError::PublicUrlWithoutHost { .. })
        ));
        let ok = settings.public_url("https://id.example.test:8443/").unwrap();
        assert_eq!(ok.public_url_for(1), "https://id.example.test:8443");
    }

    #[test]
    fn without_a_public_url_the_listeners_port_is_used() {
        assert_eq!(ServeSettings::new("d").public_url_for(9443), "https://localhost:9443");
    }

    #[test]
    fn tenants_and_lifetime_are_checked() {
        let settings = ServeSettings::new("d");
        assert_eq!(
            settings.clone().tenants(Vec::<String>::new()).unwrap_err(),
            SettingsError::NoTenant
        );
        assert!(settings.clone().token_lifetime(Duration::from_secs(9)).is_err());
        assert!(settings.clone().token_lifetime(Duration::from_secs(86_401)).is_err());
        assert!(settings.clone().token_lifetime(Duration::from_secs(10)).is_ok());
        assert!(settings.clone().sign_in_retention(Duration::from_millis(999)).is_err());
        assert!(settings.sign_in_retention(Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn connection_limits_are_checked() {
        let mut limits = ConnectionLimits {
            max_connections_per_address: 0,
            ..ConnectionLimits::default()
        };
        assert_eq!(
            ServeSettings::new("d").connection_limits(limits).unwrap_err(),
            SettingsError::ZeroConnectionLimit {
                limit: "the per-address connection cap"
            }
        );
        limits.max_connections_per_address = 4096;
        limits.header_read_timeout = Duration::from_secs(2);
        let settings = ServeSettings::new("d").connection_limits(limits).unwrap();
        assert_eq!(settings.connections, limits);
    }

    #[test]
    fn passwords_are_kept_out_of_messages() {
        assert_eq!(redact("postgres://u:secret@db/x"), "postgres://***@db/x");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn expiry_settings_are_checked() {
        let settings = ServeSettings::new("d");
        assert_eq!(settings.expiry_warning_window(), Duration::from_secs(30 * 86_400));
        assert!(settings.clone().expiry_warning(Duration::from_secs(3600)).is_err());
        assert!(
            settings
                .clone()
                .expiry_warning(Duration::from_secs(400 * 86_400))
                .is_err()
        );
        let week = settings
            .clone()
            .expiry_warning(Duration::from_secs(7 * 86_400))
            .unwrap();
        assert_eq!(week.expiry_warning_window(), Duration::from_secs(7 * 86_400));
        let refused = settings
            .clone()
            .expiry_webhook("http://hooks.example.com/x")
            .unwrap_err();
        assert!(refused.to_string().contains("not https://"), "{refused}");
        assert!(settings.clone().expiry_webhook("not a url").is_err());
        assert!(
            settings
                .clone()
                .expiry_webhook_ca(b"x")
                .unwrap_err()
                .to_string()
                .contains("without --expiry-webhook")
        );
        let hooked = settings.expiry_webhook("https://hooks.example.com/keyward").unwrap();
        assert_eq!(hooked.expiry_webhook_url(), Some("https://hooks.example.com/keyward"));
        assert!(hooked.expiry_webhook_ca(b"not a certificate").is_err());
    }

    #[test]
    fn mail_settings_are_checked() {
        let settings = ServeSettings::new("d");
        assert!(!settings.verifies_email());
        let with_mail = settings
            .clone()
            .smtp("smtp://127.0.0.1:2525", "keyward@example.com")
            .unwrap();
        assert!(with_mail.verifies_email());
        for (url, from) in [
            ("http://x", "a@b.example"),
            ("smtp://u@x", "a@b.example"),
            ("smtp://x", "nobody"),
        ] {
            let e = settings.clone().smtp(url, from).unwrap_err();
            assert!(matches!(e, SettingsError::Smtp { .. }), "{url} {from}: {e}");
        }
        assert!(
            settings
                .clone()
                .smtp_ca(b"x")
                .unwrap_err()
                .to_string()
                .contains("without --smtp-url")
        );
        assert!(with_mail.clone().smtp_ca(b"not a certificate").is_err());
        let key = keyward_pki::PrivateKey::generate(keyward_pki::KeyType::EcP256).unwrap();
        let ca = keyward_pki::CertificateSpec::new(keyward_pki::Name::parse("CN=Mail CA").unwrap())
            .certificate_authority()
            .self_signed(&key)
            .unwrap();
        assert!(with_mail.smtp_ca(ca.pem().as_bytes()).unwrap().verifies_email());
    }
}
