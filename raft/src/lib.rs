//! roomcore replicated on openraft, and rooms sharded across Raft groups.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The replicated state machine: plain data and transitions, no Raft, no async, no clock.
pub mod machine;
pub mod proposal;
pub mod recent;
pub mod route;
pub mod sessions;
pub mod shard;
mod switch;

// openraft glue, generic over the runtime.
pub mod digest;
pub mod disk;
pub mod driver;
pub mod log;
pub mod persist;
pub mod store;
pub mod types;

// The deployment on tokio: durable store, HTTP between nodes, the embeddable node.
pub mod config;
mod keeper;
pub mod net;
pub mod node;
pub mod rpc;
pub mod wire;

// The simulated deployment (in-process network, virtual time).
pub mod cluster;
pub mod network;

pub use config::NodeConfig;
pub use machine::{Limits, OutboxEntry, RoomMachine};
pub use node::{Node, OpenError, ProposeError, Proposed, Role, Status};
pub use proposal::{Command, EnterResult, Proposal, RequestKey, Response, SwitchId, SwitchPlan};
pub use sessions::{Handoff, Holder, SessionOp, SessionRefusal, TokenHash};
pub use shard::{Placement, ShardId, ShardMap};
pub use store::AppliedEntry;
