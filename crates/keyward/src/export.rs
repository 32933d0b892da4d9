//! `keyward export`: the running server's state (`GET /admin/api/state`) written as the TOML
//! document of `keyward_state`, which `keyward apply` reads back. Secret material comes from
//! the server only with --include-secrets, and is sealed here with the passphrase before
//! anything is written (the passphrase never leaves this process).

use std::path::Path;

use anyhow::{Context, bail};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use crate::cli::ExportArgs;
use crate::connection::Connection;
use crate::files::{self, Access};
use crate::output::{emit, print};
use crate::password;

/// The environment variable holding the passphrase of sealed values.
pub const PASSPHRASE_ENV: &str = "KEYWARD_EXPORT_PASSPHRASE";

/// The passphrase of sealed values: the first line of `file`, else [`PASSPHRASE_ENV`]; `None`
/// when neither is given. What `keyward apply --passphrase-file` reads too.
pub fn passphrase(file: Option<&Path>) -> anyhow::Result<Option<Zeroizing<String>>> {
    if let Some(path) = file {
        let value =
            password::from_file(path).with_context(|| format!("reading the passphrase file {}", path.display()))?;
        if value.is_empty() {
            bail!(
                "the passphrase file {} is empty: write the passphrase on its first line",
                path.display()
            );
        }
        return Ok(Some(value));
    }
    match std::env::var(PASSPHRASE_ENV) {
        Ok(value) if !value.is_empty() => Ok(Some(Zeroizing::new(value))),
        _ => Ok(None),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Exported {
    document: keyward_state::Document,
    #[serde(default)]
    left_out: Vec<String>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    // Refusals that need no server come first.
    let passphrase = passphrase(args.passphrase_file.as_deref())?;
    let passphrase = match (args.include_secrets, passphrase) {
        (true, Some(p)) => Some(p),
        (true, None) => bail!(
            "--include-secrets needs a passphrase to seal them with: give --passphrase-file FILE or set {PASSPHRASE_ENV}"
        ),
        (false, Some(_)) if args.passphrase_file.is_some() => bail!(
            "--passphrase-file seals secret material, which is exported only with --include-secrets: add it, or leave the passphrase out"
        ),
        (false, _) => None,
    };
    if let Some(p) = &passphrase
        && p.chars().count() < keyward_state::seal::MIN_PASSPHRASE_CHARS
    {
        bail!(
            "the passphrase has fewer than {} characters: choose a longer one",
            keyward_state::seal::MIN_PASSPHRASE_CHARS
        );
    }
    if args.server.json && args.out.is_none() {
        bail!("--json prints a summary of the export: give --out FILE for the document itself");
    }
    if let Some(out) = &args.out {
        files::check_absent(&[out], args.force)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let exported = runtime.block_on(fetch(&args))?;
    let mut doc = exported.document;
    let sealed = match &passphrase {
        Some(p) => doc.seal_secrets(p)?,
        None => 0,
    };
    let text = render(&doc, &args, sealed)?;
    // What is written is what `apply` reads: parse it back, and refuse to write anything else.
    let name = args
        .out
        .as_ref()
        .map_or_else(|| "the export".to_owned(), |p| p.display().to_string());
    let read = keyward_state::parse(&text, &name)
        .with_context(|| "the exported state is not a valid document; fix what is named (in the admin center or with `keyward app`) and export again")?;
    if read != doc {
        bail!("the exported state does not read back equal to itself; please report this");
    }

    let summary = json!({
        "out": args.out.as_ref().map(|p| p.display().to_string()),
        "tenants": doc.tenants.iter().map(|t| &t.name).collect::<Vec<_>>(),
        "applications": doc.apps.len(),
        "users": doc.users.len(),
        "vaults": doc.vaults.len(),
        "sealed": sealed,
        "leftOut": exported.left_out,
    });
    match &args.out {
        Some(out) => {
            let access = if args.include_secrets {
                Access::OwnerOnly
            } else {
                Access::Public
            };
            files::write_new(out, text.as_bytes(), access, args.force)?;
            print(args.server.json, &summary, || {
                format!(
                    "Exported {} application(s), {} user(s) and {} vault(s) to {}{}.\n",
                    doc.apps.len(),
                    doc.users.len(),
                    doc.vaults.len(),
                    out.display(),
                    if sealed > 0 {
                        format!(", {sealed} secret value(s) sealed with the passphrase")
                    } else {
                        String::new()
                    }
                )
            })?;
        }
        None => emit(&text)?,
    }
    if !args.server.json && !exported.left_out.is_empty() {
        eprintln!(
            "Left out ({}; export with --include-secrets --passphrase-file FILE to keep them):",
            exported.left_out.len()
        );
        for line in &exported.left_out {
            eprintln!("  {line}");
        }
    }
    Ok(())
}

async fn fetch(args: &ExportArgs) -> anyhow::Result<Exported> {
    let api = Connection::open(&args.server).await?;
    let mut query: Vec<(&str, &str)> = args.tenant.iter().map(|t| ("tenant", t.as_str())).collect();
    if args.include_secrets {
        query.push(("secrets", "true"));
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let path = if query.is_empty() {
        "/admin/api/state".to_owned()
    } else {
        format!("/admin/api/state?{query}")
    };
    let value = api.call(Method::GET, &path, None).await?;
    serde_json::from_value(value)
        .context("the server's export is not a state document: are the CLI and the server the same version?")
}

/// The document with a header saying where it came from and what it holds.
fn render(doc: &keyward_state::Document, args: &ExportArgs, sealed: usize) -> anyhow::Result<String> {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    let tenants: Vec<&str> = doc.tenants.iter().map(|t| t.name.as_str()).collect();
    let mut text = format!(
        "# Keyward state exported by `keyward export` at {} (tenant {}).\n",
        now.format(&Rfc3339)?,
        tenants.join(", ")
    );
    if args.include_secrets {
        text.push_str(&format!(
            "# Secret material: {sealed} value(s) sealed with the export passphrase (keyward-sealed:v1: PBKDF2-SHA256,\n\
             # AES-256-GCM). Apply with: keyward apply FILE --passphrase-file PASSPHRASE-FILE\n"
        ));
    } else {
        text.push_str(
            "# Secret material: none. Client secrets, passwords and vault secrets have `generate` paths\n\
             # (applying makes new values there); vault certificates are made again from their policies\n\
             # (new keys and thumbprints). Export with --include-secrets --passphrase-file FILE to keep them.\n",
        );
    }
    text.push('\n');
    text.push_str(&doc.to_toml()?);
    Ok(text)
}
