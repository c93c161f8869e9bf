//! `roomcore-load`: a bounded load run against a running roomcore server.
//!
//! ```sh
//! roomcore-load --url ws://127.0.0.1:8080/ws --clients 1000 --duration-s 30
//! ```
//! Prints one JSON line (the [`roomcore_server::load::LoadReport`]) and a summary; exits 1
//! when any client failed or any command was refused or answered with an error.
#![forbid(unsafe_code)]

use clap::Parser;
use roomcore_server::load::{self, LoadConfig};
use std::process::ExitCode;
use std::time::Duration;

/// Churns enters, leaves and switches from many WebSocket clients and measures latency.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The server's session endpoint; for a replicated group, every node's, comma-separated
    /// (clients spread over them and resume on another when theirs goes away).
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Concurrent clients (at most 10,000).
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Seconds of churn (at most 600).
    #[arg(long, default_value_t = 30)]
    duration_s: u64,
    /// Rooms to churn over.
    #[arg(long, default_value_t = 100)]
    rooms: u32,
    /// Seed of the clients' choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Prefix of session and user ids.
    #[arg(long, default_value = "load")]
    prefix: String,
    /// Connections opened at once during set-up.
    #[arg(long, default_value_t = 64)]
    connect_parallelism: usize,
    /// Milliseconds each client waits between a reply and its next command (0: full speed).
    #[arg(long, default_value_t = 0)]
    think_ms: u64,
    /// Commands each client sends at least, however long the run takes.
    #[arg(long, default_value_t = 0)]
    min_commands: u64,
    /// File holding the server's signing key, to mint each client's access token (without
    /// it, clients log in without a token: the server must run with --insecure-dev).
    #[arg(long, env = "ROOMCORE_SIGNING_KEY_FILE")]
    signing_key_file: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = Args::parse();
    let signing_key = match &a.signing_key_file {
        None => None,
        Some(path) => {
            let key = std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    let b = b.strip_suffix(b"\n").unwrap_or(&b).to_vec();
                    roomcore_server::auth::SigningKey::new(&b)
                });
            match key {
                Ok(k) => Some(k),
                Err(e) => {
                    eprintln!("roomcore-load: {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
        }
    };
    let cfg = LoadConfig {
        url: a.url,
        clients: a.clients,
        duration: Duration::from_secs(a.duration_s),
        rooms: a.rooms,
        seed: a.seed,
        prefix: a.prefix,
        connect_parallelism: a.connect_parallelism,
        think: Duration::from_millis(a.think_ms),
        min_commands: a.min_commands,
        signing_key,
    };
    let report = match load::run(&cfg).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("roomcore-load: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{}", serde_json::to_string(&report).unwrap_or_default());
    println!(
        "{} clients x {:.0} s: {} commands, {:.0} commands/s, latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} frames received; errors {} refused {} failed clients {} resumes {}",
        report.logged_in,
        report.elapsed_s,
        report.commands,
        report.commands_per_s,
        report.p50_us as f64 / 1000.0,
        report.p90_us as f64 / 1000.0,
        report.p99_us as f64 / 1000.0,
        report.max_us as f64 / 1000.0,
        report.frames_received,
        report.engine_errors,
        report.refused,
        report.failed_clients,
        report.resumes,
    );
    if report.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
