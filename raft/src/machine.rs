//! The replicated state machine, free of Raft and async: an engine, the table of recent
//! request ids, the shard placement, and the cross-shard switch tables. Every replica applies
//! the same proposals in the same order and ends byte-equal.

use std::collections::BTreeMap;

use roomcore::{
    Config, ConfigError, Engine, ErrorBody, ErrorCode, Input, Millis, Outcome, Output, Outputs,
    ReplyOk, RequestId, RoomId, SessionId, Stamped, UserId,
};
use serde::{Deserialize, Serialize};

use crate::proposal::{Command, EnterResult, Proposal, RequestKey, Response, SwitchId, SwitchPlan};
use crate::recent::Recent;
use crate::sessions::{self, Sessions};
use crate::shard::{ShardId, ShardMap};
use crate::switch;

/// Bounds of the machine's own tables (the engine's limits are in its [`Config`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Request ids remembered for deduplication. A retry must arrive before this many newer
    /// requests have been applied, or it is applied again.
    pub recent_requests: usize,
    /// Switch ids remembered by a target shard (step 2 idempotence).
    pub recent_switches: usize,
    /// Largest reply (serialized JSON) remembered with its request id; a larger one is
    /// remembered as `None`, so its duplicate is answered without the reply. Bounds the
    /// table's memory: `recent_requests` times this, rather than times the largest reply
    /// the engine can produce (a page of member attributes).
    #[serde(default = "unbounded")]
    pub max_reply_bytes: usize,
}

fn unbounded() -> usize {
    usize::MAX
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            recent_requests: 65_536,
            recent_switches: 65_536,
            max_reply_bytes: 4_096,
        }
    }
}

/// A pending cross-shard switch in the source shard's outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The switch id.
    pub switch: SwitchId,
    /// The request.
    pub plan: SwitchPlan,
    /// The caller's user, needed to log it in on the target shard.
    pub user: UserId,
}

/// The replicated state: what a snapshot carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomMachine {
    pub(crate) engine: Engine,
    /// Request key -> the caller's reply of its first application.
    pub(crate) requests: Recent<RequestKey, Option<Output>>,
    /// This group's shard id and map; `None` when unsharded (owns every room).
    pub(crate) placement: Option<(ShardId, ShardMap)>,
    /// Source side: at most one pending switch per session (so bounded by the sessions).
    pub(crate) outbox: BTreeMap<SessionId, OutboxEntry>,
    /// Target side: switch id -> result of step 2.
    pub(crate) entered: Recent<SwitchId, EnterResult>,
    /// Which node holds which session, and resume-token hashes (see `sessions`).
    #[serde(default)]
    pub(crate) sessions: Sessions,
    /// [`Limits::max_reply_bytes`].
    #[serde(default = "unbounded")]
    pub(crate) max_reply_bytes: usize,
}

impl RoomMachine {
    /// A machine with a fresh engine.
    ///
    /// # Errors
    /// When the engine config is invalid.
    pub fn new(config: Config, limits: Limits) -> Result<Self, ConfigError> {
        Ok(RoomMachine {
            engine: Engine::new(config)?,
            requests: Recent::new(limits.recent_requests),
            placement: None,
            outbox: BTreeMap::new(),
            entered: Recent::new(limits.recent_switches),
            sessions: Sessions::default(),
            max_reply_bytes: limits.max_reply_bytes,
        })
    }

    /// The engine (read-only).
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The session table: holders and resume-token hashes.
    #[must_use]
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// When the leader should propose the next tick.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.engine.poll_timeout()
    }

    /// Pending cross-shard switches whose source is this shard, by session.
    #[must_use]
    pub fn outbox(&self) -> Vec<OutboxEntry> {
        self.outbox.values().cloned().collect()
    }

    /// This group's shard id and map version, if sharded.
    #[must_use]
    pub fn placement(&self) -> Option<(ShardId, u64)> {
        self.placement.as_ref().map(|(s, m)| (*s, m.version))
    }

    /// The snapshot: deterministic JSON (struct fields in order, ordered maps only).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing owned, ordered data to a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Restores a snapshot (the engine re-checks its invariants).
    ///
    /// # Errors
    /// When the bytes are not a valid snapshot.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Applies one committed proposal. Never reads a clock: time is `proposal.now_ms`.
    pub fn apply(&mut self, proposal: &Proposal) -> Response {
        if let Some(key) = proposal.request {
            if let Some(reply) = self.requests.get(&key) {
                return Response::Duplicate {
                    reply: reply.clone(),
                };
            }
        }
        let now = Millis(proposal.now_ms);
        let response = match &proposal.command {
            Command::Input { input } => self.apply_input(now, input),
            Command::Tick => {
                let mut out = Outputs::new();
                self.engine.handle_timeout(now, &mut out);
                Response::Applied { outputs: out }
            }
            Command::SetShardMap { shard, map } => self.set_map(*shard, map),
            Command::SwitchBegin { switch, plan } => switch::begin(self, now, *switch, plan),
            Command::SwitchEnter { switch, plan, user } => {
                switch::enter(self, now, *switch, plan, *user)
            }
            Command::SwitchFinish {
                switch,
                session,
                result,
            } => switch::finish(self, now, *switch, *session, result),
            Command::Session { op } => sessions::apply(self, now, op),
        };
        self.sessions.forget_closed(&response);
        if let (Some(key), Response::Applied { outputs } | Response::Session { outputs, .. }) =
            (proposal.request, &response)
        {
            let max = self.max_reply_bytes;
            let reply = outputs
                .iter()
                .find(|s| matches!(s.output, Output::Reply { .. } | Output::AdminReply { .. }))
                .filter(|s| max == usize::MAX || serialized_len(&s.output) <= max)
                .map(|s| s.output.clone());
            self.requests.insert(key, reply);
        }
        response
    }

    fn apply_input(&mut self, now: Millis, input: &Input) -> Response {
        if let Some(refusal) = self.misplaced(input.rooms().to_vec()) {
            return refusal;
        }
        let mut out = Outputs::new();
        self.engine.handle_input(now, input, &mut out);
        Response::Applied { outputs: out }
    }

    fn set_map(&mut self, shard: ShardId, map: &ShardMap) -> Response {
        let current = self.placement.as_ref().map(|(_, m)| m.version);
        match current {
            Some(v) if v >= map.version => Response::StaleMap { current: v },
            _ => {
                self.placement = Some((shard, map.clone()));
                Response::Applied {
                    outputs: Outputs::new(),
                }
            }
        }
    }

    /// `Some(WrongShard)` for the first room not owned here.
    pub(crate) fn misplaced(&self, rooms: Vec<RoomId>) -> Option<Response> {
        let (me, map) = self.placement.as_ref()?;
        rooms.into_iter().find_map(|room| {
            let owner = map.shard_of(&room);
            (owner != *me).then_some(Response::WrongShard {
                room,
                owner,
                map_version: map.version,
            })
        })
    }

    /// Whether this shard owns `room` (always, when unsharded).
    pub(crate) fn owns(&self, room: &RoomId) -> bool {
        self.misplaced(vec![*room]).is_none()
    }
}

/// The length of `output` as JSON (counted, not kept).
fn serialized_len(output: &Output) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serializing plain data into a counter cannot fail; an error would count short, and
    // the reply would be remembered, which only costs memory.
    let _ = serde_json::to_writer(&mut count, output);
    count.0
}

/// The error reply for `(session, request)`.
pub(crate) fn error_reply(
    at: Millis,
    session: SessionId,
    request: RequestId,
    code: ErrorCode,
    message: &str,
) -> Stamped {
    Stamped {
        at,
        output: Output::Reply {
            session,
            request,
            outcome: Outcome::Error(ErrorBody {
                code,
                message: message.to_owned(),
            }),
        },
    }
}

/// Removes the caller's reply to `(session, request)` from `out` and returns its outcome.
pub(crate) fn take_reply(
    out: &mut Outputs,
    session: SessionId,
    request: RequestId,
) -> Option<Outcome> {
    let pos = out.iter().position(|s| {
        matches!(&s.output, Output::Reply { session: s2, request: r2, .. } if *s2 == session && *r2 == request)
    })?;
    match out.remove(pos)?.output {
        Output::Reply { outcome, .. } => Some(outcome),
        _ => None,
    }
}

/// Appends a reply the machine makes itself (a switch's) after the engine's outputs.
pub(crate) fn push_reply(out: &mut Outputs, reply: Stamped) {
    // Only a member event can be addressed to a run; a reply names its one session.
    out.push_output(reply)
        .expect("a reply is addressed to one session");
}

/// The success reply of a switch.
pub(crate) fn switch_ok(at: Millis, plan: &SwitchPlan, joined: &ReplyOk) -> Stamped {
    Stamped {
        at,
        output: Output::Reply {
            session: plan.session,
            request: plan.request,
            outcome: Outcome::Ok(joined.clone()),
        },
    }
}
