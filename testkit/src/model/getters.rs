//! Read-only getters: what the lockstep comparison, the simulator and the explorer ask the
//! model (the same questions as the engine's public getters), and the lookups the rules
//! share.

use super::state::Model;
use roomcore::config::Config;
use roomcore::error::Error;
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::output::RoomState;

impl Model {
    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The latest time seen.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The earliest pending deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        self.timers.iter().map(|t| t.deadline).min()
    }

    /// Pending timers.
    #[must_use]
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// Rooms that exist.
    #[must_use]
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// Logged-in sessions.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Whether `room` exists.
    #[must_use]
    pub fn room_exists(&self, room: RoomId) -> bool {
        self.rooms.contains_key(&room)
    }

    /// The sessions in a room, in join order.
    #[must_use]
    pub fn room_sessions(&self, room: RoomId) -> Option<Vec<SessionId>> {
        self.rooms
            .get(&room)
            .map(|r| r.members.iter().map(|m| m.session).collect())
    }

    /// The users in a room, in join order.
    #[must_use]
    pub fn room_members(&self, room: RoomId) -> Option<Vec<UserId>> {
        let r = self.rooms.get(&room)?;
        Some(
            r.members
                .iter()
                .filter_map(|m| self.user_of(m.session))
                .collect(),
        )
    }

    /// The rooms of a live session with its state in each, in join order.
    #[must_use]
    pub fn session_rooms(&self, session: SessionId) -> Option<Vec<(RoomId, RoomState)>> {
        let s = self.sessions.get(&session)?;
        Some(
            s.rooms
                .iter()
                .map(|r| {
                    let st = if s.lost_views.contains_key(r) {
                        RoomState::Connecting
                    } else {
                        RoomState::Connected
                    };
                    (*r, st)
                })
                .collect(),
        )
    }

    /// The user a live session belongs to.
    #[must_use]
    pub fn session_user(&self, session: SessionId) -> Option<UserId> {
        self.user_of(session)
    }

    /// Whether the session's link is lost (its grace timer runs).
    #[must_use]
    pub fn is_link_lost(&self, session: SessionId) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|s| s.grace_timer.is_some())
    }

    /// A room's attributes, sorted by key.
    #[must_use]
    pub fn room_attributes(&self, room: RoomId) -> Option<Vec<(String, String)>> {
        let r = self.rooms.get(&room)?;
        Some(
            r.attrs
                .iter()
                .map(|(k, a)| (k.clone(), a.value.clone()))
                .collect(),
        )
    }

    /// Whether a closed session id is still remembered.
    #[must_use]
    pub fn is_closed(&self, session: SessionId) -> bool {
        self.closed.iter().any(|(s, _)| *s == session)
    }

    pub(super) fn user_of(&self, session: SessionId) -> Option<UserId> {
        self.sessions.get(&session).map(|s| s.user)
    }

    // ---- lookups ---------------------------------------------------------------------------

    /// The session check every session command starts with.
    pub(super) fn caller(&self, session: SessionId) -> Result<UserId, Error> {
        match self.sessions.get(&session) {
            Some(s) => Ok(s.user),
            None if self.is_closed(session) => Err(Error::SessionClosed),
            None => Err(Error::NotLoggedIn),
        }
    }

    pub(super) fn in_room(&self, session: SessionId, room: RoomId) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|s| s.rooms.contains(&room))
    }

    pub(super) fn reconnecting(&self, session: SessionId, room: RoomId) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|s| s.lost_views.contains_key(&room))
    }

    pub(super) fn room_count_of(&self, session: SessionId) -> usize {
        self.sessions.get(&session).map_or(0, |s| s.rooms.len())
    }

    /// Members told about room events: every member whose link is up for that room.
    pub(super) fn live_members(&self, room: RoomId, except: Option<SessionId>) -> Vec<SessionId> {
        let Some(r) = self.rooms.get(&room) else {
            return Vec::new();
        };
        r.members
            .iter()
            .map(|m| m.session)
            .filter(|s| Some(*s) != except && !self.reconnecting(*s, room))
            .collect()
    }

    /// The users in a room, in join order.
    pub(super) fn users_in(&self, room: RoomId) -> Vec<UserId> {
        self.room_members(room).unwrap_or_default()
    }
}
