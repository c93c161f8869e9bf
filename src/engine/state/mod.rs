//! Everything that changes the engine's state lives here.
//!
//! This module is the only code that creates or destroys a room or a session, adds, removes
//! or hands over a membership, marks one lost or restored, and arms, cancels or pops a timer.
//! Every flow outside it (`flows.rs`, `lifecycle.rs`, `reconnect.rs`, `admin.rs`,
//! `large_rooms.rs`, the attribute and message modules) decides *what* happens and calls one
//! of the primitives here to make it happen. The compiler holds the line: the fields those
//! primitives write (a room's member list, destroy timer, reconnect log and coalescing
//! window; a session's memberships and grace timer; the slabs, the timer table and the
//! indexes) are private to this module, and the rest of the engine reads them through
//! getters.
//!
//! Rules kept here so no flow can forget them:
//! - a room has a destroy timer exactly while it is empty (or is destroyed at once when its
//!   delay is zero), and a coalescing window's timer exactly while the window is open;
//! - a session has a grace timer exactly while one of its memberships is reconnecting;
//! - member events go to the other members, never to the subject, and never to a member whose
//!   link is lost (it gets one delta when it comes back);
//! - a removed membership takes the member's delete-after-leave room attributes and all its
//!   member attributes with it (by any path: leave, switch, kick, timeout, logout, another
//!   device's login), logs the departure for reconnecting members, and ends its reconnect
//!   grace for that room;
//! - the indexes change in the same call as the slabs they index.
//!
//! Files: `room.rs` and `session.rs` (the records), `slab.rs`, `rooms.rs` (the room slab
//! and its id column), `timers/` (the timer table),
//! `lifetime.rs` (rooms and sessions come and go), `membership.rs` (join, leave, takeover,
//! fan-out), `grace.rs` (lost links and their grace timer), `window.rs` (a large room's
//! coalescing window and its timer).

pub(crate) mod bans;
mod grace;
pub(crate) mod index;
pub mod invariants;
mod lifetime;
pub(crate) mod members;
mod membership;
pub(crate) mod room;
mod room_serde;
pub(crate) mod rooms;
pub(crate) mod session;
pub(crate) mod slab;
mod timer_handle;
pub mod timers;
mod window;
pub(crate) mod window_changes;

use crate::config::Config;
use crate::ids::{RoomId, RoomSid, SessionId, UserId};
use crate::time::Millis;
pub(crate) use index::Index;
use index::UserSessions;
use room::Room;
use rooms::Rooms;
use serde::{Deserialize, Serialize};
use session::{Session, Tombstone};
use slab::Slab;
use std::collections::VecDeque;
use timers::{TimerKey, TimerKind, Timers};

/// Everything the engine knows; serialized as the engine's snapshot. Only ordered or
/// insertion-ordered containers live here, so the snapshot is deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) config: Config,
    /// The latest time seen (never goes backwards).
    pub(crate) now: Millis,
    rooms: Rooms,
    sessions: Slab<Session>,
    timers: Timers,
    /// Closed sessions, oldest first (so also in `forget_at` order: the TTL is constant).
    tombstones: VecDeque<Tombstone>,
    /// Counter behind every room's and session's incarnation; never reused.
    next_incarnation: u64,
    /// Rooms that came into existence over the engine's life: the last room sid handed out.
    #[serde(default)]
    rooms_created: u64,
    /// The next service event number (`event_id`), from 1.
    #[serde(default = "first_event_id")]
    next_event_id: u64,
    /// Bans by slot (room id, user, deadline and expiry timer).
    #[serde(default)]
    bans: Slab<Ban>,
}

fn first_event_id() -> u64 {
    1
}

impl State {
    pub(crate) fn new(config: Config) -> State {
        State {
            config,
            now: Millis::ZERO,
            rooms: Rooms::default(),
            sessions: Slab::default(),
            timers: Timers::default(),
            tombstones: VecDeque::new(),
            next_incarnation: 1,
            rooms_created: 0,
            next_event_id: 1,
            bans: Slab::default(),
        }
    }

    /// Bans by slot.
    pub(crate) fn bans(&self) -> &Slab<Ban> {
        &self.bans
    }

    /// The room sid counter and the next service event number (for the snapshot's counter
    /// check).
    pub(crate) fn sid_and_event_counters(&self) -> [u64; 2] {
        [self.rooms_created, self.next_event_id]
    }

    fn take_room_sid(&mut self) -> RoomSid {
        self.rooms_created += 1;
        RoomSid(self.rooms_created)
    }

    /// The next service event number, when service events are on.
    fn take_event_id(&mut self) -> Option<u64> {
        if !self.config.service_events {
            return None;
        }
        let id = self.next_event_id;
        self.next_event_id += 1;
        Some(id)
    }

    /// Rooms by slot.
    pub(crate) fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    /// The id of the room in a slot the caller holds from this step.
    pub(crate) fn room_id(&self, slot: u32) -> RoomId {
        *self
            .rooms
            .id(slot)
            .expect("a room slot held within a step names a live room")
    }

    /// Sessions by slot.
    pub(crate) fn sessions(&self) -> &Slab<Session> {
        &self.sessions
    }

    /// A room's record, to change what is not a membership or a timer (attributes,
    /// messages). A slot the caller holds from this step always resolves.
    pub(crate) fn room_mut(&mut self, slot: u32) -> &mut Room {
        self.rooms
            .get_mut(slot)
            .expect("a room slot held within a step names a live room")
    }

    /// A session's record, to change what is not a membership or a timer (its message rate
    /// bucket).
    pub(crate) fn session_mut(&mut self, slot: u32) -> &mut Session {
        self.sessions
            .get_mut(slot)
            .expect("a session slot held within a step names a live session")
    }

    /// A room's record by slot, for callers that hold a slot from this step.
    pub(crate) fn room(&self, slot: u32) -> &Room {
        self.rooms
            .get(slot)
            .expect("a room slot held within a step names a live room")
    }

    /// A session's record by slot, for callers that hold a slot from this step.
    pub(crate) fn session(&self, slot: u32) -> &Session {
        self.sessions
            .get(slot)
            .expect("a session slot held within a step names a live session")
    }

    /// The pending timers (read only: arming and cancelling happen here).
    pub(crate) fn timers(&self) -> &Timers {
        &self.timers
    }

    /// Closed session ids still remembered, oldest first.
    pub(crate) fn tombstones(&self) -> &VecDeque<Tombstone> {
        &self.tombstones
    }

    /// The next incarnation number (for the snapshot's counter check).
    pub(crate) fn next_incarnation(&self) -> u64 {
        self.next_incarnation
    }

    fn take_incarnation(&mut self) -> u64 {
        let n = self.next_incarnation;
        self.next_incarnation += 1;
        n
    }
}

/// The room lifecycle state machine: everything the engine knows, changed only by the
/// inputs it is given. See the crate docs for the driver loop.
///
/// Its methods fall in four groups:
///
/// - **Construction and snapshots.** [`Engine::new`] starts empty at time zero. `Serialize`
///   writes a snapshot; `Deserialize` restores one and checks it against every invariant
///   (and the config) before accepting it, so a corrupt snapshot is an error, never a
///   half-working engine.
/// - **Inputs: `handle_*`.** [`Engine::handle_input`] applies one [`Input`](crate::Input)
///   at a time (every timer due by then fires first); [`Engine::handle_timeout`] only lets
///   time pass. Time is a [`Millis`] the caller passes in; going backwards is clamped to the
///   latest time seen. These are the only methods that change the state.
/// - **Outputs.** Both `handle_*` methods append [`Stamped`](crate::Stamped) outputs to a
///   caller-owned [`OutputSink`](crate::OutputSink), in emission order, each stamped with
///   the time it happened (a timer's outputs with its own deadline), so the caller can reuse
///   the buffer across steps. An [`Outputs`](crate::Outputs) buffer holds a member event for
///   several sessions once, naming a run of recipients (by session id, or by
///   [`SessionHandle`](crate::SessionHandle) in a buffer made with
///   [`Outputs::with_handles`](crate::Outputs::with_handles)); a `Vec<Stamped>` gets one
///   copy per recipient, as a trace lists them.
/// - **Getters.** Read-only questions: [`Engine::poll_timeout`] (when to call
///   `handle_timeout` next) and [`Engine::next_timer`] (what for); rooms
///   ([`Engine::room_members`], [`Engine::room_recipients`], [`Engine::room_attributes`],
///   ...), sessions ([`Engine::session_rooms`], [`Engine::is_link_lost`],
///   [`Engine::session_handle`], [`Engine::session_id`], ...) and counts.
///
/// Bad input never panics: it is answered by a reply carrying an
/// [`ErrorCode`](crate::ErrorCode), and a refused command changes nothing. A panic means an
/// internal invariant broke (a bug in the engine), and says which.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) state: State,
    pub(crate) index: Index,
    /// The ids of the sessions closed in the current step, in close order: what a handle
    /// naming one resolves to until the next step (see `SessionHandle`). Not part of the
    /// snapshot; emptied when a step begins.
    pub(crate) closed_in_step: Vec<SessionId>,
}

impl Engine {
    /// The slot of a room by id, if the room exists.
    pub(crate) fn room_slot(&self, id: RoomId) -> Option<u32> {
        self.index.room(&self.state.rooms, id)
    }

    /// The slot of a logged-in session by id.
    pub(crate) fn session_slot(&self, id: SessionId) -> Option<u32> {
        self.index.session(&self.state.sessions, id)
    }

    /// The live sessions of a user, in slot order.
    pub(crate) fn user_sessions(&self, user: UserId) -> UserSessions<'_> {
        UserSessions {
            sessions: &self.state.sessions,
            next: self.index.first_user_session(&self.state.sessions, user),
        }
    }

    /// Pops the next timer due at or before `now`, moving time to its deadline.
    pub(crate) fn pop_due_timer(&mut self, now: Millis) -> Option<TimerKind> {
        let (key, kind) = self.state.timers.pop_due(now)?;
        self.state.now = key.deadline.max(self.state.now);
        Some(kind)
    }

    /// The next pending timer, if any.
    pub(crate) fn next_pending_timer(&self) -> Option<(TimerKey, TimerKind)> {
        self.state.timers.next()
    }
}

/// One ban in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ban {
    /// The room id (the room need not exist).
    pub(crate) room_id: RoomId,
    /// The banned user.
    pub(crate) user: UserId,
    /// When it ends.
    pub(crate) until: Millis,
    /// Its expiry timer.
    pub(in crate::engine::state) timer: TimerKey,
    /// Tells this ban from a later one in the same slot.
    pub(crate) incarnation: u64,
}
