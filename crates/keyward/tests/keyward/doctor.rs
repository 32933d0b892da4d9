//! `keyward doctor` (issue 12, point 5): on ten set-ups that each hold one mistake (eleven: the
//! wrong authority host comes in two forms), the first
//! failing finding names that mistake and its fix; on a correct set-up, all green. The files
//! are made by the real OpenSSL; the server is a real one over HTTPS.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::Server;

/// A client set-up: a registered app (with an API it holds a role on), and in `dir` the files
/// made by OpenSSL: `good.pem`/`good.key` (registered), `other.pem`/`other.key` (not),
/// `expired.pem`/`expired.key`, `good-enc.key` (encrypted with `right`), `nokey.pfx`.
struct Setup {
    server: Server,
    dir: tempfile::TempDir,
    app_id: String,
    app_name: String,
    scope: String,
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn self_signed(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "90",
        ],
    );
}

/// A certificate that expired in 2024, signed by itself through `openssl ca` (the only way
/// OpenSSL 3.0 sets dates in the past).
fn expired(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "expired.key",
            "-out",
            "expired.csr",
            "-subj",
            "/CN=expired",
        ],
    );
    std::fs::create_dir(dir.join("ca-db")).unwrap();
    std::fs::write(dir.join("ca-db/index.txt"), "").unwrap();
    std::fs::write(dir.join("ca-db/serial"), "01\n").unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = d\n[d]\ndatabase = ca-db/index.txt\nnew_certs_dir = ca-db\nserial = ca-db/serial\n\
         default_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-selfsign",
            "-keyfile",
            "expired.key",
            "-in",
            "expired.csr",
            "-out",
            "expired.pem",
            "-startdate",
            "20240101000000Z",
            "-enddate",
            "20240201000000Z",
            "-notext",
        ],
    );
}

impl Setup {
    fn new() -> Self {
        let server = Server::start();
        let client = server.client("doctor-app");
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "good");
        self_signed(d, "other");
        expired(d);
        openssl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-in",
                "good.key",
                "-out",
                "good-enc.key",
                "-v2",
                "aes-256-cbc",
                "-passout",
                "pass:right",
            ],
        );
        openssl(
            d,
            &[
                "pkcs12",
                "-export",
                "-nokeys",
                "-in",
                "good.pem",
                "-out",
                "nokey.pfx",
                "-passout",
                "pass:pfx-pw",
            ],
        );
        std::fs::write(d.join("wrong.txt"), "wrong\n").unwrap();
        std::fs::write(d.join("pfx-pw.txt"), "pfx-pw\n").unwrap();
        std::fs::write(d.join("ca.pem"), server.ca_pem()).unwrap();
        // The CA and password files sit in the folder too, as they do in real set-ups.
        server.keyward(&["app", "cert", "add", "doctor-app", d.join("good.pem").to_str().unwrap()]);
        Self {
            app_id: client.app_id,
            app_name: "doctor-app".into(),
            scope: client.scope,
            dir,
            server,
        }
    }

    fn authority(&self) -> String {
        format!("{}/contoso", self.server.url)
    }

    /// The correct configuration's flags, with `changes` replacing or adding flags.
    fn args(&self, changes: &[(&str, &str)]) -> Vec<String> {
        let authority = self.authority();
        let mut args: Vec<(String, String)> = [
            ("--authority", authority.as_str()),
            ("--client-id", self.app_id.as_str()),
            ("--cert", "good.pem"),
            ("--key", "good.key"),
            ("--ca", "ca.pem"),
            ("--scope", self.scope.as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (flag, value) in changes {
            match args.iter_mut().find(|(k, _)| k == flag) {
                Some(slot) if value.is_empty() => slot.1 = String::new(),
                Some(slot) => slot.1 = (*value).to_owned(),
                None => args.push(((*flag).to_owned(), (*value).to_owned())),
            }
        }
        let mut flat = vec!["doctor".to_owned()];
        for (k, v) in args {
            if v.is_empty() {
                continue; // an empty value removes the flag
            }
            flat.push(k);
            flat.push(v);
        }
        flat
    }

    fn run(&self, args: &[String]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .env_remove("KEYWARD_PASSWORD")
            .env_remove("KEYWARD_DATA")
            .env_remove("KEYWARD_CA")
            .env_remove("KEYWARD_AUTHORITY")
            .env_remove("KEYWARD_CLIENT_ID")
            .output()
            .expect("keyward runs")
    }

    /// Runs doctor with `--json`; returns whether it exited 0, and the report.
    fn doctor(&self, changes: &[(&str, &str)]) -> (bool, Value) {
        let mut args = self.args(changes);
        args.push("--json".into());
        let out = self.run(&args);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "doctor {args:?} printed no JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.success(), report)
    }
}

/// The first failing finding: (check, message, fix).
fn first_failure(report: &Value) -> Option<(String, String, String)> {
    report["findings"]
        .as_array()?
        .iter()
        .find(|f| f["status"] == "fail")
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (text("check"), text("message"), text("fix"))
        })
}

/// One mistake: its name, the flags changed, the check that must fail first, and words its
/// message and its fix must hold.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, Vec<&'a str>, Vec<&'a str>);

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn single_mistakes_are_each_named_first_and_a_correct_set_up_is_all_green() {
    let setup = Setup::new();
    let sha1 = setup.dir.path().join("good.pem");
    let fingerprint = |digest: &str| {
        let out = openssl(
            setup.dir.path(),
            &["x509", "-in", sha1.to_str().unwrap(), "-noout", "-fingerprint", digest],
        );
        // "sha256 Fingerprint=AB:CD:...", typed as people paste it: lower case, colons kept.
        out.trim().split_once('=').unwrap().1.to_ascii_lowercase()
    };
    let sha1_typed = fingerprint("-sha1");
    let sha256_typed = fingerprint("-sha256");
    let sha1_hex = sha1_typed.replace(':', "").to_ascii_uppercase();
    let wrong_host = format!("https://127.0.0.1:{}/contoso", closed_port());
    let wrong_tenant = format!("{}/no-such-tenant", setup.server.url);
    assert!(
        setup.server.url.starts_with("https://localhost:"),
        "{}",
        setup.server.url
    );
    let other_name = format!("{}/contoso", setup.server.url.replace("localhost", "127.0.0.1"));

    // (mistake, flags changed, the check that must fail first, words its message and fix hold)
    let cases: Vec<Case<'_>> = vec![
        (
            "SHA-256 given as SHA-1",
            vec![("--thumbprint", sha256_typed.as_str())],
            "thumbprint",
            vec!["given as SHA-1", "SHA-256"],
            vec![sha1_hex.as_str()],
        ),
        (
            "wrong key",
            vec![("--key", "other.key")],
            "key-match",
            vec!["other.pem"],
            vec!["key made together"],
        ),
        (
            "unregistered certificate",
            vec![("--cert", "other.pem"), ("--key", "other.key")],
            "registration",
            vec!["AADSTS700027", "told by the token endpoint"],
            vec!["keyward app cert add"],
        ),
        (
            "expired certificate",
            vec![("--cert", "expired.pem"), ("--key", "expired.key")],
            "validity",
            vec!["expired on 2024-02-01"],
            vec!["make a new certificate"],
        ),
        (
            "clock 10 minutes off",
            vec![("--clock-skew", "-10m")],
            "clock",
            vec!["10 min behind"],
            vec!["NTP"],
        ),
        (
            "wrong tenant",
            vec![("--authority", wrong_tenant.as_str())],
            "tenant",
            vec!["no-such-tenant", "AADSTS90002"],
            vec!["tenant's id"],
        ),
        (
            "wrong authority host",
            vec![("--authority", wrong_host.as_str())],
            "authority",
            vec!["nothing answers"],
            vec!["host and port"],
        ),
        (
            "wrong authority host: another name of the server, not the one it announces",
            vec![("--authority", other_name.as_str())],
            "issuer",
            vec!["announces the issuer https://localhost:"],
            vec!["--public-url"],
        ),
        (
            "encrypted key with the wrong passphrase",
            vec![("--key", "good-enc.key"), ("--password-file", "wrong.txt")],
            "private-key",
            vec!["passphrase does not decrypt good-enc.key"],
            vec!["--password-file"],
        ),
        (
            "PFX without its key",
            vec![
                ("--cert", "nokey.pfx"),
                ("--key", ""),
                ("--password-file", "pfx-pw.txt"),
            ],
            "private-key",
            vec!["nokey.pfx holds the certificate but not its private key"],
            vec!["export the PFX again with its private key"],
        ),
        (
            "scope of an unknown resource",
            vec![("--scope", "api://nope/.default")],
            "scope",
            vec!["api://nope/.default", "AADSTS500011"],
            vec!["Application ID URI"],
        ),
    ];
    let mut wrong = Vec::new();
    for (mistake, changes, check, message_has, fix_has) in &cases {
        let (success, report) = setup.doctor(changes);
        let failure = first_failure(&report);
        let named = failure.as_ref().is_some_and(|(c, message, fix)| {
            c == check && message_has.iter().all(|w| message.contains(w)) && fix_has.iter().all(|w| fix.contains(w))
        });
        if success || report["ok"] != false || !named {
            wrong.push(format!(
                "{mistake}: expected {check} first, exit 1; got exit 0 = {success}, first failure {failure:?}\n{report:#}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));

    // The correct set-up: all green, told by the token endpoint, then looked up as the admin,
    // with the thumbprints typed as OpenSSL prints them, and with the default scope.
    let data = setup.server.data().to_str().unwrap().to_owned();
    for changes in [
        vec![
            ("--thumbprint", sha1_typed.as_str()),
            ("--thumbprint-sha256", sha256_typed.as_str()),
        ],
        vec![("--data", data.as_str())],
        vec![("--scope", "")],
    ] {
        let (success, report) = setup.doctor(&changes);
        let statuses: Vec<(&str, &str)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["check"].as_str().unwrap(), f["status"].as_str().unwrap()))
            .collect();
        assert!(success && report["ok"] == true, "{changes:?}: {report:#}");
        assert!(
            statuses.iter().all(|(_, s)| *s == "ok" || *s == "skipped"),
            "{changes:?}: {report:#}"
        );
        for check in [
            "key-match",
            "authority",
            "tenant",
            "issuer",
            "clock",
            "application",
            "registration",
            "assertion",
            "scope",
        ] {
            assert!(
                statuses.contains(&(check, "ok")),
                "{check} not ok with {changes:?}: {report:#}"
            );
        }
    }

    // With the admin credential, an unregistered certificate is looked up, not inferred.
    let (_, report) = setup.doctor(&[("--cert", "other.pem"), ("--key", "other.key"), ("--data", &data)]);
    let (check, message, fix) = first_failure(&report).expect("a failure");
    assert_eq!(check, "registration", "{report:#}");
    assert!(
        message.contains("is not registered on \"doctor-app\"") && message.contains("looked up"),
        "{message}"
    );
    assert!(
        fix.contains(&format!("keyward app cert add {} other.pem", setup.app_name)),
        "{fix}"
    );
}

/// What people read: one line per finding with ✓ / ✗, the fix indented under it, exit code 1
/// and one line on stderr naming the check to fix first.
#[test]
fn the_text_report_marks_each_line_and_the_exit_code_says_failed() {
    let setup = Setup::new();
    let out = setup.run(&setup.args(&[("--key", "other.key")]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("✓ certificate")), "{stdout}");
    let failed = stdout
        .lines()
        .position(|l| l.starts_with("✗ key-match"))
        .expect(&stdout);
    assert!(
        stdout
            .lines()
            .nth(failed + 1)
            .unwrap()
            .trim_start()
            .starts_with("fix: "),
        "{stdout}"
    );
    assert!(stderr.contains("fix the key-match first"), "{stderr}");

    let out = setup.run(&setup.args(&[]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("All green"), "{stdout}");
    assert!(!stdout.contains('✗'), "{stdout}");
}

/// The report's findings as (check, status) pairs.
fn statuses(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_owned(),
                f["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `--vault-url`/`--vault-cert` instead of `--cert` (issue 12, point 5: "a certificate file or
/// vault name"): the certificate and key are read from the vault's secret, as the article's app
/// reads them, with the admin credential of `--data`; the `vault` check comes first, and the
/// other checks run on what the vault gave.
#[test]
fn a_vault_certificate_is_checked_through_the_vault_and_its_mistakes_are_named() {
    let setup = Setup::new();
    let server = &setup.server;
    let data = server.data().to_str().unwrap().to_owned();
    // One certificate with a PEM secret, registered on the app; one with a PKCS#12 secret, not.
    server.keyward(&[
        "vault",
        "cert",
        "create",
        "doctor-vault",
        "--subject",
        "CN=doctor-vault",
        "--content-type",
        "pem",
    ]);
    server.keyward(&[
        "vault",
        "cert",
        "create",
        "doctor-unregistered",
        "--subject",
        "CN=doctor-unregistered",
    ]);
    let cer = setup.dir.path().join("doctor-vault.cer");
    server.keyward(&[
        "vault",
        "cert",
        "download",
        "doctor-vault",
        "--format",
        "cer",
        "--out",
        cer.to_str().unwrap(),
    ]);
    server.keyward(&["app", "cert", "add", "doctor-app", cer.to_str().unwrap()]);
    let vault = |name: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("--cert", String::new()),
            ("--key", String::new()),
            ("--vault-url", server.url.clone()),
            ("--vault-cert", name.to_owned()),
            ("--data", data.clone()),
        ]
    };
    let doctor = |changes: &[(&'static str, String)]| {
        let changes: Vec<(&str, &str)> = changes.iter().map(|(k, v)| (*k, v.as_str())).collect();
        setup.doctor(&changes)
    };

    // (1) Registered: all green, through the vault.
    let (success, report) = doctor(&vault("doctor-vault"));
    assert!(success && report["ok"] == true, "{report:#}");
    let seen = statuses(&report);
    assert_eq!(seen[0], ("vault".to_owned(), "ok".to_owned()), "{report:#}");
    for check in [
        "certificate",
        "private-key",
        "key-match",
        "application",
        "registration",
        "assertion",
        "scope",
    ] {
        assert!(
            seen.contains(&(check.to_owned(), "ok".to_owned())),
            "{check} not ok: {report:#}"
        );
    }
    let vault_message = report["findings"][0]["message"].as_str().unwrap();
    assert!(
        vault_message.contains("\"doctor-vault\"") && vault_message.contains("application/x-pem-file"),
        "{vault_message}"
    );

    // (2) Not registered (and a PKCS#12 secret): the vault is fine, the registration is named.
    let (success, report) = doctor(&vault("doctor-unregistered"));
    assert!(!success, "{report:#}");
    assert_eq!(
        statuses(&report)[0],
        ("vault".to_owned(), "ok".to_owned()),
        "{report:#}"
    );
    let (check, message, fix) = first_failure(&report).expect("a failure");
    assert_eq!(check, "registration", "{report:#}");
    assert!(
        message.contains("vault certificate doctor-unregistered")
            && message.contains("is not registered on \"doctor-app\""),
        "{message}"
    );
    assert!(
        fix.contains("keyward vault cert link doctor-unregistered --app doctor-app"),
        "{fix}"
    );

    // (3) An unknown name: the vault check fails first, naming it; the file checks are skipped.
    let (success, report) = doctor(&vault("no-such-cert"));
    assert!(!success, "{report:#}");
    let (check, message, fix) = first_failure(&report).expect("a failure");
    assert_eq!(check, "vault", "{report:#}");
    assert!(message.contains("no certificate named \"no-such-cert\""), "{message}");
    assert!(fix.contains("keyward vault cert list"), "{fix}");
    assert!(
        statuses(&report).contains(&("certificate".to_owned(), "skipped".to_owned())),
        "{report:#}"
    );

    // No identity to read the vault with: said plainly, with the way around it.
    let mut no_data = vault("doctor-vault");
    no_data.pop();
    let (_, report) = doctor(&no_data);
    let (check, _, fix) = first_failure(&report).expect("a failure");
    assert_eq!(check, "vault", "{report:#}");
    assert!(
        fix.contains("--data DIR") && fix.contains("az keyvault secret download") && fix.contains("--cert"),
        "{fix}"
    );

    // A caller who may read the certificate but not its secret: the permission and the grant
    // command are named. (The admin's full policy comes back at the server's next start.)
    let admin: Value = serde_json::from_slice(&std::fs::read(server.data().join("admin/admin.json")).unwrap()).unwrap();
    let admin_app = admin["appId"].as_str().unwrap();
    server.keyward(&[
        "vault",
        "grant",
        admin_app,
        "--certificates",
        "get,list",
        "--secrets",
        "list",
    ]);
    let (_, report) = doctor(&vault("doctor-vault"));
    let (check, message, fix) = first_failure(&report).expect("a failure");
    assert_eq!(check, "vault", "{report:#}");
    assert!(
        message.contains("secrets get") && message.contains("doctor-vault"),
        "{message}"
    );
    assert!(
        fix.contains(&format!(
            "keyward vault grant {admin_app} --certificates get --secrets get"
        )),
        "{fix}"
    );
}
