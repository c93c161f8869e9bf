//! The server on a durable, replicated engine (`--data-dir`, and `--node-id` / `--peers`
//! for a group): the engine lives in a [`roomcore_raft::Node`] (openraft on tokio, a redb
//! log and snapshots in the data directory), and one task, [`ClusterTask`], stands where
//! the in-memory server's engine task stands.
//!
//! - **Commands go through the log.** A connection's commands are proposed one at a time,
//!   in the order the client sent them (`lanes.rs`); a follower forwards them to the leader
//!   (the node's own forwarding), the leader stamps its clock on them.
//! - **Each node delivers to the sessions it holds.** Every node applies every entry; the
//!   replicated session table says which node holds which session, so an output reaches its
//!   client once, through the node the client is connected to (`deliver.rs`). A reply goes
//!   to the connection that sent the command, found by the entry's request key.
//! - **Sessions follow their clients.** A login records the resume token's hash and the
//!   token's room grants in the replicated state; a resume on any node presents the token,
//!   moves the session there and rotates the token. The per-session output buffer stays
//!   node-local: a resume on the node that buffered (and is still the same process) replays
//!   it as the in-memory server does; anywhere else the resume says `gap: true, unknown:
//!   true`.
//! - **Links are lost through the log**: a dropped connection proposes `disconnect`, a
//!   restarted node's `node_up` and the leader's `node_down` for a silent node take its
//!   sessions' links; the grace then runs on the replicated timers (ticks proposed by the
//!   leader), and fires once whatever the failovers.
//! - **Abandoned sessions** (no node holds them for `--abandoned-session-s`) are logged out
//!   by the leader (`reaper.rs`).

mod deliver;
mod lanes;
mod reaper;
mod task;

pub use task::ClusterTask;

use crate::config::{DurableConfig, ServerConfig};
use roomcore_raft::{Node, NodeConfig};
use std::collections::BTreeMap;
use std::io;

/// The replicated node's settings for a server configuration.
#[must_use]
pub fn node_config(config: &ServerConfig, d: &DurableConfig) -> NodeConfig {
    let r = &d.raft;
    NodeConfig {
        engine: config.engine.clone(),
        limits: roomcore_raft::Limits {
            recent_requests: crate::budget::REMEMBERED_REQUESTS,
            // Replies reach their connection from the applied entry itself, never from a
            // duplicate's remembered reply: keeping them would only cost memory.
            max_reply_bytes: 0,
            ..roomcore_raft::Limits::default()
        },
        heartbeat_ms: r.heartbeat_ms,
        election_timeout_min_ms: r.election_timeout_min_ms,
        election_timeout_max_ms: r.election_timeout_max_ms,
        snapshot_every: r.snapshot_every,
        logs_kept_after_snapshot: r.logs_kept_after_snapshot,
        write_timeout_ms: r.write_timeout_ms,
        attempt_timeout_ms: (r.write_timeout_ms / 4).max(r.election_timeout_max_ms),
        node_down_after_ms: Some(r.node_down_after_ms),
        cluster_secret: d.cluster_secret.clone(),
        ..NodeConfig::default()
    }
}

/// Opens (or creates) the node's data directory and starts its replica.
///
/// # Errors
/// The directory cannot be created or read, or the node refuses its settings.
pub async fn open(config: &ServerConfig, d: &DurableConfig) -> io::Result<Node> {
    std::fs::create_dir_all(&d.data_dir)?;
    let peers = if d.peers.is_empty() {
        // A group of one never calls itself: the address is a placeholder.
        BTreeMap::from([(d.node_id, "127.0.0.1:0".to_owned())])
    } else {
        d.peers.clone()
    };
    Node::open(d.node_id, peers, &d.data_dir, node_config(config, d))
        .await
        .map_err(|e| io::Error::other(e.to_string()))
}
