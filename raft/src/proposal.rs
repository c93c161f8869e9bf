//! What goes through the Raft log, and what applying it answers.

use std::fmt;

use roomcore::{
    ErrorBody, Input, Output, Outputs, ReplyOk, RequestId, RoomConfig, RoomId, RoomInfo, SessionId,
};
use serde::{Deserialize, Serialize};

use crate::sessions::{Handoff, SessionOp, SessionRefusal};
use crate::shard::{ShardId, ShardMap};

/// A client request id: unique per client, so a retry of a write that timed out (and may
/// have committed anyway) is applied once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestKey {
    /// The client (a gateway process, a connection) that chose `seq`.
    pub client: u64,
    /// Increasing per client.
    pub seq: u64,
}

/// A cross-shard switch is identified by the request key of its first step.
pub type SwitchId = RequestKey;

/// One log entry's application data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Set for client writes (deduplicated); `None` for the leader's own ticks.
    pub request: Option<RequestKey>,
    /// The proposing leader's clock, in ms. Apply uses this and never reads a clock; the
    /// engine clamps a value below its last time, so a lagging new leader cannot move time
    /// backwards.
    pub now_ms: u64,
    /// What to do.
    pub command: Command,
}

/// The commands the replicated state machine understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// An engine input, applied with `handle_input` at `now_ms`.
    Input {
        /// The input.
        input: Input,
    },
    /// Time passes: fire every timer due at `now_ms` (`handle_timeout`). Proposed by the
    /// leader's driver when the engine's next deadline comes.
    Tick,
    /// Install a newer shard map and say which shard this group is.
    SetShardMap {
        /// This group's shard id.
        shard: ShardId,
        /// The map.
        map: ShardMap,
    },
    /// Cross-shard switch, step 1, on the source shard: checks the caller and records the
    /// switch in the replicated outbox.
    SwitchBegin {
        /// The switch id (the client's request key for the switch).
        switch: SwitchId,
        /// The switch as the caller asked for it.
        plan: SwitchPlan,
    },
    /// Cross-shard switch, step 2, on the target shard: logs the session in there if needed
    /// and enters (or joins) the target room. Idempotent by switch id.
    SwitchEnter {
        /// The switch id.
        switch: SwitchId,
        /// The switch, as recorded in the source shard's outbox.
        plan: SwitchPlan,
        /// The session's user (from the source shard).
        user: roomcore::UserId,
    },
    /// Cross-shard switch, step 3, on the source shard: leaves the source room if the target
    /// was entered, replies to the caller, and clears the outbox entry. Idempotent.
    SwitchFinish {
        /// The switch id.
        switch: SwitchId,
        /// The caller (the outbox is keyed by session).
        session: SessionId,
        /// What step 2 answered.
        result: EnterResult,
    },
    /// Session bookkeeping of the embedding server: which node holds which session, resume
    /// tokens (see [`crate::sessions`]).
    Session {
        /// The operation.
        op: SessionOp,
    },
}

/// A `switch_room` request whose rooms live on two shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchPlan {
    /// The caller.
    pub session: SessionId,
    /// The caller's request number, echoed by the final reply.
    pub request: RequestId,
    /// The room left (on this shard).
    pub from: RoomId,
    /// The room entered (on another shard).
    pub to: RoomInfo,
    /// Create the target if it does not exist.
    pub create_if_missing: bool,
    /// The target's config, used if it is created.
    pub config: Option<RoomConfig>,
}

/// The target shard's answer to step 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnterResult {
    /// The caller is now in the target room; the target's reply (the join snapshot) becomes
    /// the switch's reply.
    Entered(Box<ReplyOk>),
    /// The target refused; the caller stays in the source room.
    Failed(ErrorBody),
}

/// What applying one entry answered.
///
/// Outputs are in the engine's compact form ([`Outputs`]): a member event for several
/// sessions is one output naming a run of recipients, so it crosses the response path (and
/// the wire, when a follower forwarded the command) once, whatever the room's size.
/// [`Outputs::expanded`] lists them one per recipient, as a trace does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Response {
    /// Applied; these outputs happened (route each to its sessions).
    Applied {
        /// The engine's outputs, stamped.
        outputs: Outputs,
    },
    /// A retry of a request already applied: nothing changed again. `reply` is the first
    /// application's reply to the caller, when it had one.
    Duplicate {
        /// The reply or admin reply the first application produced.
        reply: Option<Output>,
    },
    /// The request named a room this shard does not own under its map: refresh the map and
    /// send it to `owner`. Nothing changed.
    WrongShard {
        /// The room.
        room: RoomId,
        /// Its owner under this shard's map.
        owner: ShardId,
        /// This shard's map version.
        map_version: u64,
    },
    /// A shard map not newer than the one installed was ignored.
    StaleMap {
        /// The installed version.
        current: u64,
    },
    /// Step 2 of a switch: the result (also on a duplicate), and the outputs of the first
    /// application (empty on a duplicate).
    Entered {
        /// Entered or failed.
        result: EnterResult,
        /// Outputs (the caller's target events, the target members' `members_joined`).
        outputs: Outputs,
    },
    /// A session operation was applied: the engine's outputs, and the sessions whose holder
    /// changed (a node that held one and no longer does closes its connection).
    Session {
        /// The engine's outputs, stamped.
        outputs: Outputs,
        /// Holder changes, in order.
        handoffs: Vec<Handoff>,
    },
    /// A session operation changed nothing.
    SessionRefused {
        /// Why.
        reason: SessionRefusal,
    },
    /// An entry with no application data (a leader's blank entry, a membership change).
    Empty,
}

impl Response {
    /// The outputs this application produced (none for duplicates and refusals).
    #[must_use]
    pub fn outputs(&self) -> &Outputs {
        static NONE: Outputs = Outputs::new();
        match self {
            Response::Applied { outputs }
            | Response::Entered { outputs, .. }
            | Response::Session { outputs, .. } => outputs,
            _ => &NONE,
        }
    }
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.command {
            Command::Input { .. } => "input",
            Command::Tick => "tick",
            Command::SetShardMap { .. } => "set_shard_map",
            Command::SwitchBegin { .. } => "switch_begin",
            Command::SwitchEnter { .. } => "switch_enter",
            Command::SwitchFinish { .. } => "switch_finish",
            Command::Session { .. } => "session",
        };
        write!(f, "{what}@{}", self.now_ms)
    }
}
