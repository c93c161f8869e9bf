//! `roomcore-server`: serves the session WebSocket, the admin endpoint and the live page.
//!
//! ```sh
//! ROOMCORE_ADMIN_TOKEN=secret cargo run --release -p roomcore-server -- --listen 127.0.0.1:8080
//! # then open http://127.0.0.1:8080/
//! ```
#![forbid(unsafe_code)]

use clap::Parser;
use roomcore_server::{Limits, ServerConfig};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The roomcore reference server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free one; the first line printed names it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Bearer token of the admin endpoint (prefer the environment variable: command lines
    /// are visible to other users).
    #[arg(long, env = "ROOMCORE_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Engine config as JSON (the `config` object of a trace; absent fields take defaults).
    #[arg(long)]
    engine_config: Option<PathBuf>,
    /// Overrides the engine's reconnect grace (ms).
    #[arg(long)]
    reconnect_grace_ms: Option<u64>,
    /// Open WebSocket connections at most.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Open TCP connections of any kind at most (past it, accepting pauses).
    #[arg(long, default_value_t = Limits::default().max_tcp_connections)]
    max_tcp_connections: usize,
    /// Largest frame in bytes.
    #[arg(long, default_value_t = Limits::default().max_frame_bytes)]
    max_frame_bytes: usize,
    /// Frames queued per connection before it counts as too slow.
    #[arg(long, default_value_t = Limits::default().outbound_queue)]
    outbound_queue: usize,
    /// Frames per second per connection.
    #[arg(long, default_value_t = Limits::default().frames_per_s)]
    frames_per_s: u32,
    /// Frames per connection in a burst.
    #[arg(long, default_value_t = Limits::default().frames_burst)]
    frames_burst: u32,
    /// Seconds without any frame from a connection before it is closed.
    #[arg(long, default_value_t = Limits::default().idle_timeout.as_secs())]
    idle_timeout_s: u64,
    /// Seconds a session may stay without a connection before the server logs it out.
    #[arg(long, default_value_t = Limits::default().abandoned_session.as_secs())]
    abandoned_session_s: u64,
}

fn config(args: &Args) -> Result<ServerConfig, String> {
    let mut engine = match &args.engine_config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => roomcore::Config::default(),
    };
    if let Some(ms) = args.reconnect_grace_ms {
        engine.reconnect_grace_ms = ms;
    }
    Ok(ServerConfig {
        engine,
        admin_token: args.admin_token.clone(),
        limits: Limits {
            max_connections: args.max_connections,
            max_tcp_connections: args.max_tcp_connections,
            max_frame_bytes: args.max_frame_bytes,
            outbound_queue: args.outbound_queue,
            frames_per_s: args.frames_per_s,
            frames_burst: args.frames_burst,
            idle_timeout: Duration::from_secs(args.idle_timeout_s.max(1)),
            abandoned_session: Duration::from_secs(args.abandoned_session_s),
            ..Limits::default()
        },
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("roomcore-server: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("roomcore-server: cannot listen on {}: {e}", args.listen);
            return ExitCode::from(2);
        }
    };
    let server = match roomcore_server::start(listener, config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("roomcore-server: {e}");
            return ExitCode::from(2);
        }
    };
    println!("roomcore-server listening on http://{}/", server.addr);
    let _ = std::io::stdout().flush();
    tokio::select! {
        r = server.wait() => {
            if let Err(e) = r {
                eprintln!("roomcore-server: {e}");
                return ExitCode::FAILURE;
            }
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    ExitCode::SUCCESS
}
