//! The openraft type configuration.
//!
//! The runtime is openraft's deterministic simulator (one thread, virtual time, seeded).
//! Production uses a real runtime instead: with openraft's `tokio-rt` feature, set
//! `AsyncRuntime = openraft_rt_tokio::TokioRuntime` here; nothing else changes.

use crate::proposal::{Proposal, Response};
use crate::store::StateMachineStore;

/// A node id, unique across every group of a deployment.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// roomcore's openraft types: proposals in, responses out, u64 node ids, the simulated
    /// runtime.
    pub TypeConfig:
        D = Proposal,
        R = Response,
        NodeId = NodeId,
        Node = openraft::EmptyNode,
        AsyncRuntime = openraft_rt_sim::SimRuntime,
);

/// A Raft node handle over roomcore's state machine.
pub type Raft = openraft::Raft<TypeConfig, StateMachineStore>;

/// A log id.
pub type LogId = openraft::type_config::alias::LogIdOf<TypeConfig>;
/// A log entry.
pub type Entry = openraft::type_config::alias::EntryOf<TypeConfig>;
/// A snapshot of the state machine (bytes of [`crate::RoomMachine::to_bytes`]).
pub type Snapshot = openraft::type_config::alias::SnapshotOf<TypeConfig, Vec<u8>>;
