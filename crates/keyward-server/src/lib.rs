//! Keyward's server launcher: [`ServeSettings`] validated up front, then [`start`] on a listener
//! the caller bound, serving the authority and the vault on one HTTPS origin until a shutdown
//! future completes.
//!
//! `keyward serve` is flags → [`ServeSettings`] → bind → [`start`] → wait for a signal; tests
//! and the load generator bind `127.0.0.1:0` and start servers the same way, in-process:
//!
//! ```no_run
//! # async fn run() -> Result<(), keyward_server::Error> {
//! let settings = keyward_server::ServeSettings::new("keyward-data").tenants(["contoso", "fabrikam"])?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = keyward_server::start(settings, listener, async {
//!     stopped.await.ok();
//! })
//! .await?;
//! println!("{}/{}/", server.public_url(), server.tenant_name());
//! stop.send(()).ok();
//! server.wait().await
//! # }
//! ```
//!
//! What [`start`] does, in order: the [data directory](DataDir) (created on first start), TLS
//! from the directory's local CA, the master key, the database (`keyward_store::open`), the
//! authority and its tenants, the bootstrap admin application, the vault, the router, and
//! `server.json` (which the CLI reads to find the server). In the background: the directory
//! refresh, the vault's lifetime actions, and the credential expiry watch (warnings to the log,
//! the audit log and the optional webhook; see [`ServeSettings::expiry_warning`]).
//! Connections are held to the [`ConnectionLimits`] of the settings: TLS handshake, header and
//! idle timeouts, caps in total and per client address, HTTP/2 stream limits. Behind a reverse proxy,
//! [`ServeSettings::trusted_proxies`] names the proxies whose `X-Forwarded-For` gives the client's
//! address (sign-ins are throttled per client address). The library reads no environment
//! variable and installs no signal handler or logger: that is the binary's business.
//!
//! The [`Profile`] decides how much the server tells callers: development (the default) answers
//! helpfully and keeps `master.key` in the data directory; production answers as tersely as
//! Entra, serves `/metrics` to management API tokens only, and takes the master key from a
//! [`MasterKeySource`] outside the data directory (refusing to start without one).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bootstrap;
pub mod data_dir;
mod error;
mod expiry;
mod export;
pub mod limits;
mod listener;
pub mod managed_identity;
mod master_key;
mod settings;
pub mod state;
pub mod tls;
mod vault;

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use keyward_authority::{Authority, Config, MasterKey};
use keyward_vault::Vaults;
use tokio::task::JoinHandle;
use uuid::Uuid;
use zeroize::Zeroizing;

pub use data_dir::{AdminInfo, DataDir, ServerInfo};
pub use error::{Error, Result};
pub use keyward_authority::azure_hosts;
pub use keyward_authority::{Cidr, CidrError, DirectoryRole, Profile, TrustedProxies};
pub use limits::ConnectionLimits;
pub use managed_identity::{ManagedIdentity, ManagedIdentityEndpoint};
pub use master_key::{MasterKeyError, MasterKeySource};
pub use settings::{
    DEFAULT_SIGN_IN_RETENTION, DEFAULT_TENANT, DEFAULT_TOKEN_LIFETIME, MAX_EXPIRY_WARNING, MAX_TOKEN_LIFETIME,
    MIN_EXPIRY_WARNING, MIN_TOKEN_LIFETIME, ServeSettings, SettingsError,
};
pub use tls::{AZURE_HOSTS_CA, CaChange, LOCAL_CA};

/// The vault the bare host name serves, which `start` creates with the admin allowed everything.
pub use keyward_vault::DEFAULT_VAULT;

use data_dir::Access;

/// How often a server checks whether another one sharing the database changed the directory,
/// besides the notifications PostgreSQL sends at once (the fallback for notifications lost with
/// a connection).
const DIRECTORY_CHECK: Duration = Duration::from_secs(1);

/// How often noted credential usage (sign-in records, last uses) is written to the database.
/// Last uses are written at most once a minute per credential whatever this is.
const USAGE_FLUSH: Duration = Duration::from_secs(1);

/// How long requests in flight may finish once shutdown begins.
const GRACE: Duration = Duration::from_secs(10);

/// A running server: it listens, answers, and has written `server.json`.
///
/// It stops when the shutdown future given to [`start`] completes (requests in flight get 10 s
/// to finish); [`Server::wait`] then returns and removes `server.json`. Dropping it without
/// waiting leaves the server running on the runtime until the runtime ends.
pub struct Server {
    public_url: String,
    local_addr: SocketAddr,
    tenant_name: String,
    tenant_id: Uuid,
    data_dir: DataDir,
    profile: Profile,
    has_administrator: bool,
    local_ca: CaChange,
    serving: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
    authority: Arc<Authority>,
    managed_identities: Vec<ManagedIdentityEndpoint>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("public_url", &self.public_url)
            .field("local_addr", &self.local_addr)
            .field("tenant_name", &self.tenant_name)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// The origin clients use, e.g. `https://localhost:8443`.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The default tenant's name (the first of the settings' tenants).
    pub fn tenant_name(&self) -> &str {
        &self.tenant_name
    }

    /// The default tenant's id.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.data_dir
    }

    /// The profile it runs: development (helpful) or production (terse).
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Whether, when it started, a user of the default tenant held a directory role (could sign
    /// in to the admin center).
    pub fn has_administrator(&self) -> bool {
        self.has_administrator
    }

    /// What this start did to the local CA (`tls/ca.pem`): kept it, made it, or made it again
    /// because the names the server serves changed (then whoever trusted the old one must trust
    /// the new one: `keyward trust`).
    pub fn local_ca(&self) -> CaChange {
        self.local_ca
    }

    /// The managed identity endpoints it serves.
    pub fn managed_identities(&self) -> &[ManagedIdentityEndpoint] {
        &self.managed_identities
    }

    /// Serves until the shutdown future completes and requests in flight are done; then stops
    /// the background work (directory refresh, certificate renewal, expiry watch and webhook,
    /// credential usage), writes the credential usage noted since the last write, and removes
    /// `server.json`.
    pub async fn wait(self) -> Result<()> {
        let served = self.serving.await;
        for task in &self.background {
            task.abort();
        }
        if let Err(e) = self.authority.flush_usage(true).await {
            tracing::warn!(error = %e, "writing the last credential usage at shutdown failed");
        }
        std::fs::remove_file(self.data_dir.path("server.json")).ok();
        served?.map_err(Error::Serve)
    }
}

/// Starts a server on `listener` (bound by the caller, e.g. to `127.0.0.1:0`) with `settings`;
/// it serves on the current tokio runtime until `shutdown` completes. Returns once the server
/// answers requests and `server.json` is written.
pub async fn start(
    settings: ServeSettings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Server> {
    let dir = settings.data.clone();
    // Before anything is made: a production start without a proper key stops here.
    let external = settings.master_key.external(settings.profile, dir.root())?;
    dir.create()?;
    let master = match external {
        Some(bytes) => bytes,
        None => master_key::data_dir_key(&dir)?,
    };
    listener.set_nonblocking(true).map_err(Error::Listener)?;
    let local_addr = listener.local_addr().map_err(Error::Listener)?;
    let public_url = settings.public_url_for(local_addr.port());
    let (tls, local_ca) = tls::server_config(&dir, &tls_hosts(&public_url), settings.azure_hosts)?;

    let database = settings.database_url();
    let store = keyward_store::open(&database).await.map_err(|source| Error::Database {
        url: settings::redact(&database),
        source,
    })?;
    for file in ["keyward.db", "keyward.db-wal", "keyward.db-shm"] {
        dir.restrict(file);
    }
    let mut config = Config::new(&public_url);
    config.token_lifetime = time::Duration::try_from(settings.token_lifetime).unwrap_or(time::Duration::HOUR);
    config.profile = settings.profile;
    config.trusted_proxies = settings.trusted_proxies.clone();
    config.smtp = settings.smtp.clone();
    config.azure_hosts = settings.azure_hosts;
    config.allow_test_tokens = settings.allow_test_tokens;
    config.allow_time_travel = settings.allow_time_travel;
    if settings.allow_time_travel {
        tracing::warn!(
            "TIME TRAVEL ALLOWED (--allow-time-travel): administrators can move this server's clock; test servers only"
        );
    }
    let authority = Arc::new(Authority::open(Arc::clone(&store), master_key(&dir, &master)?, config).await?);
    let mut tenants = Vec::new();
    for name in &settings.tenants {
        // A tenant the state document declares is made with its id (fixed, or derived from its
        // name), so that the document's apply finds it as declared.
        let id = settings.state.as_ref().and_then(|doc| {
            doc.tenants
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(name))
                .map(|t| t.id.unwrap_or_else(|| keyward_state::ids::tenant_id(&t.name)))
        });
        let entry = match id {
            Some(_) if authority.snapshot().tenant(&name.to_lowercase()).is_some() => {
                authority.ensure_tenant(name).await?
            }
            Some(id) => authority.ensure_tenant_with_id(name, Some(id)).await?,
            None => authority.ensure_tenant(name).await?,
        };
        tenants.push(entry);
    }
    let tenant = tenants.first().cloned().ok_or(SettingsError::NoTenant)?;
    bootstrap::ensure_admin(&authority, &tenant, &dir).await?;
    let vaults = vault::open(
        &authority,
        Arc::clone(&store),
        master_key(&dir, &master)?,
        &tenant,
        &dir,
    )
    .await?;
    let store_cluster = store.cluster();
    let admin_center = Arc::new(keyward_admin::AdminCenter::new(
        Arc::clone(&authority),
        Arc::clone(&vaults),
        Arc::clone(&store),
        master_key(&dir, &master)?,
        &tenant.tenant.name,
    ));
    let (managed_identities, identity_tasks) =
        managed_identity::start(&authority, tenant.tenant.id, &dir, &settings.managed_identities).await?;
    // Servers sharing the database take turns: the one holding the lease runs the passes; it
    // lapses after two missed passes.
    let lifetime_lease = store_cluster.map(|cluster| {
        cluster.lease(
            vault::LIFETIME_ACTIONS_LEASE,
            uuid::Uuid::new_v4(),
            vault::LIFETIME_ACTIONS_EVERY * 2 + vault::LIFETIME_ACTIONS_EVERY / 2,
        )
    });
    let mut background = vec![
        tokio::spawn(Arc::clone(&authority).follow_store(DIRECTORY_CHECK)),
        tokio::spawn(Arc::clone(&vaults).run_lifetime_actions(vault::LIFETIME_ACTIONS_EVERY, lifetime_lease)),
        tokio::spawn(Arc::clone(&authority).run_usage(USAGE_FLUSH, settings.sign_in_retention)),
    ];
    background.extend(identity_tasks);
    let export = Arc::new(export::Export {
        authority: Arc::clone(&authority),
        vaults: Arc::clone(&vaults),
        store: Arc::clone(&store),
        admin_app_id: dir
            .read_json::<AdminInfo>("admin/admin.json")
            .ok()
            .and_then(|info| Uuid::parse_str(&info.app_id).ok()),
        managed_identities: managed_identities.iter().map(|m| m.app.clone()).collect(),
        admin_tenant: tenant.tenant.id,
    });
    background.extend(expiry::start(&authority, &settings.expiry)?);
    let state = Arc::new(state::StateService::new(
        Arc::clone(&authority),
        Arc::clone(&vaults),
        Arc::clone(&store),
        tenant.tenant.id,
    ));
    if let Some(doc) = &settings.state {
        let plan = state.apply(doc, false, "keyward serve --config").await?;
        for change in &plan.changes {
            tracing::info!(%change, "state applied at start");
        }
    }
    let has_administrator = !authority.directory_role_assignments(tenant.tenant.id).await?.is_empty();

    let info = ServerInfo {
        url: public_url.clone(),
        tenant: tenant.tenant.name.clone(),
        pid: std::process::id(),
    };
    dir.write_json("server.json", &info, Access::Public)?;
    let serving = listener::serve(
        router(Arc::clone(&authority), vaults, admin_center)
            .merge(state::router(state, Arc::clone(&authority)))
            .merge(export::router(export)),
        tls,
        listener,
        settings.connections,
        shutdown,
        GRACE,
    );
    Ok(Server {
        public_url,
        local_addr,
        tenant_name: tenant.tenant.name.clone(),
        tenant_id: tenant.tenant.id,
        data_dir: dir,
        profile: settings.profile,
        has_administrator,
        local_ca,
        serving,
        background,
        authority,
        managed_identities,
    })
}

/// Every route of the origin. Paths do not collide: the authority's are under a tenant,
/// `/v1.0/` and `/admin/api/` (with the state export, `/admin/api/state`), the vault's at the root (`/certificates`, `/secrets`, ...), the
/// admin center's pages under `/admin/`.
fn router(authority: Arc<Authority>, vaults: Arc<Vaults>, admin_center: Arc<keyward_admin::AdminCenter>) -> Router {
    keyward_authority::router(authority)
        .merge(keyward_vault::router(vaults))
        .merge(keyward_admin::router(admin_center))
        .route("/healthz", get(|| async { "ok" }))
}

/// The names the server's TLS certificate covers: the loopback names and the public URL's host
/// (lowercase; an IPv6 address without its brackets).
fn tls_hosts(public_url: &str) -> Vec<String> {
    let authority = public_url
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let host = if host.is_empty() { "localhost" } else { host }.to_ascii_lowercase();
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if !hosts.contains(&host) {
        hosts.push(host);
    }
    hosts
}

/// The master key that seals private keys at rest, from its bytes (see [`MasterKeySource`]).
fn master_key(dir: &DataDir, bytes: &Zeroizing<Vec<u8>>) -> Result<MasterKey> {
    MasterKey::from_bytes(bytes).map_err(|e| Error::Damaged {
        path: dir.path("master.key"),
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tls_hosts_are_the_loopback_names_and_the_public_host() {
        assert_eq!(
            super::tls_hosts("https://localhost:8443"),
            ["localhost", "127.0.0.1", "::1"]
        );
        assert_eq!(
            super::tls_hosts("https://ID.example.test:8443/"),
            ["localhost", "127.0.0.1", "::1", "id.example.test"]
        );
        assert_eq!(
            super::tls_hosts("https://[::1]:8443"),
            ["localhost", "127.0.0.1", "::1"]
        );
        assert_eq!(
            super::tls_hosts("https://[fd00::5]"),
            ["localhost", "127.0.0.1", "::1", "fd00::5"]
        );
    }
}
