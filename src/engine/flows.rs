//! Session room flows: create, join, enter, switch, leave and leave all.
//!
//! A flow that reaches the room registry is bracketed for the caller: `connecting` with the
//! flow's event, then `connected`/`success` or `disconnected` with the flow's failure event,
//! then the reply (which the dispatcher sends). Request checks refuse before the bracket.

use crate::config::RoomConfig;
use crate::engine::state::room::RoomSettings;
use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{RoomId, SessionId};
use crate::input::{RoomInfo, RoomName};
use crate::output::{ExitReason, ReplyOk, RoomEvent, RoomState};

/// Which flow is running, for its bracketing events.
#[derive(Debug, Clone, Copy)]
enum Flow {
    Create,
    Enter,
    Switch,
}

impl Flow {
    fn started(self) -> RoomEvent {
        match self {
            Flow::Create => RoomEvent::ActiveCreate,
            Flow::Enter => RoomEvent::ActiveEnter,
            Flow::Switch => RoomEvent::ActiveSwitch,
        }
    }

    fn failed(self) -> RoomEvent {
        match self {
            Flow::Create => RoomEvent::CreateFailed,
            Flow::Enter => RoomEvent::EnterFailed,
            Flow::Switch => RoomEvent::SwitchFailed,
        }
    }
}

/// What the registry step may do when the room is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IfMissing {
    Fail,
    Create,
}

/// What the registry step may do when the room exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IfExists {
    Fail,
    Join,
}

impl Engine {
    pub(crate) fn create_room(
        &mut self,
        session: SessionId,
        room: &RoomInfo,
        config: Option<&RoomConfig>,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        self.check_room_info(room)?;
        let settings = self.check_room_config(config)?;
        self.require_outside(slot, room.id)?;
        if !self.state.config.clients_create_rooms {
            return Err(Error::NotAllowed("rooms are created by the service"));
        }
        self.require_room_budget(slot)?;
        let target = Target {
            info: room,
            config,
            settings,
            if_missing: IfMissing::Create,
            if_exists: IfExists::Fail,
        };
        let room_slot = self.bracketed(slot, Flow::Create, &target, emit)?;
        Ok(self.join_snapshot(room_slot))
    }

    pub(crate) fn join_room(
        &mut self,
        session: SessionId,
        room_id: RoomId,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        self.check_room_id(room_id)?;
        self.require_outside(slot, room_id)?;
        self.require_room_budget(slot)?;
        let info = RoomInfo {
            id: room_id,
            name: RoomName::EMPTY,
        };
        let target = Target {
            info: &info,
            config: None,
            settings: self.default_room_settings(),
            if_missing: IfMissing::Fail,
            if_exists: IfExists::Join,
        };
        let room_slot = self.bracketed(slot, Flow::Enter, &target, emit)?;
        Ok(self.join_snapshot(room_slot))
    }

    pub(crate) fn enter_room(
        &mut self,
        session: SessionId,
        room: &RoomInfo,
        config: Option<&RoomConfig>,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        self.check_room_info(room)?;
        let settings = self.check_room_config(config)?;
        self.require_outside(slot, room.id)?;
        self.require_room_budget(slot)?;
        let target = Target {
            info: room,
            config,
            settings,
            if_missing: self.clients_may_create(true),
            if_exists: IfExists::Join,
        };
        let room_slot = self.bracketed(slot, Flow::Enter, &target, emit)?;
        Ok(self.join_snapshot(room_slot))
    }

    pub(crate) fn switch_room(
        &mut self,
        session: SessionId,
        from: RoomId,
        to: &RoomInfo,
        create_if_missing: bool,
        config: Option<&RoomConfig>,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        self.check_room_id(from)?;
        self.check_room_info(to)?;
        let settings = self.check_room_config(config)?;
        let source = self.require_member(slot, from)?;
        self.require_outside(slot, to.id)?;
        // A switch keeps the room count, so the joined-room limit never refuses it.
        let target = Target {
            info: to,
            config,
            settings,
            if_missing: self.clients_may_create(create_if_missing),
            if_exists: IfExists::Join,
        };
        let room_slot = self.bracketed(slot, Flow::Switch, &target, emit)?;
        // Target connected first (inside `bracketed`), then the source is left.
        self.leave_now(slot, source, RoomEvent::Success, ExitReason::Left, emit);
        Ok(self.join_snapshot(room_slot))
    }

    pub(crate) fn leave_room(
        &mut self,
        session: SessionId,
        room_id: RoomId,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        self.check_room_id(room_id)?;
        let room_slot = self.require_member(slot, room_id)?;
        self.leave_now(slot, room_slot, RoomEvent::Success, ExitReason::Left, emit);
        Ok(ReplyOk::RoomId { room_id })
    }

    pub(crate) fn leave_all_rooms(
        &mut self,
        session: SessionId,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        let rooms = self.rooms_of(slot);
        if rooms.iter().any(|&(_, reconnecting)| reconnecting) {
            return Err(Error::RoomConnecting);
        }
        let mut room_ids = Vec::with_capacity(rooms.len());
        for (room_slot, _) in rooms {
            room_ids.push(self.state.room_id(room_slot));
            self.leave_now(slot, room_slot, RoomEvent::Success, ExitReason::Left, emit);
        }
        Ok(ReplyOk::LeftAll { room_ids })
    }

    /// The session's rooms in join order, each with whether it is reconnecting.
    pub(crate) fn rooms_of(&self, session_slot: u32) -> Vec<(u32, bool)> {
        self.state
            .session(session_slot)
            .memberships()
            .iter()
            .map(|m| (m.room, m.is_reconnecting()))
            .collect()
    }

    /// The session leaves the room now, for `exit`: it sees `disconnected`/`event`, the
    /// others get `members_left` with the reason they see, and an emptied room starts its
    /// destroy delay.
    pub(crate) fn leave_now(
        &mut self,
        session_slot: u32,
        room_slot: u32,
        event: RoomEvent,
        exit: ExitReason,
        emit: &mut Emit<'_>,
    ) {
        let (session_id, room_id) = (
            self.state.session(session_slot).id,
            self.state.room_id(room_slot),
        );
        emit.state(session_id, room_id, RoomState::Disconnected, event);
        self.remove_member(room_slot, session_slot, exit, emit);
        self.settle_room(room_slot, emit);
    }

    /// Whether a flow of a client may create its room: only if it asks to and the service
    /// lets clients create rooms.
    fn clients_may_create(&self, asked: bool) -> IfMissing {
        if asked && self.state.config.clients_create_rooms {
            IfMissing::Create
        } else {
            IfMissing::Fail
        }
    }

    /// The registry step of a bracketed flow: `connecting`, then join or create, then
    /// `connected`, or `disconnected` with the failure event and the error.
    fn bracketed(
        &mut self,
        session_slot: u32,
        flow: Flow,
        target: &Target<'_>,
        emit: &mut Emit<'_>,
    ) -> Result<u32, Error> {
        let session_id = self.state.session(session_slot).id;
        let room_id = target.info.id;
        emit.state(session_id, room_id, RoomState::Connecting, flow.started());
        match self.registry_check(session_slot, target) {
            Ok(existing) => {
                let room_slot = match existing {
                    Some(slot) => slot,
                    None => self.create_with_config(session_slot, target, emit),
                };
                self.add_member(room_slot, session_slot, emit);
                Ok(room_slot)
            }
            Err(e) => {
                emit.state(session_id, room_id, RoomState::Disconnected, flow.failed());
                Err(e)
            }
        }
    }

    /// Decides the registry outcome without changing anything: `Some(slot)` to join an
    /// existing room, `None` to create it, or the error, in the registry's check order: the
    /// room exists or not, then a ban, then the room's or the server's limit.
    fn registry_check(&self, session_slot: u32, target: &Target<'_>) -> Result<Option<u32>, Error> {
        let existing = self.room_slot(target.info.id);
        match existing {
            Some(_) if target.if_exists == IfExists::Fail => return Err(Error::RoomAlreadyExists),
            None if target.if_missing == IfMissing::Fail => return Err(Error::RoomNotExist),
            _ => {}
        }
        if self.is_banned(target.info.id, self.state.session(session_slot).user) {
            return Err(Error::UserBanned);
        }
        match existing {
            Some(slot) => self.require_seat(slot, session_slot).map(|()| Some(slot)),
            None => self.require_room_capacity().map(|()| None),
        }
    }

    fn create_with_config(
        &mut self,
        creator: u32,
        target: &Target<'_>,
        emit: &mut Emit<'_>,
    ) -> u32 {
        let slot = self.create_room_now(target.info, target.settings, emit);
        if let Some(config) = target.config {
            self.seed_attributes(slot, Some(creator), config);
        }
        slot
    }
}

/// A registry target: the room, what to do if it is missing or exists, and its settings.
struct Target<'a> {
    info: &'a RoomInfo,
    config: Option<&'a RoomConfig>,
    settings: RoomSettings,
    if_missing: IfMissing,
    if_exists: IfExists,
}
