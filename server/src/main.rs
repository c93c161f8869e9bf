//! `roomcore-server`: serves the session WebSocket, the admin endpoint and the live page;
//! also mints access tokens and signing keys, and prints the memory budget of a set of flags.
//!
//! ```sh
//! roomcore-server keygen > signing.key; roomcore-server keygen > admin.token
//! ROOMCORE_ADMIN_TOKEN=$(cat admin.token) roomcore-server --listen 127.0.0.1:8080 --signing-key-file signing.key
//! roomcore-server token --signing-key-file signing.key --user alice --ttl-s 3600
//! roomcore-server budget                     # the worst-case memory table of the defaults
//! ROOMCORE_ADMIN_TOKEN=$(cat admin.token) roomcore-server --insecure-dev   # no key: open logins
//! roomcore-server --listen 127.0.0.1:8080 --data-dir data ...   # durable: survives restarts
//! ROOMCORE_CLUSTER_SECRET=$(cat cluster.secret) roomcore-server --listen 127.0.0.1:7001 \
//!     --data-dir data1 --node-id 1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 ...
//! ```
#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand};
use roomcore_server::auth::{self, Claims, SigningKey};
use roomcore_server::budget::Budget;
use roomcore_server::config::engine_defaults;
use roomcore_server::webhook::WebhookConfig;
use roomcore_server::{AuthMode, DurableConfig, Limits, RaftSettings, ServerConfig};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The roomcore reference server.
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a signed access token for a user (the service's side of login).
    Token(TokenArgs),
    /// Print a fresh random key (64 hex digits): a signing key or an admin token.
    Keygen,
    /// Print the worst-case memory table of the given server flags, and whether it fits.
    Budget(Box<ServeArgs>),
}

#[derive(Args, Debug)]
struct TokenArgs {
    /// File holding the signing key (at least 32 bytes; a trailing newline is ignored).
    #[arg(long, env = "ROOMCORE_SIGNING_KEY_FILE")]
    signing_key_file: PathBuf,
    /// The user id the token lets its holder log in as.
    #[arg(long)]
    user: String,
    /// Rooms allowed, comma-separated (exact ids, or a prefix followed by `*`); all if absent.
    #[arg(long, value_delimiter = ',')]
    rooms: Option<Vec<String>>,
    /// Seconds until it expires.
    #[arg(long, default_value_t = 3600)]
    ttl_s: u64,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free one; the first line printed names it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Bearer token of the admin endpoint, at least 32 bytes (prefer the environment
    /// variable: command lines are visible to other users).
    #[arg(long, env = "ROOMCORE_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// File holding the key access tokens are signed with (at least 32 bytes); logins then
    /// need a token naming their user.
    #[arg(long, env = "ROOMCORE_SIGNING_KEY_FILE")]
    signing_key_file: Option<PathBuf>,
    /// Development only: accept logins without a token, as any user, and mint tokens for the
    /// live page at POST /dev/token.
    #[arg(long)]
    insecure_dev: bool,
    /// Engine config as JSON (the `config` object of a trace; absent fields take the
    /// library's defaults, which the memory budget may refuse).
    #[arg(long)]
    engine_config: Option<PathBuf>,
    /// Overrides the engine's reconnect grace (ms).
    #[arg(long)]
    reconnect_grace_ms: Option<u64>,
    /// Overrides the engine's room limit.
    #[arg(long)]
    max_rooms: Option<u32>,
    /// Overrides the engine's session limit.
    #[arg(long)]
    max_sessions: Option<u32>,
    /// WebSocket connections at most.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Sockets not logged in (HTTP requests, WebSockets before login) at most.
    #[arg(long, default_value_t = Limits::default().max_pending_connections)]
    max_pending_connections: usize,
    /// Of those, from one IP address (past it, that address's oldest is closed).
    #[arg(long, default_value_t = Limits::default().max_pending_per_ip)]
    max_pending_per_ip: usize,
    /// Milliseconds a pending socket is left alone before a newcomer may push it out.
    #[arg(long, default_value_t = ms(Limits::default().pending_min_age))]
    pending_min_age_ms: u64,
    /// Seconds to send a request's headers.
    #[arg(long, default_value_t = Limits::default().header_read_timeout.as_secs())]
    header_read_timeout_s: u64,
    /// Seconds for a new WebSocket to log in or resume.
    #[arg(long, default_value_t = Limits::default().login_timeout.as_secs())]
    login_timeout_s: u64,
    /// Largest WebSocket message in bytes.
    #[arg(long, default_value_t = Limits::default().max_frame_bytes)]
    max_frame_bytes: usize,
    /// Frames one message may be split into.
    #[arg(long, default_value_t = Limits::default().max_fragments)]
    max_fragments: usize,
    /// Seconds from a message's first byte to its last.
    #[arg(long, default_value_t = Limits::default().message_timeout.as_secs())]
    message_timeout_s: u64,
    /// Frames queued per connection before it counts as too slow.
    #[arg(long, default_value_t = Limits::default().outbound_queue)]
    outbound_queue: usize,
    /// Bytes queued per connection before it counts as too slow.
    #[arg(long, default_value_t = Limits::default().outbound_queue_bytes)]
    outbound_queue_bytes: usize,
    /// Distinct output bytes held for all connections and detached sessions.
    #[arg(long, default_value_t = Limits::default().outbound_total_bytes)]
    outbound_total_bytes: usize,
    /// Frames per second per connection.
    #[arg(long, default_value_t = Limits::default().frames_per_s)]
    frames_per_s: u32,
    /// Frames per connection in a burst.
    #[arg(long, default_value_t = Limits::default().frames_burst)]
    frames_burst: u32,
    /// Seconds without any frame from a connection before it is closed.
    #[arg(long, default_value_t = Limits::default().idle_timeout.as_secs())]
    idle_timeout_s: u64,
    /// Outputs kept per detached session.
    #[arg(long, default_value_t = Limits::default().max_pending_per_session)]
    max_pending_per_session: usize,
    /// Bytes of outputs kept per detached session.
    #[arg(long, default_value_t = Limits::default().max_pending_bytes_per_session)]
    max_pending_bytes_per_session: usize,
    /// Seconds a session may stay without a connection before the server logs it out.
    #[arg(long, default_value_t = Limits::default().abandoned_session.as_secs())]
    abandoned_session_s: u64,
    /// Sessions one user may have at once.
    #[arg(long, default_value_t = Limits::default().max_sessions_per_user)]
    max_sessions_per_user: usize,
    /// Rooms one user may have created that still exist.
    #[arg(long, default_value_t = Limits::default().max_rooms_per_user)]
    max_rooms_per_user: usize,
    /// Room attribute bytes one user may have written into rooms that still exist.
    #[arg(long, default_value_t = Limits::default().max_attribute_bytes_per_user)]
    max_attribute_bytes_per_user: usize,
    /// The worst-case memory all limits together may use, MiB; the server refuses to start
    /// above it. Default: 2048, or 4096 with --data-dir (the replicated log and snapshots).
    #[arg(long)]
    memory_budget_mib: Option<usize>,
    /// Keep the engine's state (its log and snapshots) in this directory: a restart, even
    /// after `kill -9`, restores it. Alone, a group of one; with --peers, one replica.
    #[arg(long, env = "ROOMCORE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// This node's id in its group (with --peers).
    #[arg(long, default_value_t = 1, requires = "data_dir")]
    node_id: u64,
    /// The group, this node included: ID=HOST:PORT,... (each node's --listen address as the
    /// others and the clients reach it; the Raft routes share that port).
    #[arg(long, value_delimiter = ',', value_parser = parse_peer, requires = "data_dir")]
    peers: Vec<(u64, String)>,
    /// The secret the nodes of a group authenticate each other with, the same on every
    /// node, at least 32 bytes (prefer the environment variable).
    #[arg(long, env = "ROOMCORE_CLUSTER_SECRET", hide_env_values = true)]
    cluster_secret: Option<String>,
    /// Raft: the leader's heartbeat, ms.
    #[arg(long, default_value_t = RaftSettings::default().heartbeat_ms)]
    heartbeat_ms: u64,
    /// Raft: a follower that hears no leader for a random time between this...
    #[arg(long, default_value_t = RaftSettings::default().election_timeout_min_ms)]
    election_timeout_min_ms: u64,
    /// ...and this campaigns, ms (a failover takes about this plus one election).
    #[arg(long, default_value_t = RaftSettings::default().election_timeout_max_ms)]
    election_timeout_max_ms: u64,
    /// A node that has not answered the leader for this long is down: its sessions lose
    /// their link (their grace runs), ms.
    #[arg(long, default_value_t = RaftSettings::default().node_down_after_ms)]
    node_down_after_ms: u64,
    /// How long a command may wait for the group before its client is told
    /// `unavailable`, ms.
    #[arg(long, default_value_t = RaftSettings::default().write_timeout_ms)]
    write_timeout_ms: u64,
    /// A snapshot every this many log entries (the log before it is then dropped).
    #[arg(long, default_value_t = RaftSettings::default().snapshot_every)]
    snapshot_every: u64,
    /// Log entries kept behind a snapshot, for followers a little behind.
    #[arg(long, default_value_t = RaftSettings::default().logs_kept_after_snapshot)]
    logs_kept_after_snapshot: u64,
    /// Number every membership change as a service event (implied by --webhook-url). In a
    /// group every node must agree: give it to the nodes without --webhook-url.
    #[arg(long)]
    service_events: bool,
    /// POST service events to this receiver (http://host:port/path; no TLS) as signed JSON
    /// batches.
    #[arg(long, env = "ROOMCORE_WEBHOOK_URL", requires = "webhook_secret")]
    webhook_url: Option<String>,
    /// The HMAC-SHA256 key of the `X-Roomcore-Signature` header, at least 32 bytes (prefer
    /// the environment variable).
    #[arg(long, env = "ROOMCORE_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// Events not delivered within this long are dropped, counted and logged (1..=86400).
    #[arg(long, default_value_t = WEBHOOK.max_age.as_secs())]
    webhook_max_age_s: u64,
    /// Events per request at most (1..=10000).
    #[arg(long, default_value_t = WEBHOOK.max_batch_events)]
    webhook_max_batch: usize,
    /// Events waiting at most; past it the oldest is dropped (1..=10000000).
    #[arg(long, default_value_t = WEBHOOK.max_queue_events)]
    webhook_max_queue: usize,
    /// Bytes of events waiting at most; past it the oldest is dropped (1 KiB..=1 GiB).
    #[arg(long, default_value_t = WEBHOOK.max_queue_bytes)]
    webhook_max_queue_bytes: usize,
    /// A request not answered within this long has failed, ms (100..=300000).
    #[arg(long, default_value_t = ms(WEBHOOK.request_timeout))]
    webhook_timeout_ms: u64,
    /// The wait after a first failure, ms; doubled per failure... (1..=60000)
    #[arg(long, default_value_t = ms(WEBHOOK.backoff_min))]
    webhook_backoff_min_ms: u64,
    /// ...up to this, ms (1..=3600000).
    #[arg(long, default_value_t = ms(WEBHOOK.backoff_max))]
    webhook_backoff_max_ms: u64,
}

/// The webhook defaults (the url and secret are placeholders).
static WEBHOOK: std::sync::LazyLock<WebhookConfig> =
    std::sync::LazyLock::new(|| WebhookConfig::new("", ""));

fn webhook(a: &ServeArgs) -> Option<WebhookConfig> {
    let url = a.webhook_url.as_deref()?;
    Some(WebhookConfig {
        max_age: Duration::from_secs(a.webhook_max_age_s),
        max_batch_events: a.webhook_max_batch,
        max_queue_events: a.webhook_max_queue,
        max_queue_bytes: a.webhook_max_queue_bytes,
        request_timeout: Duration::from_millis(a.webhook_timeout_ms),
        backoff_min: Duration::from_millis(a.webhook_backoff_min_ms),
        backoff_max: Duration::from_millis(a.webhook_backoff_max_ms),
        ..WebhookConfig::new(url, a.webhook_secret.as_deref().unwrap_or(""))
    })
}

fn parse_peer(s: &str) -> Result<(u64, String), String> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("{s}: a peer is ID=HOST:PORT"))?;
    let id = id
        .trim()
        .parse::<u64>()
        .map_err(|e| format!("{s}: node id: {e}"))?;
    let addr = addr.trim();
    if addr
        .rsplit_once(':')
        .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
    {
        return Err(format!("{s}: a peer's address is HOST:PORT"));
    }
    Ok((id, addr.to_owned()))
}

fn durable(a: &ServeArgs) -> Result<Option<DurableConfig>, String> {
    let Some(dir) = &a.data_dir else {
        return Ok(None);
    };
    let mut peers = BTreeMap::new();
    for (id, addr) in &a.peers {
        if peers.insert(*id, addr.clone()).is_some() {
            return Err(format!("--peers names node {id} twice"));
        }
    }
    Ok(Some(DurableConfig {
        data_dir: dir.clone(),
        node_id: a.node_id,
        peers,
        cluster_secret: a.cluster_secret.clone(),
        raft: RaftSettings {
            heartbeat_ms: a.heartbeat_ms,
            election_timeout_min_ms: a.election_timeout_min_ms,
            election_timeout_max_ms: a.election_timeout_max_ms,
            node_down_after_ms: a.node_down_after_ms,
            write_timeout_ms: a.write_timeout_ms,
            snapshot_every: a.snapshot_every,
            logs_kept_after_snapshot: a.logs_kept_after_snapshot,
        },
    }))
}

const fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn read_key(path: &PathBuf) -> Result<SigningKey, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let trimmed = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
    SigningKey::new(trimmed).map_err(|e| format!("{}: {e}", path.display()))
}

fn engine_config(a: &ServeArgs) -> Result<roomcore::Config, String> {
    let mut engine = match &a.engine_config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => engine_defaults(),
    };
    if let Some(ms) = a.reconnect_grace_ms {
        engine.reconnect_grace_ms = ms;
    }
    if let Some(n) = a.max_rooms {
        engine.max_rooms = n;
    }
    if let Some(n) = a.max_sessions {
        engine.max_sessions = n;
    }
    engine.service_events |= a.service_events || a.webhook_url.is_some();
    Ok(engine)
}

fn limits(a: &ServeArgs) -> Limits {
    Limits {
        max_connections: a.max_connections,
        max_pending_connections: a.max_pending_connections,
        max_pending_per_ip: a.max_pending_per_ip,
        pending_min_age: Duration::from_millis(a.pending_min_age_ms),
        header_read_timeout: Duration::from_secs(a.header_read_timeout_s),
        login_timeout: Duration::from_secs(a.login_timeout_s),
        max_frame_bytes: a.max_frame_bytes,
        max_fragments: a.max_fragments,
        message_timeout: Duration::from_secs(a.message_timeout_s),
        outbound_queue: a.outbound_queue,
        outbound_queue_bytes: a.outbound_queue_bytes,
        outbound_total_bytes: a.outbound_total_bytes,
        frames_per_s: a.frames_per_s,
        frames_burst: a.frames_burst,
        idle_timeout: Duration::from_secs(a.idle_timeout_s),
        max_pending_per_session: a.max_pending_per_session,
        max_pending_bytes_per_session: a.max_pending_bytes_per_session,
        abandoned_session: Duration::from_secs(a.abandoned_session_s),
        max_sessions_per_user: a.max_sessions_per_user,
        max_rooms_per_user: a.max_rooms_per_user,
        max_attribute_bytes_per_user: a.max_attribute_bytes_per_user,
        memory_budget_bytes: a
            .memory_budget_mib
            .unwrap_or(if a.data_dir.is_some() {
                roomcore_server::budget::DURABLE_BUDGET_MIB
            } else {
                Limits::default().memory_budget_bytes >> 20
            })
            .saturating_mul(1 << 20),
        ..Limits::default()
    }
}

/// The config the flags describe; `need_secrets` false fills in placeholders (for `budget`).
fn config(a: &ServeArgs, need_secrets: bool) -> Result<ServerConfig, String> {
    let key = match (&a.signing_key_file, a.insecure_dev) {
        (Some(path), false) => AuthMode::Tokens(read_key(path)?),
        (Some(path), true) => AuthMode::InsecureDev(read_key(path)?),
        (None, true) | (None, false) if !need_secrets => {
            AuthMode::InsecureDev(SigningKey::new(&[0; 32])?)
        }
        (None, true) => {
            let hex = auth::generate_key_hex().map_err(|e| format!("no random key: {e}"))?;
            AuthMode::InsecureDev(SigningKey::new(hex.as_bytes())?)
        }
        (None, false) => {
            return Err(
                "logins need access tokens: give --signing-key-file (make one with \
                 `roomcore-server keygen`), or --insecure-dev to run open for development"
                    .into(),
            )
        }
    };
    let admin_token = match &a.admin_token {
        Some(t) => t.clone(),
        None if !need_secrets => "x".repeat(32),
        None => return Err("--admin-token (or ROOMCORE_ADMIN_TOKEN) is required".into()),
    };
    let config = ServerConfig {
        engine: engine_config(a)?,
        admin_token,
        auth: key,
        limits: limits(a),
        durable: durable(a)?,
        webhook: webhook(a),
    };
    config.validate()?;
    Ok(config)
}

fn token(a: &TokenArgs) -> Result<String, String> {
    let key = read_key(&a.signing_key_file)?;
    let claims = Claims {
        sub: a.user.clone(),
        exp: auth::unix_now_s() + a.ttl_s.clamp(1, roomcore_server::http::MAX_TOKEN_TTL_S),
        rooms: a.rooms.clone(),
    };
    Ok(auth::mint(&key, &claims))
}

async fn serve(a: &ServeArgs) -> ExitCode {
    let config = match config(a, true) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("roomcore-server: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&a.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("roomcore-server: cannot listen on {}: {e}", a.listen);
            return ExitCode::from(2);
        }
    };
    let open = config.auth.is_open();
    let durable = config.durable.clone();
    let webhook_url = config.webhook.as_ref().map(|w| w.url.clone());
    let mut server = match roomcore_server::start(listener, config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("roomcore-server: {e}");
            return ExitCode::from(2);
        }
    };
    println!("roomcore-server listening on http://{}/", server.addr);
    if let Some(d) = &durable {
        let members = d.peers.len().max(1);
        println!(
            "roomcore-server: durable node {} of a group of {members}, data in {}",
            d.node_id,
            d.data_dir.display()
        );
    }
    if let Some(url) = &webhook_url {
        println!("roomcore-server: service events are POSTed to {url} (signed; see /admin/stats)");
    }
    if open {
        println!(
            "roomcore-server: INSECURE DEV MODE: logins without an access token are accepted \
             as any user, and POST /dev/token mints tokens for anyone; never expose this"
        );
    }
    let _ = std::io::stdout().flush();
    let stop = async {
        #[cfg(unix)]
        {
            let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
            match term {
                Ok(mut term) => tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                },
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    };
    tokio::select! {
        r = server.wait_running() => {
            if let Err(e) = r {
                eprintln!("roomcore-server: {e}");
                return ExitCode::FAILURE;
            }
        }
        () = stop => {
            // A clean stop: a durable node's last writes reach its disk.
            let _ = server.shutdown().await;
        }
    }
    ExitCode::SUCCESS
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let printed = match &cli.command {
        None => return serve(&cli.serve).await,
        Some(Command::Token(a)) => token(a),
        Some(Command::Keygen) => {
            auth::generate_key_hex().map_err(|e| format!("no random key: {e}"))
        }
        Some(Command::Budget(a)) => {
            let c = config(a, false);
            match c {
                Ok(c) => Ok(Budget::of(&c).table()),
                Err(e) => {
                    // Print the table even when it does not fit, then the reason.
                    if let Ok(engine) = engine_config(a) {
                        let mut c = ServerConfig::new(
                            &"x".repeat(32),
                            AuthMode::InsecureDev(
                                SigningKey::new(&[0; 32]).expect("32 bytes is a valid key"),
                            ),
                        );
                        c.engine = engine;
                        c.limits = limits(a);
                        println!("{}", Budget::of(&c).table());
                    }
                    Err(e)
                }
            }
        }
    };
    match printed {
        Ok(text) => {
            println!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("roomcore-server: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_id_equals_host_port() {
        assert_eq!(
            parse_peer("2=10.0.0.2:7001"),
            Ok((2, "10.0.0.2:7001".into()))
        );
        assert_eq!(parse_peer(" 3 = h:1 "), Ok((3, "h:1".into())));
        for bad in [
            "10.0.0.2:7001",
            "x=h:1",
            "1=h",
            "1=:80",
            "1=h:port",
            "1=h:70000",
        ] {
            assert!(parse_peer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_node_named_twice_is_refused_and_the_durable_budget_applies() {
        let cli = Cli::try_parse_from([
            "roomcore-server",
            "--data-dir",
            "d",
            "--peers",
            "1=h:1,1=h:2",
        ])
        .expect("parses");
        assert!(durable(&cli.serve).unwrap_err().contains("twice"));
        let cli = Cli::try_parse_from(["roomcore-server", "--data-dir", "d"]).expect("parses");
        assert_eq!(
            limits(&cli.serve).memory_budget_bytes,
            roomcore_server::budget::DURABLE_BUDGET_MIB << 20
        );
        assert!(Cli::try_parse_from(["roomcore-server", "--peers", "1=h:1"]).is_err());
    }

    #[test]
    fn a_webhook_url_numbers_service_events_and_needs_a_secret() {
        let secret = "w".repeat(32);
        let cli = Cli::try_parse_from([
            "roomcore-server",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
            "--webhook-secret",
            &secret,
            "--webhook-max-age-s",
            "60",
        ])
        .expect("parses");
        let c = config(&cli.serve, false).expect("valid");
        assert!(c.engine.service_events);
        let w = c.webhook.expect("configured");
        assert_eq!(w.max_age, Duration::from_secs(60));
        assert_eq!(w.max_batch_events, WEBHOOK.max_batch_events);
        let plain = Cli::try_parse_from(["roomcore-server"]).expect("parses");
        let c = config(&plain.serve, false).expect("valid");
        assert!(!c.engine.service_events && c.webhook.is_none());
        let events = Cli::try_parse_from(["roomcore-server", "--service-events"]).expect("parses");
        assert!(
            config(&events.serve, false)
                .expect("valid")
                .engine
                .service_events
        );
        assert!(Cli::try_parse_from(["roomcore-server", "--webhook-url", "http://h:1/"]).is_err());
        let cli = Cli::try_parse_from([
            "roomcore-server",
            "--webhook-url",
            "https://h/",
            "--webhook-secret",
            &secret,
        ])
        .expect("parses");
        assert!(config(&cli.serve, false).unwrap_err().contains("only http"));
    }
}
