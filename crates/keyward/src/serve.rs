//! `keyward serve`: flags → settings → bind → start → wait for a signal. The server itself is
//! `keyward-server`.

use std::net::TcpListener;
use std::time::Duration;

use anyhow::Context;
use keyward_server::{ConnectionLimits, DataDir, ServeSettings};

use crate::cli::ServeArgs;

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let settings = settings(&args)?;
    let listener = bind(&args.listen)?;
    let server = keyward_server::start(settings, listener, async {
        wait_for_signal().await;
        eprintln!("keyward: shutting down (finishing requests in flight)");
    })
    .await?;
    print_banner(&server);
    server.wait().await?;
    eprintln!("keyward: stopped");
    Ok(())
}

/// The server's settings from `keyward serve`'s flags (and quickstart's).
pub fn settings(args: &ServeArgs) -> anyhow::Result<ServeSettings> {
    let mut limits = ConnectionLimits::default();
    limits.max_connections = args.max_connections;
    limits.max_connections_per_address = args.max_connections_per_address;
    let mut settings = ServeSettings::new(&args.data)
        .tenants(&args.tenants)?
        .token_lifetime(Duration::from_secs(u64::from(args.token_lifetime)))?
        .connection_limits(limits)?;
    if let Some(url) = &args.public_url {
        settings = settings.public_url(url)?;
    }
    if let Some(url) = &args.database {
        settings = settings.database(url);
    }
    Ok(settings)
}

/// The listener for `--listen ADDR`.
pub fn bind(listen: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))
}

/// Waits for SIGTERM or SIGINT (Ctrl-C).
pub async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
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

fn print_banner(server: &keyward_server::Server) {
    let url = server.public_url();
    let tenant = server.tenant_name();
    let tenant_id = server.tenant_id();
    let dir: &DataDir = server.data_dir();
    let origin = url.trim_start_matches("https://");
    println!("Keyward is listening on {url} ({})", server.local_addr());
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
