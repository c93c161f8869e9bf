//! Session lifecycle: login (with the device policy), logout, lost and restored links, and
//! the reconnect grace.

use crate::config::DevicePolicy;
use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{SessionId, UserId};
use crate::input::RequestId;
use crate::output::{
    CloseReason, LeaveReason, Member, Members, Output, ReplyOk, RoomEvent, RoomState,
};
use crate::sessions::{LostView, Session, Tombstone};
use crate::timers::TimerKind;

impl Engine {
    pub(crate) fn login(
        &mut self,
        session: SessionId,
        user: UserId,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        if self.index.sessions.contains_key(&session) {
            return Err(Error::AlreadyLoggedIn);
        }
        if !session.0.is_valid(crate::ids::ID_CAPACITY) {
            return Err(Error::InvalidArgument("session id must be 1..=32 bytes of the id alphabet"));
        }
        self.check_user_id(user)?;
        let replaced: Vec<u32> = match self.state.config.device_policy {
            DevicePolicy::Single => self.index.users.get(&user).map(|l| l.to_vec()).unwrap_or_default(),
            DevicePolicy::Multi => Vec::new(),
        };
        let max = self.state.config.max_sessions;
        if self.state.sessions.len() - u32::try_from(replaced.len()).unwrap_or(0) >= max {
            return Err(Error::SessionLimit { max });
        }
        for old in replaced {
            self.close_session(old, CloseReason::KickedOutByOtherDevice, emit);
        }
        let incarnation = self.next_incarnation();
        let slot = self.state.sessions.insert(Session {
            id: session,
            user,
            incarnation,
            memberships: smallvec::SmallVec::new(),
            grace_timer: None,
            rate_tokens_milli: u64::from(self.state.config.message_burst) * 1000,
            rate_refilled_at: self.state.now,
        });
        self.index.sessions.insert(session, slot);
        self.index.add_user_session(user, slot);
        // A new login may reuse a closed id: it is no longer closed.
        self.index.closed.remove(&session);
        Ok(ReplyOk::LoggedIn { user_id: user })
    }

    pub(crate) fn logout(&mut self, session: SessionId, request: RequestId, emit: &mut Emit<'_>) {
        match self.check_session(session) {
            Err(e) => emit.reply(session, request, Err(e)),
            Ok(slot) => {
                self.leave_every_room(slot, RoomEvent::Success, LeaveReason::Left, emit);
                emit.reply(session, request, Ok(ReplyOk::Empty {}));
                self.close_session(slot, CloseReason::Logout, emit);
            }
        }
    }

    /// Ends a session: leaves its rooms (if any are left), emits `session_closed`, and
    /// remembers the id for `closed_session_ttl_ms`.
    fn close_session(&mut self, slot: u32, reason: CloseReason, emit: &mut Emit<'_>) {
        let (event, leave_reason) = match reason {
            CloseReason::Logout => (RoomEvent::Success, LeaveReason::Left),
            CloseReason::KickedOutByOtherDevice => {
                (RoomEvent::KickedOutByOtherDevice, LeaveReason::OtherDevice)
            }
        };
        self.leave_every_room(slot, event, leave_reason, emit);
        let Some(session) = self.state.sessions.remove(slot) else {
            return;
        };
        if let Some(key) = session.grace_timer {
            self.state.timers.cancel(key);
        }
        self.index.sessions.remove(&session.id);
        self.index.remove_user_session(session.user, slot);
        emit.push(Output::SessionClosed {
            session: session.id,
            reason,
        });
        let forget_at = self.state.now.after_ms(self.state.config.closed_session_ttl_ms);
        self.state.tombstones.push_back(Tombstone {
            session: session.id,
            forget_at,
        });
        self.index.closed.insert(session.id, forget_at);
    }

    fn leave_every_room(&mut self, slot: u32, event: RoomEvent, reason: LeaveReason, emit: &mut Emit<'_>) {
        for (room_slot, _) in self.rooms_of(slot) {
            self.leave_now(slot, room_slot, event, reason, emit);
        }
    }

    /// Transport: the link dropped. Each room the session is connected to goes
    /// `connecting`/`network_interrupted` for it; nobody else is told yet. The grace timer
    /// starts unless it is already running. Unknown sessions are ignored (no reply exists).
    pub(crate) fn link_lost(&mut self, session: SessionId, emit: &mut Emit<'_>) {
        let Ok(slot) = self.check_session(session) else {
            return;
        };
        for (room_slot, reconnecting) in self.rooms_of(slot) {
            if reconnecting {
                continue;
            }
            let view = self.lost_view(room_slot);
            let Some(room_id) = self.state.rooms.get(room_slot).map(|r| r.id) else {
                continue;
            };
            if let Some(m) = self
                .state
                .sessions
                .get_mut(slot)
                .and_then(|s| s.membership_mut(room_slot))
            {
                m.lost = Some(Box::new(view));
            }
            emit.state(session, room_id, RoomState::Connecting, RoomEvent::NetworkInterrupted);
        }
        let grace_ms = self.state.config.reconnect_grace_ms;
        let deadline = self.state.now.after_ms(grace_ms);
        let Some(s) = self.state.sessions.get(slot) else {
            return;
        };
        if s.grace_timer.is_none() {
            let kind = TimerKind::ReconnectGrace {
                slot,
                incarnation: s.incarnation,
            };
            let key = self.state.timers.arm(deadline, kind);
            if let Some(s) = self.state.sessions.get_mut(slot) {
                s.grace_timer = Some(key);
            }
        }
    }

    fn lost_view(&self, room_slot: u32) -> LostView {
        let Some(room) = self.state.rooms.get(room_slot) else {
            return LostView {
                members: Vec::new(),
                watermark: 0,
            };
        };
        let members = room
            .members
            .iter()
            .filter_map(|(&seq, &s)| Some((seq, self.state.sessions.get(s)?.user)))
            .collect();
        LostView {
            members,
            watermark: room.next_join_seq,
        }
    }

    /// Transport: the link is back within the grace. Each reconnecting room goes back to
    /// `connected`/`success`, followed by one `members_joined` and one `members_left` with
    /// exactly what changed meanwhile. A session whose link is not lost is left alone.
    pub(crate) fn link_restored(&mut self, session: SessionId, emit: &mut Emit<'_>) {
        let Ok(slot) = self.check_session(session) else {
            return;
        };
        let Some(s) = self.state.sessions.get_mut(slot) else {
            return;
        };
        let Some(key) = s.grace_timer.take() else {
            return;
        };
        self.state.timers.cancel(key);
        let me = s.user;
        let lost: Vec<(u32, Box<LostView>)> = s
            .memberships
            .iter_mut()
            .filter_map(|m| Some((m.room, m.lost.take()?)))
            .collect();
        for (room_slot, view) in lost {
            let Some(room) = self.state.rooms.get(room_slot) else {
                continue;
            };
            let room_id = room.id;
            let user_of = |s: u32| self.state.sessions.get(s).map(|s| s.user);
            let joined: Members = room
                .members
                .range(view.watermark..)
                .filter_map(|(_, &s)| user_of(s))
                .filter(|&u| u != me)
                .map(|user_id| Member { user_id })
                .collect();
            let left: Members = view
                .members
                .iter()
                .filter(|(seq, _)| !room.members.contains_key(seq))
                .map(|&(_, user_id)| Member { user_id })
                .collect();
            emit.state(session, room_id, RoomState::Connected, RoomEvent::Success);
            if !joined.is_empty() {
                emit.push(Output::MembersJoined {
                    session,
                    room_id,
                    members: joined,
                });
            }
            if !left.is_empty() {
                emit.push(Output::MembersLeft {
                    session,
                    room_id,
                    members: left,
                    reason: LeaveReason::Left,
                });
            }
        }
    }

    /// The grace ran out: the session leaves every room it was reconnecting to (it sees
    /// `disconnected`/`connect_timeout`, the others `members_left`/`timeout`). It stays logged
    /// in.
    pub(crate) fn grace_expired(&mut self, slot: u32, incarnation: u64, emit: &mut Emit<'_>) {
        let Some(s) = self.state.sessions.get_mut(slot) else {
            return;
        };
        if s.incarnation != incarnation {
            return;
        }
        s.grace_timer = None;
        for (room_slot, reconnecting) in self.rooms_of(slot) {
            if reconnecting {
                self.leave_now(slot, room_slot, RoomEvent::ConnectTimeout, LeaveReason::Timeout, emit);
            }
        }
    }
}
