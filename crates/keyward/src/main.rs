//! The `keyward` command: a thin shell over the library crates. `main` runs the command and turns
//! its error into one line on stderr and a non-zero exit code.

#![forbid(unsafe_code)]

mod app;
mod cert;
mod cli;
mod connection;
mod doctor;
mod export;
mod files;
mod graph;
mod hosts;
mod master_key;
mod output;
mod password;
mod policy;
mod quickstart;
mod serve;
mod state;
mod time_travel;
mod token;
mod trust;
mod upload;
mod user;
mod vault;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away: nothing left to say, and nobody to say it to.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", render_error(&err));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    match cli.command {
        cli::Command::Cert(cmd) => cert::run(cmd),
        cli::Command::Serve(args) => serve::run(args),
        cli::Command::App(cmd) => app::run(cmd),
        cli::Command::User(cmd) => user::run(cmd),
        cli::Command::Policy(cmd) => policy::run(cmd),
        cli::Command::SigningKey(cmd) => app::run_signing_key(cmd),
        cli::Command::Token(args) => token::run(args),
        cli::Command::Time(cmd) => time_travel::run(cmd),
        cli::Command::Doctor(args) => doctor::run(args),
        cli::Command::Quickstart(args) => quickstart::run(args),
        cli::Command::Vault(cmd) => vault::run(cmd),
        cli::Command::MasterKey(cmd) => master_key::run(cmd),
        cli::Command::Hosts(args) => hosts::run(args),
        cli::Command::Trust(args) => trust::run(args),
        cli::Command::Apply(args) => state::run(args),
        cli::Command::Export(args) => export::run(args),
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// One line: the context chain, then what to do about the cause when we know.
fn render_error(err: &anyhow::Error) -> String {
    // Errors that already print their source are not repeated by the chain.
    let mut line = String::new();
    for part in err.chain().map(ToString::to_string) {
        if line.ends_with(&part) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&part);
    }
    let hint = err
        .chain()
        .find_map(|e| e.downcast_ref::<keyward_pki::Error>())
        .and_then(keyward_pki::Error::hint);
    if let Some(hint) = hint {
        line.push_str(". ");
        let mut chars = hint.chars();
        if let Some(first) = chars.next() {
            line.extend(first.to_uppercase());
            line.push_str(chars.as_str());
        }
    }
    line
}
