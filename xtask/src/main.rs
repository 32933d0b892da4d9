//! `cargo xtask test` runs every test; `cargo xtask bench cert-new` compares `keyward cert new`
//! with OpenSSL doing the same job; `cargo xtask bench token` load-tests the token endpoint with
//! `keyward-loadgen`; `cargo xtask bench client` compares keyward-client with MSAL Node;
//! `cargo xtask soak` runs mixed traffic at half of peak for minutes and watches the server;
//! `cargo xtask scale` measures a directory of a million credentials against a small one.
//! Standard library only, so it builds in seconds.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["test"] => test(),
        ["bench", "cert-new", rest @ ..] => bench_cert_new(rest),
        ["bench", "token", rest @ ..] => bench_token(rest),
        ["bench", "client", rest @ ..] => bench_client(rest),
        ["soak", rest @ ..] => soak(rest),
        ["scale", rest @ ..] => scale(rest),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage:
  cargo xtask test                          install what the tests need, then run every test
  cargo xtask bench cert-new [--runs N]     keyward cert new against openssl req + pkcs12, same run
  cargo xtask bench token [--seconds N] [--json]
                                            token endpoint load: tokens/s, p50/p99, server CPU per token
                                            against RSA sign + verify, same run (N s per phase, default 10)
  cargo xtask bench client [--rounds N] [--json]
                                            keyward-client against MSAL Node 7, same server, same run:
                                            cache hit, new token (cold and warm); about 60 s once built
  cargo xtask soak [--minutes N] [--json]   mixed traffic at half of peak for N minutes (default 10):
                                            errors, server RSS and descriptors (sockets apart) with
                                            their slopes, p99 by minute; fails on any error, growth
                                            over the bounds, or a socket left open after the load
  cargo xtask scale [--apps N] [--certs N] [--users N] [--seconds N] [--postgres] [--json]
                                            a directory of N apps x N certificates and N users (default
                                            100000 x 10, 1000000) against a fresh one, same run: start-up,
                                            RSS, token p99 at the same rate, cost of `app cert add`;
                                            certificates and data cached in target/keyward-scale";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: running {shown}");
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    let start = Instant::now();
    let status = cmd.status().map_err(|e| format!("cannot start {shown}: {e}"))?;
    // Each step's time, so a slow CI run can be read step by step.
    eprintln!("xtask: {:.0} s for {shown}", start.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Installs what the tests need on a fresh machine: the OpenSSL CLI (tests compare against it),
/// and for `keyward trust`'s tests NSS's certutil (libnss3-tools), update-ca-certificates
/// (ca-certificates) and curl, and HAProxy for the tests of several servers behind a load
/// balancer (`cluster.rs`).
fn install_prerequisites() -> Result<(), String> {
    let missing = !have("openssl")
        || !Path::new("/usr/bin/certutil").exists()
        || !Path::new("/usr/sbin/update-ca-certificates").exists()
        || !have("curl")
        || !Path::new("/usr/sbin/haproxy").exists();
    if missing {
        run(Command::new("apt-get").arg("update"))?;
        run(Command::new("apt-get")
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "openssl",
                "libnss3-tools",
                "ca-certificates",
                "curl",
                "haproxy",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    Ok(())
}

fn test() -> Result<(), String> {
    let start = Instant::now();
    let result = test_steps();
    eprintln!("xtask: test took {:.0} s in all", start.elapsed().as_secs_f64());
    result
}

fn test_steps() -> Result<(), String> {
    install_prerequisites()?;
    run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
    run(Command::new("cargo").args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    for banned in ["ring", "rsa"] {
        let tree = Command::new("cargo")
            .args(["tree", "--workspace", "-e", "normal", "-i", banned])
            .current_dir(root())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        // Cargo exits 0 with nothing printed for a crate that is only in Cargo.lock (an optional
        // dependency left off); it is banned only when something depends on it.
        if tree.status.success() && !String::from_utf8_lossy(&tree.stdout).trim().is_empty() {
            return Err(format!(
                "the crate {banned} is in the dependency tree (see DESIGN.md): cargo tree -i {banned}"
            ));
        }
    }
    let nextest = Command::new("cargo")
        .args(["nextest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if nextest {
        run(Command::new("cargo").args(["nextest", "run", "--workspace", "--no-fail-fast"]))?;
        run(Command::new("cargo").args(["test", "--workspace", "--doc"]))?;
    } else {
        run(Command::new("cargo").args(["test", "--workspace", "--no-fail-fast"]))?;
    }
    interop()?;
    Ok(())
}

/// The real third-party clients against the real server: MSAL Node and azure-identity JS
/// (`interop/node`), MSAL Python and azure-identity Python (`interop/python`), both again with
/// Microsoft's host names in a network namespace (`interop/azure-hosts`), Chromium through
/// customer sign-in and the admin center (`interop/browser`). Each suite starts `keyward serve` itself from the debug
/// binary built here.
fn interop() -> Result<(), String> {
    run(Command::new("cargo").args(["build", "--quiet", "-p", "keyward"]))?;
    let keyward = root().join("target/debug/keyward");
    let node = root().join("interop/node");
    if node.join("package.json").exists() {
        if !have("node") || !have("npm") {
            return Err("the interop tests need Node.js 20+ and npm".into());
        }
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&node))?;
        run(Command::new("node")
            .arg("run.mjs")
            .env("KEYWARD_BIN", &keyward)
            .current_dir(&node))?;
    }
    let python = root().join("interop/python");
    if python.join("run.sh").exists() {
        run(Command::new("bash")
            .arg("run.sh")
            .env("KEYWARD_BIN", &keyward)
            .current_dir(&python))?;
    }
    let azure_hosts = root().join("interop/azure-hosts/run.sh");
    if azure_hosts.exists() {
        if is_root() && have("ip") {
            run(Command::new("bash").arg(&azure_hosts).env("KEYWARD_BIN", &keyward))?;
        } else {
            eprintln!(
                "xtask: SKIPPED interop/azure-hosts (the Azure host names mode): it needs root and `ip` for a network namespace of its own"
            );
        }
    }
    let browser = root().join("interop/browser");
    if browser.join("package.json").exists() {
        browser_tests(&browser, &keyward)?;
    }
    Ok(())
}

/// Whether this process runs as root (`id -u` says 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A real browser through customer sign-in (`interop/browser`): Debian's Chromium, driven
/// headless by playwright-core, and NSS's certutil (libnss3-tools: `keyward trust` fills the
/// NSS database Chromium reads), installed here when missing (no test downloads a browser).
/// Screenshots land in `target/browser-screenshots/`.
fn browser_tests(dir: &Path, keyward: &Path) -> Result<(), String> {
    const CHROMIUM: &str = "/usr/bin/chromium";
    const CERTUTIL: &str = "/usr/bin/certutil";
    if !Path::new(CHROMIUM).exists() || !Path::new(CERTUTIL).exists() {
        run(Command::new("apt-get").arg("update"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "chromium", "libnss3-tools"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    if !have("node") || !have("npm") {
        return Err("the browser tests need Node.js 20+ and npm".into());
    }
    run(Command::new("cargo").args(["build", "--quiet", "-p", "webapp"]))?;
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir))?;
    run(Command::new("node")
        .arg("run.mjs")
        .env("KEYWARD_BIN", keyward)
        .env("WEBAPP_BIN", root().join("target/debug/webapp"))
        .env("CHROMIUM", CHROMIUM)
        .current_dir(dir))
}

fn bench_cert_new(args: &[&str]) -> Result<(), String> {
    let runs: usize = match args {
        [] => 30,
        ["--runs", n] => n.parse().map_err(|_| format!("--runs takes a number, not {n:?}"))?,
        _ => return Err(USAGE.to_owned()),
    };
    install_prerequisites()?;
    run(Command::new("cargo").args(["build", "--release", "--quiet", "-p", "keyward"]))?;
    let keyward = root().join("target/release/keyward");
    let dir = env::temp_dir().join(format!("keyward-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{BENCH_PASSWORD}\n")).map_err(|e| e.to_string())?;
    let pw = password_file.display().to_string();

    let keyward_once = |i: usize| -> Result<Duration, String> {
        let prefix = dir.join(format!("k{i}")).display().to_string();
        timed(&mut [Command::new(&keyward).args([
            "cert",
            "new",
            "--subject",
            "CN=bench",
            "--out",
            &prefix,
            "--password-file",
            &pw,
        ])])
    };
    let openssl_once = |i: usize| -> Result<Duration, String> {
        let p = |ext: &str| dir.join(format!("o{i}.{ext}")).display().to_string();
        // The same password as keyward reads from its file; OpenSSL reads it from the environment
        // because it takes two lines from one file given as both -passin and -passout.
        let passfile = "env:BENCH_PASSWORD";
        timed(&mut [
            Command::new("openssl").args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-sha256",
                "-days",
                "365",
                "-subj",
                "/CN=bench",
                "-keyout",
                &p("key"),
                "-out",
                &p("pem"),
                "-passout",
                passfile,
            ]),
            Command::new("openssl").args(["x509", "-in", &p("pem"), "-outform", "DER", "-out", &p("cer")]),
            Command::new("openssl").args([
                "pkcs12",
                "-export",
                "-in",
                &p("pem"),
                "-inkey",
                &p("key"),
                "-passin",
                passfile,
                "-passout",
                passfile,
                "-out",
                &p("pfx"),
            ]),
        ])
    };

    let (mut ours, mut theirs) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for i in 0..runs {
        // Alternate the order so neither side always runs on a warmer machine.
        if i % 2 == 0 {
            ours.push(keyward_once(i)?);
            theirs.push(openssl_once(i)?);
        } else {
            theirs.push(openssl_once(i)?);
            ours.push(keyward_once(i)?);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    let (k, o) = (Stats::of(&mut ours), Stats::of(&mut theirs));
    println!("cert new, RSA 2048, writing .cer .pem .key (encrypted) .pfx; {runs} runs each, alternating");
    println!(
        "  keyward cert new                          median {:>7.1} ms  mean {:>7.1} ms",
        k.median_ms, k.mean_ms
    );
    println!(
        "  openssl req -x509 + x509 + pkcs12 -export median {:>7.1} ms  mean {:>7.1} ms",
        o.median_ms, o.mean_ms
    );
    println!(
        "  ratio (openssl / keyward): median {:.2}x, mean {:.2}x  (above 1 means keyward is faster)",
        o.median_ms / k.median_ms,
        o.mean_ms / k.mean_ms
    );
    Ok(())
}

/// Builds the server and the load generator (release), then runs the load generator, which
/// starts its own server and prints the report. Two phases of N seconds plus signing and setup:
/// about 3N + 10 seconds once built.
fn bench_token(args: &[&str]) -> Result<(), String> {
    release_load_run("keyward-loadgen", &["--seconds"], &["--json"], args, &[])
}

/// Reads `[NUMBER_FLAG N]... [SWITCH]...` (any of `number_flags` and `switches`, in any order)
/// from `args`, builds the server and the load generator's binaries (release), and runs
/// `binary` against the server, passing the flags on, then `extra`.
fn release_load_run(
    binary: &str,
    number_flags: &[&str],
    switches: &[&str],
    args: &[&str],
    extra: &[String],
) -> Result<(), String> {
    let mut passed: Vec<String> = Vec::new();
    let mut rest = args;
    loop {
        match rest {
            [] => break,
            [flag, n, tail @ ..] if number_flags.contains(flag) => {
                let number: u32 = n.parse().map_err(|_| format!("{flag} takes a number, not {n:?}"))?;
                passed.extend([(*flag).to_owned(), number.to_string()]);
                rest = tail;
            }
            [switch, tail @ ..] if switches.contains(switch) => {
                passed.push((*switch).to_owned());
                rest = tail;
            }
            _ => return Err(USAGE.to_owned()),
        }
    }
    run(Command::new("cargo").args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "keyward",
        "-p",
        "keyward-loadgen",
    ]))?;
    let release = root().join("target/release");
    run(Command::new(release.join(binary))
        .arg("--keyward")
        .arg(release.join("keyward"))
        .args(&passed)
        .args(extra))
}

/// Builds the server and `client_bench` (release), installs MSAL Node in `interop/node` if it is
/// not there, then runs `client_bench`, which starts one server, registers the client and drives
/// keyward-client in its own process and MSAL Node through `bench/client/msal.mjs`.
fn bench_client(args: &[&str]) -> Result<(), String> {
    let mut bench_args: Vec<String> = Vec::new();
    let mut rest = args;
    loop {
        match rest {
            [] => break,
            ["--rounds", n, tail @ ..] => {
                let rounds: u32 = n.parse().map_err(|_| format!("--rounds takes a number, not {n:?}"))?;
                bench_args.extend(["--rounds".to_owned(), rounds.to_string()]);
                rest = tail;
            }
            ["--json", tail @ ..] => {
                bench_args.push("--json".to_owned());
                rest = tail;
            }
            _ => return Err(USAGE.to_owned()),
        }
    }
    if !have("node") || !have("npm") {
        return Err("the client benchmark needs Node.js 20+ and npm".into());
    }
    let node = root().join("interop/node");
    if !node.join("node_modules").exists() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&node))?;
    }
    run(Command::new("cargo").args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "keyward",
        "-p",
        "keyward-loadgen",
    ]))?;
    let release = root().join("target/release");
    run(Command::new(release.join("client_bench"))
        .arg("--keyward")
        .arg(release.join("keyward"))
        .arg("--node-script")
        .arg(root().join("bench/client/msal.mjs"))
        .args(&bench_args))
}

/// Builds the server and `keyward-soak` (release), then runs the soak, which starts its own
/// server: setup, a 10 s peak phase, then N minutes at half of it. Fails (non-zero) on any
/// error, if the server's memory or its descriptors other than sockets grow faster than the
/// bounds, or if it keeps more sockets open after the load than before it.
fn soak(args: &[&str]) -> Result<(), String> {
    release_load_run("keyward-soak", &["--minutes"], &["--json"], args, &[])
}

/// Builds the server and `keyward-scale` (release), then runs the scale measurement: a hundred
/// thousand applications of ten certificates and a million users by default. The first run
/// signs the certificates (minutes: about a million RSA signatures) and populates the data
/// directory; both are cached in `target/keyward-scale/` and later runs with the same counts
/// reuse them. With `--postgres` the directory is written to a fresh schema of the test
/// PostgreSQL database every run and a second server is measured on it.
fn scale(args: &[&str]) -> Result<(), String> {
    let cache = root().join("target/keyward-scale");
    release_load_run(
        "keyward-scale",
        &["--apps", "--certs", "--users", "--seconds"],
        &["--postgres", "--json"],
        args,
        &["--cache-dir".to_owned(), cache.display().to_string()],
    )
}

/// The password both sides encrypt with.
const BENCH_PASSWORD: &str = "correct horse battery staple";

/// Runs commands one after another, quietly; returns the wall time of all of them.
fn timed(commands: &mut [&mut Command]) -> Result<Duration, String> {
    let start = Instant::now();
    for cmd in commands.iter_mut() {
        let out = cmd
            .env("BENCH_PASSWORD", BENCH_PASSWORD)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    Ok(start.elapsed())
}

struct Stats {
    median_ms: f64,
    mean_ms: f64,
}

impl Stats {
    fn of(samples: &mut [Duration]) -> Self {
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let median_ms = samples.get(samples.len() / 2).map_or(0.0, |d| ms(*d));
        let mean_ms = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len().max(1) as f64;
        Self { median_ms, mean_ms }
    }
}
