//! Helpers shared by the test modules: a scratch directory, running `keyward` and `openssl`,
//! and reading what OpenSSL says about a certificate or key.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// The password used for files that have one.
pub const PASSWORD: &str = "Correct-Horse-7";

/// A scratch directory. Commands run inside it, so file names in arguments are relative.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("create a temporary directory"),
        }
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path(name), bytes).unwrap_or_else(|e| panic!("write {name}: {e}"));
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    pub fn read_string(&self, name: &str) -> String {
        String::from_utf8(self.read(name)).unwrap_or_else(|e| panic!("{name} is not UTF-8: {e}"))
    }

    /// The permission bits of a file, e.g. `0o600`.
    pub fn mode(&self, name: &str) -> u32 {
        let meta = std::fs::metadata(self.path(name)).unwrap_or_else(|e| panic!("stat {name}: {e}"));
        meta.permissions().mode() & 0o777
    }

    /// Writes `password` and a newline to the file `name`; returns `name` for argument lists.
    pub fn password_file<'a>(&self, name: &'a str, password: &str) -> &'a str {
        self.write(name, format!("{password}\n"));
        name
    }

    /// Runs `keyward ARGS` in this directory with no terminal and no password in the environment.
    pub fn keyward(&self, args: &[&str]) -> Output {
        self.keyward_with_env(args, &[])
    }

    pub fn keyward_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyward"));
        cmd.args(args)
            .current_dir(self.root())
            .stdin(Stdio::null())
            .env_remove("KEYWARD_PASSWORD")
            .env_remove("KEYWARD_NEW_PASSWORD");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run keyward")
    }

    /// Runs `keyward ARGS`, which must succeed; returns its standard output.
    pub fn keyward_ok(&self, args: &[&str]) -> String {
        let out = self.keyward(args);
        assert_success("keyward", args, &out);
        String::from_utf8(out.stdout).expect("keyward stdout is UTF-8")
    }

    /// Runs `keyward ARGS` (which should include `--json`), which must succeed; parses its output.
    pub fn keyward_json(&self, args: &[&str]) -> Value {
        let stdout = self.keyward_ok(args);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("keyward {args:?} printed invalid JSON ({e}):\n{stdout}"))
    }

    /// Runs `openssl ARGS` in this directory.
    pub fn openssl(&self, args: &[&str]) -> Output {
        Command::new("openssl")
            .args(args)
            .current_dir(self.root())
            .stdin(Stdio::null())
            .output()
            .expect("run openssl (is it installed?)")
    }

    /// Runs `openssl ARGS`, which must succeed; returns its standard output.
    pub fn openssl_ok(&self, args: &[&str]) -> String {
        let out = self.openssl(args);
        assert_success("openssl", args, &out);
        String::from_utf8(out.stdout).expect("openssl stdout is UTF-8")
    }

    /// OpenSSL's fingerprint of a certificate (`digest` is `sha1` or `sha256`), as upper-case hex
    /// without colons. `inform` is `PEM` or `DER`.
    pub fn fingerprint(&self, cert: &str, inform: &str, digest: &str) -> String {
        let dash = format!("-{digest}");
        let out = self.openssl_ok(&["x509", "-in", cert, "-inform", inform, "-noout", "-fingerprint", &dash]);
        let hex = out
            .trim()
            .split_once('=')
            .unwrap_or_else(|| panic!("unexpected fingerprint output: {out}"))
            .1;
        let hex = hex.replace(':', "").to_ascii_uppercase();
        let want = if digest == "sha1" { 40 } else { 64 };
        assert_eq!(hex.len(), want, "fingerprint of {cert}: {out}");
        hex
    }

    /// The SHA-1 thumbprint of a PEM certificate, according to OpenSSL.
    pub fn thumbprint(&self, cert_pem: &str) -> String {
        self.fingerprint(cert_pem, "PEM", "sha1")
    }

    /// The public key of a certificate, as a PEM `PUBLIC KEY`, according to OpenSSL.
    pub fn cert_public_key(&self, cert: &str, inform: &str) -> String {
        let out = self.openssl_ok(&["x509", "-in", cert, "-inform", inform, "-noout", "-pubkey"]);
        assert!(out.contains("-----BEGIN PUBLIC KEY-----"), "{out}");
        out
    }

    /// The public key of a private key file, as a PEM `PUBLIC KEY`, according to OpenSSL.
    /// `passin` is an OpenSSL pass phrase argument such as `pass:PW` or `file:pw.txt`.
    pub fn key_public_key(&self, key: &str, passin: Option<&str>) -> String {
        let mut args = vec!["pkey", "-in", key, "-pubout"];
        if let Some(p) = passin {
            args.extend(["-passin", p]);
        }
        let out = self.openssl_ok(&args);
        assert!(out.contains("-----BEGIN PUBLIC KEY-----"), "{out}");
        out
    }
}

fn assert_success(program: &str, args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "{program} {args:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

/// The string at `pointer` (a JSON pointer such as `/privateKey/keyType`) in `json`.
pub fn json_str<'a>(json: &'a Value, pointer: &str) -> &'a str {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {json:#}"))
}

/// Asserts that a `cert show --json` result holds a private key that matches the certificate.
pub fn assert_key_matches(json: &Value) {
    assert_eq!(json["hasPrivateKey"], Value::Bool(true), "hasPrivateKey in {json:#}");
    assert_eq!(
        json.pointer("/privateKey/matchesCertificate"),
        Some(&Value::Bool(true)),
        "privateKey.matchesCertificate in {json:#}"
    );
}

/// Asserts that `keyward` failed cleanly: non-zero exit, no panic, and exactly one line on
/// stderr that starts with `error: `, names `file` and contains every one of `words`
/// (ignoring case). Returns that line.
pub fn assert_error(out: &Output, file: &str, words: &[&str]) -> String {
    let line = assert_one_error_line(out);
    assert!(line.contains(file), "the error does not name {file:?}: {line}");
    let lower = line.to_lowercase();
    for word in words {
        assert!(
            lower.contains(&word.to_lowercase()),
            "the error does not say {word:?}: {line}"
        );
    }
    line
}

/// Like [`assert_error`], but at least one of `any_of` must appear.
pub fn assert_error_any(out: &Output, file: &str, any_of: &[&str]) -> String {
    let line = assert_error(out, file, &[]);
    let lower = line.to_lowercase();
    assert!(
        any_of.iter().any(|w| lower.contains(&w.to_lowercase())),
        "the error says none of {any_of:?}: {line}"
    );
    line
}

/// Non-zero exit, no panic, exactly one `error: ` line on stderr; returns that line.
pub fn assert_one_error_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "keyward succeeded; stdout:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "keyward panicked:\n{stderr}");
    assert_eq!(
        out.status.code().map(|c| c != 101),
        Some(true),
        "exit status {} (101 is a panic)",
        out.status
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected exactly one line on stderr, got:\n{stderr}");
    assert!(
        lines[0].starts_with("error: "),
        "stderr does not start with \"error: \": {stderr}"
    );
    lines[0].to_string()
}

/// A key type as OpenSSL's `req -newkey` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Rsa2048,
    EcP256,
}

impl Alg {
    pub const BOTH: [Alg; 2] = [Alg::Rsa2048, Alg::EcP256];

    /// The arguments after `-newkey`.
    pub fn newkey_args(self) -> &'static [&'static str] {
        match self {
            Alg::Rsa2048 => &["-newkey", "rsa:2048"],
            Alg::EcP256 => &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        }
    }
}

/// A key and a self-signed certificate made by OpenSSL in a fresh directory, with the
/// password file `pw.txt` holding [`PASSWORD`].
pub struct OpensslPair {
    pub dir: Dir,
    /// `key.pem`: unencrypted PKCS#8 (what OpenSSL 3 writes for `-nodes`).
    pub key: &'static str,
    /// `cert.pem`.
    pub cert: &'static str,
    /// `pw.txt`.
    pub pw: &'static str,
    /// SHA-1 thumbprint of `cert.pem` according to OpenSSL.
    pub thumbprint: String,
}

impl OpensslPair {
    pub fn new(alg: Alg) -> OpensslPair {
        let dir = Dir::new();
        make_self_signed(&dir, alg, "/CN=x", "key.pem", "cert.pem");
        let pw = dir.password_file("pw.txt", PASSWORD);
        let thumbprint = dir.thumbprint("cert.pem");
        OpensslPair {
            dir,
            key: "key.pem",
            cert: "cert.pem",
            pw,
            thumbprint,
        }
    }

    /// `keyward cert show FILE [--key KEY] --password-file pw.txt --json`, which must succeed
    /// and report a key that matches a certificate with this pair's thumbprint.
    pub fn show_matches(&self, file: &str, key: Option<&str>) -> Value {
        let mut args = vec!["cert", "show", file];
        if let Some(k) = key {
            args.extend(["--key", k]);
        }
        args.extend(["--password-file", self.pw, "--json"]);
        let json = self.dir.keyward_json(&args);
        assert_key_matches(&json);
        assert_eq!(json_str(&json, "/thumbprint"), self.thumbprint, "thumbprint of {file}");
        json
    }
}

/// `openssl req -x509 -newkey ... -nodes -subj SUBJ -days 30`.
pub fn make_self_signed(dir: &Dir, alg: Alg, subj: &str, key: &str, cert: &str) {
    let mut args = vec!["req", "-x509"];
    args.extend(alg.newkey_args());
    args.extend(["-nodes", "-subj", subj, "-days", "30", "-keyout", key, "-out", cert]);
    dir.openssl_ok(&args);
}

/// Makes a CA (`ca.key`, `ca.pem`, RSA 2048) and a leaf (`leaf.key`, `leaf.pem`) signed by it.
pub fn make_ca_and_leaf(dir: &Dir, leaf_alg: Alg) {
    dir.openssl_ok(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=Keyward Test CA",
        "-days",
        "30",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    let mut args = vec!["req", "-new"];
    args.extend(leaf_alg.newkey_args());
    args.extend(["-nodes", "-subj", "/CN=leaf", "-keyout", "leaf.key", "-out", "leaf.csr"]);
    dir.openssl_ok(&args);
    dir.openssl_ok(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "4660",
        "-days",
        "30",
        "-out",
        "leaf.pem",
    ]);
}

/// Base64url without padding (RFC 4648 section 5) of the bytes written as `hex`.
pub fn base64url(hex: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Seconds since the Unix epoch of an OpenSSL `-dateopt iso_8601` time, `2026-11-29 10:15:02Z`.
pub fn parse_iso_utc(s: &str) -> i64 {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once(' ').unwrap_or_else(|| panic!("bad date {s:?}"));
    let d: Vec<i64> = date.split('-').map(|p| p.parse().expect("date number")).collect();
    let t: Vec<i64> = time.split(':').map(|p| p.parse().expect("time number")).collect();
    assert!(d.len() == 3 && t.len() == 3, "bad date {s:?}");
    days_from_civil(d[0], d[1], d[2]) * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

#[test]
fn date_parser_knows_the_epoch_and_leap_years() {
    assert_eq!(parse_iso_utc("1970-01-01 00:00:00Z"), 0);
    assert_eq!(parse_iso_utc("2000-03-01 00:00:01Z"), 951_868_801);
    assert_eq!(parse_iso_utc("2024-02-29 12:00:00Z"), 1_709_208_000);
}

#[test]
fn base64url_matches_rfc_4648_vectors() {
    // "f", "fo", "foo", "foob" and the two characters that differ from standard base64.
    assert_eq!(base64url("66"), "Zg");
    assert_eq!(base64url("666f"), "Zm8");
    assert_eq!(base64url("666f6f"), "Zm9v");
    assert_eq!(base64url("666f6f62"), "Zm9vYg");
    assert_eq!(base64url("fbff"), "-_8");
    // The Key Vault fixture's SHA-1 thumbprint and x5t.
    assert_eq!(
        base64url("B473943AA82DF8608AEB5512D2A9643EBF23D7EC"),
        "tHOUOqgt-GCK61US0qlkPr8j1-w"
    );
}
