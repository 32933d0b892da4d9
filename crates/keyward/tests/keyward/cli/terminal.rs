//! On a terminal, `cert new` asks for the password twice, and Enter means no password. The
//! terminal is a real pseudo-terminal made by util-linux `script`; answers are typed into it.

use std::io::Write;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use super::support::{Dir, PASSWORD};

/// Runs `keyward ARGS` on a pseudo-terminal, typing `lines` at its prompts; returns the screen.
fn on_terminal(dir: &Dir, args: &str, lines: &[&str]) -> String {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_keyward"));
    let mut child = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .current_dir(dir.root())
        .env_remove("KEYWARD_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    let mut stdin = child.stdin.take().expect("stdin");
    for line in lines {
        // Give the prompt time to switch the terminal to no-echo mode before typing.
        sleep(Duration::from_millis(400));
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("type into the terminal");
        stdin.flush().expect("flush");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("script finishes");
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "keyward {args} failed on a terminal:\n{screen}");
    assert!(!screen.contains(PASSWORD), "a typed password was echoed:\n{screen}");
    screen
}

#[test]
fn asks_twice_and_encrypts_with_the_typed_password() {
    let dir = Dir::new();
    let screen = on_terminal(&dir, "cert new --subject CN=typed --out typed", &[PASSWORD, PASSWORD]);
    assert!(screen.contains("(Enter for none)"), "{screen}");
    assert!(screen.contains("Repeat the password"), "{screen}");
    assert!(
        dir.read_string("typed.key")
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    dir.openssl_ok(&[
        "pkey",
        "-in",
        "typed.key",
        "-passin",
        &format!("pass:{PASSWORD}"),
        "-noout",
    ]);
}

#[test]
fn enter_means_no_password() {
    let dir = Dir::new();
    let screen = on_terminal(&dir, "cert new --subject CN=plain --out plain", &[""]);
    assert!(!screen.contains("Repeat the password"), "{screen}");
    assert!(dir.read_string("plain.key").starts_with("-----BEGIN PRIVATE KEY-----"));
    dir.openssl_ok(&["pkcs12", "-in", "plain.pfx", "-passin", "pass:", "-noout"]);
}

#[test]
fn different_answers_write_nothing() {
    let dir = Dir::new();
    let command = format!(
        "{} cert new --subject CN=typo --out typo",
        env!("CARGO_BIN_EXE_keyward")
    );
    let status = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .current_dir(dir.root())
        .env_remove("KEYWARD_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            let mut stdin = child.stdin.take().expect("stdin");
            for line in ["first-Answer-1", "second-Answer-2"] {
                sleep(Duration::from_millis(400));
                stdin.write_all(format!("{line}\n").as_bytes())?;
            }
            drop(stdin);
            child.wait()
        })
        .expect("script runs");
    assert!(!status.success(), "mismatched passwords must fail");
    assert!(
        !dir.path("typo.key").exists() && !dir.path("typo.pfx").exists(),
        "nothing may be written"
    );
}
