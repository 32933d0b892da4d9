//! `keyward trust` (issue 13, point 1): the local CA installed in a Debian system store under a
//! temporary root (the machine's own store is never touched) and in a temporary NSS database,
//! with the real `update-ca-certificates`, `certutil` and OpenSSL; then taken out, leaving both
//! as they were. CI installs certutil (Debian's libnss3-tools); these tests do not skip.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::Server;

/// Runs `keyward trust --data DATA ARGS`: (success, stdout, stderr).
fn trust(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("trust")
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("keyward runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} runs (CI installs it; locally: apt-get install -y libnss3-tools ca-certificates): {e}")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

/// A temporary machine: a Debian system store under `root` (as update-ca-certificates leaves
/// it, with another local CA already in it) and an empty NSS database, as Chromium makes it.
struct Machine {
    _dir: tempfile::TempDir,
    root: PathBuf,
    nss: PathBuf,
}

impl Machine {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let local = root.join("usr/local/share/ca-certificates");
        let shared = root.join("usr/share/ca-certificates/distribution");
        for made in [&local, &shared, &root.join("etc/ssl/certs")] {
            std::fs::create_dir_all(made).unwrap();
        }
        // Two CAs of the distribution (listed in ca-certificates.conf) and one of the local
        // administrator, made by OpenSSL.
        let make_ca = |file: &Path, name: &str| {
            run(
                "openssl",
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-keyout",
                    dir.path().join(format!("{name}.key")).to_str().unwrap(),
                    "-out",
                    file.to_str().unwrap(),
                    "-subj",
                    &format!("/CN={name}"),
                    "-days",
                    "30",
                ],
            );
        };
        make_ca(&shared.join("first.crt"), "First Distribution CA");
        make_ca(&shared.join("second.crt"), "Second Distribution CA");
        make_ca(&local.join("someone-elses-ca.crt"), "Someone Else's CA");
        std::fs::write(
            root.join("etc/ca-certificates.conf"),
            "# the distribution's CAs\ndistribution/first.crt\ndistribution/second.crt\n",
        )
        .unwrap();
        let under = |p: &str| root.join(p).display().to_string();
        // In /usr/sbin, which a user's PATH may lack.
        let update = ["/usr/sbin/update-ca-certificates", "update-ca-certificates"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("update-ca-certificates");
        run(
            update,
            &[
                "--certsconf",
                &under("etc/ca-certificates.conf"),
                "--certsdir",
                &under("usr/share/ca-certificates"),
                "--localcertsdir",
                &under("usr/local/share/ca-certificates"),
                "--etccertsdir",
                &under("etc/ssl/certs"),
                "--hooksdir",
                &under("etc/ca-certificates/update.d"),
            ],
        );
        let nss = dir.path().join("nssdb");
        std::fs::create_dir_all(&nss).unwrap();
        run(
            "certutil",
            &["-N", "--empty-password", "-d", &format!("sql:{}", nss.display())],
        );
        Self { _dir: dir, root, nss }
    }

    /// Every path under the root with its content (files) or target (links).
    fn system_store(&self) -> BTreeMap<String, String> {
        fn walk(dir: &Path, base: &Path, into: &mut BTreeMap<String, String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.strip_prefix(base).unwrap().display().to_string();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                if meta.file_type().is_symlink() {
                    into.insert(name, format!("-> {}", std::fs::read_link(&path).unwrap().display()));
                } else if meta.is_dir() {
                    into.insert(name.clone(), "dir".into());
                    walk(&path, base, into);
                } else {
                    into.insert(name, std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        let mut all = BTreeMap::new();
        walk(&self.root, &self.root, &mut all);
        all
    }

    /// `certutil -L`.
    fn nss_listing(&self) -> String {
        run("certutil", &["-L", "-d", &format!("sql:{}", self.nss.display())])
    }

    fn bundle(&self) -> PathBuf {
        self.root.join("etc/ssl/certs/ca-certificates.crt")
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--root".into(),
            self.root.display().to_string(),
            "--nss-db".into(),
            self.nss.display().to_string(),
        ]
    }
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The line of `keyward serve`'s banner that says whether the CA is trusted.
fn serve_tls_line(data: &Path, extra: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("keyward serve starts");
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|line| line.trim_start().starts_with("TLS:"));
    child.kill().ok();
    child.wait().ok();
    line.expect("serve prints a TLS: line")
}

/// A leaf the server serves verifies against a CA file, by the real OpenSSL.
fn openssl_verifies(ca_file: &Path, leaf: &Path) -> bool {
    Command::new("openssl")
        .args(["verify", "-purpose", "sslserver", "-CAfile"])
        .arg(ca_file)
        .arg(leaf)
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn dry_run_shows_the_plan_and_changes_nothing() {
    let server = Server::start();
    let machine = Machine::new();
    let (store, nss) = (machine.system_store(), machine.nss_listing());
    let mut args = machine.args();
    args.push("--dry-run".into());
    let (ok, out, err) = trust(server.data(), &strs(&args));
    assert!(ok, "{out}{err}");
    for expected in [
        "would add the local CA to the system store (Debian/Ubuntu",
        "keyward-local-ca-",
        "$ update-ca-certificates --certsconf",
        "would add the local CA to the NSS database",
        "$ certutil -A -d sql:",
        "-t C,,",
        "lets it vouch for: localhost (and the names under it), 127.0.0.1, ::1; nothing else",
        "0600",
        "(dry run: nothing was changed)",
    ] {
        assert!(out.contains(expected), "{expected:?} missing:\n{out}");
    }
    assert_eq!(machine.system_store(), store);
    assert_eq!(machine.nss_listing(), nss);
    assert!(!server.data().join("tls/trust.json").exists());
}

/// Install, the clients' lines, a second run that changes nothing, `serve` saying so, a CA the
/// server made again (another public URL) replacing the old one, and uninstall leaving the
/// system store and the NSS database exactly as they were.
#[test]
fn trust_installs_is_idempotent_follows_a_new_ca_and_uninstalls_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    assert!(
        serve_tls_line(&data, &[]).contains(&format!(
            "is not trusted by this machine; run `keyward trust --data {}`",
            data.display()
        )),
        "a fresh server says how to trust its CA"
    );
    let machine = Machine::new();
    let (store, nss) = (machine.system_store(), machine.nss_listing());
    let args = machine.args();
    let ca = data.join("tls/ca.pem");

    let (ok, out, err) = trust(&data, &strs(&args));
    assert!(ok, "{out}{err}");
    // Both stores hold it now: OpenSSL trusts the server's leaf through the system bundle, and
    // the NSS database has it trusted for TLS servers.
    assert!(
        openssl_verifies(&machine.bundle(), &data.join("tls/server.pem")),
        "{out}"
    );
    let listing = machine.nss_listing();
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("Keyward Local CA ") && l.trim_end().ends_with("C,,")),
        "{listing}"
    );
    // The lines for other clients name the right files.
    let bundle = machine.bundle().display().to_string();
    for expected in [
        format!("export NODE_EXTRA_CA_CERTS={}", ca.display()),
        format!("export REQUESTS_CA_BUNDLE={bundle} SSL_CERT_FILE={bundle}"),
        format!("curl --cacert {bundle} https://localhost:"),
        format!("-file {}", ca.display()),
    ] {
        assert!(out.contains(&expected), "{expected:?} missing:\n{out}");
    }
    // curl itself, with the bundle its line names, against the real server on this directory.
    let server = Server::start_in(dir);
    let healthz = run(
        "curl",
        &[
            "--silent",
            "--fail",
            "--cacert",
            &bundle,
            &format!("{}/healthz", server.url),
        ],
    );
    assert_eq!(healthz, "ok");
    let dir = server.stop();
    assert_eq!(dir.path(), data);

    // Again: nothing changes.
    let (after_store, after_nss) = (machine.system_store(), machine.nss_listing());
    let (ok, again, err) = trust(&data, &strs(&args));
    assert!(ok, "{again}{err}");
    assert!(
        again.contains("already done") && again.contains("Nothing to change."),
        "{again}"
    );
    assert_eq!(machine.system_store(), after_store);
    assert_eq!(machine.nss_listing(), after_nss);
    let recorded = std::fs::read_to_string(data.join("tls/trust.json")).unwrap();
    assert_eq!(recorded.matches("\"store\"").count(), 2, "{recorded}");

    // serve says it is trusted (from the record).
    let line = serve_tls_line(&data, &[]);
    assert!(line.contains("is trusted by this machine"), "{line}");
    assert!(line.contains("NSS"), "{line}");

    // Another public URL: the server makes its CA again, says so, and trust replaces the old.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let line = serve_tls_line(&data, &["--public-url", &format!("https://id.example.test:{port}")]);
    assert!(
        line.contains("was made again") && line.contains("keyward trust --data"),
        "{line}"
    );
    let (ok, replaced, err) = trust(&data, &strs(&args));
    assert!(ok, "{replaced}{err}");
    assert!(replaced.contains("the server made it again since"), "{replaced}");
    assert!(
        replaced.contains("id.example.test (and the names under it)"),
        "{replaced}"
    );
    let listing = machine.nss_listing();
    assert_eq!(
        listing.matches("Keyward Local CA ").count(),
        1,
        "the old one went:\n{listing}"
    );
    assert!(openssl_verifies(&machine.bundle(), &data.join("tls/server.pem")));

    // Uninstall: both as they were, the record gone.
    let (ok, removed, err) = trust(
        &data,
        &["--uninstall"].iter().copied().chain(strs(&args)).collect::<Vec<_>>(),
    );
    assert!(ok, "{removed}{err}");
    assert!(removed.contains("update-ca-certificates --fresh"), "{removed}");
    assert_eq!(machine.system_store(), store);
    assert_eq!(machine.nss_listing(), nss);
    assert!(!data.join("tls/trust.json").exists());
    let (ok, nothing, _) = trust(&data, &["--uninstall"]);
    assert!(ok && nothing.contains("Nothing to remove"), "{nothing}");
}

/// The Azure hosts CA (it vouches for Microsoft's names) is never installed by default; only
/// with its loud flag, with a warning; uninstall removes it too.
#[test]
fn the_azure_hosts_ca_is_installed_only_with_its_own_flag() {
    let server = Server::start_with(tempfile::tempdir().unwrap(), |s| s.azure_hosts(true));
    assert!(server.data().join("tls/azure-hosts-ca.pem").exists());
    let machine = Machine::new();
    let (store, nss) = (machine.system_store(), machine.nss_listing());
    let args = machine.args();
    let azure_pem = std::fs::read_to_string(server.data().join("tls/azure-hosts-ca.pem")).unwrap();

    let (ok, out, err) = trust(server.data(), &strs(&args));
    assert!(ok, "{out}{err}");
    assert!(!out.contains("Azure"), "{out}");
    assert!(!machine.nss_listing().contains("Keyward Azure Host Names CA"));
    let bundle = std::fs::read_to_string(machine.bundle()).unwrap();
    assert!(
        !bundle.contains(azure_pem.trim()),
        "the Azure-hosts CA is not in the system bundle"
    );

    let mut loud = args.clone();
    loud.push("--also-trust-azure-hosts-ca-for-microsoft-names".into());
    let (ok, out, err) = trust(server.data(), &strs(&loud));
    assert!(ok, "{out}{err}");
    assert!(out.contains("!! WARNING: also trusting the Azure-hosts CA"), "{out}");
    assert!(out.contains("login.microsoftonline.com"), "{out}");
    assert!(machine.nss_listing().contains("Keyward Azure Host Names CA"));
    assert!(
        std::fs::read_to_string(machine.bundle())
            .unwrap()
            .contains(azure_pem.trim())
    );

    let mut uninstall = args.clone();
    uninstall.push("--uninstall".into());
    let (ok, out, err) = trust(server.data(), &strs(&uninstall));
    assert!(ok, "{out}{err}");
    assert_eq!(machine.system_store(), store);
    assert_eq!(machine.nss_listing(), nss);
}

/// A CA key others can read is refused before anything changes, with the fix.
#[test]
fn a_ca_key_others_can_read_is_refused() {
    let server = Server::start();
    let machine = Machine::new();
    let nss = machine.nss.display().to_string();
    let key = server.data().join("tls/ca.key");
    set_mode(&key, 0o644);
    let before = machine.nss_listing();
    let (ok, _, err) = trust(server.data(), &["--store", "nss", "--nss-db", &nss]);
    set_mode(&key, 0o600);
    assert!(!ok);
    assert!(
        err.contains("can be read by other users") && err.contains("chmod 600"),
        "{err}"
    );
    assert_eq!(machine.nss_listing(), before);
    assert!(!server.data().join("tls/trust.json").exists());
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Another public URL makes the server make its CA again (the names it may vouch for change),
/// and `serve` says that this one must be trusted.
#[test]
fn serve_says_when_its_ca_was_made_again() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve_tls_line(dir.path(), &[]);
    assert!(first.contains("is not trusted by this machine"), "{first}");
    let before = std::fs::read(dir.path().join("tls/ca.pem")).unwrap();
    let line = serve_tls_line(dir.path(), &["--public-url", "https://id.example.test:8443"]);
    assert!(
        line.contains("was made again (the names the server serves changed) and is not trusted by this machine; run `keyward trust --data"),
        "{line}"
    );
    assert_ne!(std::fs::read(dir.path().join("tls/ca.pem")).unwrap(), before);
    let same = serve_tls_line(dir.path(), &["--public-url", "https://id.example.test:8443"]);
    assert!(!same.contains("made again"), "the same names keep the CA: {same}");
}
