//! Session room flows: create, join, enter, switch, leave, leave all, and member paging.
//!
//! A flow that reaches the room registry is bracketed for the caller: `connecting` with the
//! flow's event, then `connected`/`success` or `disconnected` with the flow's failure event,
//! then the reply (which the dispatcher sends). Request checks refuse before the bracket.

use crate::config::RoomConfig;
use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{RoomId, SessionId};
use crate::input::RoomInfo;
use crate::output::{LeaveReason, Member, ReplyOk, RoomEvent, RoomState};

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
        let delay_ms = self.check_room_config(config)?;
        self.require_outside(slot, room.id)?;
        self.require_room_budget(slot)?;
        let target = Target {
            info: room,
            config,
            delay_ms,
            if_missing: IfMissing::Create,
            if_exists: IfExists::Fail,
        };
        self.bracketed(slot, Flow::Create, &target, emit)?;
        Ok(self.room_reply(room.id))
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
            name: String::new(),
        };
        let target = Target {
            info: &info,
            config: None,
            delay_ms: 0,
            if_missing: IfMissing::Fail,
            if_exists: IfExists::Join,
        };
        self.bracketed(slot, Flow::Enter, &target, emit)?;
        Ok(self.room_reply(room_id))
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
        let delay_ms = self.check_room_config(config)?;
        self.require_outside(slot, room.id)?;
        self.require_room_budget(slot)?;
        let target = Target {
            info: room,
            config,
            delay_ms,
            if_missing: IfMissing::Create,
            if_exists: IfExists::Join,
        };
        self.bracketed(slot, Flow::Enter, &target, emit)?;
        Ok(self.room_reply(room.id))
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
        let delay_ms = self.check_room_config(config)?;
        let source = self.require_member(slot, from)?;
        self.require_outside(slot, to.id)?;
        // A switch keeps the room count, so the joined-room limit never refuses it.
        let target = Target {
            info: to,
            config,
            delay_ms,
            if_missing: if create_if_missing {
                IfMissing::Create
            } else {
                IfMissing::Fail
            },
            if_exists: IfExists::Join,
        };
        self.bracketed(slot, Flow::Switch, &target, emit)?;
        // Target connected first (inside `bracketed`), then the source is left.
        self.leave_now(slot, source, RoomEvent::Success, LeaveReason::Left, emit);
        Ok(self.room_reply(to.id))
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
        self.leave_now(slot, room_slot, RoomEvent::Success, LeaveReason::Left, emit);
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
            room_ids.push(self.state.room(room_slot).id);
            self.leave_now(slot, room_slot, RoomEvent::Success, LeaveReason::Left, emit);
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

    /// The session leaves the room now: it sees `disconnected`/`event`, the others get
    /// `members_left` with `reason`, and an emptied room starts its destroy delay.
    pub(crate) fn leave_now(
        &mut self,
        session_slot: u32,
        room_slot: u32,
        event: RoomEvent,
        reason: LeaveReason,
        emit: &mut Emit<'_>,
    ) {
        let (session_id, room_id) = (
            self.state.session(session_slot).id,
            self.state.room(room_slot).id,
        );
        emit.state(session_id, room_id, RoomState::Disconnected, event);
        self.remove_member(room_slot, session_slot, Some(reason), emit);
        self.settle_room(room_slot, emit);
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
    /// existing room, `None` to create it, or the error.
    fn registry_check(&self, session_slot: u32, target: &Target<'_>) -> Result<Option<u32>, Error> {
        match self.room_slot(target.info.id) {
            Some(_) if target.if_exists == IfExists::Fail => Err(Error::RoomAlreadyExists),
            Some(slot) => self.require_seat(slot, session_slot).map(|()| Some(slot)),
            None if target.if_missing == IfMissing::Fail => Err(Error::RoomNotExist),
            None => self.require_room_capacity().map(|()| None),
        }
    }

    fn create_with_config(
        &mut self,
        creator: u32,
        target: &Target<'_>,
        emit: &mut Emit<'_>,
    ) -> u32 {
        let slot = self.create_room_now(target.info, target.delay_ms, emit);
        if let Some(config) = target.config {
            self.seed_attributes(slot, creator, config);
        }
        slot
    }

    fn room_reply(&self, room_id: RoomId) -> ReplyOk {
        let name = self
            .room(room_id)
            .expect("a flow that succeeded left the caller in the room")
            .name
            .clone();
        ReplyOk::Room {
            room: RoomInfo { id: room_id, name },
        }
    }

    /// One page of the member list in join order (reconnecting members included).
    ///
    /// Decisions (the requirements leave these open; docs/decisions.md): the cursor names the room incarnation and the
    /// join sequence number to resume at, so a member who stays is never skipped or repeated,
    /// a member who joins meanwhile appears at the end, and one who leaves and comes back
    /// between pages appears again at the end (it is a new member). A page can be empty with
    /// an empty `next` when everyone after the cursor left. A cursor from another room, or
    /// from an earlier room with the same id, is `invalid_argument`, as is a malformed one;
    /// `count` outside 1..=100 too. Check order: session, room id, count, cursor syntax, then
    /// membership, then the cursor's room.
    pub(crate) fn query_members(
        &self,
        session: SessionId,
        room_id: RoomId,
        next: &str,
        count: u32,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        self.check_room_id(room_id)?;
        if !(1..=MAX_PAGE).contains(&count) {
            return Err(Error::InvalidArgument("count must be 1..=100"));
        }
        let cursor = Cursor::parse(next)?;
        let room_slot = self.require_member(slot, room_id)?;
        let room = self.state.room(room_slot);
        let from = match cursor {
            None => 0,
            Some(c) if c.incarnation == room.incarnation => c.join_seq,
            Some(_) => return Err(Error::InvalidArgument("cursor is from another room")),
        };
        let mut members = Vec::with_capacity(count as usize);
        let mut rest = room.members().range(from..);
        for (_, &s) in rest.by_ref().take(count as usize) {
            members.push(Member {
                user_id: self.state.session(s).user,
            });
        }
        let next = rest.next().map_or_else(String::new, |(&seq, _)| {
            Cursor {
                incarnation: room.incarnation,
                join_seq: seq,
            }
            .encode()
        });
        Ok(ReplyOk::Members { members, next })
    }
}

/// Largest page `query_members` returns (ZIM: 100).
pub const MAX_PAGE: u32 = 100;

/// A registry target: the room, what to do if it is missing or exists, and its settings.
struct Target<'a> {
    info: &'a RoomInfo,
    config: Option<&'a RoomConfig>,
    delay_ms: u64,
    if_missing: IfMissing,
    if_exists: IfExists,
}

/// A paging cursor: the room's incarnation and the join sequence number to resume at. Join
/// sequence numbers are never reused within a room, so members who stay are neither skipped
/// nor repeated however others come and go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    incarnation: u64,
    join_seq: u64,
}

impl Cursor {
    fn parse(s: &str) -> Result<Option<Cursor>, Error> {
        if s.is_empty() {
            return Ok(None);
        }
        let bad = Error::InvalidArgument("malformed cursor");
        let (a, b) = s.split_once('.').ok_or_else(|| bad.clone())?;
        let incarnation = u64::from_str_radix(a, 16).map_err(|_| bad.clone())?;
        let join_seq = u64::from_str_radix(b, 16).map_err(|_| bad)?;
        Ok(Some(Cursor {
            incarnation,
            join_seq,
        }))
    }

    fn encode(self) -> String {
        format!("{:x}.{:x}", self.incarnation, self.join_seq)
    }
}
