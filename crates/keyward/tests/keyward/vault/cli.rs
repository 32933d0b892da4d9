//! `keyward vault` and the client library's vault credential, checked with the OpenSSL CLI.

use std::process::Command;

use keyward_client::{CertificateCredential, ConfidentialClient};

use super::support::reader;
use crate::common::*;

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `openssl x509 -fingerprint` as uppercase hex without colons.
fn sha1_of(path: &str, form: &str) -> String {
    openssl(&["x509", "-in", path, "-inform", form, "-noout", "-fingerprint", "-sha1"])
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
}

#[tokio::test]
async fn certificates_are_created_shown_downloaded_imported_and_listed() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    let created = server.keyward(&[
        "vault",
        "cert",
        "create",
        "ciam-client-app",
        "--subject",
        "CN=ciam-client-app",
        "--content-type",
        "pem",
    ]);
    let id = created["id"].as_str().unwrap();
    assert!(
        id.starts_with(&format!("{}/certificates/ciam-client-app/", server.url)),
        "{id}"
    );
    let shown = server.keyward(&["vault", "cert", "show", "ciam-client-app"]);
    assert_eq!(shown["id"], created["id"]);
    assert_eq!(shown["x5t"], created["x5t"]);

    // .cer: what OpenSSL reads as DER, with the thumbprint the vault reports.
    let cer = path("app.cer");
    let download = server.keyward(&[
        "vault",
        "cert",
        "download",
        "ciam-client-app",
        "--format",
        "cer",
        "--out",
        &cer,
    ]);
    let thumbprint = download["thumbprint"].as_str().unwrap().to_owned();
    assert_eq!(sha1_of(&cer, "DER"), thumbprint);
    // .pem: the key then the certificate; OpenSSL finds both and they match.
    let pem = path("app.pem");
    server.keyward(&[
        "vault",
        "cert",
        "download",
        "ciam-client-app",
        "--format",
        "pem",
        "--out",
        &pem,
    ]);
    let text = std::fs::read_to_string(&pem).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{}", &text[..40]);
    assert_eq!(sha1_of(&pem, "PEM"), thumbprint);
    let from_key = openssl(&["pkey", "-in", &pem, "-pubout"]);
    let from_cert = openssl(&["x509", "-in", &pem, "-noout", "-pubkey"]);
    assert_eq!(from_key, from_cert, "the key is the certificate's");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777, 0o600);
    // .pfx with a password: OpenSSL opens it.
    let pfx = path("app.pfx");
    let pw = path("pw.txt");
    std::fs::write(&pw, "download pass\n").unwrap();
    server.keyward(&[
        "vault",
        "cert",
        "download",
        "ciam-client-app",
        "--format",
        "pfx",
        "--out",
        &pfx,
        "--password-file",
        &pw,
    ]);
    let certs = openssl(&["pkcs12", "-in", &pfx, "-passin", "pass:download pass", "-nokeys"]);
    assert!(certs.contains("-----BEGIN CERTIFICATE-----"));

    // Import what OpenSSL made: a PFX with a password.
    let key = path("imported.key");
    let crt = path("imported.crt");
    let imported_pfx = path("imported.pfx");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &crt,
        "-subj",
        "/CN=imported",
        "-days",
        "30",
    ]);
    openssl(&[
        "pkcs12",
        "-export",
        "-in",
        &crt,
        "-inkey",
        &key,
        "-out",
        &imported_pfx,
        "-passout",
        "pass:import pass",
    ]);
    std::fs::write(&pw, "import pass\n").unwrap();
    let imported = server.keyward(&[
        "vault",
        "cert",
        "import",
        "imported",
        &imported_pfx,
        "--password-file",
        &pw,
    ]);
    assert_eq!(
        imported["x5t"].as_str().map(|x| x.len()),
        Some(27),
        "x5t is base64url SHA-1 without padding"
    );
    let imported_thumbprint = server.keyward(&["vault", "cert", "show", "imported"]);
    let imported_cer = path("imported.cer");
    server.keyward(&[
        "vault",
        "cert",
        "download",
        "imported",
        "--format",
        "cer",
        "--out",
        &imported_cer,
    ]);
    assert_eq!(sha1_of(&imported_cer, "DER"), sha1_of(&crt, "PEM"));
    assert_eq!(imported_thumbprint["x5t"], imported["x5t"]);

    let listed = server.keyward(&["vault", "cert", "list"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, ["ciam-client-app", "imported"]);
}

#[tokio::test]
async fn secrets_are_set_from_a_file_or_stdin_and_shown() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("value.txt");
    std::fs::write(&file, "p@ss w0rd ✓").unwrap();
    let stored = server.keyward(&[
        "vault",
        "secret",
        "set",
        "db-password",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(stored["id"].as_str().unwrap().contains("/secrets/db-password/"));
    let shown = server.keyward(&["vault", "secret", "show", "db-password"]);
    assert_eq!(shown["value"], "p@ss w0rd ✓");
    assert_eq!(shown["managed"], false);

    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "vault",
            "secret",
            "set",
            "db-password",
            "--content-type",
            "text/plain",
            "--data",
        ])
        .arg(server.data())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"second").unwrap();
    assert!(child.wait().unwrap().success());
    let shown = server.keyward(&["vault", "secret", "show", "db-password"]);
    assert_eq!(
        (shown["value"].as_str(), shown["contentType"].as_str()),
        (Some("second"), Some("text/plain"))
    );
}

#[tokio::test]
async fn an_app_loads_its_certificate_from_the_vault_and_gets_a_token() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    // The article: the certificate lives in the vault; its public part is registered on the app.
    let app = server.keyward(&["app", "create", "--name", "ciam-client-app"]);
    let app_id = app["appId"].as_str().unwrap();
    for content_type in ["pem", "pkcs12"] {
        let name = format!("app-cert-{content_type}");
        server.keyward(&[
            "vault",
            "cert",
            "create",
            &name,
            "--subject",
            "CN=ciam-client-app",
            "--content-type",
            content_type,
        ]);
        let cer = dir.path().join(format!("{name}.cer"));
        let cer = cer.to_str().unwrap();
        server.keyward(&["vault", "cert", "download", &name, "--format", "cer", "--out", cer]);
        server.keyward(&["app", "cert", "add", "ciam-client-app", cer]);
    }
    // Another identity reads the vault at start-up (DefaultAzureCredential in the article).
    let startup = reader(&server, "startup-identity", "get", "get");
    let vault = startup.vault(&server);
    for content_type in ["pem", "pkcs12"] {
        let name = format!("app-cert-{content_type}");
        let credential = CertificateCredential::from_vault(&vault, &name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let certificate = vault.get_certificate(&name, None).await.unwrap();
        assert_eq!(
            credential.certificate().thumbprints().sha1_hex(),
            certificate.thumbprint()
        );
        let token = ConfidentialClient::builder(&format!("{}/contoso", server.url), app_id, credential)
            .trust_ca(&server.ca_pem())
            .build()
            .unwrap()
            .acquire_token_for_client(&["https://graph.microsoft.com/.default"])
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let claims = claims_of(token.secret());
        assert_eq!(
            (claims["azp"].as_str(), claims["azpacr"].as_str()),
            (Some(app_id), Some("2"))
        );
    }
}
