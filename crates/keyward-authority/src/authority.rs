//! The authority service: the directory in memory, every change written to the store first and
//! then published to the directory. Here: its settings, loading and following the store,
//! tenants and their signing keys. The other changes are beside it: applications and role
//! assignments in [`crate::applications`], accounts in [`crate::users`], grants in `grants.rs`,
//! sign-in decisions in [`crate::signin`].

use std::sync::Arc;

use keyward_store::{AppRole, Application, Store, Tenant};
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;
use uuid::Uuid;

use std::sync::atomic::{AtomicI64, Ordering};

use crate::client_auth::AssertionPolicy;
use crate::clock::{Clock, Now, ShiftedClock};
use crate::directory::{AppEntry, Directory, Snapshot, TenantEntry};
use crate::error::{Error, Result};
use crate::password::Passwords;
use crate::sign_up_code::CodeAttempts;
use crate::sign_up_limit::{SignUpLimit, SignUpLimitPolicy};
use crate::signing::{self, TenantKeys};
use crate::smtp::SmtpSettings;
use crate::throttle::{Throttle, ThrottlePolicy};
use keyward_pki::sealing::MasterKey;

/// The appId Microsoft Graph has in every tenant; tokens for the management API carry it as
/// `aud`.
pub const GRAPH_APP_ID: Uuid = Uuid::from_u128(0x00000003_0000_0000_c000_000000000000);
/// The identifier URI of Microsoft Graph (`https://graph.microsoft.com/.default`).
pub const GRAPH_IDENTIFIER: &str = "https://graph.microsoft.com";
/// The appId of the vault resource in every tenant: Azure Key Vault's own, so that tokens look
/// like the ones Entra issues for Key Vault.
pub const KEY_VAULT_APP_ID: Uuid = Uuid::from_u128(0xcfa8b339_82a2_471a_a3c9_0fc0be7a4093);
/// The identifier URI of the vault resource: the `resource` of the vault's challenge, so clients
/// ask for `https://vault.keyward.localhost/.default`. No request goes to this host; Key Vault
/// clients compare it with the vault's host only when resource verification is on.
pub const KEY_VAULT_IDENTIFIER: &str = "https://vault.keyward.localhost";
/// The appId of Keyward's admin center in every tenant: a public client (no credential, so PKCE
/// is required) whose redirect URIs are `{public_url}/admin/callback` and `/admin/signed-out`. It signs
/// administrators in through `/authorize` like any other application; it is not listed among
/// the tenant's app registrations.
pub const ADMIN_CENTER_APP_ID: Uuid = Uuid::from_u128(0x4b657977_6172_4400_a000_61646d696e00);
/// The redirect URI path of the admin center.
pub const ADMIN_CENTER_CALLBACK: &str = "/admin/callback";
/// Where the admin center asks the logout endpoint to return (its second redirect URI).
pub const ADMIN_CENTER_SIGNED_OUT: &str = "/admin/signed-out";
/// The appId of Azure Resource Manager ("Windows Azure Service Management API") in every
/// tenant: what the Azure CLI signs in for.
pub const MANAGEMENT_APP_ID: Uuid = Uuid::from_u128(0x797f4846_ba00_4fd7_ba43_dac1f8f63013);
/// Resource Manager's identifier URI (the Azure CLI asks for
/// `https://management.core.windows.net//.default`).
pub const MANAGEMENT_IDENTIFIER: &str = "https://management.core.windows.net/";
/// The appId of the Azure CLI, a public client in every tenant.
pub const AZURE_CLI_APP_ID: Uuid = Uuid::from_u128(0x04b07795_8ddb_461a_bbee_02f9e1bf7b46);
/// Azure Key Vault's resource identifier, also an identifier URI of the vault resource.
pub const AZURE_KEY_VAULT_IDENTIFIER: &str = "https://vault.azure.net";
/// The app role that allows managing applications.
pub const APPLICATION_READ_WRITE_ALL: &str = "Application.ReadWrite.All";
const APPLICATION_READ_WRITE_ALL_ID: Uuid = Uuid::from_u128(0x1bfefb4e_e0b5_418b_a88f_73c46d2cc8e9);

/// Settings of the authority.
#[derive(Debug, Clone)]
pub struct Config {
    /// The origin clients use, e.g. `https://localhost:8443` (no trailing slash). Issuers and
    /// endpoints are built from it.
    pub public_url: String,
    /// Limits on client assertions.
    pub assertion: AssertionPolicy,
    /// Lifetime of access tokens (and of users' ID tokens).
    pub token_lifetime: Duration,
    /// Lifetime of a user's sign-in (SSO) session.
    pub session_lifetime: Duration,
    /// Lifetime of a refresh token (each refresh returns a new one).
    pub refresh_token_lifetime: Duration,
    /// Whether the sign-in page offers self-service sign-up.
    pub sign_up: bool,
    /// Limits on failed sign-ins.
    pub throttle: ThrottlePolicy,
    /// The reverse proxies whose `X-Forwarded-For` gives the client's address (none: the TCP
    /// peer is the client).
    pub trusted_proxies: crate::forwarded::TrustedProxies,
    /// Limits on sign-ups per client address, successful ones included.
    pub sign_up_limit: SignUpLimitPolicy,
    /// The mail server sign-up codes go through. With it, sign-up proves the email by a code
    /// ([`Authority::start_sign_up`]); without it, accounts are created at once, unverified.
    pub smtp: Option<SmtpSettings>,
    /// How many password hashes may run at once (each takes 19 MiB).
    pub password_concurrency: usize,
    /// Helpful or terse errors, open or protected `/metrics`.
    pub profile: crate::Profile,
    /// The Azure host names mode: requests that reach the server as one of Microsoft's sign-in
    /// hosts are answered in that host's form ([`crate::azure_hosts`]).
    pub azure_hosts: bool,
    /// How long a device code and its user code can be used (the device authorization grant's
    /// `expires_in`).
    pub device_code_lifetime: Duration,
    /// Whether administrators may mint test tokens ([`crate::test_token`]): access tokens
    /// signed with a tenant's real key without a credential. Off unless asked for
    /// (`keyward serve --allow-test-tokens`).
    pub allow_test_tokens: bool,
    /// Where the whole server reads the time ([`crate::clock`]): the same clock is handed to the
    /// vault, the admin center and the background work, so that a shift moves them together.
    pub clock: Arc<ShiftedClock>,
    /// Whether administrators may move [`Config::clock`] ([`crate::time_travel`],
    /// `keyward serve --allow-time-travel`). Off unless asked for.
    pub allow_time_travel: bool,
}

impl Config {
    /// Settings with Entra's defaults for `public_url`.
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            assertion: AssertionPolicy::default(),
            token_lifetime: Duration::seconds(3599),
            session_lifetime: Duration::hours(24),
            refresh_token_lifetime: Duration::days(90),
            sign_up: true,
            throttle: ThrottlePolicy::default(),
            trusted_proxies: crate::forwarded::TrustedProxies::default(),
            sign_up_limit: SignUpLimitPolicy::default(),
            smtp: None,
            password_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            profile: crate::Profile::Development,
            azure_hosts: false,
            device_code_lifetime: crate::device_code::DEVICE_CODE_LIFETIME,
            allow_test_tokens: false,
            clock: Arc::new(ShiftedClock::new()),
            allow_time_travel: false,
        }
    }
}

/// The identity service.
pub struct Authority {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) directory: Directory,
    pub(crate) master: MasterKey,
    pub(crate) config: Config,
    /// Held by every write, so that writes are stored and published in order.
    pub(crate) writes: Mutex<()>,
    metrics: crate::metrics::Metrics,
    pub(crate) passwords: Passwords,
    pub(crate) throttle: Throttle,
    /// The coordination with other servers sharing the database, if it is shared.
    pub(crate) cluster: Option<keyward_store::Cluster>,
    pub(crate) sign_ups: SignUpLimit,
    pub(crate) codes: CodeAttempts,
    pub(crate) last_sweep: AtomicI64,
    /// When each device code was last polled (for `slow_down`).
    pub(crate) device_polls: crate::device_code::DevicePolls,
    /// The store's directory revision the in-memory directory reflects.
    revision: AtomicI64,
    /// Credential uses and sign-in records noted by the token endpoint, not yet written.
    pub(crate) usage: crate::usage::Usage,
}

impl Authority {
    /// Loads everything from the store into memory.
    pub async fn open(store: Arc<dyn Store>, master: MasterKey, config: Config) -> Result<Self> {
        let cluster = store.cluster();
        let authority = Self {
            store,
            directory: Directory::default(),
            master,
            passwords: Passwords::new(config.password_concurrency),
            throttle: Throttle::new(config.throttle.clone()),
            cluster,
            sign_ups: SignUpLimit::new(config.sign_up_limit.clone()),
            codes: CodeAttempts::default(),
            config,
            writes: Mutex::new(()),
            metrics: crate::metrics::Metrics::default(),
            last_sweep: AtomicI64::new(0),
            device_polls: crate::device_code::DevicePolls::default(),
            revision: AtomicI64::new(i64::MIN),
            usage: crate::usage::Usage::default(),
        };
        authority.reload().await?;
        // The dummy hash that unknown accounts are checked against, made now so that the first
        // such sign-in takes no longer than any other.
        authority.passwords.warm().await?;
        Ok(authority)
    }

    /// Rebuilds the directory from the store. Holds the write lock, so that a reload never
    /// publishes a directory older than a write this process has just published.
    pub async fn reload(&self) -> Result<()> {
        let _guard = self.writes.lock().await;
        let started = std::time::Instant::now();
        // Read before the rows: a change made while they are read moves the revision past this
        // one, and the next check reloads again.
        let revision = self.store.directory_revision().await?;
        let now = self.now();
        let keys = self.store.signing_keys().await?;
        // What did not change is kept: opening signing keys and parsing certificates is most of
        // a reload's work, and every write to the directory, by any server, costs each a reload.
        let current = self.snapshot();
        let mut tenants = Vec::new();
        for tenant in self.store.tenants().await? {
            let rows: Vec<_> = keys.iter().filter(|k| k.tenant_id == tenant.id).cloned().collect();
            match current.tenant_by_id(tenant.id) {
                Some(entry) if entry.tenant == tenant && entry.keys.is_current(&rows, now) => {
                    tenants.push(Arc::clone(entry));
                }
                _ => {
                    let tenant_keys = TenantKeys::load(&tenant, rows, &self.master, &self.issuer(tenant.id), now)?;
                    tenants.push(Arc::new(self.tenant_entry(tenant, tenant_keys)));
                }
            }
        }
        // The first load reads every application; later ones only those written or removed
        // since the revision the last one read, so that a write to one application of 100,000
        // costs every server a reload of one.
        let since = self.revision.load(Ordering::Acquire);
        let (removed, written, read, rebuilt) = if since == i64::MIN {
            let all = self.load_applications().await?;
            let count = all.len() as u64;
            (Vec::new(), all, count, count)
        } else {
            let changes = self.store.applications_changed_since(since).await?;
            let read = changes.changed.len() as u64;
            let mut rebuilt = 0;
            let written: Vec<_> = changes
                .changed
                .into_iter()
                .map(|app| {
                    let made = AppEntry::new(app);
                    match current.app_by_object_id(made.app.tenant_id, made.app.id) {
                        Some(entry) if entry.same_as(&made) => Arc::clone(entry),
                        _ => {
                            rebuilt += 1;
                            Arc::new(made)
                        }
                    }
                })
                .collect();
            (changes.removed, written, read, rebuilt)
        };
        let assignments = self.store.role_assignments().await?;
        self.directory
            .replace(current.with_changes(tenants, &removed, written, assignments));
        self.revision.store(revision, Ordering::Release);
        self.metrics.directory_reloaded(started.elapsed(), read, rebuilt);
        tracing::debug!(revision, took = ?started.elapsed(), "directory reloaded");
        Ok(())
    }

    /// Every stored application as a directory entry. Read a page at a time, each page made
    /// into entries on the blocking pool while the next one is read: 100,000 applications with
    /// ten certificates each are about a gigabyte of documents, of which only the entries (about
    /// half a gigabyte) are kept, and the two cores of a small machine both work.
    async fn load_applications(&self) -> Result<Vec<Arc<AppEntry>>> {
        const PAGE: u32 = 1000;
        let stopped = |e: tokio::task::JoinError| Error::LoadStopped(e.to_string());
        let mut entries = Vec::new();
        let mut making: Option<tokio::task::JoinHandle<Vec<Arc<AppEntry>>>> = None;
        let mut after = None;
        loop {
            let page = self.store.applications_after(after, PAGE).await?;
            let last_page = page.len() < PAGE as usize;
            after = page.last().map(|a| a.id);
            if let Some(made) = making.take() {
                entries.extend(made.await.map_err(stopped)?);
            }
            making = Some(tokio::task::spawn_blocking(move || {
                page.into_iter().map(|app| Arc::new(AppEntry::new(app))).collect()
            }));
            if last_page {
                break;
            }
        }
        if let Some(made) = making {
            entries.extend(made.await.map_err(stopped)?);
        }
        Ok(entries)
    }

    /// Keeps the directory in step with other servers sharing the database. On PostgreSQL every
    /// write notifies the others (`LISTEN/NOTIFY`), and each reloads at once: a credential
    /// removed through one server is refused by all of them within milliseconds. Besides, every
    /// `every`, it reads the store's directory revision and reloads when it moved: the fallback
    /// for notifications lost with a connection (and the only way on SQLite). This process's
    /// own writes move the revision too, which costs one reload each. Runs until the process
    /// ends; failures are logged and tried again at the next notification or tick.
    pub async fn follow_store(self: Arc<Self>, every: std::time::Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let cluster = self.cluster.clone();
        let mut changes = None;
        loop {
            if changes.is_none()
                && let Some(cluster) = &cluster
            {
                match cluster.directory_changes().await {
                    Ok(listening) => changes = Some(listening),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for directory changes; checking every {every:?} meanwhile")
                    }
                }
            }
            tokio::select! {
                _ = ticks.tick() => {}
                change = next_change(&mut changes) => match change {
                    Ok(keyward_store::DirectoryChange::Changed) => {}
                    Ok(keyward_store::DirectoryChange::Lost) => {
                        tracing::info!("the directory notifications' connection was lost and made again; checking for changes");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "directory notifications stopped; checking every {every:?} until they are back");
                        changes = None;
                        ticks.tick().await;
                    }
                },
            }
            self.check_revision().await;
        }
    }

    /// Reloads the directory if the store's revision moved since the last reload.
    async fn check_revision(&self) {
        match self.store.directory_revision().await {
            Ok(revision) if revision == self.revision.load(Ordering::Acquire) => {}
            Ok(_) => {
                if let Err(e) = self.reload().await {
                    tracing::warn!(error = %e, "reloading the directory failed; retrying at the next check");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the directory revision; retrying at the next check"),
        }
    }

    /// The directory as of now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.directory.snapshot()
    }

    /// The counters behind `/metrics`.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current time by the server's clock ([`Config::clock`]).
    pub fn now(&self) -> OffsetDateTime {
        self.config.clock.now()
    }

    /// The server's time and the real time together ([`Now`]): what checks of client-made JWTs
    /// take.
    pub fn read_clock(&self) -> Now {
        self.config.clock.read()
    }

    /// The server's clock.
    pub fn clock(&self) -> &Arc<ShiftedClock> {
        &self.config.clock
    }

    /// `https://HOST:PORT/{tenant-guid}/v2.0`.
    pub fn issuer(&self, tenant_id: Uuid) -> String {
        format!("{}/{tenant_id}/v2.0", self.config.public_url)
    }

    fn tenant_entry(&self, tenant: Tenant, keys: TenantKeys) -> TenantEntry {
        TenantEntry {
            issuer: self.issuer(tenant.id),
            token_endpoints: self.token_endpoints(&tenant),
            tenant,
            keys,
        }
    }

    /// The token endpoint under every alias of the tenant: what an assertion's `aud` may be.
    pub fn token_endpoints(&self, tenant: &Tenant) -> Vec<String> {
        [tenant.id.to_string(), tenant.name.clone(), tenant.domain.clone()]
            .iter()
            .map(|alias| format!("{}/{alias}/oauth2/v2.0/token", self.config.public_url))
            .collect()
    }

    /// Creates the tenant `name` (with `name.onmicrosoft.com`, a signing key and the Microsoft
    /// Graph resource) unless it exists. Returns it either way.
    pub async fn ensure_tenant(&self, name: &str) -> Result<Arc<TenantEntry>> {
        self.ensure_tenant_with_id(name, None).await
    }

    /// As [`ensure_tenant`](Self::ensure_tenant), with a fixed id when `id` is given (the
    /// declarative state's `[[tenant]] id`): an existing tenant of this name must have that id
    /// ([`Error::TenantIdMismatch`] otherwise), and a new one gets it (refused with
    /// [`Error::TenantIdTaken`] when another tenant has it).
    pub async fn ensure_tenant_with_id(&self, name: &str, id: Option<Uuid>) -> Result<Arc<TenantEntry>> {
        let name = name.trim().to_lowercase();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::InvalidTenantName(name));
        }
        let _guard = self.writes.lock().await;
        if let Some(existing) = self.snapshot().tenant(&name).cloned() {
            if let Some(id) = id
                && existing.tenant.id != id
            {
                return Err(Error::TenantIdMismatch {
                    name,
                    existing: existing.tenant.id,
                    wanted: id,
                });
            }
            self.ensure_builtin_resources(existing.tenant.id, self.now()).await?;
            return Ok(existing);
        }
        if let Some(id) = id
            && let Some(holder) = self.snapshot().tenant_by_id(id)
        {
            return Err(Error::TenantIdTaken {
                id,
                holder: holder.tenant.name.clone(),
            });
        }
        let now = self.now();
        let tenant = Tenant {
            id: id.unwrap_or_else(Uuid::new_v4),
            domain: format!("{name}.onmicrosoft.com"),
            name,
            created: now,
        };
        let key = signing::new_signing_key(&tenant, &self.master, now)?;
        self.store.insert_tenant(&tenant).await?;
        self.store.insert_signing_key(&key).await?;
        let keys = TenantKeys::load(&tenant, vec![key], &self.master, &self.issuer(tenant.id), now)?;
        let entry = Arc::new(self.tenant_entry(tenant, keys));
        self.directory.replace(self.snapshot().with_tenant(Arc::clone(&entry)));
        self.ensure_builtin_resources(entry.tenant.id, now).await?;
        Ok(entry)
    }

    /// Registers the resources every tenant has (Microsoft Graph, the vault) where missing:
    /// tenants made by an older Keyward may lack the newer ones. Holds the write lock.
    async fn ensure_builtin_resources(&self, tenant_id: Uuid, now: OffsetDateTime) -> Result<()> {
        let admin_center = admin_center_client(tenant_id, &self.config.public_url, now);
        for app in [
            graph_resource(tenant_id, now),
            key_vault_resource(tenant_id, now),
            admin_center,
            management_resource(tenant_id, now),
            azure_cli_client(tenant_id, now),
        ] {
            match self.snapshot().app_in_tenant(tenant_id, app.app_id) {
                None => {
                    self.store.insert_application(&app).await?;
                    self.directory
                        .replace(self.snapshot().with_app(Arc::new(AppEntry::new(app))));
                }
                // The public URL may have changed since the last start (another port, a proxy):
                // the admin center's redirect URI follows it; a newer Keyward may know more
                // identifier URIs of a resource.
                Some(existing)
                    if existing.app.redirect_uris != app.redirect_uris
                        || existing.app.identifier_uris != app.identifier_uris =>
                {
                    // As stored: the directory's copy has no certificates.
                    let mut changed = self
                        .store
                        .application(tenant_id, existing.app.id)
                        .await?
                        .ok_or_else(|| Error::ApplicationNotFound(existing.app.id.to_string()))?;
                    changed.redirect_uris = app.redirect_uris;
                    changed.identifier_uris = app.identifier_uris;
                    changed.version += 1;
                    self.store.update_application(&changed).await?;
                    self.directory
                        .replace(self.snapshot().with_app(Arc::new(AppEntry::new(changed))));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Rotates a tenant's signing key; the old one stays published until tokens it signed have
    /// expired. Returns the new `kid`.
    pub async fn rotate_signing_key(&self, tenant_id: Uuid) -> Result<String> {
        let _guard = self.writes.lock().await;
        let snapshot = self.snapshot();
        let entry = snapshot
            .tenant_by_id(tenant_id)
            .ok_or_else(|| Error::TenantNotFound(tenant_id.to_string()))?;
        let now = self.now();
        let old = entry
            .keys
            .rows()
            .iter()
            .find(|k| k.active)
            .cloned()
            .ok_or_else(|| Error::NoActiveSigningKey(entry.tenant.name.clone()))?;
        let retired = signing::retire(old, now, self.config.token_lifetime + self.config.assertion.clock_skew);
        let new = signing::new_signing_key(&entry.tenant, &self.master, now)?;
        self.store.rotate_signing_key(&retired, &new).await?;
        let mut rows: Vec<_> = entry
            .keys
            .rows()
            .iter()
            .filter(|k| k.kid != retired.kid)
            .cloned()
            .collect();
        rows.push(retired);
        rows.push(new.clone());
        let keys = TenantKeys::load(&entry.tenant, rows, &self.master, &self.issuer(tenant_id), now)?;
        let next = Arc::new(self.tenant_entry(entry.tenant.clone(), keys));
        self.directory.replace(snapshot.with_tenant(next));
        Ok(new.kid)
    }
}

/// An application every tenant has: fresh object and service principal ids, no credentials.
fn builtin(
    tenant_id: Uuid,
    app_id: Uuid,
    display_name: &str,
    identifier_uris: &[&str],
    redirect_uris: Vec<String>,
    now: OffsetDateTime,
) -> Application {
    Application {
        id: Uuid::new_v4(),
        tenant_id,
        app_id,
        service_principal_id: Uuid::new_v4(),
        display_name: display_name.into(),
        identifier_uris: identifier_uris.iter().map(|u| (*u).to_owned()).collect(),
        redirect_uris,
        logout_url: None,
        key_credentials: Vec::new(),
        password_credentials: Vec::new(),
        app_roles: Vec::new(),
        created: now,
        version: 1,
    }
}

/// The Microsoft Graph resource of a tenant, with the app role the management API checks.
fn graph_resource(tenant_id: Uuid, now: OffsetDateTime) -> Application {
    let mut graph = builtin(
        tenant_id,
        GRAPH_APP_ID,
        "Microsoft Graph",
        &[GRAPH_IDENTIFIER],
        Vec::new(),
        now,
    );
    graph.app_roles = vec![AppRole {
        id: APPLICATION_READ_WRITE_ALL_ID,
        value: APPLICATION_READ_WRITE_ALL.into(),
        display_name: "Read and write all applications".into(),
        description: "Create, read, update and delete applications and their credentials".into(),
        allowed_member_types: vec!["Application".into()],
        is_enabled: true,
    }];
    graph
}

/// Whether `app_id` is one of the applications every tenant has (Microsoft Graph, the vault, the
/// admin center, Resource Manager, the Azure CLI) rather than one an administrator registered.
pub fn is_builtin(app_id: Uuid) -> bool {
    [
        GRAPH_APP_ID,
        KEY_VAULT_APP_ID,
        ADMIN_CENTER_APP_ID,
        MANAGEMENT_APP_ID,
        AZURE_CLI_APP_ID,
    ]
    .contains(&app_id)
}

/// Azure Resource Manager in a tenant: the resource the Azure CLI signs in for.
fn management_resource(tenant_id: Uuid, now: OffsetDateTime) -> Application {
    let identifiers = [MANAGEMENT_IDENTIFIER, "https://management.azure.com/"];
    builtin(
        tenant_id,
        MANAGEMENT_APP_ID,
        "Windows Azure Service Management API",
        &identifiers,
        Vec::new(),
        now,
    )
}

/// The Azure CLI in a tenant: a public client, as Entra has it in every tenant.
fn azure_cli_client(tenant_id: Uuid, now: OffsetDateTime) -> Application {
    let redirect = vec!["http://localhost".to_owned()];
    builtin(tenant_id, AZURE_CLI_APP_ID, "Microsoft Azure CLI", &[], redirect, now)
}

/// The admin center's client in a tenant: public, redirecting to `{public_url}/admin/callback`.
fn admin_center_client(tenant_id: Uuid, public_url: &str, now: OffsetDateTime) -> Application {
    let redirects = [ADMIN_CENTER_CALLBACK, ADMIN_CENTER_SIGNED_OUT]
        .iter()
        .map(|path| format!("{}{path}", public_url.trim_end_matches('/')))
        .collect();
    builtin(
        tenant_id,
        ADMIN_CENTER_APP_ID,
        "Keyward admin center",
        &[],
        redirects,
        now,
    )
}

/// The vault resource of a tenant: what vault clients get tokens for. Keyward's own identifier
/// and Key Vault's: `https://vault.azure.net/.default` is what the SDKs ask for when the vault is
/// reached as `{name}.vault.azure.net`.
fn key_vault_resource(tenant_id: Uuid, now: OffsetDateTime) -> Application {
    let identifiers = [KEY_VAULT_IDENTIFIER, AZURE_KEY_VAULT_IDENTIFIER];
    builtin(
        tenant_id,
        KEY_VAULT_APP_ID,
        "Azure Key Vault",
        &identifiers,
        Vec::new(),
        now,
    )
}

/// The next directory change from `changes`; never, without them.
async fn next_change(
    changes: &mut Option<keyward_store::DirectoryChanges>,
) -> keyward_store::Result<keyward_store::DirectoryChange> {
    match changes {
        Some(changes) => changes.next().await,
        None => std::future::pending().await,
    }
}
