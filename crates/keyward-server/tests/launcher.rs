//! The launcher on its own: a server started on a listener bound to port 0, found through
//! `server.json` as the CLI finds it, and stopped by its shutdown future.

use std::net::TcpListener;

use keyward_server::{DataDir, ServeSettings, ServerInfo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_starts_on_a_bound_listener_writes_server_json_and_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let settings = ServeSettings::new(tmp.path().join("data"))
        .tenants(["contoso", "fabrikam"])
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = keyward_server::start(settings, listener, async {
        stopped.await.ok();
    })
    .await
    .unwrap();

    assert_eq!(server.public_url(), format!("https://localhost:{port}"));
    assert_eq!(server.local_addr().port(), port);
    assert_eq!(server.tenant_name(), "contoso");
    let dir = DataDir::new(tmp.path().join("data"));
    let info: ServerInfo = dir.read_json("server.json").unwrap();
    assert_eq!(
        (info.url.as_str(), info.tenant.as_str()),
        (server.public_url(), "contoso")
    );
    assert_eq!(info.pid, std::process::id());
    for file in [
        "tls/ca.pem",
        "tls/server.pem",
        "admin/admin.json",
        "master.key",
        "keyward.db",
    ] {
        assert!(dir.path(file).exists(), "{file}");
    }
    // Something answers on the port (TLS; the HTTP tests are the keyward crate's).
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok());

    stop.send(()).unwrap();
    server.wait().await.unwrap();
    assert!(!dir.path("server.json").exists(), "removed when the server stops");
}

#[tokio::test]
async fn refused_settings_create_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let refused = ServeSettings::new(tmp.path().join("data")).public_url("http://localhost:8443");
    assert!(refused.is_err());
    assert!(!tmp.path().join("data").exists());
}
