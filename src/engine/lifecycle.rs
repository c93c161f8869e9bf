//! Session lifecycle: login (with the device policy) and logout. Lost and restored links
//! and the reconnect grace are in `reconnect.rs`.

use crate::config::DevicePolicy;
use crate::engine::sessions::{Session, Tombstone};
use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{SessionId, UserId};
use crate::input::RequestId;
use crate::output::{CloseReason, LeaveReason, Output, ReplyOk, RoomEvent};

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
            return Err(Error::InvalidArgument(
                "session id must be 1..=32 bytes of the id alphabet",
            ));
        }
        self.check_user_id(user)?;
        let replaced: Vec<u32> = match self.state.config.device_policy {
            DevicePolicy::Single => self
                .index
                .users
                .get(&user)
                .map(|l| l.to_vec())
                .unwrap_or_default(),
            DevicePolicy::Multi => Vec::new(),
        };
        let max = self.state.config.max_sessions;
        if self.state.sessions.len() - u32::try_from(replaced.len()).unwrap_or(0) >= max {
            return Err(Error::SessionLimit { max });
        }
        // A new login may reuse a closed id: it is no longer closed. Its tombstone goes too
        // (before the sessions this login replaces are remembered), so each remembered id
        // has exactly one: a stale one would count against max_closed_sessions, and popping
        // it could forget a later close of the same id at the same time. Only reuse pays
        // for this scan.
        if self.index.closed.remove(&session).is_some() {
            self.state.tombstones.retain(|t| t.session != session);
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

    fn leave_every_room(
        &mut self,
        slot: u32,
        event: RoomEvent,
        reason: LeaveReason,
        emit: &mut Emit<'_>,
    ) {
        for (room_slot, _) in self.rooms_of(slot) {
            self.leave_now(slot, room_slot, event, reason, emit);
        }
    }
}
