//! Sessions and devices: login and the device policies, logout, closed-session tombstones.

use super::ops::single;
use super::state::MSession;
use super::state::Model;
use super::validate;
use roomcore::config::DevicePolicy;
use roomcore::error::Error;
use roomcore::ids::{SessionId, UserId};
use roomcore::input::RequestId;
use roomcore::output::{CloseReason, ExitReason, Output, ReplyOk, RoomEvent, RoomState};

impl Model {
    pub(super) fn login(&mut self, session: SessionId, user: UserId) -> Result<ReplyOk, Error> {
        validate::session_id(session)?;
        // The session's own state answers before the arguments (the documented check order).
        if self.sessions.contains_key(&session) {
            return Err(Error::AlreadyLoggedIn);
        }
        validate::user_id(&self.cfg, user)?;
        // Under reject_new, a user with a live session cannot log in again.
        if self.cfg.device_policy == DevicePolicy::RejectNew
            && self.sessions.values().any(|s| s.user == user)
        {
            return Err(Error::DuplicateLogin);
        }
        // Single-device policy: this login closes the user's other sessions.
        let mut older: Vec<(u64, SessionId)> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.user == user && single(self.cfg.device_policy))
            .map(|(id, s)| (s.login_no, *id))
            .collect();
        older.sort();
        // The product brief is silent: as the engine, sessions this login replaces do not count.
        if self.sessions.len() - older.len() >= self.cfg.max_sessions as usize {
            return Err(Error::SessionLimit {
                max: self.cfg.max_sessions,
            });
        }
        self.closed.retain(|(s, _)| *s != session);
        for (_, old) in older {
            self.close(old, CloseReason::KickedOutByOtherDevice);
        }
        let login_no = self.generation();
        let burst_milli = u64::from(self.cfg.message_burst) * 1000;
        self.sessions.insert(
            session,
            MSession {
                user,
                login_no,
                rooms: Vec::new(),
                grace_timer: None,
                lost_views: Default::default(),
                tokens_milli: burst_milli,
                refilled_at: self.now,
            },
        );
        Ok(ReplyOk::LoggedIn { user_id: user })
    }

    pub(super) fn logout(&mut self, session: SessionId, request: RequestId) {
        if let Err(e) = self.caller(session) {
            self.reply(session, request, Err(e));
            return;
        }
        self.leave_every_room(session, RoomEvent::Success, ExitReason::Left);
        self.reply(session, request, Ok(ReplyOk::Empty {}));
        self.forget_session(session);
        self.emit(Output::SessionClosed {
            session,
            reason: CloseReason::Logout,
        });
    }

    /// Closes a session for another device's login.
    fn close(&mut self, session: SessionId, reason: CloseReason) {
        self.leave_every_room(
            session,
            RoomEvent::KickedOutByOtherDevice,
            ExitReason::OtherDevice,
        );
        self.forget_session(session);
        self.emit(Output::SessionClosed { session, reason });
    }

    fn leave_every_room(&mut self, session: SessionId, event: RoomEvent, exit: ExitReason) {
        let rooms = self
            .sessions
            .get(&session)
            .map(|s| s.rooms.clone())
            .unwrap_or_default();
        for r in rooms {
            self.remove_member(r, session, Some((RoomState::Disconnected, event)), exit);
        }
    }

    /// Drops a live session (already out of its rooms) and remembers its id as closed.
    fn forget_session(&mut self, session: SessionId) {
        if let Some(s) = self.sessions.remove(&session) {
            if let Some(seq) = s.grace_timer {
                self.cancel(seq);
            }
        }
        self.closed.retain(|(s, _)| *s != session);
        self.closed.push((
            session,
            self.now.saturating_add(self.cfg.closed_session_ttl_ms),
        ));
        while self.closed.len() > self.cfg.max_closed_sessions as usize {
            self.closed.remove(0);
        }
    }

    /// Forgets closed ids whose time is up.
    pub(super) fn forget_closed(&mut self) {
        let now = self.now;
        self.closed.retain(|(_, at)| *at > now);
    }
}
