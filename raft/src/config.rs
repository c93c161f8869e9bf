//! A deployed node's settings.

use crate::machine::Limits;

/// How a [`crate::node::Node`] runs. `Default` is the tested configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The engine's config on a fresh data directory (a restart keeps the one in its
    /// snapshot).
    pub engine: roomcore::Config,
    /// The machine's table bounds.
    pub limits: Limits,
    /// The leader's heartbeat, in ms.
    pub heartbeat_ms: u64,
    /// A follower that hears no leader for a random time in this range campaigns, in ms.
    /// openraft also makes a new leader wait out the old leader's lease (the maximum) first,
    /// so failover takes about `election_timeout_max_ms` plus one election.
    pub election_timeout_min_ms: u64,
    /// See `election_timeout_min_ms`.
    pub election_timeout_max_ms: u64,
    /// A snapshot is built every this many applied entries; the log before it is then
    /// purged, so memory and disk hold at most about this many entries plus
    /// `logs_kept_after_snapshot`.
    pub snapshot_every: u64,
    /// Entries kept behind a snapshot, so that a follower a little behind catches up from
    /// the log rather than by a whole snapshot.
    pub logs_kept_after_snapshot: u64,
    /// How long [`crate::node::Node::propose`] keeps trying (across leader changes and
    /// forwarding) before it gives up, in ms.
    pub write_timeout_ms: u64,
    /// One attempt at the leader, in ms (a longer wait is retried with the same request key).
    pub attempt_timeout_ms: u64,
    /// The leader proposes `node_down` for a node it has had no heartbeat answer from for
    /// this long, in ms; its sessions lose their link (their grace runs). `None`: never.
    pub node_down_after_ms: Option<u64>,
    /// Shared by every node; sent with, and required on, every request between nodes.
    pub cluster_secret: Option<String>,
    /// The largest request or answer between nodes (a snapshot travels in one), in bytes.
    pub max_rpc_bytes: usize,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            engine: roomcore::Config::default(),
            limits: Limits::default(),
            heartbeat_ms: 100,
            election_timeout_min_ms: 300,
            election_timeout_max_ms: 600,
            snapshot_every: 10_000,
            logs_kept_after_snapshot: 1_000,
            write_timeout_ms: 10_000,
            attempt_timeout_ms: 2_000,
            node_down_after_ms: Some(3_000),
            cluster_secret: None,
            max_rpc_bytes: 256 << 20,
        }
    }
}

impl NodeConfig {
    /// openraft's config for these settings.
    ///
    /// # Errors
    /// When the timings are inconsistent (openraft checks them).
    pub fn raft(&self) -> Result<openraft::Config, openraft::ConfigError> {
        openraft::Config {
            cluster_name: "roomcore".into(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            // A snapshot travels in one request: give it time.
            install_snapshot_timeout: self.write_timeout_ms,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_every),
            max_in_snapshot_log_to_keep: self.logs_kept_after_snapshot,
            ..openraft::Config::default()
        }
        .validate()
    }
}
