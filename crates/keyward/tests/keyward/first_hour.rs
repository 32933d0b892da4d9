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
