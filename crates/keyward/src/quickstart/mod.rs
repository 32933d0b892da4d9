//! `keyward quickstart`: Microsoft's "Use client certificate for authentication in your Node.js
//! web app" end to end, on this machine, in one command. It starts the server (as `keyward
//! serve` does), registers `ciam-client-app`, gives it a client secret (where the tutorial
//! starts), makes a certificate, uploads it, removes the secret, and starts the sample web app
//! with the certificate; each step prints the command that does the same by hand and checks its
//! effect on the token endpoint. Re-running reuses the data directory's app and certificate.
//!
//! The server runs in this process, through `keyward-server` as `keyward serve` does. The sample
//! web app runs as its own process: the `webapp` binary found beside `keyward` (`cargo build`
//! puts both in `target/debug/`), given only the `.env` file written before step 7 — exactly what
//! step 7 tells the reader to run by hand. That is simpler than the alternative, a library the sample
//! exports for us to link: the CLI does not depend on a sample app (nor on its templates and
//! web stack), the `.env` file stays the one interface between the two, and the app the
//! quickstart starts is the one the article's reader runs. The cost: `webapp` must be built.

mod certificate;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use keyward_client::{CertificateCredential, ClientCredential, ConfidentialClient};
use keyward_server::ServeSettings;
use rustix::process::{Pid, Signal, kill_process};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use crate::cli::QuickstartArgs;
use crate::connection::Connection;
use crate::files::{self, Access};
use crate::graph::{Application, KeyCredential, NewKeyCredential, Object};
use crate::serve;

/// The article's app registration.
const APP_NAME: &str = "ciam-client-app";
/// The tenant the quickstart uses.
const TENANT: &str = "contoso";
/// A scope every tenant serves, to check that a credential is accepted.
const CHECK_SCOPE: &str = "https://graph.microsoft.com/.default";
/// How long the sample web app may take to start listening.
const WEBAPP_START: Duration = Duration::from_secs(30);
/// How long it may take to stop.
const WEBAPP_STOP: Duration = Duration::from_secs(15);

pub fn run(args: QuickstartArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(quickstart(args))
}

async fn quickstart(args: QuickstartArgs) -> anyhow::Result<()> {
    serve::init_logging();
    let webapp = webapp_binary()?;
    let app_origin = format!("http://localhost:{}", args.port);
    // Bound first: a port in use is found before anything else happens. Released just before
    // the web app starts and binds it.
    let app_port = std::net::TcpListener::bind(("127.0.0.1", args.port)).with_context(|| {
        format!(
            "cannot listen on 127.0.0.1:{} for the sample web app (is another copy running?); stop what uses it, or give --port",
            args.port
        )
    })?;
    let data = args.data.display().to_string();
    println!(
        "Keyward quickstart: \"Use client certificate for authentication in your Node.js web app\", on this machine.\n"
    );

    step(
        1,
        "Start the authority (and the vault)",
        &format!("keyward serve --data {data}"),
    );
    let settings = ServeSettings::new(&args.data).tenants([TENANT])?;
    let listener = match serve::bind(&args.listen) {
        Ok(listener) => listener,
        Err(e) if in_use(&e) => {
            bail!("{e:#}: is a server already running there? Stop it, or give --listen");
        }
        Err(e) => return Err(e),
    };
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = keyward_server::start(settings, listener, async {
        server_stopped.await.ok();
    })
    .await?;
    let url = server.public_url().to_owned();
    let authority = format!("{url}/{TENANT}/");
    let ca = server.data_dir().ca_pem();
    let trusted = crate::trust::status_line(
        server.data_dir().root(),
        server.local_ca() == keyward_server::CaChange::Reissued,
    );
    let quickstart_dir = server.data_dir().path("quickstart");
    let server = tokio::spawn(server.wait());
    result(&format!(
        "{authority} (tenant {TENANT}); clients trust {}",
        ca.display()
    ));
    result(&format!("TLS: {trusted}"));

    let setup = Setup {
        data: &data,
        url: &url,
        authority: &authority,
        ca: &ca,
        dir: &quickstart_dir,
        app_origin: &app_origin,
    };
    let app = match setup.run(args.port).await {
        Ok(env_path) => {
            drop(app_port);
            WebApp::start(&webapp, &env_path)
                .await
                .context("the sample web app cannot start")
        }
        Err(e) => Err(e),
    };
    let mut app = match app {
        Ok(app) => app,
        Err(e) => {
            stop_server.send(()).ok();
            server.await.ok();
            return Err(e);
        }
    };
    result(&format!("{app_origin}, signing in with the certificate"));

    println!(
        "\nOpen {app_origin} and choose \"Sign up\" to create a customer account (or create one first with\n  \
         keyward user create --email you@example.com --data {data}\nand choose \"Sign in\"). \
         The app shows the ID token's claims; \"Sign out\" signs you out of both.\n\
         Press Ctrl-C to stop the server and the app."
    );
    let exited = tokio::select! {
        () = serve::wait_for_signal() => None,
        status = app.child.wait() => Some(status),
    };
    println!("\nStopping the sample web app and the server...");
    stop_server.send(()).ok();
    let web = match exited {
        Some(status) => Err(anyhow::anyhow!(
            "the sample web app stopped by itself ({})",
            status.map_or_else(|e| e.to_string(), |s| s.to_string())
        )),
        None => app.stop().await,
    };
    let server = server.await.context("the server failed")?;
    web?;
    server?;
    println!("Stopped.");
    Ok(())
}

/// The sample web app's binary: `webapp`, beside this executable (where `cargo build` puts
/// both).
fn webapp_binary() -> anyhow::Result<PathBuf> {
    let keyward = std::env::current_exe().context("cannot find the keyward executable")?;
    let webapp = keyward.with_file_name("webapp");
    if !webapp.is_file() {
        bail!(
            "the sample web app is not at {} (beside keyward): build it with `cargo build -p webapp`, then run the quickstart again",
            webapp.display()
        );
    }
    Ok(webapp)
}

/// The sample web app, running as its own process.
struct WebApp {
    child: tokio::process::Child,
}

impl WebApp {
    /// Runs `binary` with the settings of `env_path` only (what step 7 prints: the environment
    /// is cleared, so that variables of this shell cannot override the file), and waits until
    /// it says it listens.
    async fn start(binary: &Path, env_path: &Path) -> anyhow::Result<Self> {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(binary)
            .env_clear()
            .env("DOTENV_CONFIG_PATH", env_path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        let stdout = child.stdout.take().context("the web app's output")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let listening = tokio::time::timeout(WEBAPP_START, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.starts_with("Sample web app listening on") {
                    return true;
                }
            }
            false
        })
        .await;
        match listening {
            Ok(true) => {}
            Ok(false) => {
                let status = child.wait().await?;
                bail!("it exited ({status}); its error is above");
            }
            Err(_) => bail!("it did not start listening within {} s", WEBAPP_START.as_secs()),
        }
        // Its later output (one line when it stops) is not ours to show; keep the pipe open.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child })
    }

    /// Stops it as Ctrl-C would (SIGTERM), and waits for it.
    async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self
            .child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(Pid::from_raw)
        {
            // It may have gone already: Ctrl-C on a terminal reaches the whole process group.
            kill_process(pid, Signal::TERM).ok();
        }
        let status = match tokio::time::timeout(WEBAPP_STOP, self.child.wait()).await {
            Ok(status) => status.context("the sample web app")?,
            Err(_) => {
                self.child.kill().await.ok();
                bail!("the sample web app did not stop within {} s", WEBAPP_STOP.as_secs());
            }
        };
        if !status.success() {
            bail!("the sample web app failed ({status})");
        }
        Ok(())
    }
}

/// Steps 2 to 7, against the running server.
struct Setup<'a> {
    data: &'a str,
    url: &'a str,
    authority: &'a str,
    ca: &'a Path,
    dir: &'a Path,
    app_origin: &'a str,
}

impl Setup<'_> {
    async fn run(&self, port: u16) -> anyhow::Result<PathBuf> {
        let redirect_uri = format!("{}/auth/redirect", self.app_origin);
        let post_logout_redirect_uri = self.app_origin.to_owned();
        let api = Connection::to(Path::new(self.data), Some(self.url)).await?;
        let ca = std::fs::read(self.ca).with_context(|| format!("cannot read {}", self.ca.display()))?;

        step(
            2,
            "Register the web app",
            &format!(
                "keyward app create --name {APP_NAME} --redirect-uri {redirect_uri} --redirect-uri {post_logout_redirect_uri} --data {}",
                self.data
            ),
        );
        let (app, created) = register(&api, &[&redirect_uri, &post_logout_redirect_uri]).await?;
        let client_id = app.app_id.clone();
        let object_id = app.id.clone();
        result(&format!(
            "Application (client) ID {client_id}{}",
            if created { "" } else { " (registered before: reused)" }
        ));

        step(
            3,
            "Add a client secret (where the tutorial starts)",
            &format!("keyward app secret add {APP_NAME} --data {}", self.data),
        );
        let secret = if created {
            let end = OffsetDateTime::now_utc() + time::Duration::days(30);
            let added = api
                .add_password(&object_id, "tutorial secret", &end.format(&Rfc3339)?)
                .await?;
            let value = Zeroizing::new(added.secret_text.clone());
            self.token(&client_id, ClientCredential::secret(value.as_str()), &ca)
                .await
                .context("the token endpoint refused the new client secret")?;
            result(&format!(
                "secret {}... (key id {}); the token endpoint accepts it",
                added.hint, added.key_id
            ));
            Some(value)
        } else {
            result("skipped: the app was registered before");
            None
        };

        step(
            4,
            "Make a certificate (RSA 2048, 12 months; the key encrypted)",
            &format!(
                "keyward cert new --subject CN={APP_NAME} --out {}",
                self.dir.join(APP_NAME).display()
            ),
        );
        certificate::create_private_dir(self.dir)?;
        let env_path = self.dir.join(".env");
        let passphrase = read_env(&env_path)
            .and_then(|vars| vars.into_iter().find(|(k, _)| k == "PRIVATE_KEY_PASSPHRASE"))
            .map(|(_, v)| Zeroizing::new(v));
        let cert = certificate::ensure(self.dir, APP_NAME, passphrase)?;
        let thumbprint = cert.certificate.thumbprints().sha1_hex();
        result(&format!(
            "{} {APP_NAME}.cer, .pem, .key (encrypted) and .pfx; thumbprint {thumbprint}, expires {}",
            if cert.new { "made" } else { "reused" },
            cert.certificate.info().not_after.format(&Rfc3339)?,
        ));

        step(
            5,
            "Upload the certificate to the app registration",
            &format!(
                "keyward app cert add {APP_NAME} {} --data {}",
                cert.cer.display(),
                self.data
            ),
        );
        let uploaded = upload(&api, &object_id, &cert.certificate).await?;
        let credential = CertificateCredential::from_files(&cert.pem, &cert.key, Some(&cert.passphrase))?;
        self.token(&client_id, credential.into(), &ca)
            .await
            .context("the token endpoint refused an assertion signed with the certificate")?;
        result(&format!(
            "{}Thumbprint {thumbprint}, Start date {}, Expires {}; the token endpoint accepts an assertion signed with it",
            if uploaded.1 { "" } else { "(uploaded before) " },
            uploaded.0.start_date_time,
            uploaded.0.end_date_time
        ));

        let secrets: Vec<String> = api
            .application(&object_id)
            .await?
            .password_credentials
            .iter()
            .map(|s| s.key_id.clone())
            .collect();
        step(
            6,
            "Remove the client secret",
            &format!(
                "keyward app secret remove {APP_NAME} {} --data {}",
                secrets.first().map_or("KEYID", String::as_str),
                self.data
            ),
        );
        for key_id in &secrets {
            api.remove_password(&object_id, key_id).await?;
        }
        match (&secret, secrets.is_empty()) {
            (_, true) => result("skipped: the app has no client secret"),
            (Some(value), false) => {
                let refused = self
                    .token(&client_id, ClientCredential::secret(value.as_str()), &ca)
                    .await
                    .is_err_and(|e| e.aadsts_code() == Some(7000215));
                if !refused {
                    bail!("the token endpoint still accepts the removed client secret");
                }
                result("removed; the token endpoint now refuses the secret (AADSTS7000215)");
            }
            (None, false) => result(&format!("removed {} secret(s) left from an earlier run", secrets.len())),
        }

        let env = [
            ("CLIENT_ID", client_id.clone()),
            ("AUTHORITY", self.authority.to_owned()),
            ("REDIRECT_URI", redirect_uri.clone()),
            ("POST_LOGOUT_REDIRECT_URI", post_logout_redirect_uri.clone()),
            ("CERTIFICATE_PATH", absolute(&cert.pem)),
            ("PRIVATE_KEY_PATH", absolute(&cert.key)),
            ("PRIVATE_KEY_PASSPHRASE", cert.passphrase.to_string()),
            ("CERTIFICATE_THUMBPRINT", thumbprint.clone()),
            ("KEYWARD_CA", absolute(self.ca)),
            ("PORT", port.to_string()),
        ];
        let mut text_env = String::from("# The sample web app's settings, written by keyward quickstart.\n");
        for (k, v) in &env {
            text_env.push_str(&format!("{k}='{v}'\n"));
        }
        files::write_new(&env_path, Zeroizing::new(text_env).as_bytes(), Access::OwnerOnly, true)?;
        step(
            7,
            "Start the sample web app with the certificate",
            &format!("DOTENV_CONFIG_PATH={} cargo run -p webapp", env_path.display()),
        );
        Ok(env_path)
    }

    /// A client credentials token for the app, to see that the token endpoint takes `credential`.
    async fn token(
        &self,
        client_id: &str,
        credential: ClientCredential,
        ca: &[u8],
    ) -> Result<(), keyward_client::Error> {
        ConfidentialClient::builder(self.authority, client_id, credential)
            .trust_ca(ca)
            .build()?
            .acquire_token_for_client(&[CHECK_SCOPE])
            .await
            .map(|_| ())
    }
}

/// The app registration named `ciam-client-app`, created when missing; its redirect URIs made
/// to include `redirect_uris`. Returns it and whether it was created.
async fn register(api: &Connection, redirect_uris: &[&str]) -> anyhow::Result<(Object<Application>, bool)> {
    let all = api.applications_named(APP_NAME).await?;
    let named: Vec<&Object<Application>> = all.iter().filter(|a| a.display_name == APP_NAME).collect();
    match named.as_slice() {
        [] => Ok((api.create_application(APP_NAME, redirect_uris, &[]).await?, true)),
        [app] => {
            let mut uris = app.web.redirect_uris.clone();
            let missing: Vec<&&str> = redirect_uris
                .iter()
                .filter(|u| !uris.iter().any(|x| x == **u))
                .collect();
            if !missing.is_empty() {
                uris.extend(missing.into_iter().map(|u| (*u).to_owned()));
                api.set_redirect_uris(&app.id, &uris).await?;
            }
            Ok(((*app).clone(), false))
        }
        many => bail!(
            "{} applications are named {APP_NAME}; delete the extra ones (keyward app delete APPID) and run the quickstart again",
            many.len()
        ),
    }
}

/// Adds the certificate to the app unless it is there; returns its key credential and whether
/// it was added now.
async fn upload(
    api: &Connection,
    object_id: &str,
    certificate: &keyward_pki::Certificate,
) -> anyhow::Result<(KeyCredential, bool)> {
    let thumbprint = certificate.thumbprints().sha1_hex();
    let find = |app: &Application| {
        app.key_credentials
            .iter()
            .find(|k| k.custom_key_identifier == thumbprint)
            .map(|k| (**k).clone())
    };
    let app = api.application(object_id).await?;
    if let Some(existing) = find(&app) {
        return Ok((existing, false));
    }
    let keep: Vec<&KeyCredential> = app.key_credentials.iter().map(|k| &**k).collect();
    let display_name = format!("CN={APP_NAME}");
    let new = NewKeyCredential {
        der: certificate.der(),
        display_name: Some(&display_name),
    };
    api.set_key_credentials(object_id, &keep, Some(new)).await?;
    let app = api.application(object_id).await?;
    let added = find(&app).context("the uploaded certificate is not on the app registration")?;
    Ok((added, true))
}

fn in_use(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
    })
}

/// The variables of a `.env` file the quickstart wrote (`KEY='value'` lines).
fn read_env(path: &Path) -> Option<Vec<(String, String)>> {
    let text = Zeroizing::new(std::fs::read_to_string(path).ok()?);
    let vars = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = value.trim();
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(value);
            (key.trim().to_owned(), value.to_owned())
        })
        .collect();
    Some(vars)
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| PathBuf::from(path))
        .display()
        .to_string()
}

fn step(number: u32, title: &str, command: &str) {
    println!("{number}. {title}\n   $ {command}");
}

fn result(line: &str) {
    println!("   {line}");
}
