//! The big directory: a data directory made by `keyward serve` itself (tenant, master key,
//! built-in applications, TLS files) with one real user made by `keyward user create`, then
//! `apps` applications of `certs` certificates each and `users` users written straight into its
//! database with the store's bulk inserts, a thousand applications per transaction.
//!
//! The users are copies of the real one with their own ids and emails and the same password
//! hash: a million Argon2 hashes would take about a day. On SQLite the populated directory is
//! kept in the cache directory and copied (`cp -a`) for every server, so that every run starts
//! from the same bytes; on PostgreSQL every run fills a fresh schema of the `test` database.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use keyward_pki::Certificate;
use keyward_store::{Application, KeyCredential, Store, User};
use uuid::Uuid;

use super::progress;
use crate::server::{Options, Server};

/// Applications written per transaction.
const APP_BATCH: usize = 1000;
/// Users written per transaction.
const USER_BATCH: usize = 5000;
/// The PostgreSQL database the `--postgres` runs use (trust authentication, as the tests').
pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The one user made with `keyward user create`; the others are copies of it.
const REAL_USER: &str = "scale-user-0@example.com";

/// Where the servers' database is.
pub enum Database {
    /// The data directory's `keyward.db`.
    Sqlite,
    /// A schema of its own in [`POSTGRES`], dropped when this is dropped.
    Postgres(Schema),
}

impl Database {
    /// The arguments that point `keyward serve` at it.
    pub fn serve_args(&self) -> Vec<String> {
        match self {
            Database::Sqlite => Vec::new(),
            Database::Postgres(schema) => vec!["--database".to_owned(), schema.url()],
        }
    }

    /// The database's size on disk in bytes: the SQLite files of `data`, or the schema's tables
    /// with their indexes and TOAST.
    pub fn size(&self, data: &Path) -> anyhow::Result<u64> {
        match self {
            Database::Sqlite => Ok(["keyward.db", "keyward.db-wal", "keyward.db-shm"]
                .iter()
                .filter_map(|f| std::fs::metadata(data.join(f)).ok())
                .map(|m| m.len())
                .sum()),
            Database::Postgres(schema) => {
                let text = psql(&format!(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{}' AND c.relkind = 'r'",
                    schema.name
                ))?;
                text.trim()
                    .parse()
                    .with_context(|| format!("psql printed {text:?} for the schema's size"))
            }
        }
    }
}

/// A schema of the test PostgreSQL database, dropped when this is dropped.
pub struct Schema {
    name: String,
}

impl Schema {
    /// Creates `kw_scale_<random>`.
    pub fn new() -> anyhow::Result<Self> {
        let name = format!("kw_scale_{}", Uuid::new_v4().simple());
        psql(&format!("CREATE SCHEMA {name}"))?;
        Ok(Self { name })
    }

    /// The database URL of the schema.
    pub fn url(&self) -> String {
        format!("{POSTGRES}?options=-c%20search_path%3D{}", self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Err(e) = psql(&format!("DROP SCHEMA {} CASCADE", self.name)) {
            eprintln!("scale: cannot drop the schema {}: {e:#}", self.name);
        }
    }
}

/// Runs one statement with `psql` and returns what it printed (unaligned, tuples only).
fn psql(sql: &str) -> anyhow::Result<String> {
    let out = Command::new("psql")
        .args([POSTGRES, "-v", "ON_ERROR_STOP=1", "-tAc", sql])
        .stdin(Stdio::null())
        .output()
        .context("cannot run psql (the --postgres runs need the PostgreSQL client)")?;
    if !out.status.success() {
        bail!(
            "psql -c {sql:?} failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A populated directory, ready to be copied for each server.
pub struct Populated {
    /// The data directory to copy (in the cache directory on SQLite).
    pub data: PathBuf,
    /// Where its database is.
    pub database: Database,
    /// Whether it was taken from the cache directory.
    pub from_cache: bool,
    /// How long populating (or finding) it took.
    pub elapsed: Duration,
    /// Of which writing the applications.
    pub apps_elapsed: Duration,
    /// Of which writing the users.
    pub users_elapsed: Duration,
    /// Keeps a PostgreSQL run's data directory until the end of the run.
    _temporary: Option<tempfile::TempDir>,
}

/// What to populate.
pub struct Counts {
    /// Applications.
    pub apps: usize,
    /// Certificates per application.
    pub certs: usize,
    /// Users, the real one included.
    pub users: usize,
}

/// Makes (or, on SQLite, finds in `cache_dir`) the populated data directory.
pub fn prepare(
    keyward: &Path,
    cache_dir: &Path,
    counts: &Counts,
    ders: &[Vec<u8>],
    postgres: bool,
) -> anyhow::Result<Populated> {
    let start = Instant::now();
    let cached = cache_dir.join(format!("data-{}-{}-{}", counts.apps, counts.certs, counts.users));
    if !postgres && cached.join("complete").exists() {
        progress(&format!("using the populated data directory {}", cached.display()));
        return Ok(Populated {
            data: cached,
            database: Database::Sqlite,
            from_cache: true,
            elapsed: start.elapsed(),
            apps_elapsed: Duration::ZERO,
            users_elapsed: Duration::ZERO,
            _temporary: None,
        });
    }
    let (data, database) = if postgres {
        (Server::temporary_data()?, Database::Postgres(Schema::new()?))
    } else {
        std::fs::create_dir_all(cache_dir).with_context(|| format!("cannot make {}", cache_dir.display()))?;
        if cached.exists() {
            std::fs::remove_dir_all(&cached)
                .with_context(|| format!("cannot remove the unfinished {}", cached.display()))?;
        }
        let data = tempfile::Builder::new()
            .prefix("data-partial-")
            .tempdir_in(cache_dir)
            .with_context(|| format!("cannot make a directory in {}", cache_dir.display()))?;
        (data, Database::Sqlite)
    };

    progress("starting keyward serve once to make the tenant, master key and built-in applications");
    let server = Server::start_with(
        keyward,
        Options {
            data: Some(data),
            args: database.serve_args(),
            start_timeout: None,
            cli_timeout: None,
        },
    )?;
    let password = tempfile::NamedTempFile::new().context("cannot make a password file")?;
    std::fs::write(password.path(), "Scale-benchmark-password-1\n").context("cannot write the password file")?;
    let password_path = password.path().to_str().context("the temporary path is not UTF-8")?;
    server.cli(&["user", "create", "--email", REAL_USER, "--password-file", password_path])?;
    let tenant_name = server.tenant.clone();
    let data = server.stop_keeping_data()?;

    let url = match &database {
        Database::Sqlite => format!("sqlite://{}", data.path().join("keyward.db").display()),
        Database::Postgres(schema) => schema.url(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let (apps_elapsed, users_elapsed) = runtime.block_on(async { fill(&url, &tenant_name, counts, ders).await })?;
    drop(runtime);

    let (data, temporary) = match database {
        Database::Sqlite => {
            let path = data.keep();
            std::fs::write(path.join("complete"), b"").context("cannot mark the data directory complete")?;
            std::fs::rename(&path, &cached)
                .with_context(|| format!("cannot rename {} to {}", path.display(), cached.display()))?;
            (cached, None)
        }
        Database::Postgres(_) => (data.path().to_owned(), Some(data)),
    };
    Ok(Populated {
        data,
        database,
        from_cache: false,
        elapsed: start.elapsed(),
        apps_elapsed,
        users_elapsed,
        _temporary: temporary,
    })
}

/// Writes the applications and the users; returns how long each took.
async fn fill(url: &str, tenant_name: &str, counts: &Counts, ders: &[Vec<u8>]) -> anyhow::Result<(Duration, Duration)> {
    let store: Arc<dyn Store> = keyward_store::open(url).await.context("opening the database")?;
    let tenant = store
        .tenants()
        .await?
        .into_iter()
        .find(|t| t.name == tenant_name)
        .with_context(|| format!("the database has no tenant {tenant_name}"))?;
    let real = store
        .user_by_email(tenant.id, REAL_USER)
        .await?
        .context("the user keyward user create made is not in the database")?;

    let start = Instant::now();
    let now = time::OffsetDateTime::now_utc();
    let mut batch = Vec::with_capacity(APP_BATCH);
    for i in 0..counts.apps {
        let key_credentials = ders[i * counts.certs..(i + 1) * counts.certs]
            .iter()
            .map(|der| key_credential(der))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let app_id = Uuid::new_v4();
        batch.push(Application {
            id: Uuid::new_v4(),
            tenant_id: tenant.id,
            app_id,
            service_principal_id: Uuid::new_v4(),
            display_name: format!("scale-app-{i}"),
            identifier_uris: vec![format!("api://{app_id}")],
            redirect_uris: Vec::new(),
            logout_url: None,
            key_credentials,
            password_credentials: Vec::new(),
            app_roles: Vec::new(),
            created: now,
            version: 1,
        });
        if batch.len() == APP_BATCH || i + 1 == counts.apps {
            store.insert_applications(&batch).await?;
            batch.clear();
            if (i + 1).is_multiple_of((counts.apps / 10).max(APP_BATCH)) {
                progress(&format!("  {} of {} applications", i + 1, counts.apps));
            }
        }
    }
    let apps_elapsed = start.elapsed();

    let start = Instant::now();
    let mut batch = Vec::with_capacity(USER_BATCH);
    for k in 1..counts.users {
        batch.push(User {
            id: Uuid::new_v4(),
            email: format!("scale-user-{k}@example.com"),
            display_name: format!("Scale User {k}"),
            ..real.clone()
        });
        if batch.len() == USER_BATCH || k + 1 == counts.users {
            store.insert_users(&batch).await?;
            batch.clear();
            // Users 0 to k are in: k + 1 of them.
            let step = (counts.users / 10).max(USER_BATCH);
            if (k + 1) / step > (k + 1 - USER_BATCH.min(k)) / step || k + 1 == counts.users {
                progress(&format!("  {} of {} users", k + 1, counts.users));
            }
        }
    }
    Ok((apps_elapsed, start.elapsed()))
}

/// What `keyward app cert add` stores for a certificate: its subject as the display name, its
/// validity as the credential's.
fn key_credential(der: &[u8]) -> anyhow::Result<KeyCredential> {
    let certificate = Certificate::from_der(der).context("a cached certificate does not parse")?;
    let info = certificate.info();
    Ok(KeyCredential {
        key_id: Uuid::new_v4(),
        display_name: info.subject.clone(),
        certificate_der: der.to_vec(),
        start: info.not_before,
        end: info.not_after,
    })
}

/// A copy of the populated data directory (`cp -a`), for one server.
pub fn copy(populated: &Populated) -> anyhow::Result<tempfile::TempDir> {
    let to = Server::temporary_data()?;
    let status = Command::new("cp")
        .arg("-a")
        .arg(populated.data.join("."))
        .arg(to.path())
        .status()
        .context("cannot run cp")?;
    if !status.success() {
        bail!(
            "cp -a {} {} failed with {status}",
            populated.data.display(),
            to.path().display()
        );
    }
    // The copy's server writes its own; the old one names a process that is gone.
    std::fs::remove_file(to.path().join("server.json")).ok();
    Ok(to)
}
