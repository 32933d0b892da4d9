//! `keyward time`: time travel on a running server (`GET`, `POST` and `DELETE
//! /admin/api/time`), as the data directory's admin.

use anyhow::Context;
use serde_json::{Value, json};

use crate::cli::TimeCommand;
use crate::connection::Connection;
use crate::output::print;

/// Runs `keyward time shift|reset|show`.
pub fn run(command: TimeCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let (server, verb) = match &command {
            TimeCommand::Shift { server, .. } => (server, "shifted"),
            TimeCommand::Reset { server } => (server, "reset"),
            TimeCommand::Show { server } => (server, ""),
        };
        let api = Connection::open(server).await?;
        let state = match &command {
            TimeCommand::Shift { by, .. } => api
                .call(
                    reqwest::Method::POST,
                    "/admin/api/time",
                    Some(json!({ "shiftSeconds": by.whole_seconds() })),
                )
                .await
                .context("the server's clock was not moved")?,
            TimeCommand::Reset { .. } => api
                .call(reqwest::Method::DELETE, "/admin/api/time", None)
                .await
                .context("the server's clock was not reset")?,
            TimeCommand::Show { .. } => api.call(reqwest::Method::GET, "/admin/api/time", None).await?,
        };
        print(server.json, &state, || describe(&state, verb))
    })
}

fn describe(state: &Value, verb: &str) -> String {
    let text = |name: &str| state[name].as_str().unwrap_or("?").to_owned();
    let mut out = String::new();
    if !verb.is_empty() {
        out.push_str(&format!("Server clock {verb}.\n"));
    }
    out.push_str(&format!(
        "  Server time: {}  ({} from the real time)\n  Real time:   {}\n",
        text("serverTime"),
        text("offset"),
        text("realTime")
    ));
    if state["allowed"] != Value::Bool(true) {
        out.push_str("  Time travel is off on this server (start it with --allow-time-travel to shift its clock).\n");
    }
    out
}
