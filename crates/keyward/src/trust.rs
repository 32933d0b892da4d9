//! `keyward trust`: the data directory's local CA installed where this machine's clients look
//! (the system store, the NSS databases of Chromium and Firefox), as mkcert does, or taken out
//! again; and the lines that make Node, Python, curl and Java trust it.
//!
//! A run is a plan, then its changes: each change is a list of [`Op`]s (write a file, run
//! `update-ca-certificates` or `certutil`), printed as they are (`--dry-run` stops there) and
//! done one by one. What was done is recorded in the data directory's [`Manifest`], so that a
//! second run changes nothing and `--uninstall` removes exactly what was added. A store that
//! cannot be changed (no root, no certutil) does not stop the others; the run then ends with an
//! error naming what is left and the command that does it.

mod manifest;
mod nss;
mod op;
mod system;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use keyward_pki::Certificate;

use crate::cli::{Store, TrustArgs};
use manifest::{CaKind, Entry, Manifest, Place};
use op::Op;
use system::SystemStore;

/// One change: what it is, the operations that make it, and how the manifest follows.
struct Change {
    what: String,
    ops: Vec<Op>,
    record: Record,
}

/// How the manifest follows a change once its operations succeeded.
enum Record {
    Add(Entry),
    Remove(Entry),
}

/// A store left as it was, and why (with the command that fixes it).
struct Blocked {
    store: String,
    why: String,
}

/// A plan: the changes, what is already as wanted, and what cannot be done.
#[derive(Default)]
struct Plan {
    changes: Vec<Change>,
    already: Vec<String>,
    /// Installations found in place but not in the manifest (made by an earlier run whose
    /// record was lost): recorded without a change.
    adopt: Vec<Entry>,
    blocked: Vec<Blocked>,
    notes: Vec<String>,
}

/// A CA of the data directory, read.
struct Ca {
    kind: CaKind,
    file: PathBuf,
    certificate: Certificate,
    pem: Vec<u8>,
}

impl Ca {
    fn sha256(&self) -> String {
        self.certificate.thumbprints().sha256_hex().to_ascii_lowercase()
    }

    fn sha1(&self) -> String {
        self.certificate.thumbprints().sha1_hex().to_ascii_lowercase()
    }

    /// A short id that tells this CA from another one (the start of its SHA-256 thumbprint).
    fn id(&self) -> String {
        self.sha256()[..16].to_owned()
    }

    fn stem(&self) -> String {
        format!("{}-{}", self.kind.stem(), self.id())
    }

    fn nickname(&self) -> String {
        format!("{} {}", self.kind.nickname(), self.id())
    }

    fn entry(&self, place: Place) -> Entry {
        Entry {
            ca: self.kind,
            sha256: self.sha256(),
            sha1: self.sha1(),
            place,
        }
    }
}

pub fn run(args: TrustArgs) -> anyhow::Result<()> {
    let data = std::path::absolute(&args.data)
        .with_context(|| format!("cannot resolve the data directory {}", args.data.display()))?;
    let mut manifest = Manifest::load(&data)?;
    let stores = &args.store;
    let root = args
        .root
        .as_deref()
        .map(std::path::absolute)
        .transpose()
        .context("cannot resolve --root")?;
    let nss_dbs: Vec<PathBuf> = args
        .nss_dbs
        .iter()
        .map(std::path::absolute)
        .collect::<Result<_, _>>()
        .context("cannot resolve --nss-db")?;
    let command = Command {
        data: &data,
        root: root.as_deref(),
        uninstall: args.uninstall,
    };

    let mut cas = Vec::new();
    let plan = if args.uninstall {
        plan_uninstall(&manifest, stores, &command)
    } else {
        cas.push(read_ca(&data, CaKind::Local)?);
        if args.also_trust_azure_hosts_ca_for_microsoft_names {
            let azure = data.join(CaKind::AzureHosts.file());
            if !azure.exists() {
                bail!(
                    "there is no Azure-hosts CA at {} (the server makes it when started with --azure-hosts); nothing was changed",
                    azure.display()
                );
            }
            cas.push(read_ca(&data, CaKind::AzureHosts)?);
        }
        for ca in &cas {
            explain(ca, &data);
        }
        plan_install(&manifest, &cas, stores, &nss_dbs, &command)
    };

    for line in &plan.already {
        println!("{line}: already done");
    }
    for line in &plan.notes {
        println!("note: {line}");
    }
    if plan.changes.is_empty() && plan.blocked.is_empty() && plan.adopt.is_empty() {
        println!(
            "{}",
            if args.uninstall {
                "Nothing to remove: keyward trust has installed nothing from this data directory (tls/trust.json)."
            } else {
                "Nothing to change."
            }
        );
    }
    let mut failed = Vec::new();
    if !args.dry_run {
        for entry in &plan.adopt {
            manifest.add(entry.clone());
        }
        manifest.save(&data)?;
    }
    for change in &plan.changes {
        println!("{}{}", if args.dry_run { "would " } else { "" }, change.what);
        for op in &change.ops {
            println!("  $ {op}");
        }
        if args.dry_run {
            continue;
        }
        match change.ops.iter().try_for_each(Op::apply) {
            Ok(()) => {
                match &change.record {
                    Record::Add(entry) => manifest.add(entry.clone()),
                    Record::Remove(entry) => manifest.remove(entry),
                }
                manifest.save(&data)?;
            }
            Err(e) => {
                eprintln!("  failed: {e:#}");
                failed.push(format!("{}: {e:#}", change.what));
            }
        }
    }
    for blocked in &plan.blocked {
        println!("not changed: {}: {}", blocked.store, blocked.why);
    }
    if !args.uninstall {
        print_client_lines(&cas, &command, stores);
    }
    if args.dry_run {
        println!("(dry run: nothing was changed)");
        return Ok(());
    }
    let left: Vec<String> = plan
        .blocked
        .iter()
        .map(|b| format!("{}: {}", b.store, b.why))
        .chain(failed)
        .collect();
    if !left.is_empty() {
        bail!(
            "{} store(s) not changed (the others were): {}",
            left.len(),
            left.join("; ")
        );
    }
    Ok(())
}

/// What the plan needs to know of the command line.
struct Command<'a> {
    data: &'a Path,
    root: Option<&'a Path>,
    uninstall: bool,
}

impl Command<'_> {
    /// The command that changes `store` as root.
    fn sudo(&self, store: &str) -> String {
        format!(
            "sudo keyward trust --data {} --store {store}{}",
            self.data.display(),
            if self.uninstall { " --uninstall" } else { "" }
        )
    }
}

/// Reads a CA of the data directory and refuses one that must not be trusted: a key others can
/// read, or (the local CA) no name constraints.
fn read_ca(data: &Path, kind: CaKind) -> anyhow::Result<Ca> {
    use std::os::unix::fs::PermissionsExt;
    let file = data.join(kind.file());
    let pem = std::fs::read(&file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!(
            "there is no CA at {}: start the server once (`keyward serve --data {}`), which makes it; nothing was changed",
            file.display(),
            data.display()
        ),
        _ => anyhow::Error::new(e).context(format!("cannot read {}", file.display())),
    })?;
    let certificate = keyward_pki::read(&pem, None)
        .with_context(|| format!("cannot read {}", file.display()))?
        .certificates
        .into_iter()
        .next()
        .with_context(|| format!("{} holds no certificate", file.display()))?;
    let key = file.with_extension("key");
    if let Ok(meta) = std::fs::metadata(&key)
        && meta.permissions().mode() & 0o077 != 0
    {
        bail!(
            "{} (the CA's key) can be read by other users (mode {:o}): anyone who can read it could make certificates this machine would believe. Run `chmod 600 {}` and try again; nothing was changed",
            key.display(),
            meta.permissions().mode() & 0o777,
            key.display()
        );
    }
    if certificate.info().permitted_names.is_empty() {
        bail!(
            "{} can vouch for any name (an older Keyward made it without name constraints): start `keyward serve --data {}` once, which makes it again limited to the names it serves, then run keyward trust again; nothing was changed",
            file.display(),
            data.display()
        );
    }
    Ok(Ca {
        kind,
        file,
        certificate,
        pem,
    })
}

/// Says plainly what trusting `ca` allows.
fn explain(ca: &Ca, data: &Path) {
    let names = ca
        .certificate
        .info()
        .permitted_names
        .iter()
        .map(|n| match n.strip_prefix("DNS:") {
            Some(dns) => format!("{dns} (and the names under it)"),
            None => n
                .trim_start_matches("IP:")
                .trim_end_matches("/32")
                .trim_end_matches("/128")
                .to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let key = ca.file.with_extension("key");
    match ca.kind {
        CaKind::Local => {
            println!(
                "Trusting {} ({}, SHA-256 {}) lets it vouch for: {names}; nothing else (name constraints, which browsers, OpenSSL, Go, Node and rustls check).",
                ca.file.display(),
                ca.certificate.info().subject,
                ca.id()
            );
            println!(
                "Its key stays in {} (0600): whoever can read that file can make certificates for those names that this machine believes.",
                key.display()
            );
        }
        CaKind::AzureHosts => {
            println!(
                "!! WARNING: also trusting the Azure-hosts CA {}: this machine will then believe certificates from this data",
                ca.file.display()
            );
            println!("!! directory for Microsoft's names: {names}.");
            println!(
                "!! Whoever can read {} can then pose as Microsoft sign-in and Key Vault to this machine's browsers and tools.",
                key.display()
            );
            println!("!! Undo it with: keyward trust --data {} --uninstall", data.display());
        }
    }
    println!();
}

/// The system store to change, or why there is none to change.
fn system_store(command: &Command<'_>) -> Result<SystemStore, Blocked> {
    let store = SystemStore::detect(command.root).map_err(|why| Blocked {
        store: "the system store".into(),
        why,
    })?;
    if store.needs_root() && !rustix::process::geteuid().is_root() {
        return Err(Blocked {
            store: store.kind.describe().into(),
            why: format!(
                "changing it needs root: run `{}` (NSS databases are per user: give --store nss when you run keyward trust as yourself)",
                command.sudo("system"),
            ),
        });
    }
    Ok(store)
}

/// `certutil`, or why NSS databases cannot be changed.
fn certutil() -> Result<PathBuf, Blocked> {
    system::find_program("certutil").ok_or_else(|| Blocked {
        store: "the NSS databases (Chromium, Firefox)".into(),
        why: format!("certutil is not installed: {}", nss::install_hint()),
    })
}

fn plan_install(manifest: &Manifest, cas: &[Ca], stores: &[Store], nss_dbs: &[PathBuf], command: &Command<'_>) -> Plan {
    let mut plan = Plan::default();
    // A CA the server made again: the old certificate goes where the new one comes.
    for ca in cas {
        let stale: Vec<&Entry> = manifest
            .installed
            .iter()
            .filter(|e| e.ca == ca.kind && e.sha256 != ca.sha256() && selected(e, stores))
            .collect();
        for entry in stale {
            plan_removal(&mut plan, entry, command, "the server made it again since");
        }
    }
    if stores.contains(&Store::System) {
        match system_store(command) {
            Ok(store) => {
                for ca in cas {
                    let target = store.target(&ca.stem());
                    let entry = ca.entry(Place::System {
                        system: store.kind,
                        path: target.clone(),
                        root: store.root.clone(),
                    });
                    if store.holds(&target, &ca.pem, &ca.sha1()) {
                        plan.already
                            .push(format!("{} in {}", ca.kind.describe(), store.kind.describe()));
                        if !manifest.installed.contains(&entry) {
                            plan.adopt.push(entry);
                        }
                        continue;
                    }
                    plan.changes.push(Change {
                        what: format!("add {} to {}", ca.kind.describe(), store.kind.describe()),
                        ops: store.add(&target, &ca.pem, &ca.file),
                        record: Record::Add(entry),
                    });
                }
            }
            Err(blocked) => plan.blocked.push(blocked),
        }
    }
    if stores.contains(&Store::Nss) {
        let (dbs, old) = if nss_dbs.is_empty() {
            match std::env::var_os("HOME") {
                Some(home) => nss::find(Path::new(&home)),
                None => (Vec::new(), Vec::new()),
            }
        } else {
            (nss_dbs.to_vec(), Vec::new())
        };
        for db in old {
            plan.notes.push(format!(
                "{} is an NSS database in the old format (cert8.db), left alone: add {} to that browser by hand",
                db.display(),
                command.data.join(CaKind::Local.file()).display()
            ));
        }
        if dbs.is_empty() {
            let under_sudo = std::env::var_os("SUDO_USER").is_some();
            plan.notes.push(if under_sudo {
                format!(
                    "no NSS database of this user (root) found; NSS databases are per user: run `keyward trust --data {} --store nss` as yourself, without sudo",
                    command.data.display()
                )
            } else {
                "no NSS database found (Chromium makes ~/.pki/nssdb on its first start, Firefox one per profile): start the browser once and run keyward trust again, or give --nss-db DIR".into()
            });
        } else {
            match certutil() {
                Ok(certutil) => {
                    for ca in cas {
                        for db in &dbs {
                            let create = !nss::exists(db);
                            let entry = ca.entry(Place::Nss {
                                db: db.clone(),
                                nickname: ca.nickname(),
                                created_db: create,
                            });
                            if !create && nss::holds(&certutil, db, &ca.nickname(), ca.certificate.der()) {
                                plan.already.push(format!(
                                    "{} in the NSS database {}",
                                    ca.kind.describe(),
                                    db.display()
                                ));
                                let recorded = manifest.installed.iter().any(|e| {
                                    e.sha256 == entry.sha256 && matches!(&e.place, Place::Nss { db: d, .. } if d == db)
                                });
                                if !recorded {
                                    plan.adopt.push(entry);
                                }
                                continue;
                            }
                            plan.changes.push(Change {
                                what: format!(
                                    "add {} to the NSS database {}{}",
                                    ca.kind.describe(),
                                    db.display(),
                                    if create { " (made first: there is none)" } else { "" }
                                ),
                                ops: nss::add(&certutil, db, &ca.nickname(), &ca.file, create),
                                record: Record::Add(entry),
                            });
                        }
                    }
                }
                Err(blocked) => plan.blocked.push(blocked),
            }
        }
    }
    plan
}

/// Whether `entry` is in one of `stores`.
fn selected(entry: &Entry, stores: &[Store]) -> bool {
    match entry.place {
        Place::System { .. } => stores.contains(&Store::System),
        Place::Nss { .. } => stores.contains(&Store::Nss),
    }
}

fn plan_uninstall(manifest: &Manifest, stores: &[Store], command: &Command<'_>) -> Plan {
    let mut plan = Plan::default();
    for entry in manifest.installed.iter().filter(|e| selected(e, stores)) {
        plan_removal(&mut plan, entry, command, "keyward trust added it");
    }
    plan
}

/// Adds the removal of `entry` to the plan.
fn plan_removal(plan: &mut Plan, entry: &Entry, command: &Command<'_>, why: &str) {
    match &entry.place {
        Place::System { system, path, root } => {
            let cmd = Command {
                root: root.as_deref(),
                ..*command
            };
            match system_store(&cmd) {
                Ok(store) if store.kind == *system => plan.changes.push(Change {
                    what: format!(
                        "remove {} ({}) from {} ({why})",
                        entry.ca.describe(),
                        &entry.sha256[..16],
                        system.describe()
                    ),
                    ops: store.remove(path, &entry.sha1),
                    record: Record::Remove(entry.clone()),
                }),
                Ok(_) => plan.blocked.push(Blocked {
                    store: system.describe().into(),
                    why: "it is not this machine's system store any more; remove the entry from tls/trust.json by hand"
                        .into(),
                }),
                Err(blocked) => plan.blocked.push(blocked),
            }
        }
        Place::Nss {
            db,
            nickname,
            created_db,
        } => match certutil() {
            Ok(certutil) => {
                let present =
                    nss::exists(db) && nss::nicknames(&certutil, db).is_ok_and(|names| names.contains(nickname));
                plan.changes.push(Change {
                    what: format!(
                        "remove {} ({}) from the NSS database {} ({why}){}",
                        entry.ca.describe(),
                        &entry.sha256[..16],
                        db.display(),
                        if present { "" } else { ": it is gone already" }
                    ),
                    ops: if present {
                        nss::remove(&certutil, db, nickname, *created_db)
                    } else {
                        Vec::new()
                    },
                    record: Record::Remove(entry.clone()),
                });
            }
            Err(blocked) => plan.blocked.push(blocked),
        },
    }
}

/// The lines for clients that read neither store, or read a file of their own.
fn print_client_lines(cas: &[Ca], command: &Command<'_>, stores: &[Store]) {
    let Some(local) = cas.iter().find(|ca| ca.kind == CaKind::Local) else {
        return;
    };
    let ca = local.file.display();
    let bundle = stores
        .contains(&Store::System)
        .then(|| SystemStore::detect(command.root).ok())
        .flatten()
        .and_then(|store| store.bundle());
    let url = keyward_server::DataDir::new(command.data)
        .read_json::<keyward_server::ServerInfo>("server.json")
        .map_or_else(|_| "https://localhost:8443".to_owned(), |info| info.url);
    println!();
    println!("Clients with CA lists of their own:");
    println!("  Node:    export NODE_EXTRA_CA_CERTS={ca}");
    match &bundle {
        Some(bundle) => {
            let bundle = bundle.display();
            println!(
                "  Python:  export REQUESTS_CA_BUNDLE={bundle} SSL_CERT_FILE={bundle}   (the system bundle, which holds the CA once added; requests, azure-identity, httpx, ssl)"
            );
            if command.root.is_some() {
                println!("  curl:    curl --cacert {bundle} {url}/healthz");
            } else {
                println!("  curl:    curl {url}/healthz   (curl reads {bundle}; elsewhere: curl --cacert {ca})");
            }
        }
        None => {
            println!(
                "  Python:  export REQUESTS_CA_BUNDLE={ca} SSL_CERT_FILE={ca}   (then that process trusts Keyward's certificates only)"
            );
            println!("  curl:    curl --cacert {ca} {url}/healthz");
        }
    }
    println!(
        "  Java:    keytool -importcert -cacerts -storepass changeit -noprompt -alias {} -file {ca}   (JDK 9+; Debian's Java reads the system store through ca-certificates-java)",
        local.stem()
    );
}

/// One line for `keyward serve` and `keyward quickstart`: whether this machine trusts the local
/// CA of `data` and, if not, the command that makes it. `reissued`: the server just made the CA
/// again.
pub fn status_line(data: &Path, reissued: bool) -> String {
    let file = data.join(CaKind::Local.file());
    let fix = format!("keyward trust --data {}", data.display());
    let Ok(pem) = std::fs::read(&file) else {
        return format!("the local CA ({}) is missing", file.display());
    };
    let sha256 = keyward_pki::read(&pem, None)
        .ok()
        .and_then(|c| c.certificates.into_iter().next())
        .map(|c| c.thumbprints().sha256_hex().to_ascii_lowercase())
        .unwrap_or_default();
    let manifest = Manifest::load(data).unwrap_or_default();
    let mut stores: Vec<String> = Vec::new();
    let mut nss = 0;
    let mut old = false;
    for entry in manifest.installed.iter().filter(|e| e.ca == CaKind::Local) {
        if entry.sha256 != sha256 {
            old = true;
            continue;
        }
        let store = match &entry.place {
            Place::System { root: None, .. } => "system store".to_owned(),
            Place::System { root: Some(root), .. } => format!("the system store under {}", root.display()),
            Place::Nss { .. } => {
                nss += 1;
                continue;
            }
        };
        if !stores.contains(&store) {
            stores.push(store);
        }
    }
    if !stores.iter().any(|s| s == "system store") && in_system_bundle(&pem) {
        stores.insert(0, "system store".to_owned());
    }
    match nss {
        0 => {}
        1 => stores.push("NSS".to_owned()),
        n => stores.push(format!("NSS, {n} databases")),
    }
    if !stores.is_empty() {
        return format!(
            "the local CA ({}) is trusted by this machine ({})",
            file.display(),
            stores.join(", ")
        );
    }
    if old {
        return format!(
            "the local CA ({}) was made again (the names the server serves changed) and this machine trusts the old one only; run `{fix}` again",
            file.display()
        );
    }
    if reissued {
        return format!(
            "the local CA ({}) was made again (the names the server serves changed) and is not trusted by this machine; run `{fix}` (whoever trusted the old one must trust this one)",
            file.display()
        );
    }
    format!(
        "the local CA ({}) is not trusted by this machine; run `{fix}`",
        file.display()
    )
}

/// Whether the system's CA bundle holds `pem`.
fn in_system_bundle(pem: &[u8]) -> bool {
    let Ok(store) = SystemStore::detect(None) else {
        return false;
    };
    let text = String::from_utf8_lossy(pem);
    store
        .bundle()
        .and_then(|bundle| std::fs::read_to_string(bundle).ok())
        .is_some_and(|bundle| bundle.contains(text.trim()))
}
