//! Errors without dead ends (issue 13, point 3, begun): each names what is wrong and the fix.

use std::net::TcpListener;
use std::process::{Command, Stdio};

use crate::common::Server;

fn keyward(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("keyward runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn serve_on_a_port_in_use_says_so_names_the_fix_and_creates_nothing() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let (ok, stderr) = keyward(&["serve", "--listen", &address, "--data", data.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("the port is in use"), "{stderr}");
    assert!(stderr.contains("--listen"), "{stderr}");
    assert!(!data.exists(), "nothing is created before the server can listen");
}

#[test]
fn a_server_url_where_nothing_answers_is_not_called_a_refused_credential() {
    let server = Server::start();
    let unused = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("https://127.0.0.1:{unused}");
    let (ok, stderr) = keyward(&[
        "app",
        "list",
        "--data",
        server.data().to_str().unwrap(),
        "--server",
        &url,
    ]);
    assert!(!ok);
    assert!(stderr.contains(&format!("nothing answers at {url}")), "{stderr}");
    assert!(stderr.contains("--server"), "{stderr}");
    assert!(!stderr.contains("refused the admin credential"), "{stderr}");
}

#[test]
fn cert_new_lists_the_four_files_and_what_each_is_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["cert", "new", "--subject", "CN=listed", "--no-password"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for (file, what) in [
        ("listed.cer", "upload this to the app registration"),
        ("listed.pem", "certificate, PEM"),
        ("listed.key", "private key"),
        ("listed.pfx", "certificate and private key"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} not listed:\n{text}"));
        assert!(line.contains(what), "{line}");
        assert!(dir.path().join(file).exists());
    }
    assert!(text.contains("keyward app cert add APP listed.cer"), "{text}");
}

/// Runs `keyward ARGS` in `dir` with extra environment; returns (success, stdout, stderr).
fn keyward_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .current_dir(dir)
        .env_remove("KEYWARD_DATA")
        .env_remove("KEYWARD_CA")
        .env_remove("KEYWARD_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("keyward runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A PFX and an encrypted key made by the OpenSSL CLI, with the password "pfx-password".
fn openssl_pfx(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-days",
        "30",
        "-subj",
        "/CN=from-pfx",
        "-keyout",
        "app.key",
        "-out",
        "app.pem",
        "-passout",
        "pass:pfx-password",
    ]);
    run(&[
        "pkcs12",
        "-export",
        "-in",
        "app.pem",
        "-inkey",
        "app.key",
        "-passin",
        "pass:pfx-password",
        "-out",
        "app.pfx",
        "-passout",
        "pass:pfx-password",
    ]);
}

#[test]
fn app_cert_add_with_a_pfx_says_only_the_certificate_is_uploaded_and_takes_it_out_with_the_password() {
    let server = Server::start();
    let data = server.data().to_str().unwrap().to_owned();
    server.keyward(&["app", "create", "--name", "pfx-app"]);
    let dir = tempfile::tempdir().unwrap();
    openssl_pfx(dir.path());

    let (ok, _, stderr) = keyward_in(
        dir.path(),
        &["app", "cert", "add", "pfx-app", "app.pfx", "--data", &data],
        &[],
    );
    assert!(!ok);
    assert!(
        stderr.contains("only its certificate is uploaded (the private key is never sent)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--password-file FILE or the KEYWARD_PASSWORD"),
        "{stderr}"
    );
    let (ok, _, stderr) = keyward_in(
        dir.path(),
        &["app", "cert", "add", "pfx-app", "app.key", "--data", &data],
        &[],
    );
    assert!(!ok);
    assert!(
        stderr.contains("only a certificate is uploaded, never the key"),
        "{stderr}"
    );

    std::fs::write(dir.path().join("pw.txt"), "pfx-password\n").unwrap();
    let (ok, stdout, stderr) = keyward_in(
        dir.path(),
        &[
            "app",
            "cert",
            "add",
            "pfx-app",
            "app.pfx",
            "--password-file",
            "pw.txt",
            "--data",
            &data,
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("Took the certificate out of app.pfx and uploaded only that"),
        "{stderr}"
    );
    assert!(stdout.contains("Added a certificate to pfx-app"), "{stdout}");
    // The certificate registered is the PFX's: OpenSSL's SHA-1 fingerprint of app.pem.
    let fingerprint = Command::new("openssl")
        .args(["x509", "-in", "app.pem", "-noout", "-fingerprint", "-sha1"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let fingerprint = String::from_utf8_lossy(&fingerprint.stdout)
        .rsplit('=')
        .next()
        .unwrap()
        .trim()
        .replace(':', "");
    let app = server.keyward(&["app", "show", "pfx-app"]);
    let thumbprints: Vec<&str> = app["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["customKeyIdentifier"].as_str())
        .collect();
    assert_eq!(thumbprints, [fingerprint.as_str()], "{app}");
    let (ok, _, stderr) = keyward_in(
        dir.path(),
        &["app", "cert", "add", "pfx-app", "app.pfx", "--data", &data],
        &[("KEYWARD_PASSWORD", "wrong")],
    );
    assert!(!ok);
    assert!(stderr.contains("wrong password"), "{stderr}");
}

#[test]
fn token_against_an_untrusted_server_names_the_ca_to_pass_and_a_wrong_tenant_quotes_aadsts() {
    let server = Server::start();
    let data = server.data().to_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = keyward_in(dir.path(), &["cert", "new", "--subject", "CN=t", "--no-password"], &[]);
    assert!(ok, "{stderr}");
    let app = server.keyward(&["app", "create", "--name", "t"]);
    let client_id = app["appId"].as_str().unwrap().to_owned();
    server.keyward(&["app", "cert", "add", "t", dir.path().join("t.cer").to_str().unwrap()]);
    let authority = format!("{}/contoso", server.url);
    let token = |authority: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "token",
            "--authority",
            authority,
            "--client-id",
            &client_id,
            "--cert",
            "t.pem",
            "--key",
            "t.key",
            "--scope",
            "https://graph.microsoft.com/.default",
        ];
        args.extend_from_slice(extra);
        keyward_in(dir.path(), &args, env)
    };

    // Untrusted, nothing to see: the flag and the variable, and where a Keyward server keeps it.
    let (ok, _, stderr) = token(&authority, &[], &[]);
    assert!(!ok);
    assert!(stderr.contains("not signed by a CA this machine trusts"), "{stderr}");
    assert!(stderr.contains("--ca FILE or KEYWARD_CA=FILE"), "{stderr}");
    assert!(stderr.contains("tls/ca.pem"), "{stderr}");
    // With the data directory in sight, its CA by name.
    let ca = format!("{data}/tls/ca.pem");
    let (ok, _, stderr) = token(&authority, &[], &[("KEYWARD_DATA", &data)]);
    assert!(!ok);
    assert!(stderr.contains(&format!("--ca {ca}")), "{stderr}");
    // Which works.
    let (ok, stdout, stderr) = token(&authority, &["--ca", &ca], &[]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim().split('.').count(), 3, "{stdout}");
    // A wrong tenant: the server's own AADSTS text.
    let wrong = format!("{}/no-such-tenant", server.url);
    let (ok, _, stderr) = token(&wrong, &["--ca", &ca], &[]);
    assert!(!ok);
    assert!(stderr.contains("AADSTS90002"), "{stderr}");
    assert!(stderr.contains("no-such-tenant"), "{stderr}");
}

#[test]
fn cert_new_combined_writes_key_and_certificate_in_one_pem_for_azure_client_certificate_path() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = keyward_in(
        dir.path(),
        &[
            "cert",
            "new",
            "--subject",
            "CN=startup-identity",
            "--no-password",
            "--combined",
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains("startup-identity.combined.pem"))
        .unwrap_or_else(|| panic!("not listed:\n{stdout}"));
    assert!(line.contains("AZURE_CLIENT_CERTIFICATE_PATH"), "{line}");
    let path = dir.path().join("startup-identity.combined.pem");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    // OpenSSL reads the key and the certificate from the one file, and they belong together.
    let modulus = |args: &[&str]| {
        let out = Command::new("openssl").args(args).arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let from_key = modulus(&["rsa", "-noout", "-modulus", "-in"]);
    let from_cert = modulus(&["x509", "-noout", "-modulus", "-in"]);
    assert!(from_key.starts_with("Modulus="), "{from_key}");
    assert_eq!(from_key, from_cert);
}

/// The subcommands a `--help` lists under "Commands:" (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every `--help`, walked from `keyward --help` down: one with an "Examples:" (or "Example:")
/// heading has at least one example under it, each a command.
#[test]
fn every_help_with_an_examples_heading_has_examples() {
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    let mut walked = 0;
    let mut with_examples = Vec::new();
    while let Some(path) = queue.pop() {
        let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(&path)
            .arg("--help")
            .stdin(Stdio::null())
            .output()
            .expect("keyward runs");
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "keyward {path:?} --help: {help}");
        walked += 1;
        let mut lines = help
            .lines()
            .skip_while(|l| !matches!(l.trim_end(), "Examples:" | "Example:"));
        if lines.next().is_some() {
            let examples: Vec<&str> = lines.take_while(|l| !l.trim().is_empty()).collect();
            assert!(
                !examples.is_empty(),
                "keyward {} --help: an Examples heading with nothing under it",
                path.join(" ")
            );
            // Each line starts a command, or continues the one before it (which ends with `\`):
            // a line clap wrapped at its width would be neither, and could not be pasted.
            let mut continued = false;
            for example in &examples {
                let command = example.trim_start();
                let starts = example.starts_with("  ")
                    && ["keyward ", "sudo keyward ", "KEYWARD_", "printf ", "export ", "curl "]
                        .iter()
                        .any(|p| command.starts_with(p));
                assert!(
                    starts || (continued && example.starts_with("    ")),
                    "keyward {} --help: {example:?} is not an example command",
                    path.join(" ")
                );
                continued = example.trim_end().ends_with('\\');
            }
            with_examples.push(path.join(" "));
        }
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
    }
    assert!(walked > 40, "walked only {walked} help pages");
    for command in ["app cert add", "cert new", "token", "vault grant"] {
        assert!(
            with_examples.iter().any(|c| c == command),
            "keyward {command} --help has examples"
        );
    }
}

/// The README's `--public-url https://contoso.ciamlogin.com` route for Microsoft's CIAM samples
/// (AUTHORITY the ciamlogin.com origin, `{TENANT_SUBDOMAIN}.onmicrosoft.com/` appended by their
/// AuthProvider): the local CA's TLS certificate names that host, and discovery at
/// `/contoso.onmicrosoft.com/` answers with the issuer and endpoints on it. The host name is
/// resolved to the server here as the hosts-file line would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_url_on_a_ciamlogin_host_serves_what_the_ciam_samples_ask_for() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let public = format!("https://contoso.ciamlogin.com:{}", address.port());
    let server = Server::start_on(tempfile::tempdir().unwrap(), listener, |settings| {
        settings.public_url(&public).unwrap()
    });
    let mut roots = rustls::RootCertStore::empty();
    for cert in keyward_pki::read(&server.ca_pem(), None).unwrap().certificates {
        roots
            .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
            .unwrap();
    }
    let tls =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .resolve("contoso.ciamlogin.com", address)
        .build()
        .unwrap();
    let authority = format!("{public}/contoso.onmicrosoft.com");
    let metadata: serde_json::Value = http
        .get(format!("{authority}/v2.0/.well-known/openid-configuration"))
        .send()
        .await
        .expect("TLS to contoso.ciamlogin.com verifies with the local CA")
        .json()
        .await
        .unwrap();
    for field in ["issuer", "token_endpoint", "authorization_endpoint", "jwks_uri"] {
        let url = metadata[field].as_str().unwrap_or_default();
        assert!(url.starts_with(&format!("{public}/")), "{field}: {metadata}");
    }
}
