//! Server settings: the engine's [`roomcore::Config`], how logins are authenticated, and the
//! bounds of the transport. [`ServerConfig::validate`] checks them all at start-up, memory
//! budget included ([`crate::budget`]).

use crate::auth::SigningKey;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How logins are authenticated.
#[derive(Debug, Clone)]
pub enum AuthMode {
    /// Every login carries an access token signed with this key, naming its user.
    Tokens(SigningKey),
    /// Development only: a login without a token is accepted as any user (one with a token
    /// is still checked), and `GET /dev/token?user=..` mints tokens signed with this key
    /// for the live page.
    InsecureDev(SigningKey),
}

impl AuthMode {
    /// The signing key either way.
    #[must_use]
    pub fn key(&self) -> &SigningKey {
        match self {
            AuthMode::Tokens(k) | AuthMode::InsecureDev(k) => k,
        }
    }

    /// Whether logins without a token are accepted.
    #[must_use]
    pub fn is_open(&self) -> bool {
        matches!(self, AuthMode::InsecureDev(_))
    }
}

/// Shortest admin bearer token accepted.
pub const MIN_ADMIN_TOKEN_BYTES: usize = 32;

/// Everything the server needs at start-up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The engine's limits and timings (reconnect grace, device policy, ...).
    pub engine: roomcore::Config,
    /// The bearer token the admin endpoint requires (`Authorization: Bearer <token>`), at
    /// least [`MIN_ADMIN_TOKEN_BYTES`] bytes.
    pub admin_token: String,
    /// How logins are authenticated.
    pub auth: AuthMode,
    /// Transport bounds and quotas.
    pub limits: Limits,
    /// Where the engine's state lives: `None` in this process's memory only (lost when it
    /// stops); otherwise a durable, replicated node (see [`crate::cluster`]).
    pub durable: Option<DurableConfig>,
    /// Where service events are POSTed (`None`: nowhere). Needs the engine's
    /// `service_events` on.
    pub webhook: Option<crate::webhook::WebhookConfig>,
}

/// A durable node: the engine's log and snapshots in a data directory, replicated over a
/// Raft group of one (`peers` empty) or more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableConfig {
    /// The node's data directory (created if missing).
    pub data_dir: PathBuf,
    /// This node's id in its group (1 for a group of one).
    pub node_id: u64,
    /// Every member's `host:port`, this node's included: the address its clients and the
    /// other nodes reach it at (the Raft routes share the server's port). Empty: a group of
    /// one.
    pub peers: BTreeMap<u64, String>,
    /// The secret the nodes of a group send each other (at least
    /// [`MIN_CLUSTER_SECRET_BYTES`]); required with peers, since the Raft routes can rewrite
    /// the log.
    pub cluster_secret: Option<String>,
    /// Raft timing and log bounds.
    pub raft: RaftSettings,
}

/// Shortest cluster secret accepted.
pub const MIN_CLUSTER_SECRET_BYTES: usize = 32;

/// Raft timing and log bounds of a durable node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftSettings {
    /// The leader's heartbeat, ms.
    pub heartbeat_ms: u64,
    /// A follower that hears no leader for a random time between these campaigns, ms; a
    /// failover takes about the maximum plus one election.
    pub election_timeout_min_ms: u64,
    /// See `election_timeout_min_ms`.
    pub election_timeout_max_ms: u64,
    /// The leader declares a node down (its sessions lose their link, their grace runs)
    /// after this long without an answer to its heartbeats, ms.
    pub node_down_after_ms: u64,
    /// How long a command may wait for the group before the client is told `unavailable`,
    /// ms.
    pub write_timeout_ms: u64,
    /// A snapshot every this many entries; the log before it is then dropped (memory and
    /// disk hold at most about this many entries plus `logs_kept_after_snapshot`).
    pub snapshot_every: u64,
    /// Entries kept behind a snapshot for followers a little behind.
    pub logs_kept_after_snapshot: u64,
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            heartbeat_ms: 100,
            election_timeout_min_ms: 300,
            election_timeout_max_ms: 600,
            node_down_after_ms: 3_000,
            write_timeout_ms: 10_000,
            snapshot_every: 2_000,
            logs_kept_after_snapshot: 500,
        }
    }
}

impl DurableConfig {
    /// Whether this node is one of a group of more than one.
    #[must_use]
    pub fn is_group(&self) -> bool {
        self.peers.len() > 1
    }

    /// Entries the log holds in memory at most (between two snapshots, plus those kept).
    #[must_use]
    pub fn log_entries_max(&self) -> usize {
        usize::try_from(
            self.raft
                .snapshot_every
                .saturating_add(self.raft.logs_kept_after_snapshot),
        )
        .unwrap_or(usize::MAX)
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// A sentence naming the flag.
    pub fn validate(&self) -> Result<(), String> {
        if self.peers.len() == 1 && !self.peers.contains_key(&self.node_id) {
            return Err(format!(
                "--peers must name this node (--node-id {})",
                self.node_id
            ));
        }
        if self.is_group() {
            if !self.peers.contains_key(&self.node_id) {
                return Err(format!(
                    "--peers must name this node (--node-id {})",
                    self.node_id
                ));
            }
            let secret = self.cluster_secret.as_deref().unwrap_or("");
            if secret.len() < MIN_CLUSTER_SECRET_BYTES {
                return Err(format!(
                    "a group needs --cluster-secret (ROOMCORE_CLUSTER_SECRET) of at least \
                     {MIN_CLUSTER_SECRET_BYTES} bytes, the same on every node; \
                     `roomcore-server keygen` makes one"
                ));
            }
        }
        let r = &self.raft;
        if r.heartbeat_ms == 0 || r.election_timeout_min_ms <= r.heartbeat_ms {
            return Err("--election-timeout-min-ms must be above --heartbeat-ms (> 0)".into());
        }
        if r.election_timeout_max_ms <= r.election_timeout_min_ms {
            return Err("--election-timeout-max-ms must be above --election-timeout-min-ms".into());
        }
        if r.node_down_after_ms <= r.election_timeout_max_ms {
            return Err("--node-down-after-ms must be above --election-timeout-max-ms".into());
        }
        if r.write_timeout_ms <= r.election_timeout_max_ms {
            return Err(
                "--write-timeout-ms must be above --election-timeout-max-ms (a command must \
                 be able to wait out one election)"
                    .into(),
            );
        }
        if r.snapshot_every == 0 {
            return Err("--snapshot-every must be at least 1".into());
        }
        Ok(())
    }
}

impl ServerConfig {
    /// The server's engine defaults ([`engine_defaults`]), the given admin token and auth
    /// mode, and the default limits.
    #[must_use]
    pub fn new(admin_token: &str, auth: AuthMode) -> ServerConfig {
        ServerConfig {
            engine: engine_defaults(),
            admin_token: admin_token.to_owned(),
            auth,
            limits: Limits::default(),
            durable: None,
            webhook: None,
        }
    }

    /// Checks every limit and the memory budget.
    ///
    /// # Errors
    /// A sentence naming the setting (its command-line flag) and what it must be.
    pub fn validate(&self) -> Result<(), String> {
        if self.admin_token.len() < MIN_ADMIN_TOKEN_BYTES {
            return Err(format!(
                "--admin-token (ROOMCORE_ADMIN_TOKEN) must be at least {MIN_ADMIN_TOKEN_BYTES} \
                 bytes; `roomcore-server keygen` makes one"
            ));
        }
        self.engine
            .validate()
            .map_err(|e| format!("engine config: {e}"))?;
        self.limits.validate(&self.engine)?;
        if let Some(d) = &self.durable {
            d.validate()?;
        }
        if let Some(w) = &self.webhook {
            w.validate()?;
            if !self.engine.service_events {
                return Err(
                    "webhooks need the engine's service_events on (the server turns it on \
                     with --webhook-url or --service-events)"
                        .into(),
                );
            }
        }
        crate::budget::Budget::of(self).check()
    }
}

/// The engine limits the server starts with unless given an engine config: the library's
/// defaults with the counts that multiply into memory (rooms, sessions, closed sessions)
/// sized to the server's budget (see `server/README.md`).
#[must_use]
pub fn engine_defaults() -> roomcore::Config {
    roomcore::Config {
        max_rooms: 40_000,
        max_sessions: 20_000,
        max_closed_sessions: 20_000,
        ..roomcore::Config::default()
    }
}

/// Bounds on everything a client can make the server hold. Every field has a default; all of
/// them together fit [`Limits::memory_budget_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// WebSocket connections at once (logged in or not); an upgrade past it is answered 503.
    pub max_connections: usize,
    /// Sockets not bound to a session (HTTP requests, WebSockets before login), all clients
    /// together; see [`crate::pending`].
    pub max_pending_connections: usize,
    /// Of those, from one IP address; past it that address's oldest is closed.
    pub max_pending_per_ip: usize,
    /// How long a pending socket is left alone before a newcomer may push it out.
    pub pending_min_age: Duration,
    /// Time to send a request's headers (the first request, and each next one on a kept-alive
    /// connection).
    pub header_read_timeout: Duration,
    /// Time for a new WebSocket to log in or resume.
    pub login_timeout: Duration,
    /// Largest WebSocket message (and frame, and admin request body), in bytes. A larger one
    /// closes the connection with 1009; the engine sees `link_lost`.
    pub max_frame_bytes: usize,
    /// Frames one WebSocket message may be split into; past it, close 1008.
    pub max_fragments: usize,
    /// Time from a message's first byte to its last; a message trickled in slower is closed
    /// with 1008.
    pub message_timeout: Duration,
    /// Frames waiting to be written to one connection.
    pub outbound_queue: usize,
    /// Bytes waiting to be written to one connection. A connection whose queue would pass
    /// either bound is too slow: it is disconnected and the engine sees `link_lost`.
    pub outbound_queue_bytes: usize,
    /// Distinct bytes of output frames held for all connections and detached sessions
    /// together. Past it, a connection or session holding more than its fair share
    /// (`outbound_total_bytes / max_connections`) is cut (or loses its oldest held output).
    pub outbound_total_bytes: usize,
    /// Frames (messages, pings and pongs) per second one connection may send.
    pub frames_per_s: u32,
    /// Frames one connection may send in a burst.
    pub frames_burst: u32,
    /// Commands waiting for the engine task (all connections together). A full queue makes
    /// connections wait before reading more frames: backpressure, not loss.
    pub engine_queue: usize,
    /// A connection that sends nothing (not even a pong) for this long is closed. The server
    /// pings at a third of it, and browsers answer pings on their own.
    pub idle_timeout: Duration,
    /// Outputs kept for a session whose connection dropped (and what its connection had not
    /// sent), delivered on resume: at most this many...
    pub max_pending_per_session: usize,
    /// ...and this many bytes. Past either, the oldest are dropped and the resume reports
    /// them (`gap: true`, with the lost replies' request numbers).
    pub max_pending_bytes_per_session: usize,
    /// A session without a connection for this long is logged out by the server. Above the
    /// reconnect grace.
    pub abandoned_session: Duration,
    /// Sessions one user may have logged in at once (with the `multi` device policy).
    pub max_sessions_per_user: usize,
    /// Rooms one user may have created that still exist (empty ones waiting for their
    /// destroy delay included).
    pub max_rooms_per_user: usize,
    /// Room attribute bytes (keys and values) one user may have written into rooms that
    /// still exist; each write is charged at least [`crate::quota::MIN_CHARGE_BYTES`], and
    /// one user's charge in one room is capped at that room's attribute limit.
    pub max_attribute_bytes_per_user: usize,
    /// The memory all of the above may use together in the worst case (see
    /// [`crate::budget`]); the server refuses to start with limits that exceed it.
    pub memory_budget_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            max_pending_connections: 1024,
            max_pending_per_ip: 64,
            pending_min_age: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(10),
            login_timeout: Duration::from_secs(10),
            max_frame_bytes: 48 * 1024,
            max_fragments: 64,
            message_timeout: Duration::from_secs(10),
            outbound_queue: 1024,
            outbound_queue_bytes: 1024 * 1024,
            outbound_total_bytes: 256 * 1024 * 1024,
            frames_per_s: 100,
            frames_burst: 200,
            engine_queue: 1024,
            idle_timeout: Duration::from_secs(60),
            max_pending_per_session: 256,
            max_pending_bytes_per_session: 128 * 1024,
            abandoned_session: Duration::from_secs(300),
            max_sessions_per_user: 8,
            max_rooms_per_user: 20,
            max_attribute_bytes_per_user: 64 * 1024,
            memory_budget_bytes: 2 << 30,
        }
    }
}

/// Smallest frame limit accepted: a login with its access token must fit.
pub const MIN_FRAME_BYTES: usize = 8 * 1024;

impl Limits {
    /// Checks each bound on its own (the budget is checked by [`ServerConfig::validate`]).
    ///
    /// # Errors
    /// The first bad setting, by its flag.
    pub fn validate(&self, engine: &roomcore::Config) -> Result<(), String> {
        let nonzero: [(&str, usize); 16] = [
            ("--max-connections", self.max_connections),
            ("--max-pending-connections", self.max_pending_connections),
            ("--max-pending-per-ip", self.max_pending_per_ip),
            ("--max-fragments", self.max_fragments),
            ("--outbound-queue", self.outbound_queue),
            ("--outbound-queue-bytes", self.outbound_queue_bytes),
            ("--outbound-total-bytes", self.outbound_total_bytes),
            ("--frames-per-s", self.frames_per_s as usize),
            ("--frames-burst", self.frames_burst as usize),
            ("engine queue", self.engine_queue),
            ("--max-pending-per-session", self.max_pending_per_session),
            (
                "--max-pending-bytes-per-session",
                self.max_pending_bytes_per_session,
            ),
            ("--max-sessions-per-user", self.max_sessions_per_user),
            ("--max-rooms-per-user", self.max_rooms_per_user),
            (
                "--max-attribute-bytes-per-user",
                self.max_attribute_bytes_per_user,
            ),
            ("--memory-budget-mib", self.memory_budget_bytes),
        ];
        if let Some((flag, _)) = nonzero.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{flag} must be at least 1"));
        }
        let durations = [
            ("--pending-min-age-ms", self.pending_min_age),
            ("--header-read-timeout-s", self.header_read_timeout),
            ("--login-timeout-s", self.login_timeout),
            ("--message-timeout-s", self.message_timeout),
            ("--idle-timeout-s", self.idle_timeout),
            ("--abandoned-session-s", self.abandoned_session),
        ];
        if let Some((flag, _)) = durations.iter().find(|(_, d)| d.is_zero()) {
            return Err(format!("{flag} must be above zero"));
        }
        if 2 * self.max_pending_per_session > self.outbound_queue
            || 2 * self.max_pending_bytes_per_session > self.outbound_queue_bytes
        {
            return Err(
                "--max-pending-per-session and --max-pending-bytes-per-session must be \
                 at most half of --outbound-queue and --outbound-queue-bytes: a resume replays \
                 them into the queue, with the restore's own outputs after them"
                    .into(),
            );
        }
        if self.max_frame_bytes < MIN_FRAME_BYTES {
            return Err(format!(
                "--max-frame-bytes must be at least {MIN_FRAME_BYTES} (a login with its token)"
            ));
        }
        if self.idle_timeout < Duration::from_millis(30) {
            return Err("--idle-timeout-s is too short to ping within".into());
        }
        let grace = Duration::from_millis(engine.reconnect_grace_ms);
        if self.abandoned_session <= grace {
            return Err(format!(
                "--abandoned-session-s ({} s) must be above the reconnect grace ({} s): a \
                 session would be logged out while it may still come back",
                self.abandoned_session.as_secs_f64(),
                grace.as_secs_f64()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(secret: Option<&str>) -> DurableConfig {
        DurableConfig {
            data_dir: "d".into(),
            node_id: 2,
            peers: (1..=3)
                .map(|n| (n, format!("127.0.0.1:{}", 7000 + n)))
                .collect(),
            cluster_secret: secret.map(str::to_owned),
            raft: RaftSettings::default(),
        }
    }

    #[test]
    fn a_group_needs_a_long_secret_and_to_name_this_node() {
        assert!(group(Some(&"s".repeat(32))).validate().is_ok());
        let e = group(None).validate().unwrap_err();
        assert!(e.contains("--cluster-secret"), "{e}");
        assert!(group(Some("short")).validate().is_err());
        let mut g = group(Some(&"s".repeat(32)));
        g.node_id = 4;
        assert!(g
            .validate()
            .unwrap_err()
            .contains("--peers must name this node"));
        // A group of one needs no secret: nothing listens for other nodes.
        let single = DurableConfig {
            peers: BTreeMap::new(),
            ..group(None)
        };
        assert!(single.validate().is_ok());
    }

    #[test]
    fn raft_timings_must_be_ordered() {
        let with = |f: fn(&mut RaftSettings)| {
            let mut g = group(Some(&"s".repeat(32)));
            f(&mut g.raft);
            g.validate()
        };
        assert!(with(|r| r.election_timeout_min_ms = r.heartbeat_ms).is_err());
        assert!(with(|r| r.election_timeout_max_ms = r.election_timeout_min_ms).is_err());
        assert!(with(|r| r.node_down_after_ms = r.election_timeout_max_ms).is_err());
        assert!(with(|r| r.write_timeout_ms = r.election_timeout_max_ms).is_err());
        assert!(with(|r| r.snapshot_every = 0).is_err());
        assert!(with(|_| {}).is_ok());
    }
}
