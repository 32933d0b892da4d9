//! `webapp`: the article's sample web app. Reads `.env` (or the file named by
//! `DOTENV_CONFIG_PATH`) and the environment, listens on `http://localhost:$PORT`, and stops on
//! Ctrl-C or SIGTERM.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let vars = environment()?;
    let config = webapp::Config::from_vars(&vars).map_err(|e| e.to_string())?;
    let port = config.port;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e} (set PORT to use another port)"))?;
    let authority = config.authority.clone();
    let client_id = config.client_id.clone();
    let app = webapp::App::new(config).await.map_err(|e| e.to_string())?;
    if let Err(e) = app.client().metadata().await {
        eprintln!("warning: {e}");
    }
    println!("Sample web app listening on http://localhost:{port} (authority {authority}, client {client_id})");
    app.serve(listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    println!("Sample web app stopped");
    Ok(())
}

/// The process environment over the `.env` file, as `require('dotenv').config()` gives it.
fn environment() -> Result<HashMap<String, String>, String> {
    let path = std::env::var("DOTENV_CONFIG_PATH").unwrap_or_else(|_| ".env".to_owned());
    let file = match std::fs::read_to_string(&path) {
        Ok(text) => webapp::dotenv::parse(&text).map_err(|e| format!("{path}: {e}"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("cannot read {path}: {e}")),
    };
    Ok(webapp::dotenv::merge(file, std::env::vars()))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
