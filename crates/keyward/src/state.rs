//! `keyward apply FILE` and `keyward serve --config FILE`: the declarative state document is
//! read and resolved here, on the machine that reads the file (generated secrets and keys are
//! written beside it, 0600), and what the server says about it is placed on the file's lines.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use keyward_server::state::{Change, Plan, StateError};
use keyward_state::{Document, Problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::cli::ApplyArgs;
use crate::connection::Connection;

/// A document as read from its file: the text (to place problems on lines) and the resolved
/// document (ids, certificates and secrets filled in).
pub struct Loaded {
    /// The path as given, for messages.
    pub file: String,
    /// The file's text.
    pub text: String,
    /// The resolved document, ready to apply.
    pub doc: Document,
}

impl Loaded {
    /// The problems a server found, on the file's lines.
    pub fn place(&self, problems: Vec<Problem>) -> anyhow::Error {
        anyhow::Error::new(keyward_state::Error::invalid(&self.file, &self.text, problems))
            .context(format!("{} cannot be applied; nothing was changed", self.file))
    }
}

/// Reads, checks and resolves the document at `path`: generated material is made (or reused)
/// in files relative to its directory.
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    load_with(path, None)
}

/// As [`load`]; sealed secret material (`keyward export --include-secrets`) is opened with the
/// passphrase of `passphrase_file`, else of `KEYWARD_EXPORT_PASSPHRASE`, before anything else.
/// A wrong passphrase stops here: nothing is resolved, nothing is sent.
pub fn load_with(path: &Path, passphrase_file: Option<&Path>) -> anyhow::Result<Loaded> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the state file {file}"))?;
    let doc = keyward_state::parse(&text, &file)
        .map_err(anyhow::Error::new)
        .with_context(|| format!("{file} is not a valid state document; nothing was changed"))?;
    let mut doc = doc;
    if doc.is_sealed() {
        let Some(passphrase) = crate::export::passphrase(passphrase_file)? else {
            bail!(
                "{file} holds secret material sealed by `keyward export --include-secrets`: give its passphrase with --passphrase-file FILE or {}; nothing was changed",
                crate::export::PASSPHRASE_ENV
            );
        };
        doc.open_secrets(&passphrase)
            .map_err(anyhow::Error::new)
            .with_context(|| format!("cannot open the sealed values of {file}"))?;
    }
    let base: PathBuf = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let doc = keyward_state::resolve(&doc, &base, OffsetDateTime::now_utc())
        .with_context(|| format!("cannot resolve the generated material of {file}; nothing was changed"))?;
    Ok(Loaded { file, text, doc })
}

/// A start that failed on the document: its problems on the file's lines.
pub fn start_error(loaded: Option<&Loaded>, error: keyward_server::Error) -> anyhow::Error {
    match (loaded, error) {
        (Some(loaded), keyward_server::Error::State(StateError::Invalid(problems))) => loaded.place(problems),
        (_, error) => error.into(),
    }
}

/// `keyward apply FILE`.
pub fn run(args: ApplyArgs) -> anyhow::Result<()> {
    let loaded = load_with(&args.file, args.passphrase_file.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let body = serde_json::to_value(&loaded.doc)?;
    runtime.block_on(async {
        let api = Connection::open(&args.server).await?;
        // The plan first: what will be removed is said before it is removed.
        let plan = post(&api, &loaded, &body, true).await?;
        if args.dry_run || plan.is_empty() {
            return report(&plan, args.server.json, true, args.dry_run);
        }
        if !args.server.json {
            for change in plan.removals() {
                eprintln!(
                    "keyward: will {change}",
                    change = change.to_string().trim_start_matches("- ")
                );
            }
        }
        let applied = post(&api, &loaded, &body, false).await?;
        report(&applied, args.server.json, false, false)
    })
}

async fn post(api: &Connection, loaded: &Loaded, body: &Value, dry_run: bool) -> anyhow::Result<Plan> {
    let path = if dry_run {
        "/admin/api/state?dryRun=true"
    } else {
        "/admin/api/state"
    };
    let (status, answer) = api.send_raw(Method::POST, path, body).await?;
    if status == StatusCode::BAD_REQUEST
        && let Some(problems) = answer["error"]["problems"].as_array()
    {
        let problems: Vec<Problem> = serde_json::from_value(Value::Array(problems.clone()))?;
        return Err(loaded.place(problems));
    }
    if !status.is_success() {
        let message = answer["error"]["message"].as_str().unwrap_or("no details");
        bail!("the server refused the state document ({status}): {message}");
    }
    let changes: Vec<Change> =
        serde_json::from_value(answer["changes"].clone()).context("the server's plan is not a list of changes")?;
    Ok(Plan { changes })
}

fn report(plan: &Plan, json: bool, planned_only: bool, dry_run: bool) -> anyhow::Result<()> {
    if json {
        let out = json!({"dryRun": dry_run, "applied": !planned_only, "changes": plan.changes});
        return crate::output::emit(&format!("{}\n", serde_json::to_string_pretty(&out)?));
    }
    if plan.is_empty() {
        return crate::output::emit("no changes: the server is as the document says\n");
    }
    let head = if dry_run { "would apply" } else { "applied" };
    crate::output::emit(&format!("{head} {} changes:\n{plan}\n", plan.changes.len()))
}
