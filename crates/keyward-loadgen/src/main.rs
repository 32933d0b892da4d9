//! `keyward-loadgen`: benchmarks `keyward serve`'s token endpoint. It pre-signs distinct client
//! assertions, drives the endpoint over HTTPS keep-alive at peak (closed loop) and at half that
//! rate (open loop), and reports tokens/s, latency, and the server's CPU per token next to the
//! raw cost of one RSA-2048 sign plus one verify measured in the same run.

mod bench;
mod flags;
mod report;
mod rsa_cost;

use keyward_loadgen::{assertions, latency, load, proc_stat, registration, server};

use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyward-loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let settings = flags::Settings::from_args()?;
    let report = bench::run(&settings)?;
    if settings.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}
