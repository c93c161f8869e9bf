//! roomcore: the room lifecycle of a real-time-communication service as a deterministic,
//! side-effect-free state machine.
//!
//! Users log in on one or several devices; create, join, enter and switch rooms; leave one
//! or all; are kicked or see their room dismissed by the service; lose their link and get it
//! back within a grace period; share room attributes, member attributes and messages.
//! Empty rooms are destroyed after a delay, and large rooms coalesce their member events.
//! The embedding service gets what it needs to be the room authority: numbered service
//! events for every membership change ([`Output::MemberJoined`], [`Output::MemberLeft`],
//! with `service_events` on), room incarnation ids ([`RoomSid`]), the join snapshot in
//! join replies, and admin commands to create, list and read rooms, set their attributes,
//! move users between rooms and ban them ([`Input::AdminCreateRoom`], [`Input::ListRooms`],
//! [`Input::MoveUsers`], [`Input::BanUsers`], ...). The vocabulary is ZEGO ZIM's (room states and events, error codes); [`dialect`] maps it
//! to ZIM, TRTC, ByteDance and LiveKit.
//!
//! Every change is one call: `(now, input) -> (new state, outputs)`. The engine never reads
//! a clock, sleeps, spawns, does I/O or draws randomness, so any runtime (tokio, a thread, a
//! simulator, a Raft log) can drive it, and the same inputs give byte-identical outputs on
//! any machine.
//!
//! # The driver loop
//!
//! The embedder owns an [`Engine`], passes each [`Input`] with the time it arrived, delivers
//! every [`Output`] to its [`Recipient`], and calls [`Engine::handle_timeout`] when
//! [`Engine::poll_timeout`] says a timer is due (an empty room's destroy delay, a lost
//! link's reconnect grace, a large room's coalescing window, a ban's expiry). This is
//! `examples/driver_loop.rs`, run as a test:
//!
//! ```rust
#![doc = include_str!("../examples/driver_loop.rs")]
//! ```
//!
//! # Errors and panics
//!
//! A command the engine refuses is answered, never panicked on: its `reply` (or
//! `admin_reply`) carries an [`ErrorCode`] and a message, the refused command changes no
//! state, and its outputs go only to the caller. Every limit (rooms, members, rooms per
//! session, sessions, attributes, payloads, timers, tombstones, bans) is checked, so no sequence of
//! inputs grows memory without bound. [`Engine::new`] and restoring a snapshot return a
//! [`ConfigError`] for a bad config or a state that does not hold together. A panic means an
//! internal invariant broke: a bug in roomcore, and its message says which.
//!
//! # Time, snapshots and determinism
//!
//! Time is a [`Millis`] newtype passed in with every call; a time earlier than one already
//! seen is treated as that one. Timers fire in deadline order, each output stamped with its
//! own deadline. The engine is `Serialize`/`Deserialize`: a snapshot taken between two steps
//! and restored anywhere continues with identical outputs. No hash-map order reaches an
//! output, a decision or a snapshot (hash maps are lookup-only, and a clippy lint keeps them
//! so).
//!
//! # The trace format
//!
//! With the default `trace` feature, [`trace`] reads and writes the JSON Lines conformance
//! format (`{"at":1500,"in":{...}}` and `{"at":1500,"out":{...}}` lines), [`check`] compares
//! a run with a recorded vector per recipient, and [`render`] draws a trace as a table or a
//! sequence diagram. The `roomcore` command wraps them (`roomcore replay FILE`,
//! `roomcore check DIR`); it is the `roomcore-cli` crate in the repository's `cli/`, not part
//! of this library.
//!
//! # Dependencies and features
//!
//! - `serde` (snapshots and the trace format), `thiserror` (typed errors), `smallvec`
//!   (member lists and memberships inline in the common case), `foldhash` (a fast,
//!   seedable hash for the lookup indexes).
//! - `trace` (default): `serde_json`, for the JSON Lines format.
//! - `bench-internals`: exposes the timer table to the benches; not part of the API.
//!
//! The behaviour is specified in the repository's `docs/` (flows, the service's surface,
//! state machine, wire format, errors and limits, dialects, decisions) and checked by the vectors in
//! `tests/vectors/`; the reference model, simulator and fuzz targets live in the
//! `roomcore-testkit` crate beside this one.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "trace")]
pub mod check;
pub mod config;
pub mod dialect;
mod engine;
pub mod error;
pub mod ids;
pub mod input;
pub mod output;
#[cfg(feature = "trace")]
pub mod render;
pub mod time;
#[cfg(feature = "trace")]
pub mod trace;
pub mod transitions;

pub use config::{Config, DevicePolicy, RoomConfig};
pub use engine::invariants::{self, InvariantViolation};
pub use engine::paging::MAX_PAGE;

/// The engine's timer table, reachable only for the benches (`--features bench-internals`):
/// it is an implementation detail, not part of the API.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_internals {
    pub use crate::engine::state::timers::{TimerKey, TimerKind, Timers};
}
pub use engine::{Engine, TimerReason};
pub use error::{ConfigError, Error, ErrorCode};
pub use ids::{RoomId, RoomSid, SessionId, UserId};
pub use input::{Input, InputKind, Origin, RequestId, RoomInfo, RoomName};
pub use output::{
    CloseReason, DestroyCause, ErrorBody, ExitReason, LeaveReason, Member, MemberAttributesInfo,
    MemberLeft, Members, Outcome, Output, OutputKind, OutputSink, Outputs, Recipient, Recipients,
    ReplyOk, RoomEvent, RoomState, RoomSummary, SessionHandle, Stamped, To,
};
pub use time::Millis;

/// The README's code blocks, compiled and run as doctests so the README cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
