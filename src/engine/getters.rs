//! Read-only getters: what an embedder (and the test kit) may ask the engine.

use crate::config::Config;
use crate::engine::state::room::Room;
use crate::engine::state::session::Session;
use crate::engine::state::timers::TimerKind;
use crate::engine::{Engine, TimerReason};
use crate::ids::{RoomId, RoomSid, SessionId, UserId};
use crate::output::{RoomState, SessionHandle};
use crate::time::Millis;
use std::collections::BTreeMap;

impl Engine {
    /// The engine's configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The handle of a logged-in session: what runs of an
    /// [`Outputs::with_handles`](crate::Outputs::with_handles) buffer name it by, from its
    /// login until it closes. `None` when the session is not logged in.
    #[must_use]
    pub fn session_handle(&self, session: SessionId) -> Option<SessionHandle> {
        self.session_slot(session).map(SessionHandle)
    }

    /// The session a handle names: a logged-in session's, or one closed in the latest step
    /// whose outputs named it. Valid until the next step: a handle produced before it may
    /// name nothing (`None`) or a later session in the same slot.
    #[must_use]
    pub fn session_id(&self, handle: SessionHandle) -> Option<SessionId> {
        let bits = handle.index();
        if bits & SessionHandle::CLOSED_BIT != 0 {
            let entry = (bits & !SessionHandle::CLOSED_BIT) as usize;
            return self.closed_in_step.get(entry).copied();
        }
        self.state.sessions().get(bits).map(|s| s.id)
    }

    /// The latest time the engine has seen.
    #[must_use]
    pub fn now(&self) -> Millis {
        self.state.now
    }

    /// When the next timer is due, if any: call [`Engine::handle_timeout`] then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.next_pending_timer().map(|(k, _)| k.deadline)
    }

    /// The next timer: when it is due and what it is for.
    #[must_use]
    pub fn next_timer(&self) -> Option<(Millis, TimerReason)> {
        let (key, kind) = self.next_pending_timer()?;
        Some((key.deadline, self.timer_reason(kind)))
    }

    /// Pending timers.
    #[must_use]
    pub fn pending_timers(&self) -> usize {
        self.state.timers().len()
    }

    /// Rooms that exist (including empty rooms waiting for their destroy deadline).
    #[must_use]
    pub fn room_count(&self) -> u32 {
        self.state.rooms().len()
    }

    /// Logged-in sessions.
    #[must_use]
    pub fn session_count(&self) -> u32 {
        self.state.sessions().len()
    }

    /// Closed session ids still remembered.
    #[must_use]
    pub fn closed_session_count(&self) -> usize {
        self.state.tombstones().len()
    }

    /// The members of a room, in join order, as user ids; `None` if the room does not exist.
    #[must_use]
    pub fn room_members(&self, room_id: RoomId) -> Option<Vec<UserId>> {
        let room = self.room(room_id)?;
        Some(
            room.members()
                .iter()
                .map(|m| self.state.session(m.session).user)
                .collect(),
        )
    }

    /// The sessions in a room, in join order; `None` if the room does not exist.
    #[must_use]
    pub fn room_sessions(&self, room_id: RoomId) -> Option<Vec<SessionId>> {
        let room = self.room(room_id)?;
        Some(
            room.members()
                .iter()
                .map(|m| self.state.session(m.session).id)
                .collect(),
        )
    }

    /// The sessions of a room whose link to it is live (not reconnecting), in join order:
    /// the recipients of a room-addressed output such as `room_members_changed`. `None` if
    /// the room does not exist.
    #[must_use]
    pub fn room_recipients(&self, room_id: RoomId) -> Option<Vec<SessionId>> {
        let slot = self.room_slot(room_id)?;
        let room = self.state.room(slot);
        Some(
            room.members()
                .iter()
                .filter(|m| !m.lost)
                .map(|m| self.state.session(m.session).id)
                .collect(),
        )
    }

    /// Whether the room exists.
    #[must_use]
    pub fn room_exists(&self, room_id: RoomId) -> bool {
        self.room_slot(room_id).is_some()
    }

    /// The rooms a session is in with its state for each, in join order; `None` if the
    /// session is not logged in.
    #[must_use]
    pub fn session_rooms(&self, session: SessionId) -> Option<Vec<(RoomId, RoomState)>> {
        let s = self.session(session)?;
        Some(
            s.memberships()
                .iter()
                .map(|m| {
                    let state = if m.is_reconnecting() {
                        RoomState::Connecting
                    } else {
                        RoomState::Connected
                    };
                    (self.state.room_id(m.room), state)
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
            room.cold()
                .attributes
                .iter()
                .map(|(k, a)| (k.clone(), a.value.clone()))
                .collect(),
        )
    }

    /// Every logged-in session, in slot order (a deterministic order that depends only on
    /// the inputs so far).
    pub fn session_ids(&self) -> impl Iterator<Item = SessionId> + '_ {
        self.state.sessions().iter().map(|(_, s)| s.id)
    }

    /// The member attributes of a room: each member that has any, with all of them, by user
    /// id; `None` if the room does not exist.
    #[must_use]
    pub fn room_member_attributes(
        &self,
        room_id: RoomId,
    ) -> Option<BTreeMap<UserId, BTreeMap<String, String>>> {
        let room = self.room(room_id)?;
        Some(
            room.cold()
                .member_attributes
                .iter()
                .filter(|(_, a)| !a.values.is_empty())
                .map(|(u, a)| (*u, a.values.clone()))
                .collect(),
        )
    }

    /// The room's incarnation id; `None` if the room does not exist.
    #[must_use]
    pub fn room_sid(&self, room_id: RoomId) -> Option<RoomSid> {
        self.room(room_id).map(|r| r.sid)
    }

    /// Whether `user_id` is banned from `room_id` now (the room need not exist).
    #[must_use]
    pub fn is_banned_from(&self, room_id: RoomId, user_id: UserId) -> bool {
        self.is_banned(room_id, user_id)
    }

    /// Bans in force.
    #[must_use]
    pub fn ban_count(&self) -> u32 {
        self.state.bans().len()
    }

    /// The sequence number of the last message sent in the room (0 before the first).
    #[must_use]
    pub fn room_message_seq(&self, room_id: RoomId) -> Option<u64> {
        self.room(room_id).map(|r| r.cold().message_seq)
    }

    pub(crate) fn room(&self, room_id: RoomId) -> Option<&Room> {
        Some(self.state.room(self.room_slot(room_id)?))
    }

    pub(crate) fn session(&self, session: SessionId) -> Option<&Session> {
        Some(self.state.session(self.session_slot(session)?))
    }

    fn timer_reason(&self, kind: TimerKind) -> TimerReason {
        match kind {
            TimerKind::DestroyRoom { slot, .. } => TimerReason::DestroyRoom {
                room_id: self.state.room_id(slot),
            },
            TimerKind::ReconnectGrace { slot, .. } => TimerReason::ReconnectGrace {
                session: self.state.session(slot).id,
            },
            TimerKind::MemberBatch { slot, .. } => TimerReason::MemberBatch {
                room_id: self.state.room_id(slot),
            },
            TimerKind::BanExpiry { slot, .. } => {
                let ban = self
                    .state
                    .bans()
                    .get(slot)
                    .expect("a pending ban timer names a live ban");
                TimerReason::BanExpiry {
                    room_id: ban.room_id,
                    user_id: ban.user,
                }
            }
        }
    }
}
