//! The engine type: state, indexes, the input dispatch, timers and getters.
//!
//! Method taxonomy (as in quinn-proto): read-only getters; `handle_*` to feed an input or the
//! passage of time; outputs are pushed into a caller-owned buffer so it can be reused.

mod admin;
mod attributes;
mod batching;
pub(crate) mod flows;
pub mod invariants;
mod lifecycle;
mod member_attributes;
mod messages;
mod ops;
mod reconnect;
pub(crate) mod rooms;
pub(crate) mod sessions;
mod slab;
pub mod timers;
mod validate;

use crate::config::Config;
use crate::engine::rooms::Room;
use crate::engine::sessions::{Session, Tombstone};
use crate::engine::slab::Slab;
use crate::engine::timers::{TimerKind, Timers};
use crate::error::{ConfigError, Error};
use crate::ids::{RoomId, SessionId, UserId};
use crate::input::{Input, RequestId};
use crate::output::{Outcome, Output, ReplyOk, RoomState, Stamped};
use crate::time::Millis;
use foldhash::fast::FixedState;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;
use std::collections::{HashMap, VecDeque};

/// Everything the engine knows; serialized as the engine's snapshot. Only ordered or
/// insertion-ordered containers live here, so the snapshot is deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) now: Millis,
    pub(crate) rooms: Slab<Room>,
    pub(crate) sessions: Slab<Session>,
    pub(crate) timers: Timers,
    /// Closed sessions, oldest first (so also in `forget_at` order: the TTL is constant).
    pub(crate) tombstones: VecDeque<Tombstone>,
    pub(crate) next_incarnation: u64,
}

type Map<K, V> = HashMap<K, V, FixedState>;

/// Lookup tables derived from [`State`]; never serialized, never iterated (clippy guards
/// that), rebuilt on restore.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub(crate) rooms: Map<RoomId, u32>,
    pub(crate) sessions: Map<SessionId, u32>,
    /// Live sessions of each user, sorted by slot.
    pub(crate) users: Map<UserId, SmallVec<[u32; 2]>>,
    /// Closed session ids still remembered, with when they are forgotten.
    pub(crate) closed: Map<SessionId, Millis>,
}

impl Index {
    fn new(seed: u64) -> Index {
        let h = FixedState::with_seed(seed);
        Index {
            rooms: HashMap::with_hasher(h),
            sessions: HashMap::with_hasher(h),
            users: HashMap::with_hasher(h),
            closed: HashMap::with_hasher(h),
        }
    }

    pub(crate) fn add_user_session(&mut self, user: UserId, slot: u32) {
        let list = self.users.entry(user).or_default();
        let pos = list.partition_point(|&s| s < slot);
        list.insert(pos, slot);
    }

    pub(crate) fn remove_user_session(&mut self, user: UserId, slot: u32) {
        if let Some(list) = self.users.get_mut(&user) {
            list.retain(|s| *s != slot);
            if list.is_empty() {
                self.users.remove(&user);
            }
        }
    }
}

/// The room lifecycle state machine. See the crate docs for the driver loop.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) state: State,
    pub(crate) index: Index,
}

/// Where a step's outputs go, stamped with the step's time.
pub(crate) struct Emit<'a> {
    pub(crate) at: Millis,
    pub(crate) buf: &'a mut Vec<Stamped>,
}

impl Emit<'_> {
    pub(crate) fn push(&mut self, output: Output) {
        self.buf.push(Stamped {
            at: self.at,
            output,
        });
    }

    pub(crate) fn state(
        &mut self,
        session: SessionId,
        room_id: RoomId,
        state: RoomState,
        event: crate::output::RoomEvent,
    ) {
        self.push(Output::RoomStateChanged {
            session,
            room_id,
            state,
            event,
        });
    }

    pub(crate) fn reply(
        &mut self,
        session: SessionId,
        request: RequestId,
        r: Result<ReplyOk, Error>,
    ) {
        let outcome = match r {
            Ok(ok) => Outcome::Ok(ok),
            Err(e) => Outcome::Error((&e).into()),
        };
        self.push(Output::Reply {
            session,
            request,
            outcome,
        });
    }

    pub(crate) fn admin_reply(&mut self, request: RequestId, r: Result<ReplyOk, Error>) {
        let outcome = match r {
            Ok(ok) => Outcome::Ok(ok),
            Err(e) => Outcome::Error((&e).into()),
        };
        self.push(Output::AdminReply { request, outcome });
    }
}

impl Engine {
    /// A fresh engine with no sessions and no rooms, at time zero.
    pub fn new(config: Config) -> Result<Engine, ConfigError> {
        config.validate()?;
        let index = Index::new(config.hash_seed);
        Ok(Engine {
            state: State {
                config,
                now: Millis::ZERO,
                rooms: Slab::default(),
                sessions: Slab::default(),
                timers: Timers::default(),
                tombstones: VecDeque::new(),
                next_incarnation: 1,
            },
            index,
        })
    }

    // ---- getters -------------------------------------------------------------------------

    /// The engine's configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The latest time the engine has seen.
    #[must_use]
    pub fn now(&self) -> Millis {
        self.state.now
    }

    /// When the next timer is due, if any: call [`Engine::handle_timeout`] then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.state.timers.next().map(|(k, _)| k.deadline)
    }

    /// The next timer and what it will do.
    #[must_use]
    pub fn next_timer(&self) -> Option<(Millis, TimerKind)> {
        self.state.timers.next().map(|(k, kind)| (k.deadline, kind))
    }

    /// Pending timers.
    #[must_use]
    pub fn pending_timers(&self) -> usize {
        self.state.timers.len()
    }

    /// Rooms that exist (including empty rooms waiting for their destroy deadline).
    #[must_use]
    pub fn room_count(&self) -> u32 {
        self.state.rooms.len()
    }

    /// Logged-in sessions.
    #[must_use]
    pub fn session_count(&self) -> u32 {
        self.state.sessions.len()
    }

    /// Closed session ids still remembered.
    #[must_use]
    pub fn closed_session_count(&self) -> usize {
        self.state.tombstones.len()
    }

    /// The members of a room, in join order, as user ids; `None` if the room does not exist.
    #[must_use]
    pub fn room_members(&self, room_id: RoomId) -> Option<Vec<UserId>> {
        let room = self.room(room_id)?;
        Some(
            room.members
                .values()
                .filter_map(|&s| self.state.sessions.get(s).map(|s| s.user))
                .collect(),
        )
    }

    /// The sessions in a room, in join order; `None` if the room does not exist.
    #[must_use]
    pub fn room_sessions(&self, room_id: RoomId) -> Option<Vec<SessionId>> {
        let room = self.room(room_id)?;
        Some(
            room.members
                .values()
                .filter_map(|&s| self.state.sessions.get(s).map(|s| s.id))
                .collect(),
        )
    }

    /// The sessions of a room whose link to it is live (not reconnecting), in join order:
    /// the recipients of a room-addressed output such as `room_members_changed`. `None` if
    /// the room does not exist.
    #[must_use]
    pub fn room_recipients(&self, room_id: RoomId) -> Option<Vec<SessionId>> {
        let slot = self.room_slot(room_id)?;
        let room = self.state.rooms.get(slot)?;
        Some(
            room.members
                .values()
                .filter_map(|&s| self.state.sessions.get(s))
                .filter(|s| s.membership(slot).is_some_and(|m| !m.is_reconnecting()))
                .map(|s| s.id)
                .collect(),
        )
    }

    /// Whether the room exists.
    #[must_use]
    pub fn room_exists(&self, room_id: RoomId) -> bool {
        self.index.rooms.contains_key(&room_id)
    }

    /// The rooms a session is in with its state for each, in join order; `None` if the
    /// session is not logged in.
    #[must_use]
    pub fn session_rooms(&self, session: SessionId) -> Option<Vec<(RoomId, RoomState)>> {
        let s = self.session(session)?;
        Some(
            s.memberships
                .iter()
                .filter_map(|m| {
                    let room = self.state.rooms.get(m.room)?;
                    let state = if m.is_reconnecting() {
                        RoomState::Connecting
                    } else {
                        RoomState::Connected
                    };
                    Some((room.id, state))
                })
                .collect(),
        )
    }

    /// The user a session is logged in as.
    #[must_use]
    pub fn session_user(&self, session: SessionId) -> Option<UserId> {
        self.session(session).map(|s| s.user)
    }

    /// Whether the session's link is lost: at least one of its rooms is reconnecting and its
    /// reconnect grace is running. A lost link with no room to reconnect to runs no grace.
    #[must_use]
    pub fn is_link_lost(&self, session: SessionId) -> bool {
        self.session(session).is_some_and(Session::is_link_lost)
    }

    /// The room's attributes, sorted by key; `None` if the room does not exist.
    #[must_use]
    pub fn room_attributes(&self, room_id: RoomId) -> Option<Vec<(String, String)>> {
        let room = self.room(room_id)?;
        Some(
            room.attributes
                .iter()
                .map(|(k, a)| (k.clone(), a.value.clone()))
                .collect(),
        )
    }

    /// Every logged-in session, in slot order (a deterministic order that depends only on
    /// the inputs so far).
    pub fn session_ids(&self) -> impl Iterator<Item = SessionId> + '_ {
        self.state.sessions.iter().map(|(_, s)| s.id)
    }

    /// The member attributes of a room: each member that has any, with all of them, by user
    /// id; `None` if the room does not exist.
    #[must_use]
    pub fn room_member_attributes(
        &self,
        room_id: RoomId,
    ) -> Option<std::collections::BTreeMap<UserId, std::collections::BTreeMap<String, String>>>
    {
        let room = self.room(room_id)?;
        Some(
            room.member_attributes
                .iter()
                .filter(|(_, a)| !a.values.is_empty())
                .map(|(u, a)| (*u, a.values.clone()))
                .collect(),
        )
    }

    /// The sequence number of the last message sent in the room (0 before the first).
    #[must_use]
    pub fn room_message_seq(&self, room_id: RoomId) -> Option<u64> {
        self.room(room_id).map(|r| r.message_seq)
    }

    pub(crate) fn room(&self, room_id: RoomId) -> Option<&Room> {
        let slot = *self.index.rooms.get(&room_id)?;
        self.state.rooms.get(slot)
    }

    pub(crate) fn session(&self, session: SessionId) -> Option<&Session> {
        let slot = *self.index.sessions.get(&session)?;
        self.state.sessions.get(slot)
    }

    // ---- inputs --------------------------------------------------------------------------

    /// Moves time to `now` (clamped: never backwards) and fires every timer due at or before
    /// it, in deadline order; each timer's outputs are stamped with its own deadline.
    pub fn handle_timeout(&mut self, now: Millis, out: &mut Vec<Stamped>) {
        let now = now.max(self.state.now);
        while let Some((key, kind)) = self.state.timers.pop_due(now) {
            self.state.now = key.deadline.max(self.state.now);
            self.forget_tombstones();
            let mut emit = Emit {
                at: self.state.now,
                buf: out,
            };
            self.fire_timer(kind, &mut emit);
        }
        self.state.now = now;
        self.forget_tombstones();
    }

    /// Handles one input at `now`: first every due timer fires (as [`Engine::handle_timeout`]),
    /// then the input is applied. Every output is appended to `out`.
    pub fn handle_input(&mut self, now: Millis, input: &Input, out: &mut Vec<Stamped>) {
        self.handle_timeout(now, out);
        let mut emit = Emit {
            at: self.state.now,
            buf: out,
        };
        self.dispatch(input, &mut emit);
    }

    fn dispatch(&mut self, input: &Input, emit: &mut Emit<'_>) {
        match input {
            Input::Login {
                session,
                request,
                user,
            } => {
                let r = self.login(*session, *user, emit);
                emit.reply(*session, *request, r);
            }
            Input::Logout { session, request } => self.logout(*session, *request, emit),
            Input::LinkLost { session } => self.link_lost(*session, emit),
            Input::LinkRestored { session } => self.link_restored(*session, emit),
            Input::CreateRoom {
                session,
                request,
                room,
                config,
            } => {
                let r = self.create_room(*session, room, config.as_ref(), emit);
                emit.reply(*session, *request, r);
            }
            Input::JoinRoom {
                session,
                request,
                room_id,
            } => {
                let r = self.join_room(*session, *room_id, emit);
                emit.reply(*session, *request, r);
            }
            Input::EnterRoom {
                session,
                request,
                room,
                config,
            } => {
                let r = self.enter_room(*session, room, config.as_ref(), emit);
                emit.reply(*session, *request, r);
            }
            Input::SwitchRoom {
                session,
                request,
                from,
                to,
                create_if_missing,
                config,
            } => {
                let r = self.switch_room(
                    *session,
                    *from,
                    to,
                    *create_if_missing,
                    config.as_ref(),
                    emit,
                );
                emit.reply(*session, *request, r);
            }
            Input::LeaveRoom {
                session,
                request,
                room_id,
            } => {
                let r = self.leave_room(*session, *room_id, emit);
                emit.reply(*session, *request, r);
            }
            Input::LeaveAllRooms { session, request } => {
                let r = self.leave_all_rooms(*session, emit);
                emit.reply(*session, *request, r);
            }
            Input::QueryMembers {
                session,
                request,
                room_id,
                next,
                count,
            } => {
                let r = self.query_members(*session, *room_id, next, *count);
                emit.reply(*session, *request, r);
            }
            Input::SetRoomAttributes {
                session,
                request,
                room_id,
                attributes,
                is_force,
                is_update_owner,
                is_delete_after_owner_left,
            } => {
                let flags = crate::engine::attributes::SetFlags {
                    is_force: *is_force,
                    is_update_owner: *is_update_owner,
                    is_delete_after_owner_left: *is_delete_after_owner_left,
                };
                let r = self.set_room_attributes(*session, *room_id, attributes, flags, emit);
                emit.reply(*session, *request, r);
            }
            Input::DeleteRoomAttributes {
                session,
                request,
                room_id,
                keys,
                is_force,
            } => {
                let r = self.delete_room_attributes(*session, *room_id, keys, *is_force, emit);
                emit.reply(*session, *request, r);
            }
            Input::SendRoomMessage {
                session,
                request,
                room_id,
                payload,
            } => {
                let r = self.send_room_message(*session, *room_id, payload, emit);
                emit.reply(*session, *request, r);
            }
            Input::SetRoomMembersAttributes {
                session,
                request,
                room_id,
                attributes,
                user_ids,
            } => {
                let users = user_ids.as_deref();
                let r =
                    self.set_room_members_attributes(*session, *room_id, attributes, users, emit);
                emit.reply(*session, *request, r);
            }
            Input::DeleteRoomMembersAttributes {
                session,
                request,
                room_id,
                keys,
                user_ids,
            } => {
                let users = user_ids.as_deref();
                let r = self.delete_room_members_attributes(*session, *room_id, keys, users, emit);
                emit.reply(*session, *request, r);
            }
            Input::QueryRoomMembersAttributes {
                session,
                request,
                room_id,
                user_ids,
            } => {
                let r = self.query_room_members_attributes(*session, *room_id, user_ids.as_deref());
                emit.reply(*session, *request, r);
            }
            Input::RemoveUsers {
                request,
                room_id,
                users,
            } => {
                let r = self.remove_users(*room_id, users, emit);
                emit.admin_reply(*request, r);
            }
            Input::DismissRoom { request, room_id } => {
                let r = self.dismiss_room(*room_id, emit);
                emit.admin_reply(*request, r);
            }
            Input::Tick => {}
        }
    }

    fn fire_timer(&mut self, kind: TimerKind, emit: &mut Emit<'_>) {
        match kind {
            TimerKind::DestroyRoom { slot, incarnation } => {
                self.destroy_timer_fired(slot, incarnation, emit);
            }
            TimerKind::ReconnectGrace { slot, incarnation } => {
                self.grace_expired(slot, incarnation, emit);
            }
            TimerKind::MemberBatch { slot, incarnation } => {
                self.member_batch_fired(slot, incarnation, emit);
            }
        }
    }

    /// Forgets closed session ids whose time is up, and any beyond the count limit.
    pub(crate) fn forget_tombstones(&mut self) {
        let now = self.state.now;
        let max = self.state.config.max_closed_sessions as usize;
        while let Some(front) = self.state.tombstones.front().copied() {
            if front.forget_at > now && self.state.tombstones.len() <= max {
                break;
            }
            self.state.tombstones.pop_front();
            if self.index.closed.get(&front.session) == Some(&front.forget_at) {
                self.index.closed.remove(&front.session);
            }
        }
    }

    pub(crate) fn next_incarnation(&mut self) -> u64 {
        let n = self.state.next_incarnation;
        self.state.next_incarnation += 1;
        n
    }

    // ---- snapshots -----------------------------------------------------------------------

    /// Rebuilds an engine from a serialized [`State`], checking that it holds together.
    fn from_state(state: State) -> Result<Engine, ConfigError> {
        state.config.validate()?;
        if !counters_in_range(&state) {
            return Err(ConfigError::InconsistentState(
                "a sequence counter is too close to overflow".into(),
            ));
        }
        let mut index = Index::new(state.config.hash_seed);
        for (slot, room) in state.rooms.iter() {
            if index.rooms.insert(room.id, slot).is_some() {
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
            index.closed.insert(t.session, t.forget_at);
        }
        for t in &state.tombstones {
            if index.sessions.contains_key(&t.session) {
                index.closed.remove(&t.session);
            }
        }
        let engine = Engine { state, index };
        crate::engine::invariants::check(&engine)
            .map_err(|v| ConfigError::InconsistentState(v.to_string()))?;
        Ok(engine)
    }
}

/// Counters grow by one per operation and are never reset. A live engine cannot get anywhere
/// near this bound (2^63 operations), so a snapshot that starts one above it is corrupt; the
/// bound is what keeps every `+= 1` on them free of overflow panics.
const COUNTER_LIMIT: u64 = u64::MAX / 2;

fn counters_in_range(state: &State) -> bool {
    let rooms_ok = state.rooms.iter().all(|(_, r)| {
        [
            r.next_join_seq,
            r.message_seq,
            r.attr_version,
            r.member_attr_version,
            r.reconnect.next_departure,
        ]
        .iter()
        .all(|&c| c <= COUNTER_LIMIT)
    });
    rooms_ok && state.next_incarnation <= COUNTER_LIMIT && state.timers.next_seq() <= COUNTER_LIMIT
}

impl Serialize for Engine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.state.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Engine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let state = State::deserialize(d)?;
        Engine::from_state(state).map_err(serde::de::Error::custom)
    }
}
