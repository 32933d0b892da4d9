//! The README runs as written (issue 13, point 2): every ` ```sh ` block, top to bottom, in one
//! fresh directory beside a fresh `keyward serve` whose data directory is `./keyward-data` there,
//! with `keyward` (and `webapp`) on `PATH`, under `bash -euo pipefail`. A block that breaks
//! fails this test with its text and its output.
//!
//! The convention, which the README states:
//! - ` ```sh ` blocks run; ` ```sh no-run ` blocks are shown, not run (root, a browser, a process
//!   that runs until Ctrl-C, a benchmark), and other languages (`js`, `python`, `rust`, none)
//!   are not shell.
//! - The first block is the two set-up commands (run the server; run every test), exactly two
//!   and first. It is not run: this test starts the server itself, as its first line does, and
//!   is run by its second.
//! - The server listens on a free port, not 8443 (tests run side by side): `localhost:8443` in a
//!   block is read as that port.
//! - Standard input carries a password line, as a person would type at a prompt (`keyward user
//!   create` asks for one).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One fenced block of the README.
#[derive(Debug)]
struct Block {
    /// The line of its opening fence (1-based).
    line: usize,
    /// The info string's words: `["sh"]`, `["sh", "no-run"]`, `["js"]`, `[]`.
    info: Vec<String>,
    /// Its text, the fence's indentation taken off.
    text: String,
}

impl Block {
    fn is_shell(&self) -> bool {
        self.info.first().is_some_and(|l| l == "sh")
    }

    fn runs(&self) -> bool {
        self.is_shell() && !self.info.iter().any(|w| w == "no-run")
    }
}

/// The fenced blocks of a Markdown text (fences may be indented, inside list items).
fn blocks(markdown: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<(usize, usize, Vec<String>, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match (&mut open, trimmed.strip_prefix("```")) {
            (None, Some(info)) => {
                let info = info.split_whitespace().map(str::to_owned).collect();
                open = Some((number + 1, indent, info, String::new()));
            }
            (Some(_), Some(rest)) if rest.trim().is_empty() => {
                let (line, _, info, text) = open.take().expect("open");
                found.push(Block { line, info, text });
            }
            (Some((_, indent, _, text)), _) => {
                let cut = line.char_indices().nth(*indent).map_or(line.len(), |(i, _)| i);
                let cut = if line[..cut].trim().is_empty() { cut } else { 0 };
                text.push_str(&line[cut..]);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md has an unclosed code fence");
    found
}

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A `keyward serve` in `dir` (data directory `dir/keyward-data`), stopped when dropped.
struct Serve {
    child: Child,
    port: u16,
}

impl Serve {
    fn start(dir: &Path, path: &str) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env("PATH", path)
            .env_remove("KEYWARD_DATA")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("keyward serve starts");
        let info = dir.join("keyward-data/server.json");
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(&info)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && v["pid"] == child.id()
            {
                break v["url"].as_str().expect("url").to_owned();
            }
            assert!(Instant::now() < deadline, "keyward serve did not start within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        };
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok());
        Self {
            child,
            port: port.unwrap_or_else(|| panic!("no port in {url}")),
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .ok();
        self.child.wait().ok();
    }
}

#[test]
fn the_readme_starts_with_the_two_set_up_commands() {
    let all = blocks(&readme());
    let first = all.first().expect("README.md has code blocks");
    assert!(first.is_shell(), "the first block is shell: {first:?}");
    let commands: Vec<&str> = first
        .text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        commands,
        ["cargo run --release -p keyward -- serve", "cargo xtask test"],
        "the README's first block is the two set-up commands, run the server and run every test"
    );
}

#[test]
fn every_sh_block_of_the_readme_runs_against_a_fresh_server() {
    let all = blocks(&readme());
    let runnable: Vec<&Block> = all.iter().skip(1).filter(|b| b.runs()).collect();
    assert!(runnable.len() >= 4, "the README's runnable blocks: {runnable:?}");
    for block in all.iter().filter(|b| b.is_shell() && !b.runs()) {
        assert_eq!(block.info, ["sh", "no-run"], "line {}: unknown marks", block.line);
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let bin: PathBuf = Path::new(env!("CARGO_BIN_EXE_keyward"))
        .parent()
        .expect("bin dir")
        .into();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let server = Serve::start(dir.path(), &path);
    let port = server.port;
    for block in runnable {
        let script = block.text.replace("localhost:8443", &format!("localhost:{port}"));
        let mut child = Command::new("bash")
            .args(["--noprofile", "--norc", "-euo", "pipefail", "-c", &script])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("HOME", dir.path())
            .env_remove("KEYWARD_DATA")
            .env_remove("KEYWARD_SERVER")
            .env_remove("KEYWARD_PASSWORD")
            .env_remove("KEYWARD_CA")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bash runs");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            // One password line, as typed at a prompt that asks twice.
            stdin.write_all(b"a readme password\na readme password\n").ok();
        }
        let out = child.wait_with_output().expect("bash finishes");
        assert!(
            out.status.success(),
            "README.md line {}: the block failed ({}):\n{}\n--- stdout\n{}\n--- stderr\n{}",
            block.line,
            out.status,
            block.text,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    drop(server);
}

#[test]
fn blocks_are_found_with_their_marks_and_indentation() {
    let text = "a\n```sh\nkeyward x\n```\n- item\n  ```sh no-run\n  sudo y\n  ```\n```js\nz\n```\n";
    let found = blocks(text);
    assert_eq!(found.len(), 3);
    assert!(found[0].runs());
    assert_eq!(found[0].text, "keyward x\n");
    assert_eq!(found[0].line, 2);
    assert!(found[1].is_shell() && !found[1].runs());
    assert_eq!(found[1].text, "sudo y\n");
    assert!(!found[2].is_shell());
}
