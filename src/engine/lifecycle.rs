//! Session lifecycle: login (with the device policy) and logout. Lost and restored links
//! and the reconnect grace are in `reconnect.rs`.

use crate::config::DevicePolicy;
use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{SessionId, UserId};
use crate::input::RequestId;
use crate::output::{CloseReason, ExitReason, ReplyOk, RoomEvent};

impl Engine {
    pub(crate) fn login(
        &mut self,
        session: SessionId,
        user: UserId,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        if self.session_slot(session).is_some() {
            return Err(Error::AlreadyLoggedIn);
        }
        if !session.0.is_valid(crate::ids::ID_CAPACITY) {
            return Err(Error::InvalidArgument(
                "session id must be 1..=32 bytes of the id alphabet",
            ));
        }
        self.check_user_id(user)?;
        let mut live = self.user_sessions(user);
        let replaced: Vec<u32> = match self.state.config.device_policy {
            DevicePolicy::Single => live.collect(),
            DevicePolicy::Multi => Vec::new(),
            DevicePolicy::RejectNew if live.next().is_none() => Vec::new(),
            DevicePolicy::RejectNew => return Err(Error::DuplicateLogin),
        };
        let max = self.state.config.max_sessions;
        if self.state.sessions().len() - u32::try_from(replaced.len()).unwrap_or(0) >= max {
            return Err(Error::SessionLimit { max });
        }
        self.reuse_closed_id(session);
        for old in replaced {
            self.close_session(old, CloseReason::KickedOutByOtherDevice, emit);
        }
        self.open_session(session, user);
        Ok(ReplyOk::LoggedIn { user_id: user })
    }

    pub(crate) fn logout(&mut self, session: SessionId, request: RequestId, emit: &mut Emit<'_>) {
        match self.check_session(session) {
            Err(e) => emit.reply(session, request, Err(e)),
            Ok(slot) => {
                self.leave_every_room(slot, RoomEvent::Success, ExitReason::Left, emit);
                emit.reply(session, request, Ok(ReplyOk::Empty {}));
                self.close_session(slot, CloseReason::Logout, emit);
            }
        }
    }

    /// Ends a session: leaves its rooms (if any are left), emits `session_closed`, and
    /// remembers the id for `closed_session_ttl_ms`.
    fn close_session(&mut self, slot: u32, reason: CloseReason, emit: &mut Emit<'_>) {
        let (event, exit) = match reason {
            CloseReason::Logout => (RoomEvent::Success, ExitReason::Left),
            CloseReason::KickedOutByOtherDevice => {
                (RoomEvent::KickedOutByOtherDevice, ExitReason::OtherDevice)
            }
        };
        self.leave_every_room(slot, event, exit, emit);
        self.end_session(slot, reason, emit);
    }

    fn leave_every_room(
        &mut self,
        slot: u32,
        event: RoomEvent,
        exit: ExitReason,
        emit: &mut Emit<'_>,
    ) {
        for (room_slot, _) in self.rooms_of(slot) {
            self.leave_now(slot, room_slot, event, exit, emit);
        }
    }
}
