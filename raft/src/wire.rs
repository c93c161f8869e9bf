//! What travels between nodes: HTTP/1.1 POSTs with JSON bodies (a snapshot's bytes travel
//! raw after a one-line JSON header), authenticated by a shared cluster secret.
//!
//! | path | body | answer |
//! | --- | --- | --- |
//! | `/raft/append` | `AppendEntriesRequest` | `Result<AppendEntriesResponse, RaftError>` |
//! | `/raft/vote` | `VoteRequest` | `Result<VoteResponse, RaftError>` |
//! | `/raft/snapshot` | `{"vote","meta"}` line, `\n`, the snapshot bytes | `Result<SnapshotResponse, RaftError>` |
//! | `/raft/propose` | [`Forward`] | [`Attempt`] |

use serde::{Deserialize, Serialize};

use crate::proposal::{Command, RequestKey, Response};
use crate::types::{NodeId, TokioConfig};

/// The path prefix of every route.
pub const PREFIX: &str = "/raft";
/// Append entries (and heartbeats).
pub const APPEND: &str = "/raft/append";
/// Request a vote.
pub const VOTE: &str = "/raft/vote";
/// Install a full snapshot.
pub const SNAPSHOT: &str = "/raft/snapshot";
/// A follower forwards a proposal to the leader.
pub const PROPOSE: &str = "/raft/propose";

/// A proposal forwarded by a follower: the leader stamps its own clock on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    /// The client's request key.
    pub request: Option<RequestKey>,
    /// What to do.
    pub command: Command,
}

/// The outcome of one attempt to write at one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "attempt", rename_all = "snake_case")]
pub enum Attempt {
    /// Committed and applied at `index`.
    Applied {
        /// The entry's log index.
        index: u64,
        /// What applying it answered.
        response: Response,
    },
    /// Refused before it was appended: this node does not lead (`leader`, if known, does).
    NotLeader {
        /// The leader this node knows of.
        leader: Option<NodeId>,
    },
    /// Appended but its fate is unknown (timed out, or discarded by a leader change): it may
    /// still commit. Only a request key makes a retry safe.
    Ambiguous,
    /// The node is shutting down.
    Stopped,
}

/// The snapshot route's header line.
#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// The sending leader's vote.
    pub vote: openraft::type_config::alias::VoteOf<TokioConfig>,
    /// The snapshot's metadata.
    pub meta: openraft::type_config::alias::SnapshotMetaOf<TokioConfig>,
}
