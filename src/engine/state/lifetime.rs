//! Rooms and sessions come and go: a room is created, waits for its destroy deadline when
//! empty, and is destroyed; a session is opened at login and closed (then remembered as a
//! tombstone for a while).

use super::room::{Room, RoomSettings};
use super::session::{Session, Tombstone, UserLink};
use super::timer_handle::TimerHandle;
use super::timers::TimerKind;
use super::Engine;
use crate::engine::emit::Emit;
use crate::ids::{SessionId, UserId};
use crate::input::RoomInfo;
use crate::output::{Buffer, CloseReason, DestroyCause, Output, OutputSink, SessionHandle};

impl Engine {
    /// Creates an empty room (the caller adds its first member in the same step) and emits
    /// `room_created`. Limits were checked by the caller.
    pub(crate) fn create_room_now(
        &mut self,
        info: &RoomInfo,
        settings: RoomSettings,
        emit: &mut Emit<'_>,
    ) -> u32 {
        let incarnation = self.state.take_incarnation();
        let sid = self.state.take_room_sid();
        let room = Room::new(info, incarnation, sid, settings);
        let slot = self.state.rooms.insert(info.id, room);
        self.index.insert_room(&self.state.rooms, slot);
        self.index.by_sid.insert(sid, slot);
        let event_id = self.state.take_event_id();
        emit.push(Output::RoomCreated {
            room_id: info.id,
            sid: Some(sid),
            event_id,
        });
        slot
    }

    /// A room the service created waits `empty_timeout_ms` for its first member (its
    /// destroy timer; with 0 it goes at the next step unless someone joins in this one).
    pub(crate) fn await_first_member(&mut self, room_slot: u32, empty_timeout_ms: u64) {
        self.arm_destroy_timer(room_slot, empty_timeout_ms);
    }

    /// After members were removed: an empty room starts its destroy delay (or goes at once
    /// when the delay is zero).
    pub(crate) fn settle_room(&mut self, room_slot: u32, emit: &mut Emit<'_>) {
        let room = self.state.room(room_slot);
        if !room.members().is_empty() || room.destroy_timer().is_some() {
            return;
        }
        let delay_ms = u64::from(room.destroy_delay_ms);
        // No one is left to tell what the open window holds.
        self.drop_member_batch(room_slot);
        if delay_ms == 0 {
            self.destroy_room(room_slot, DestroyCause::Empty, emit);
            return;
        }
        self.arm_destroy_timer(room_slot, delay_ms);
        self.empty_room_attributes(room_slot);
    }

    /// Arms an empty room's destroy timer `delay_ms` from now.
    fn arm_destroy_timer(&mut self, room_slot: u32, delay_ms: u64) {
        let deadline = self.state.now.after_ms(delay_ms);
        let kind = TimerKind::DestroyRoom {
            slot: room_slot,
            incarnation: self.state.room(room_slot).incarnation,
        };
        let key = self.state.timers.arm(deadline, kind);
        self.state.room_mut(room_slot).set_destroy_timer(key);
    }

    /// Removes the room (which has no members left to tell) and emits `room_destroyed`.
    pub(crate) fn destroy_room(
        &mut self,
        room_slot: u32,
        cause: DestroyCause,
        emit: &mut Emit<'_>,
    ) {
        self.drop_member_batch(room_slot);
        let room_id = self.state.room_id(room_slot);
        let room = self
            .state
            .rooms
            .remove(room_slot)
            .expect("callers destroy a live room");
        if let Some(key) = room.destroy_timer() {
            self.state.timers.cancel(key);
        }
        self.index.remove_room(room_id, room_slot);
        self.index.by_sid.remove(&room.sid);
        let event_id = self.state.take_event_id();
        emit.push(Output::RoomDestroyed {
            room_id,
            sid: Some(room.sid),
            cause,
            event_id,
        });
    }

    /// A room's destroy delay ran out.
    pub(crate) fn destroy_timer_fired(&mut self, slot: u32, incarnation: u64, emit: &mut Emit<'_>) {
        let room = self.state.room_mut(slot);
        // A cancelled timer is gone from the table, and a room loses its timer the moment a
        // member joins: a timer that fires names its own, empty room.
        assert!(
            room.incarnation == incarnation && room.members().is_empty(),
            "a destroy timer fired for room {} that is not its empty owner",
            room.sid
        );
        room.take_destroy_timer();
        self.destroy_room(slot, DestroyCause::Empty, emit);
    }

    /// A login reuses a closed id: it is no longer closed. Its tombstone goes too (before the
    /// sessions the login replaces are remembered), so each remembered id has exactly one: a
    /// stale one would count against max_closed_sessions, and popping it could forget a later
    /// close of the same id at the same time. Only reuse pays for this scan.
    pub(crate) fn reuse_closed_id(&mut self, session: SessionId) {
        if self.index.closed.remove(&session).is_some() {
            self.state.tombstones.retain(|t| t.session != session);
        }
    }

    /// Opens a session for `user` (the caller checked the id, the limits and the device
    /// policy, and closed the sessions it replaces).
    pub(crate) fn open_session(&mut self, session: SessionId, user: UserId) -> u32 {
        let incarnation = self.state.take_incarnation();
        let slot = self.state.sessions.insert(Session {
            id: session,
            user,
            incarnation,
            memberships: smallvec::SmallVec::new(),
            grace_timer: TimerHandle::NONE,
            user_link: UserLink::default(),
            rate_tokens_milli: u64::from(self.state.config.message_burst) * 1000,
            rate_refilled_at: self.state.now,
        });
        self.index.insert_session(&mut self.state.sessions, slot);
        slot
    }

    /// Ends a session that has left its rooms: emits `session_closed` and remembers the id
    /// for `closed_session_ttl_ms`.
    pub(crate) fn end_session(&mut self, slot: u32, reason: CloseReason, emit: &mut Emit<'_>) {
        // Out of the tables first: the user table reads ids from the records it links.
        self.index.remove_session(&mut self.state.sessions, slot);
        let session = self
            .state
            .sessions
            .remove(slot)
            .expect("callers end a live session");
        assert!(
            session.memberships.is_empty(),
            "a session leaves its rooms before it is closed"
        );
        if let Some(key) = session.grace_timer.get() {
            self.state.timers.cancel(key);
        }
        // A later login in this step may take the slot: the step's handles naming this
        // session now name its entry in the step's closed list.
        let closed = u32::try_from(self.closed_in_step.len())
            .ok()
            .filter(|&n| n < SessionHandle::CLOSED_BIT)
            .expect("a step closes fewer sessions than max_sessions (at most 2^30)");
        self.closed_in_step.push(session.id);
        emit.session_closing(slot, SessionHandle(SessionHandle::CLOSED_BIT | closed));
        emit.push(Output::SessionClosed {
            session: session.id,
            reason,
        });
        let forget_at = self
            .state
            .now
            .after_ms(self.state.config.closed_session_ttl_ms);
        self.state.tombstones.push_back(Tombstone {
            session: session.id,
            forget_at,
        });
        self.index.closed.insert(session.id, forget_at);
        // Keep the count within max_closed_sessions now, not at the next step.
        self.forget_tombstones();
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

    /// A step begins: the previous step's closed sessions are forgotten (their handles are
    /// valid until now), and the sink marks where this step's handles start.
    pub(crate) fn begin_step(&mut self, out: &mut impl OutputSink) {
        self.closed_in_step.clear();
        if let Buffer::Compact(out) = out.buffer() {
            out.begin_step();
        }
    }
}
