//! `keyward serve`: one HTTPS listener for the authority (and, later, the vault), on the
//! embedded SQLite database of the data directory or on PostgreSQL.

mod bootstrap;
pub mod data_dir;
mod tls;
pub mod vault;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::routing::get;
use keyward_authority::{Authority, Config, MasterKey};

use crate::cli::ServeArgs;
use crate::files::Access;
use data_dir::{DataDir, ServerInfo};

/// How often a server checks whether another one sharing the database changed the directory.
const DIRECTORY_CHECK: Duration = Duration::from_secs(1);

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let started = start(&args).await?;
    tokio::spawn(shutdown_on_signal(started.handle.clone()));
    print_banner(
        &started.public_url,
        &started.tenant.tenant.name,
        &started.tenant.tenant.id.to_string(),
        &started.dir,
        started.local,
    );
    started.wait().await?;
    eprintln!("keyward: stopped");
    Ok(())
}

/// A server that listens and has written `server.json`; it answers once [`Started::wait`] (or
/// a task running it) polls it, and stops through `handle`.
pub struct Started {
    /// The origin clients use, e.g. `https://localhost:8443`.
    pub public_url: String,
    /// The default tenant.
    pub tenant: Arc<keyward_authority::TenantEntry>,
    /// The data directory.
    pub dir: DataDir,
    /// The address listened on.
    pub local: SocketAddr,
    /// Stops the server (`graceful_shutdown`).
    pub handle: axum_server::Handle,
    server: std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>,
}

impl Started {
    /// Serves until the handle shuts the server down; then removes `server.json`.
    pub async fn wait(self) -> anyhow::Result<()> {
        let result = self.server.await.context("the server stopped");
        std::fs::remove_file(self.dir.path("server.json")).ok();
        result
    }
}

/// Everything `keyward serve` does before it serves: the data directory, TLS, the database,
/// the tenants, the admin, the vault, the listener and `server.json`.
pub async fn start(args: &ServeArgs) -> anyhow::Result<Started> {
    let dir = DataDir::new(&args.data);
    dir.create()?;
    let listener = TcpListener::bind(&args.listen).with_context(|| format!("cannot listen on {}", args.listen))?;
    listener.set_nonblocking(true)?;
    let local: SocketAddr = listener.local_addr()?;
    let public_url = match &args.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("https://localhost:{}", local.port()),
    };
    if !public_url.starts_with("https://") {
        bail!("--public-url must be an https:// URL (MSAL and azure-identity insist on HTTPS)");
    }
    let host = public_url
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or("localhost")
        .to_owned();
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if !hosts.contains(&host) {
        hosts.push(host);
    }
    let tls = tls::server_config(&dir, &hosts)?;

    let master = master_key(&dir)?;
    let database = args.database.clone().unwrap_or_else(|| dir.database_url());
    let store = keyward_store::open(&database)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&database)))?;
    restrict_database_files(&dir);
    let mut config = Config::new(&public_url);
    config.token_lifetime = time::Duration::seconds(i64::from(args.token_lifetime));
    let authority = Arc::new(Authority::open(Arc::clone(&store), master, config).await?);
    let mut tenants = Vec::new();
    for name in &args.tenants {
        tenants.push(authority.ensure_tenant(name).await?);
    }
    let tenant = tenants.first().cloned().context("give at least one --tenant")?;
    bootstrap::ensure_admin(&authority, &tenant, &dir).await?;
    let vaults = vault::start(&authority, store, master_key(&dir)?, &tenant, &dir).await?;
    tokio::spawn(Arc::clone(&authority).follow_store(DIRECTORY_CHECK));

    let app: Router = keyward_authority::router(Arc::clone(&authority))
        .merge(keyward_vault::router(vaults))
        .route("/healthz", get(|| async { "ok" }));
    let handle = axum_server::Handle::new();
    let info = ServerInfo {
        url: public_url.clone(),
        tenant: tenant.tenant.name.clone(),
        pid: std::process::id(),
    };
    dir.write_json("server.json", &info, Access::Public)?;

    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls);
    // TCP_NODELAY: without it a response written after the TLS session ticket waits for the
    // client's delayed ACK, about 40 ms on a new connection.
    let acceptor =
        axum_server::tls_rustls::RustlsAcceptor::new(config).acceptor(axum_server::accept::NoDelayAcceptor::new());
    let mut server = axum_server::Server::from_tcp(listener).acceptor(acceptor);
    // One buffer per HTTP/1 response, so one TLS record and, with TCP_NODELAY, one segment.
    server.http_builder().http1().writev(false);
    let server = Box::pin(
        server
            .handle(handle.clone())
            .serve(app.into_make_service_with_connect_info::<SocketAddr>()),
    );
    Ok(Started {
        public_url,
        tenant,
        dir,
        local,
        handle,
        server,
    })
}

/// The SQLite files hold sealed keys and hashed secrets: owner only, like the directory.
fn restrict_database_files(dir: &DataDir) {
    use std::os::unix::fs::PermissionsExt;
    for name in ["keyward.db", "keyward.db-wal", "keyward.db-shm"] {
        std::fs::set_permissions(dir.path(name), std::fs::Permissions::from_mode(0o600)).ok();
    }
}

fn master_key(dir: &DataDir) -> anyhow::Result<MasterKey> {
    let path = dir.path("master.key");
    if !path.exists() {
        let bytes = MasterKey::generate()?;
        dir.write("master.key", &bytes, Access::OwnerOnly)?;
    }
    let bytes = zeroize::Zeroizing::new(dir.read("master.key")?);
    MasterKey::from_bytes(&bytes).with_context(|| format!("{} is damaged", path.display()))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

async fn shutdown_on_signal(handle: axum_server::Handle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    eprintln!("keyward: shutting down (finishing requests in flight)");
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
}

pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYWARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .ok();
}

fn print_banner(url: &str, tenant: &str, tenant_id: &str, dir: &DataDir, local: SocketAddr) {
    let origin = url.trim_start_matches("https://");
    println!("Keyward is listening on {url} ({local})");
    println!("  Authority:   {url}/{tenant}/   (tenant {tenant}, id {tenant_id})");
    println!(
        "  Trust:       {}   (NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE or SSL_CERT_FILE)",
        dir.ca_pem().display()
    );
    println!(
        "  Admin:       keyward app create --name my-app --data {}",
        dir.root().display()
    );
    println!(
        "  MSAL Node:   new msal.ConfidentialClientApplication({{ auth: {{ clientId, authority: \"{url}/{tenant}/\","
    );
    println!(
        "                 knownAuthorities: [\"{origin}\"], clientCertificate: {{ thumbprintSha256, privateKey }} }} }})"
    );
}
