//! Room flows: create, join, enter, switch, leave, leave-all, each bracketed by
//! `room_state_changed` events when it starts and when it fails or succeeds.

use super::state::Model;
use super::validate;
use roomcore::config::RoomConfig;
use roomcore::error::Error;
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::input::RoomInfo;
use roomcore::output::{ExitReason, ReplyOk, RoomEvent, RoomState};

/// The events that bracket one kind of flow: started, failed.
#[derive(Clone, Copy)]
struct Flow {
    start: RoomEvent,
    fail: RoomEvent,
}

const CREATE: Flow = Flow {
    start: RoomEvent::ActiveCreate,
    fail: RoomEvent::CreateFailed,
};
const ENTER: Flow = Flow {
    start: RoomEvent::ActiveEnter,
    fail: RoomEvent::EnterFailed,
};
const SWITCH: Flow = Flow {
    start: RoomEvent::ActiveSwitch,
    fail: RoomEvent::SwitchFailed,
};

impl Model {
    /// The room registry's answer for joining an existing room: a ban, then the room's
    /// member limit (a user already in it, on another device, takes no new seat).
    fn may_join(&self, room: RoomId, user: UserId) -> Result<(), Error> {
        if self.banned(room, user) {
            return Err(Error::UserBanned);
        }
        let users = self.users_in(room);
        let max = self.rooms.get(&room).map_or(0, |r| r.max_members);
        if !users.contains(&user) && users.len() >= max as usize {
            return Err(Error::RoomFull { max });
        }
        Ok(())
    }

    /// The room registry's answer for creating a missing room: a ban, then the server's room
    /// limit.
    fn may_create(&self, room: RoomId, user: UserId) -> Result<(), Error> {
        if self.banned(room, user) {
            return Err(Error::UserBanned);
        }
        self.can_create()
    }

    // ---- flows -----------------------------------------------------------------------------

    /// The checks before a create / join / enter flow starts.
    fn pre_join(&self, session: SessionId, room: RoomId) -> Result<(), Error> {
        self.must_be_outside(session, room)?;
        if self.room_count_of(session) >= self.cfg.max_rooms_per_session as usize {
            return Err(Error::JoinedRoomLimit {
                max: self.cfg.max_rooms_per_session,
            });
        }
        Ok(())
    }

    /// The caller must not be in `room`. A room it is reconnecting to answers
    /// `room_connecting` (commands that touch such a room answer that).
    fn must_be_outside(&self, session: SessionId, room: RoomId) -> Result<(), Error> {
        if self.reconnecting(session, room) {
            return Err(Error::RoomConnecting);
        }
        if self.in_room(session, room) {
            return Err(Error::UserAlreadyInRoom);
        }
        Ok(())
    }

    /// The caller must be a member of `room` whose link is up.
    pub(super) fn must_be_member(&self, session: SessionId, room: RoomId) -> Result<(), Error> {
        if !self.in_room(session, room) {
            return Err(Error::UserNotInRoom);
        }
        if self.reconnecting(session, room) {
            return Err(Error::RoomConnecting);
        }
        Ok(())
    }

    /// Inside a flow: the room registry's answer when the room must be created.
    fn can_create(&self) -> Result<(), Error> {
        if self.rooms.len() >= self.cfg.max_rooms as usize {
            return Err(Error::ServerRoomLimit {
                max: self.cfg.max_rooms,
            });
        }
        Ok(())
    }

    fn fail(
        &mut self,
        session: SessionId,
        room: RoomId,
        flow: Flow,
        e: Error,
    ) -> Result<ReplyOk, Error> {
        self.state(session, room, RoomState::Disconnected, flow.fail);
        Err(e)
    }

    pub(super) fn create(
        &mut self,
        session: SessionId,
        info: &RoomInfo,
        rc: Option<&RoomConfig>,
    ) -> Result<ReplyOk, Error> {
        let user = self.caller(session)?;
        validate::room_info(&self.cfg, info)?;
        validate::room_config(&self.cfg, rc)?;
        self.must_be_outside(session, info.id)?;
        // When only the service creates rooms, a client's create is refused before it starts.
        if !self.cfg.clients_create_rooms {
            return Err(Error::NotAllowed(""));
        }
        self.pre_join(session, info.id)?;
        self.state(session, info.id, RoomState::Connecting, CREATE.start);
        if self.rooms.contains_key(&info.id) {
            return self.fail(session, info.id, CREATE, Error::RoomAlreadyExists);
        }
        if let Err(e) = self.may_create(info.id, user) {
            return self.fail(session, info.id, CREATE, e);
        }
        self.new_room(info, rc, Some(user));
        self.admit(info.id, session);
        Ok(self.snapshot(info.id))
    }

    pub(super) fn join(&mut self, session: SessionId, room: RoomId) -> Result<ReplyOk, Error> {
        let user = self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        self.pre_join(session, room)?;
        self.state(session, room, RoomState::Connecting, ENTER.start);
        if !self.rooms.contains_key(&room) {
            return self.fail(session, room, ENTER, Error::RoomNotExist);
        }
        if let Err(e) = self.may_join(room, user) {
            return self.fail(session, room, ENTER, e);
        }
        self.admit(room, session);
        Ok(self.snapshot(room))
    }

    pub(super) fn enter(
        &mut self,
        session: SessionId,
        info: &RoomInfo,
        rc: Option<&RoomConfig>,
    ) -> Result<ReplyOk, Error> {
        let user = self.caller(session)?;
        validate::room_info(&self.cfg, info)?;
        validate::room_config(&self.cfg, rc)?;
        self.pre_join(session, info.id)?;
        self.state(session, info.id, RoomState::Connecting, ENTER.start);
        if self.rooms.contains_key(&info.id) {
            if let Err(e) = self.may_join(info.id, user) {
                return self.fail(session, info.id, ENTER, e);
            }
        } else {
            // Enter creates a missing room only when clients may create rooms.
            if !self.cfg.clients_create_rooms {
                return self.fail(session, info.id, ENTER, Error::RoomNotExist);
            }
            if let Err(e) = self.may_create(info.id, user) {
                return self.fail(session, info.id, ENTER, e);
            }
            self.new_room(info, rc, Some(user));
        }
        self.admit(info.id, session);
        Ok(self.snapshot(info.id))
    }

    pub(super) fn switch(
        &mut self,
        session: SessionId,
        from: RoomId,
        to: &RoomInfo,
        create_if_missing: bool,
        rc: Option<&RoomConfig>,
    ) -> Result<ReplyOk, Error> {
        let user = self.caller(session)?;
        validate::room_id(&self.cfg, from)?;
        validate::room_info(&self.cfg, to)?;
        validate::room_config(&self.cfg, rc)?;
        self.must_be_member(session, from)?;
        if from == to.id {
            return Err(Error::UserAlreadyInRoom);
        }
        self.must_be_outside(session, to.id)?;
        self.state(session, to.id, RoomState::Connecting, SWITCH.start);
        if self.rooms.contains_key(&to.id) {
            if let Err(e) = self.may_join(to.id, user) {
                return self.fail(session, to.id, SWITCH, e);
            }
        } else {
            if !create_if_missing || !self.cfg.clients_create_rooms {
                return self.fail(session, to.id, SWITCH, Error::RoomNotExist);
            }
            if let Err(e) = self.may_create(to.id, user) {
                return self.fail(session, to.id, SWITCH, e);
            }
            self.new_room(to, rc, Some(user));
        }
        self.admit(to.id, session);
        self.remove_member(
            from,
            session,
            Some((RoomState::Disconnected, RoomEvent::Success)),
            ExitReason::Left,
        );
        Ok(self.snapshot(to.id))
    }

    pub(super) fn leave(&mut self, session: SessionId, room: RoomId) -> Result<ReplyOk, Error> {
        self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        self.must_be_member(session, room)?;
        self.remove_member(
            room,
            session,
            Some((RoomState::Disconnected, RoomEvent::Success)),
            ExitReason::Left,
        );
        Ok(ReplyOk::RoomId { room_id: room })
    }

    pub(super) fn leave_all(&mut self, session: SessionId) -> Result<ReplyOk, Error> {
        self.caller(session)?;
        let rooms = self
            .sessions
            .get(&session)
            .map(|s| s.rooms.clone())
            .unwrap_or_default();
        if rooms.iter().any(|r| self.reconnecting(session, *r)) {
            return Err(Error::RoomConnecting);
        }
        for r in &rooms {
            self.remove_member(
                *r,
                session,
                Some((RoomState::Disconnected, RoomEvent::Success)),
                ExitReason::Left,
            );
        }
        Ok(ReplyOk::LeftAll { room_ids: rooms })
    }
}
