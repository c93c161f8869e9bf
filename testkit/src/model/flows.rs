//! Room flows: create, join, enter, switch, leave, leave-all, each bracketed by
//! `room_state_changed` events when it starts and when it fails or succeeds.

use super::state::Model;
use super::validate;
use roomcore::config::RoomConfig;
use roomcore::error::Error;
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::input::RoomInfo;
use roomcore::output::{LeaveReason, ReplyOk, RoomEvent, RoomState};

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
    fn full(&self, room: RoomId, user: UserId) -> bool {
        let users = self.users_in(room);
        !users.contains(&user) && users.len() >= self.cfg.max_members_per_room as usize
    }

    fn room_reply(&self, room: RoomId) -> ReplyOk {
        let name = self
            .rooms
            .get(&room)
            .map(|r| r.name.clone())
            .unwrap_or_default();
        ReplyOk::Room {
            room: RoomInfo { id: room, name },
        }
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
        self.pre_join(session, info.id)?;
        self.state(session, info.id, RoomState::Connecting, CREATE.start);
        if self.rooms.contains_key(&info.id) {
            return self.fail(session, info.id, CREATE, Error::RoomAlreadyExists);
        }
        if let Err(e) = self.can_create() {
            return self.fail(session, info.id, CREATE, e);
        }
        self.make_room(info, rc, user);
        self.admit(info.id, session);
        Ok(ReplyOk::Room { room: info.clone() })
    }

    pub(super) fn join(&mut self, session: SessionId, room: RoomId) -> Result<ReplyOk, Error> {
        let user = self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        self.pre_join(session, room)?;
        self.state(session, room, RoomState::Connecting, ENTER.start);
        if !self.rooms.contains_key(&room) {
            return self.fail(session, room, ENTER, Error::RoomNotExist);
        }
        if self.full(room, user) {
            let max = self.cfg.max_members_per_room;
            return self.fail(session, room, ENTER, Error::RoomFull { max });
        }
        self.admit(room, session);
        Ok(self.room_reply(room))
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
            if self.full(info.id, user) {
                let max = self.cfg.max_members_per_room;
                return self.fail(session, info.id, ENTER, Error::RoomFull { max });
            }
        } else {
            if let Err(e) = self.can_create() {
                return self.fail(session, info.id, ENTER, e);
            }
            self.make_room(info, rc, user);
        }
        self.admit(info.id, session);
        Ok(self.room_reply(info.id))
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
            if self.full(to.id, user) {
                let max = self.cfg.max_members_per_room;
                return self.fail(session, to.id, SWITCH, Error::RoomFull { max });
            }
        } else {
            if !create_if_missing {
                return self.fail(session, to.id, SWITCH, Error::RoomNotExist);
            }
            if let Err(e) = self.can_create() {
                return self.fail(session, to.id, SWITCH, e);
            }
            self.make_room(to, rc, user);
        }
        self.admit(to.id, session);
        self.remove_member(
            from,
            session,
            Some((RoomState::Disconnected, RoomEvent::Success)),
            LeaveReason::Left,
        );
        Ok(self.room_reply(to.id))
    }

    pub(super) fn leave(&mut self, session: SessionId, room: RoomId) -> Result<ReplyOk, Error> {
        self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        self.must_be_member(session, room)?;
        self.remove_member(
            room,
            session,
            Some((RoomState::Disconnected, RoomEvent::Success)),
            LeaveReason::Left,
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
                LeaveReason::Left,
            );
        }
        Ok(ReplyOk::LeftAll { room_ids: rooms })
    }
}
