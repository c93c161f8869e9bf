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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{Limits, RoomMachine};
    use crate::proposal::Proposal;
    use roomcore::{Config, Input, RoomId, RoomInfo, SessionId, UserId};

    fn apply(m: &mut RoomMachine, input: Input) -> Response {
        m.apply(&Proposal {
            request: None,
            now_ms: 1,
            command: Command::Input { input },
        })
    }

    /// A forwarded command's answer carries a member event for several sessions once, and
    /// reads back as the same outputs.
    #[test]
    fn an_applied_attempt_carries_a_member_event_once_and_reads_back_equal() {
        let mut m = RoomMachine::new(Config::default(), Limits::default())
            .expect("the default config is valid");
        for i in 0..5 {
            let session = SessionId::new(&format!("s{i}"));
            let user = UserId::new(&format!("u{i}"));
            apply(
                &mut m,
                Input::Login {
                    session,
                    request: 1,
                    user,
                },
            );
            let room = RoomInfo {
                id: RoomId::new("r"),
                name: roomcore::RoomName::EMPTY,
            };
            apply(
                &mut m,
                Input::EnterRoom {
                    session,
                    request: 2,
                    room,
                    config: None,
                },
            );
        }
        let payload = "a message for four members";
        let response = apply(
            &mut m,
            Input::SendRoomMessage {
                session: SessionId::new("s0"),
                request: 3,
                room_id: RoomId::new("r"),
                payload: payload.into(),
            },
        );
        assert_eq!(response.outputs().expanded_len(), 5);
        let attempt = Attempt::Applied {
            index: 12,
            response,
        };
        let json = serde_json::to_string(&attempt).expect("an attempt serializes");
        assert_eq!(json.matches(payload).count(), 1, "{json}");
        let back: Attempt = serde_json::from_str(&json).expect("and reads back");
        assert_eq!(back, attempt);
    }
}
