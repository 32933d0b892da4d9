//! `keyward serve`: flags → settings → bind → start → wait for a signal. The server itself is
//! `keyward-server`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_server::{ConnectionLimits, DataDir, Profile, ServeSettings, TrustedProxies};
use zeroize::Zeroizing;

use crate::cli::{ServeArgs, ServeProfile};

/// The environment variable that may hold the master key, in base64.
const MASTER_KEY_ENV: &str = "KEYWARD_MASTER_KEY";

/// `--data :memory:`: a temporary data directory, removed when the server stops.
pub const TEMPORARY_DATA: &str = ":memory:";

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(mut args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    // Removed when this function returns: after the server stopped, or when it failed to start.
    let temporary = if args.data.as_os_str() == TEMPORARY_DATA {
        let dir = tempfile::Builder::new()
            .prefix("keyward-data-")
            .tempdir()
            .context("cannot make a temporary data directory for --data :memory:")?;
        args.data = dir.path().to_owned();
        Some(dir)
    } else {
        None
    };
    // A ready file left by an earlier run must not announce this one before it answers.
    if let Some(path) = &args.ready_file {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove the old --ready-file {}", path.display()));
            }
            _ => {}
        }
    }
    // The state file is read and its generated material made before anything starts: a bad
    // file stops here, with nothing applied.
    let loaded = match &args.config {
        Some(path) => Some(crate::state::load(path)?),
        None => None,
    };
    if args.tenants.is_empty() {
        args.tenants = match &loaded {
            Some(l) if !l.doc.tenants.is_empty() => l.doc.tenants.iter().map(|t| t.name.clone()).collect(),
            _ => vec![keyward_server::DEFAULT_TENANT.to_owned()],
        };
    }
    let (mut settings, key_origin) = settings(&args)?;
    if let Some(loaded) = &loaded {
        settings = settings.state(loaded.doc.clone());
    }
    let listener = bind(&args.listen)?;
    let server = keyward_server::start(settings, listener, async {
        wait_for_signal().await;
        eprintln!("keyward: shutting down (finishing requests in flight)");
    })
    .await
    .map_err(|e| crate::state::start_error(loaded.as_ref(), e))?;
    print_banner(&server, &key_origin);
    if temporary.is_some() {
        println!(
            "  Data:        {}   (temporary: removed when the server stops; other commands reach it with --data {0})",
            args.data.display()
        );
    }
    if args.allow_test_tokens {
        println!(
            "  !! TEST TOKENS ALLOWED (--allow-test-tokens): the admin credential can mint tokens every API of the tenant accepts (`keyward token mint`). Test servers only."
        );
    }
    if args.allow_time_travel {
        let warning = "  !! TIME TRAVEL ALLOWED (--allow-time-travel): the admin credential can move this server's clock (`keyward time shift`); tokens, certificates and sessions expire as it moves. Test servers only.";
        println!("{warning}");
        eprintln!("{warning}");
    }
    if args.smtp_url.is_some() {
        println!("  Sign-up:     email verified by a one-time code sent through --smtp-url");
    } else {
        println!("  Sign-up:     one step, email not verified (give --smtp-url to mail sign-up codes)");
    }
    match &args.expiry_webhook {
        Some(url) => println!(
            "  Expiry:      warnings {} days ahead, to the log, the audit log and {url}",
            args.expiry_warning.as_secs() / 86_400
        ),
        None => println!(
            "  Expiry:      warnings {} days ahead, to the log and the audit log (give --expiry-webhook to be called)",
            args.expiry_warning.as_secs() / 86_400
        ),
    }
    for endpoint in server.managed_identities() {
        println!(
            "  Managed identity: {} at {}   (the app's environment: {})",
            endpoint.app,
            endpoint.origin,
            endpoint.env_file.display()
        );
    }
    if args.azure_hosts {
        print_azure_hosts(&server, &args);
    }
    // The banner's last line, for scripts (with --ready-file): the URL, the port of
    // --listen 127.0.0.1:0 included. The server answers by now.
    println!("keyward: listening on {}", server.public_url());
    if let Some(path) = &args.ready_file {
        write_ready_file(path, server.public_url())?;
    }
    let stopped = server.wait().await;
    if let Some(path) = &args.ready_file {
        std::fs::remove_file(path).ok();
    }
    if let Some(dir) = temporary {
        let path = dir.path().to_owned();
        dir.close()
            .with_context(|| format!("cannot remove the temporary data directory {}", path.display()))?;
    }
    stopped?;
    eprintln!("keyward: stopped");
    Ok(())
}

/// Writes `url` to `path` through a temporary file beside it and a rename, so that a reader
/// sees the whole URL or no file.
fn write_ready_file(path: &Path, url: &str) -> anyhow::Result<()> {
    let mut temporary = PathBuf::from(path);
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    temporary.set_file_name(name);
    std::fs::write(&temporary, format!("{url}\n"))
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("cannot write --ready-file {}", path.display()))
}

/// The server's settings from `keyward serve`'s flags and `KEYWARD_MASTER_KEY`, and where the
/// master key comes from (for the banner; never the key).
pub fn settings(args: &ServeArgs) -> anyhow::Result<(ServeSettings, String)> {
    let profile = match args.profile {
        ServeProfile::Development => Profile::Development,
        ServeProfile::Production => Profile::Production,
    };
    let from_env = std::env::var_os(MASTER_KEY_ENV).filter(|v| !v.is_empty());
    let mut limits = ConnectionLimits::default();
    limits.max_connections = args.max_connections;
    limits.max_connections_per_address = args.max_connections_per_address;
    let mut settings = ServeSettings::new(&args.data)
        .profile(profile)
        .tenants(&args.tenants)?
        .token_lifetime(Duration::from_secs(u64::from(args.token_lifetime)))?
        .sign_in_retention(Duration::try_from(args.sign_in_retention).unwrap_or(Duration::ZERO))?
        .connection_limits(limits)?
        .trusted_proxies(TrustedProxies::new(args.trusted_proxies.iter().copied()))
        .azure_hosts(args.azure_hosts)
        .allow_test_tokens(args.allow_test_tokens)
        .allow_time_travel(args.allow_time_travel);
    for identity in &args.managed_identities {
        let (app, address) = match identity.split_once('=') {
            Some((app, address)) => (
                app,
                address.parse().with_context(|| {
                    format!("--managed-identity {identity}: {address} is not an address such as 127.0.0.1:42356")
                })?,
            ),
            None => (identity.as_str(), std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        };
        settings = settings.managed_identity(app, address, args.managed_identity_any_address)?;
    }
    if let Some(url) = &args.public_url {
        settings = settings.public_url(url)?;
    }
    if let Some(url) = &args.database {
        settings = settings.database(url);
    }
    if let Some(url) = &args.smtp_url {
        settings = settings.smtp(url, &args.smtp_from)?;
        if let Some(path) = &args.smtp_ca {
            let pem = std::fs::read(path).with_context(|| format!("cannot read --smtp-ca {}", path.display()))?;
            settings = settings.smtp_ca(&pem)?;
        }
    }
    settings = settings.expiry_warning(args.expiry_warning)?;
    if let Some(url) = &args.expiry_webhook {
        settings = settings.expiry_webhook(url)?;
        if let Some(path) = &args.expiry_webhook_ca {
            let pem =
                std::fs::read(path).with_context(|| format!("cannot read --expiry-webhook-ca {}", path.display()))?;
            settings = settings.expiry_webhook_ca(&pem)?;
        }
    }
    let origin = match (&args.master_key_file, from_env) {
        (Some(_), Some(_)) => bail!(
            "both --master-key-file and {MASTER_KEY_ENV} are given; give one (unset {MASTER_KEY_ENV}, or drop --master-key-file)"
        ),
        (Some(path), None) => {
            settings = settings.master_key_file(path);
            path.display().to_string()
        }
        (None, Some(value)) => {
            let text = Zeroizing::new(value.into_string().unwrap_or_default());
            let bytes = STANDARD.decode(text.trim()).map(Zeroizing::new).map_err(|_| {
                anyhow::anyhow!("{MASTER_KEY_ENV} is not base64; `keyward master-key new` prints a key in base64")
            })?;
            settings = settings.master_key(bytes);
            MASTER_KEY_ENV.to_owned()
        }
        (None, None) if profile == Profile::Production => bail!(
            "the production profile needs a master key outside the data directory: give --master-key-file PATH (a file only its owner can read, outside {}) or set {MASTER_KEY_ENV} to the key in base64; make one with `keyward master-key new --out PATH` (or `keyward master-key new` for base64)",
            args.data.display()
        ),
        (None, None) => "the data directory".to_owned(),
    };
    Ok((settings, origin))
}

/// The listener for `--listen ADDR`.
pub fn bind(listen: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "cannot listen on {listen}: the port is in use; a Keyward server (or another program) may already run there. Stop it, or pick another port, e.g. --listen 127.0.0.1:8444. Nothing was created"
        ),
        std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "cannot listen on {listen}: ports below 1024 need root (or CAP_NET_BIND_SERVICE); pick a port above 1024, e.g. --listen 127.0.0.1:8443"
        ),
        _ => anyhow::Error::new(e).context(format!("cannot listen on {listen}")),
    })
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

/// The Azure host names mode's lines: loud, since the server then answers as Microsoft.
fn print_azure_hosts(server: &keyward_server::Server, args: &ServeArgs) {
    let ca = server.data_dir().path(keyward_server::AZURE_HOSTS_CA);
    println!();
    println!("  !! AZURE HOST NAMES MODE: this server also answers as login.microsoftonline.com,");
    println!(
        "  !! login.microsoft.com, login.windows.net, *.ciamlogin.com, management.azure.com and *.vault.azure.net."
    );
    println!("  !! Their certificates come from a separate CA that can vouch for those names only:");
    println!("  !!   {}", ca.display());
    println!("  !! Trust it in test processes only, never system-wide:");
    println!(
        "  !!   export NODE_EXTRA_CA_CERTS={0} REQUESTS_CA_BUNDLE={0}",
        ca.display()
    );
    println!(
        "  !! Point the names here:  keyward hosts --data {}   (prints the hosts-file lines; --write adds them)",
        args.data.display()
    );
    if !args.listen.ends_with(":443") {
        println!(
            "  !! Clients use port 443 for these names: listen there (--listen 127.0.0.1:443) for their default URLs."
        );
    }
}

fn print_banner(server: &keyward_server::Server, key_origin: &str) {
    let url = server.public_url();
    let tenant = server.tenant_name();
    let tenant_id = server.tenant_id();
    let dir: &DataDir = server.data_dir();
    let origin = url.trim_start_matches("https://");
    println!("Keyward is listening on {url} ({})", server.local_addr());
    match server.profile() {
        Profile::Production => println!(
            "  Profile:     production   (terse errors, /metrics needs a management token, master key from {key_origin})"
        ),
        _ => println!(
            "  Profile:     development   (helpful errors, open /metrics, master key from {key_origin}; use --profile production for a shared server)"
        ),
    }
    println!("  Authority:   {url}/{tenant}/   (tenant {tenant}, id {tenant_id})");
    println!(
        "  Trust:       {}   (NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE or SSL_CERT_FILE)",
        dir.ca_pem().display()
    );
    println!(
        "  TLS:         {}",
        crate::trust::status_line(dir.root(), server.local_ca() == keyward_server::CaChange::Reissued)
    );
    println!(
        "  Admin:       keyward app create --name my-app --data {}",
        dir.root().display()
    );
    println!("  Admin UI:    {url}/admin/   (the admin center: sign in as a user with a directory role)");
    if !server.has_administrator() {
        println!(
            "               no administrator yet; make the first: keyward user create --email E --role global-admin --data {}",
            dir.root().display()
        );
    }
    println!(
        "  MSAL Node:   new msal.ConfidentialClientApplication({{ auth: {{ clientId, authority: \"{url}/{tenant}/\","
    );
    println!(
        "                 knownAuthorities: [\"{origin}\"], clientCertificate: {{ thumbprintSha256, privateKey }} }} }})"
    );
}
