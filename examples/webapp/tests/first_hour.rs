//! Issue 13 ("The first hour") in the sample web app: a wrong or missing `PRIVATE_KEY_PASSPHRASE`
//! names the variable and the file; the app serves a favicon. Keys are made by the OpenSSL CLI.

use std::process::{Command, Stdio};

fn openssl_key_and_certificate(dir: &std::path::Path) {
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-days",
            "1",
            "-subj",
            "/CN=webapp",
        ])
        .args([
            "-keyout",
            "app.key",
            "-out",
            "app.pem",
            "-passout",
            "pass:the-right-one",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
}

fn start(dir: &std::path::Path, passphrase: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_webapp"));
    cmd.current_dir(dir)
        .env_clear()
        .env("CLIENT_ID", "00000000-0000-0000-0000-000000000001")
        .env("AUTHORITY", "https://localhost:1/contoso/")
        .env("CERTIFICATE_PATH", "app.pem")
        .env("PRIVATE_KEY_PATH", "app.key")
        .env("DOTENV_CONFIG_PATH", dir.join("none.env"))
        .env("PORT", "0")
        .stdin(Stdio::null());
    if let Some(passphrase) = passphrase {
        cmd.env("PRIVATE_KEY_PASSPHRASE", passphrase);
    }
    let out = cmd.output().expect("webapp runs");
    assert!(!out.status.success(), "it must not start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_wrong_or_missing_passphrase_names_the_variable_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    openssl_key_and_certificate(dir.path());
    let wrong = start(dir.path(), Some("not-it"));
    assert!(
        wrong.contains("PRIVATE_KEY_PASSPHRASE does not open app.key"),
        "{wrong}"
    );
    let missing = start(dir.path(), None);
    assert!(missing.contains("PRIVATE_KEY_PASSPHRASE is not set"), "{missing}");
    assert!(missing.contains("app.key"), "{missing}");
}

/// Issue 13, point 4: the app serves an icon, so the browser's tab shows one and its log shows
/// no 404 for `/favicon.ico`; pages name it, and the CSP lets it load.
#[tokio::test]
async fn the_app_serves_a_favicon() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-days",
            "1",
            "-subj",
            "/CN=webapp",
            "-nodes",
        ])
        .args(["-keyout", "app.key", "-out", "app.pem"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    let vars: std::collections::HashMap<String, String> = [
        ("CLIENT_ID", "00000000-0000-0000-0000-000000000001".to_owned()),
        ("AUTHORITY", "https://localhost:1/contoso/".to_owned()),
        ("CERTIFICATE_PATH", dir.path().join("app.pem").display().to_string()),
        ("PRIVATE_KEY_PATH", dir.path().join("app.key").display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let app = webapp::App::new(webapp::Config::from_vars(&vars).unwrap())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, async move {
        stopped.await.ok();
    }));
    let get = |path: &'static str| async move {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    };
    for path in ["/favicon.ico", "/favicon.svg"] {
        let response = get(path).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
        assert!(
            response.to_ascii_lowercase().contains("content-type: image/svg+xml"),
            "{response}"
        );
        assert!(response.contains("<svg"), "{response}");
        assert!(response.contains("img-src 'self'"), "{response}");
    }
    let home = get("/").await;
    assert!(home.contains(r#"<link rel="icon" href="/favicon.svg""#), "{home}");
    stop.send(()).ok();
    server.await.unwrap().unwrap();
}
