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
    pub(crate) managed_identities: Vec<crate::ManagedIdentity>,
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
            managed_identities: Vec::new(),
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

    /// Whether test tokens are allowed.
    pub fn allows_test_tokens(&self) -> bool {
        self.allow_test_tokens
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

    /// Whether the Azure host names mode is on.
    pub fn answers_azure_hosts(&self) -> bool {
        self.azure_hosts
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
        assert!(settings.token_lifetime(Duration::from_secs(10)).is_ok());
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
