//! Room flows (DESIGN.md section 3: create / join / enter, switch, leave, delayed
//! destruction), on plain maps and lists.

use super::state::{MMember, MRoom, TimerWhat};
use super::valid;
use super::Model;
use crate::config::{DevicePolicy, RoomConfig};
use crate::error::Error;
use crate::ids::{RoomId, SessionId, UserId};
use crate::input::RoomInfo;
use crate::output::{
    DestroyCause, LeaveReason, Member, Members, Output, ReplyOk, RoomEvent, RoomState,
};
use std::collections::BTreeMap;

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

pub(super) fn members_of(users: &[UserId]) -> Members {
    users.iter().map(|u| Member { user_id: *u }).collect()
}

impl Model {
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

    fn room_count_of(&self, session: SessionId) -> usize {
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

    pub(super) fn state(
        &mut self,
        session: SessionId,
        room: RoomId,
        state: RoomState,
        event: RoomEvent,
    ) {
        self.emit(Output::RoomStateChanged {
            session,
            room_id: room,
            state,
            event,
        });
    }

    // ---- primitive changes -----------------------------------------------------------------

    /// Takes `session` out of `room`'s lists, telling no one (sessions reconnecting to the
    /// room note the departure for their delta; a grace with nothing left to wait for ends).
    pub(super) fn detach(&mut self, room: RoomId, session: SessionId) {
        if let Some(r) = self.rooms.get_mut(&room) {
            r.members.retain(|m| m.session != session);
        }
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        s.rooms.retain(|x| *x != room);
        s.lost_views.remove(&room);
        let user = s.user;
        self.note_departure(room, user);
        self.settle_grace(session);
    }

    /// A member leaves: it sees `own` (if any), the others `members_left` with `reason`, its
    /// attributes marked delete-after-owner-left go, then its member attributes, and an
    /// emptied room starts its timer.
    pub(super) fn remove_member(
        &mut self,
        room: RoomId,
        session: SessionId,
        own: Option<(RoomState, RoomEvent)>,
        reason: LeaveReason,
    ) {
        let Some(user) = self.user_of(session) else {
            return;
        };
        // The leaver hears first; then a large room decides before it goes (it still
        // counts; a full window may close right there).
        if let Some((st, ev)) = own {
            self.state(session, room, st, ev);
        }
        let batched = self.batched(room, self.users_in(room).len());
        self.detach(room, session);
        if batched {
            self.window_leaves(room, &[user], reason);
        } else {
            for other in self.live_members(room, None) {
                self.emit(Output::MembersLeft {
                    session: other,
                    room_id: room,
                    members: members_of(&[user]),
                    reason,
                });
            }
        }
        self.owner_left(room, user);
        self.member_attrs_left(room, user);
        self.after_leave(room);
    }

    /// If `room` is now empty: drop its attributes (unless kept) and start its destroy delay;
    /// a zero delay destroys it at once.
    pub(super) fn after_leave(&mut self, room: RoomId) {
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        if !r.members.is_empty() || r.destroy_timer.is_some() {
            return;
        }
        // No one is left to tell what an open window holds.
        if let Some(w) = r.window.take() {
            self.cancel(w.timer);
        }
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        if !r.keep_attrs {
            r.attrs.clear();
        }
        let delay = r.delay_ms;
        if delay == 0 {
            self.rooms.remove(&room);
            self.emit(Output::RoomDestroyed {
                room_id: room,
                cause: DestroyCause::Empty,
            });
            return;
        }
        let seq = self.arm(delay, TimerWhat::Destroy(room));
        if let Some(r) = self.rooms.get_mut(&room) {
            r.destroy_timer = Some(seq);
        }
    }

    /// A destroy deadline came: the room is gone.
    pub(super) fn destroy_due(&mut self, room: RoomId) {
        if self.rooms.remove(&room).is_some() {
            self.emit(Output::RoomDestroyed {
                room_id: room,
                cause: DestroyCause::Empty,
            });
        }
    }

    fn make_room(&mut self, info: &RoomInfo, rc: Option<&RoomConfig>, creator: UserId) {
        let rc = rc.cloned().unwrap_or_default();
        let attrs = rc
            .attributes
            .iter()
            .map(|(k, v)| {
                let a = super::state::MAttr {
                    value: v.clone(),
                    owner: creator,
                    delete_after_owner_left: false,
                };
                (k.clone(), a)
            })
            .collect::<BTreeMap<_, _>>();
        let generation = self.generation();
        self.rooms.insert(
            info.id,
            MRoom {
                name: info.name.clone(),
                generation,
                delay_ms: rc.destroy_delay_s * 1000,
                members: Vec::new(),
                next_join_no: 1,
                destroy_timer: None,
                attrs,
                keep_attrs: rc.keep_attributes_while_empty,
                msg_seq: 0,
                member_attrs: BTreeMap::new(),
                window: None,
            },
        );
        self.emit(Output::RoomCreated { room_id: info.id });
    }

    /// `session` becomes a member of `room` (which exists and has room for it).
    fn admit(&mut self, room: RoomId, session: SessionId) {
        let Some(user) = self.user_of(session) else {
            return;
        };
        // Multi-device: another device of the same user in the room is taken out of it; the
        // user stays one member, in its place in the join order (DESIGN.md: "the others see
        // no change"), so it is not a departure for anyone's reconnect delta either.
        let old = self
            .room_sessions(room)
            .unwrap_or_default()
            .into_iter()
            .find(|s| *s != session && self.user_of(*s) == Some(user));
        // A takeover changes no one's membership: nothing to batch. A join counts itself.
        let batched = old.is_none() && self.batched(room, self.users_in(room).len() + 1);
        let timer = match self.rooms.get_mut(&room) {
            Some(r) => {
                match r.members.iter_mut().find(|m| Some(m.session) == old) {
                    Some(m) => m.session = session,
                    None => {
                        let join_no = r.next_join_no;
                        r.next_join_no += 1;
                        r.members.push(MMember { session, join_no });
                    }
                }
                r.destroy_timer.take()
            }
            None => return,
        };
        if let Some(seq) = timer {
            self.cancel(seq);
        }
        if let Some(old) = old {
            if let Some(s) = self.sessions.get_mut(&old) {
                s.rooms.retain(|x| *x != room);
                s.lost_views.remove(&room);
            }
            self.settle_grace(old);
            self.state(
                old,
                room,
                RoomState::Disconnected,
                RoomEvent::KickedOutByOtherDevice,
            );
        }
        if let Some(s) = self.sessions.get_mut(&session) {
            s.rooms.push(room);
        }
        self.state(session, room, RoomState::Connected, RoomEvent::Success);
        if old.is_none() && !batched {
            for other in self.live_members(room, Some(session)) {
                self.emit(Output::MembersJoined {
                    session: other,
                    room_id: room,
                    members: members_of(&[user]),
                });
            }
        }
    }

    /// Whether `user` may not join `room` because it is at the member limit.
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
    /// `room_connecting` (DESIGN.md: commands that touch such a room answer that).
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
        valid::room_info(&self.cfg, info)?;
        valid::room_config(&self.cfg, rc)?;
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
        valid::room_id(&self.cfg, room)?;
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
        valid::room_info(&self.cfg, info)?;
        valid::room_config(&self.cfg, rc)?;
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
        valid::room_id(&self.cfg, from)?;
        valid::room_info(&self.cfg, to)?;
        valid::room_config(&self.cfg, rc)?;
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
        valid::room_id(&self.cfg, room)?;
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

/// Whether the single-device policy applies.
pub(super) fn single(policy: DevicePolicy) -> bool {
    policy == DevicePolicy::Single
}
