//! Bad input ends in one clear line on stderr, `error: ...`, naming the file, and a non-zero
//! exit: never a panic, a stack of causes or a silent success.

use super::support::{Alg, Dir, OpensslPair, PASSWORD, assert_error, assert_error_any, make_self_signed};

const CUT_SHORT: &[&str] = &["truncated or corrupt", "cut short"];

#[test]
fn pfx_with_a_wrong_password() {
    let p = OpensslPair::new(Alg::Rsa2048);
    p.dir.openssl_ok(&[
        "pkcs12",
        "-export",
        "-in",
        p.cert,
        "-inkey",
        p.key,
        "-passout",
        "file:pw.txt",
        "-out",
        "locked.pfx",
    ]);
    let wrong = p.dir.password_file("wrong.txt", "not-the-password");
    let out = p.dir.keyward(&["cert", "show", "locked.pfx", "--password-file", wrong]);
    assert_error(&out, "locked.pfx", &["MAC"]);
}

#[test]
fn keyward_pfx_with_a_wrong_password() {
    let dir = Dir::new();
    dir.keyward_ok(&[
        "cert",
        "new",
        "--subject",
        "CN=app",
        "--out",
        "app",
        "--key-type",
        "ec-p256",
        "--password",
        PASSWORD,
    ]);
    let wrong = dir.password_file("wrong.txt", "not-the-password");
    let out = dir.keyward(&["cert", "show", "app.pfx", "--password-file", wrong]);
    assert_error(&out, "app.pfx", &["MAC"]);
    let out = dir.keyward(&[
        "cert",
        "extract-key",
        "app.pfx",
        "--password-file",
        wrong,
        "--out",
        "k.key",
        "--no-encrypt",
    ]);
    assert_error(&out, "app.pfx", &["MAC"]);
    assert!(
        !dir.path("k.key").exists(),
        "extract-key wrote a key although it failed"
    );
}

#[test]
fn encrypted_pkcs8_with_a_wrong_password() {
    let p = OpensslPair::new(Alg::EcP256);
    p.dir.openssl_ok(&[
        "pkcs8",
        "-topk8",
        "-in",
        p.key,
        "-v2",
        "aes-256-cbc",
        "-passout",
        "file:pw.txt",
        "-out",
        "locked.p8",
    ]);
    let wrong = p.dir.password_file("wrong.txt", "not-the-password");
    let out = p
        .dir
        .keyward(&["cert", "show", p.cert, "--key", "locked.p8", "--password-file", wrong]);
    assert_error(&out, "locked.p8", &["wrong password"]);
}

#[test]
fn encrypted_key_with_no_password() {
    let p = OpensslPair::new(Alg::Rsa2048);
    p.dir.openssl_ok(&[
        "pkcs8",
        "-topk8",
        "-in",
        p.key,
        "-v2",
        "aes-256-cbc",
        "-passout",
        "file:pw.txt",
        "-out",
        "locked.p8",
    ]);
    let out = p.dir.keyward(&["cert", "show", p.cert, "--key", "locked.p8"]);
    assert_error(&out, "locked.p8", &["password"]);
    let out = p.dir.keyward(&["cert", "show", "locked.p8"]);
    assert_error(&out, "locked.p8", &["password"]);
}

#[test]
fn truncated_pfx() {
    let p = OpensslPair::new(Alg::Rsa2048);
    p.dir.openssl_ok(&[
        "pkcs12",
        "-export",
        "-in",
        p.cert,
        "-inkey",
        p.key,
        "-passout",
        "file:pw.txt",
        "-out",
        "p.pfx",
    ]);
    let bytes = p.dir.read("p.pfx");
    p.dir.write("cut.pfx", &bytes[..bytes.len() / 2]);
    let out = p.dir.keyward(&["cert", "show", "cut.pfx", "--password-file", p.pw]);
    assert_error_any(&out, "cut.pfx", CUT_SHORT);
}

#[test]
fn truncated_der_certificate() {
    let p = OpensslPair::new(Alg::EcP256);
    p.dir
        .openssl_ok(&["x509", "-in", p.cert, "-outform", "DER", "-out", "cert.der"]);
    let bytes = p.dir.read("cert.der");
    p.dir.write("cut.cer", &bytes[..bytes.len() - 20]);
    let out = p.dir.keyward(&["cert", "show", "cut.cer"]);
    assert_error_any(&out, "cut.cer", CUT_SHORT);
}

#[test]
fn random_bytes() {
    let dir = Dir::new();
    // xorshift64: the same "random" bytes on every run, none of them a valid start of anything.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..512)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    dir.write("noise.bin", &bytes);
    let out = dir.keyward(&["cert", "show", "noise.bin"]);
    assert_error(&out, "noise.bin", &[]);
}

#[test]
fn empty_file() {
    let dir = Dir::new();
    dir.write("empty.pem", b"");
    let out = dir.keyward(&["cert", "show", "empty.pem"]);
    assert_error(&out, "empty.pem", &["empty"]);
}

#[test]
fn text_file() {
    let dir = Dir::new();
    dir.write("notes.txt", "This is not a certificate.\nJust some notes.\n");
    let out = dir.keyward(&["cert", "show", "notes.txt"]);
    assert_error(&out, "notes.txt", &[]);
}

#[test]
fn certificate_signing_request() {
    let dir = Dir::new();
    dir.openssl_ok(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=x",
        "-keyout",
        "k.pem",
        "-out",
        "request.csr",
    ]);
    assert!(
        dir.read_string("request.csr")
            .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
    );
    let out = dir.keyward(&["cert", "show", "request.csr"]);
    assert_error(&out, "request.csr", &["signing request"]);
}

#[test]
fn ed25519_key() {
    let dir = Dir::new();
    dir.openssl_ok(&["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"]);
    let out = dir.keyward(&["cert", "show", "ed.pem"]);
    assert_error(&out, "ed.pem", &["1.3.101.112"]);
}

#[test]
fn key_that_does_not_match_the_certificate() {
    for alg in Alg::BOTH {
        let p = OpensslPair::new(alg);
        make_self_signed(&p.dir, alg, "/CN=other", "other.key", "other.pem");
        let out = p.dir.keyward(&["cert", "show", p.cert, "--key", "other.key"]);
        assert_error(&out, "other.key", &["does not belong"]);
    }
}

#[test]
fn rsa_1024_key() {
    let dir = Dir::new();
    dir.openssl_ok(&["genrsa", "-out", "weak.pem", "1024"]);
    let out = dir.keyward(&["cert", "show", "weak.pem"]);
    assert_error(&out, "weak.pem", &["1024", "2048"]);
}

#[test]
fn rsa_1024_certificate_and_key() {
    let dir = Dir::new();
    dir.openssl_ok(&[
        "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-subj", "/CN=x", "-days", "30", "-keyout", "weak.key",
        "-out", "weak.pem",
    ]);
    let out = dir.keyward(&["cert", "show", "weak.pem", "--key", "weak.key"]);
    assert_error(&out, "weak", &["1024", "2048"]);
}

#[test]
fn cert_new_with_a_bad_subject() {
    let dir = Dir::new();
    let out = dir.keyward(&[
        "cert",
        "new",
        "--subject",
        "no equals sign here",
        "--out",
        "app",
        "--no-password",
    ]);
    assert_error(&out, "no equals sign here", &["invalid subject"]);
    for f in ["app.cer", "app.pem", "app.key", "app.pfx"] {
        assert!(!dir.path(f).exists(), "{f} written although cert new failed");
    }
}

#[test]
fn pem_with_begin_but_no_end() {
    let p = OpensslPair::new(Alg::Rsa2048);
    let text = p.dir.read_string(p.cert);
    let cut: String = text
        .lines()
        .filter(|l| !l.starts_with("-----END"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(cut.starts_with("-----BEGIN CERTIFICATE-----") && !cut.contains("-----END"));
    p.dir.write("open.pem", cut);
    let out = p.dir.keyward(&["cert", "show", "open.pem"]);
    assert_error(&out, "open.pem", &[]);
}

#[test]
fn missing_file() {
    let dir = Dir::new();
    let out = dir.keyward(&["cert", "show", "nowhere.pem"]);
    assert_error(&out, "nowhere.pem", &[]);
}

/// `keyward cert show FILE --json | head -1`: when the reader of standard output is gone,
/// keyward must stop quietly, like other command line tools, and not panic.
#[test]
fn closed_standard_output_is_not_a_panic() {
    let dir = Dir::new();
    dir.keyward_ok(&[
        "cert",
        "new",
        "--subject",
        "CN=app",
        "--out",
        "app",
        "--key-type",
        "ec-p256",
        "--no-password",
    ]);
    // A pipe whose reading end is already closed: the stdin of a `true` that has exited.
    let mut reader = std::process::Command::new("true")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run true");
    let write_end = reader.stdin.take().expect("pipe to true");
    reader.wait().expect("wait for true");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["cert", "show", "app.pem", "--json"])
        .current_dir(dir.root())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(write_end))
        .output()
        .expect("run keyward");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "keyward panicked on a closed stdout:\n{stderr}"
    );
    assert_ne!(out.status.code(), Some(101), "exit status {} is a panic", out.status);
}
