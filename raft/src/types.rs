//! The openraft type configurations: one per runtime, the same data.
//!
//! [`TypeConfig`] runs on openraft's deterministic simulator (one thread, virtual time,
//! seeded): every sweep test uses it. [`TokioConfig`] runs on tokio with real time, TCP and
//! disk: the deployable [`crate::node::Node`] uses it. Both carry the same proposals and
//! responses, and the state-machine glue ([`crate::store::StateMachineStore`]) and the tick
//! driver are generic over [`RoomTypes`], so the code that applies entries is the same code
//! under both runtimes.

use openraft::{EntryPayload, RaftTypeConfig};

use crate::proposal::{Proposal, Response};
use crate::store::StateMachineStore;

/// A node id, unique across every group of a deployment.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// roomcore's openraft types on the simulated runtime: proposals in, responses out, u64
    /// node ids, no node address (the in-process network routes by id).
    pub TypeConfig:
        D = Proposal,
        R = Response,
        NodeId = NodeId,
        Node = openraft::EmptyNode,
        AsyncRuntime = openraft_rt_sim::SimRuntime,
);

openraft::declare_raft_types!(
    /// roomcore's openraft types on tokio: the same data, and each member's address in the
    /// membership (`host:port` of its HTTP endpoint), so a follower can name the leader.
    pub TokioConfig:
        D = Proposal,
        R = Response,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        AsyncRuntime = openraft_rt_tokio::TokioRuntime,
);

/// A type configuration roomcore's glue runs on: fixes the application data and gives the
/// glue the one thing openraft's traits do not expose generically, an entry's proposal.
pub trait RoomTypes:
    RaftTypeConfig<D = Proposal, R = Response, NodeId = NodeId, Entry: Clone>
{
    /// The proposal a normal entry carries (`None` for blank and membership entries).
    fn proposal(entry: &Self::Entry) -> Option<&Proposal>;
}

impl RoomTypes for TypeConfig {
    fn proposal(entry: &Self::Entry) -> Option<&Proposal> {
        match &entry.payload {
            EntryPayload::Normal(p) => Some(p),
            _ => None,
        }
    }
}

impl RoomTypes for TokioConfig {
    fn proposal(entry: &Self::Entry) -> Option<&Proposal> {
        match &entry.payload {
            EntryPayload::Normal(p) => Some(p),
            _ => None,
        }
    }
}

/// A Raft node handle over roomcore's state machine (simulated runtime).
pub type Raft = openraft::Raft<TypeConfig, StateMachineStore<TypeConfig>>;

/// A log id.
pub type LogId = openraft::type_config::alias::LogIdOf<TypeConfig>;
/// A log entry.
pub type Entry = openraft::type_config::alias::EntryOf<TypeConfig>;
/// A snapshot of the state machine (bytes of [`crate::RoomMachine::to_bytes`]).
pub type Snapshot = openraft::type_config::alias::SnapshotOf<TypeConfig, Vec<u8>>;
