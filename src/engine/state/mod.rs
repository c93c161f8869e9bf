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
//! Files: `room.rs` and `session.rs` (the records), `slab.rs`, `timers/` (the timer table),
//! `lifetime.rs` (rooms and sessions come and go), `membership.rs` (join, leave, takeover,
//! fan-out), `grace.rs` (lost links and their grace timer), `window.rs` (a large room's
//! coalescing window and its timer).

pub(crate) mod bans;
mod grace;
pub mod invariants;
mod lifetime;
mod membership;
pub(crate) mod room;
pub(crate) mod session;
pub(crate) mod slab;
pub mod timers;
mod window;

use crate::config::Config;
use crate::error::ConfigError;
use crate::ids::{RoomId, RoomSid, SessionId, UserId};
use crate::time::Millis;
use foldhash::fast::FixedState;
use room::Room;
use serde::{Deserialize, Serialize};
use session::{Session, Tombstone};
use slab::Slab;
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap, VecDeque};
use timers::{TimerKey, TimerKind, Timers};

/// Everything the engine knows; serialized as the engine's snapshot. Only ordered or
/// insertion-ordered containers live here, so the snapshot is deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) config: Config,
    /// The latest time seen (never goes backwards).
    pub(crate) now: Millis,
    rooms: Slab<Room>,
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
            rooms: Slab::default(),
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
    pub(crate) fn rooms(&self) -> &Slab<Room> {
        &self.rooms
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
///   caller-owned `Vec`, in emission order, each stamped with the time it happened (a timer's
///   outputs with its own deadline), so the caller can reuse the buffer across steps.
/// - **Getters.** Read-only questions: [`Engine::poll_timeout`] (when to call
///   `handle_timeout` next) and [`Engine::next_timer`] (what for); rooms
///   ([`Engine::room_members`], [`Engine::room_recipients`], [`Engine::room_attributes`],
///   ...), sessions ([`Engine::session_rooms`], [`Engine::is_link_lost`], ...) and counts.
///
/// Bad input never panics: it is answered by a reply carrying an
/// [`ErrorCode`](crate::ErrorCode), and a refused command changes nothing. A panic means an
/// internal invariant broke (a bug in the engine), and says which.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) state: State,
    pub(crate) index: Index,
}

type Map<K, V> = HashMap<K, V, FixedState>;

/// Lookup tables derived from [`State`]; never serialized, never iterated (clippy guards
/// that), rebuilt on restore.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    rooms: Map<RoomId, u32>,
    sessions: Map<SessionId, u32>,
    /// Live sessions of each user, sorted by slot.
    users: Map<UserId, SmallVec<[u32; 2]>>,
    /// Closed session ids still remembered, with when they are forgotten.
    closed: Map<SessionId, Millis>,
    /// Bans by (room id, user).
    bans: Map<(RoomId, UserId), u32>,
    /// Rooms in creation order: sid -> slot (`list_rooms` pages through it).
    by_sid: BTreeMap<RoomSid, u32>,
}

impl Index {
    pub(crate) fn new(seed: u64) -> Index {
        let h = FixedState::with_seed(seed);
        Index {
            rooms: HashMap::with_hasher(h),
            sessions: HashMap::with_hasher(h),
            users: HashMap::with_hasher(h),
            closed: HashMap::with_hasher(h),
            bans: HashMap::with_hasher(h),
            by_sid: BTreeMap::new(),
        }
    }

    /// Builds the indexes of a restored state, refusing duplicate ids.
    pub(crate) fn rebuild(state: &State) -> Result<Index, ConfigError> {
        let mut index = Index::new(state.config.hash_seed);
        for (slot, room) in state.rooms.iter() {
            if index.rooms.insert(room.id, slot).is_some()
                || index.by_sid.insert(room.sid, slot).is_some()
            {
                return Err(ConfigError::InconsistentState(format!(
                    "duplicate room {}",
                    room.id
                )));
            }
        }
        for (slot, s) in state.sessions.iter() {
            if index.sessions.insert(s.id, slot).is_some() {
                return Err(ConfigError::InconsistentState(format!(
                    "duplicate session {}",
                    s.id
                )));
            }
            index.add_user_session(s.user, slot);
        }
        for t in &state.tombstones {
            if !index.sessions.contains_key(&t.session) {
                index.closed.insert(t.session, t.forget_at);
            }
        }
        for (slot, ban) in state.bans.iter() {
            if index.bans.insert((ban.room_id, ban.user), slot).is_some() {
                return Err(ConfigError::InconsistentState(format!(
                    "duplicate ban of {} from {}",
                    ban.user, ban.room_id
                )));
            }
        }
        Ok(index)
    }

    /// The slot of a room by id.
    pub(crate) fn room(&self, id: RoomId) -> Option<u32> {
        self.rooms.get(&id).copied()
    }

    /// The slot of a logged-in session by id.
    pub(crate) fn session(&self, id: SessionId) -> Option<u32> {
        self.sessions.get(&id).copied()
    }

    /// The live sessions of a user, sorted by slot.
    pub(crate) fn user_sessions(&self, user: UserId) -> &[u32] {
        self.users.get(&user).map_or(&[], |l| l.as_slice())
    }

    /// The slot of the ban of `user` from `room`, if one is in force.
    pub(crate) fn ban(&self, room: RoomId, user: UserId) -> Option<u32> {
        self.bans.get(&(room, user)).copied()
    }

    /// Rooms from sid `from` on, in creation order.
    pub(crate) fn rooms_from(&self, from: RoomSid) -> impl Iterator<Item = (&RoomSid, &u32)> {
        self.by_sid.range(from..)
    }

    /// Whether a session id is closed and still remembered.
    pub(crate) fn is_closed(&self, id: SessionId) -> bool {
        self.closed.contains_key(&id)
    }

    fn add_user_session(&mut self, user: UserId, slot: u32) {
        let list = self.users.entry(user).or_default();
        let pos = list.partition_point(|&s| s < slot);
        list.insert(pos, slot);
    }

    fn remove_user_session(&mut self, user: UserId, slot: u32) {
        let list = self
            .users
            .get_mut(&user)
            .expect("a live session is listed under its user");
        list.retain(|s| *s != slot);
        if list.is_empty() {
            self.users.remove(&user);
        }
    }
}

impl Engine {
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
