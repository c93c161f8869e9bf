//! The embedding service's surface as the model sees it: room incarnations, service events,
//! the join snapshot and the member queries, rooms the service creates, lists and reads,
//! service-owned attributes, moves and bans. Written from the documented behaviour, as plain
//! scans of the model's maps.

use super::state::{MAttr, MRoom, Model, TimerWhat};
use super::validate;
use roomcore::config::RoomConfig;
use roomcore::error::Error;
use roomcore::ids::{RoomId, RoomSid, SessionId, UserId};
use roomcore::input::RoomInfo;
use roomcore::output::{
    DestroyCause, ExitReason, LeaveReason, Output, ReplyOk, RoomEvent, RoomState, RoomSummary,
};
use std::collections::BTreeMap;

/// The reason the remaining members see for a membership that ended for `exit`; `None` when
/// nobody remains to be told (a dismissal). A move looks like a switch: `left`.
pub(super) fn members_see(exit: ExitReason) -> Option<LeaveReason> {
    match exit {
        ExitReason::Left | ExitReason::Moved => Some(LeaveReason::Left),
        ExitReason::Kicked => Some(LeaveReason::Kicked),
        ExitReason::Banned => Some(LeaveReason::Banned),
        ExitReason::Timeout => Some(LeaveReason::Timeout),
        ExitReason::OtherDevice => Some(LeaveReason::OtherDevice),
        ExitReason::Dismissed => None,
    }
}

impl Model {
    /// The next service event number, when service events are on.
    pub(super) fn event_id(&mut self) -> Option<u64> {
        if !self.cfg.service_events {
            return None;
        }
        let id = self.next_event_id;
        self.next_event_id += 1;
        Some(id)
    }

    fn sid(&self, room: RoomId) -> RoomSid {
        RoomSid(self.rooms.get(&room).map_or(0, |r| r.sid))
    }

    /// Service event: `session` became a member of `room`.
    pub(super) fn tell_joined(&mut self, room: RoomId, session: SessionId) {
        let (Some(user), sid) = (self.user_of(session), self.sid(room)) else {
            return;
        };
        if let Some(event_id) = self.event_id() {
            self.emit(Output::MemberJoined {
                room_id: room,
                sid,
                user_id: user,
                session_id: session,
                event_id,
            });
        }
    }

    /// Service event: `session`'s membership of `room` ended.
    pub(super) fn tell_left(&mut self, room: RoomId, session: SessionId, reason: ExitReason) {
        let (Some(user), sid) = (self.user_of(session), self.sid(room)) else {
            return;
        };
        if let Some(event_id) = self.event_id() {
            self.emit(Output::MemberLeft {
                room_id: room,
                sid,
                user_id: user,
                session_id: session,
                reason,
                event_id,
            });
        }
    }

    /// A new room comes into existence (the next sid; `room_created`). `owner` owns its
    /// initial attributes (`None`: the service).
    pub(super) fn new_room(
        &mut self,
        info: &RoomInfo,
        rc: Option<&RoomConfig>,
        owner: Option<UserId>,
    ) {
        let rc = rc.cloned().unwrap_or_default();
        let attrs = rc
            .attributes
            .iter()
            .map(|(k, v)| {
                let a = MAttr {
                    value: v.clone(),
                    owner,
                    delete_after_owner_left: false,
                };
                (k.clone(), a)
            })
            .collect::<BTreeMap<_, _>>();
        let generation = self.generation();
        self.rooms_created += 1;
        let sid = self.rooms_created;
        let max_members = match rc.max_members {
            0 => self.cfg.max_members_per_room,
            n => n,
        };
        self.rooms.insert(
            info.id,
            MRoom {
                name: info.name.to_string(),
                generation,
                sid,
                max_members,
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
        let event_id = self.event_id();
        self.emit(Output::RoomCreated {
            room_id: info.id,
            sid: Some(RoomSid(sid)),
            event_id,
        });
    }

    /// The room is gone (`room_destroyed`).
    pub(super) fn room_gone(&mut self, room: RoomId, cause: DestroyCause) {
        if let Some(r) = self.rooms.remove(&room) {
            let event_id = self.event_id();
            self.emit(Output::RoomDestroyed {
                room_id: room,
                sid: Some(RoomSid(r.sid)),
                cause,
                event_id,
            });
        }
    }

    /// The reply of a command that put the caller in `room`: the room as it is now.
    pub(super) fn snapshot(&self, room: RoomId) -> ReplyOk {
        let r = &self.rooms[&room];
        ReplyOk::Room {
            room: RoomInfo {
                id: room,
                name: r.name.as_str().into(),
            },
            sid: Some(RoomSid(r.sid)),
            member_count: Some(r.members.len() as u32),
            attributes: Some(values(r)),
        }
    }

    fn details(&self, room: RoomId) -> ReplyOk {
        let r = &self.rooms[&room];
        ReplyOk::RoomDetails {
            room_id: room,
            sid: RoomSid(r.sid),
            name: r.name.as_str().into(),
            member_count: r.members.len() as u32,
            attributes: values(r),
        }
    }

    /// A member reads its room's attributes.
    pub(super) fn query_room_attributes(
        &self,
        session: SessionId,
        room: RoomId,
    ) -> Result<ReplyOk, Error> {
        self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        self.must_be_member(session, room)?;
        Ok(ReplyOk::RoomAttributes {
            attributes: values(&self.rooms[&room]),
        })
    }

    /// A member reads how many members its room has.
    pub(super) fn online_count(&self, session: SessionId, room: RoomId) -> Result<ReplyOk, Error> {
        self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        self.must_be_member(session, room)?;
        Ok(ReplyOk::OnlineCount {
            count: self.rooms[&room].members.len() as u32,
        })
    }

    /// Whether `user` is banned from `room` now.
    pub(super) fn banned(&self, room: RoomId, user: UserId) -> bool {
        self.bans.contains_key(&(room, user))
    }

    // ---- admin ---------------------------------------------------------------------------

    pub(super) fn admin_create(
        &mut self,
        info: &RoomInfo,
        rc: Option<&RoomConfig>,
    ) -> Result<ReplyOk, Error> {
        validate::room_info(&self.cfg, info)?;
        validate::admin_room_config(&self.cfg, rc)?;
        if self.rooms.contains_key(&info.id) {
            return Err(Error::RoomAlreadyExists);
        }
        if self.rooms.len() >= self.cfg.max_rooms as usize {
            return Err(Error::ServerRoomLimit {
                max: self.cfg.max_rooms,
            });
        }
        self.new_room(info, rc, None);
        let timeout_s = rc.and_then(|c| c.empty_timeout_s).unwrap_or(300);
        let seq = self.arm(timeout_s * 1000, TimerWhat::Destroy(info.id));
        if let Some(r) = self.rooms.get_mut(&info.id) {
            r.destroy_timer = Some(seq);
        }
        Ok(self.details(info.id))
    }

    pub(super) fn list_rooms(&self, next: &str, count: u32) -> Result<ReplyOk, Error> {
        if count == 0 || count > 100 {
            return Err(Error::InvalidArgument(""));
        }
        // The model's list cursor: `L:<sid>` of the first room of the next page.
        let from = if next.is_empty() {
            0
        } else {
            next.strip_prefix("L:")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or(Error::InvalidArgument(""))?
        };
        let mut all: Vec<(u64, RoomId)> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.sid >= from)
            .map(|(id, r)| (r.sid, *id))
            .collect();
        all.sort();
        let rooms = all
            .iter()
            .take(count as usize)
            .map(|(sid, id)| {
                let r = &self.rooms[id];
                RoomSummary {
                    room_id: *id,
                    sid: RoomSid(*sid),
                    name: r.name.as_str().into(),
                    member_count: r.members.len() as u32,
                }
            })
            .collect();
        let next = all
            .get(count as usize)
            .map_or_else(String::new, |(sid, _)| format!("L:{sid}"));
        Ok(ReplyOk::Rooms { rooms, next })
    }

    pub(super) fn query_room(&self, room: RoomId) -> Result<ReplyOk, Error> {
        validate::room_id(&self.cfg, room)?;
        if !self.rooms.contains_key(&room) {
            return Err(Error::RoomNotExist);
        }
        Ok(self.details(room))
    }

    pub(super) fn admin_attrs(
        &mut self,
        room: RoomId,
        set: &BTreeMap<String, String>,
        delete: &[String],
    ) -> Result<ReplyOk, Error> {
        validate::room_id(&self.cfg, room)?;
        if set.is_empty() && delete.is_empty() {
            return Err(Error::InvalidArgument(""));
        }
        if set.keys().chain(delete).any(String::is_empty) {
            return Err(Error::InvalidArgument(""));
        }
        if delete.iter().any(|k| set.contains_key(k)) {
            return Err(Error::InvalidArgument(""));
        }
        let Some(r) = self.rooms.get(&room) else {
            return Err(Error::RoomNotExist);
        };
        // The limits, for the set as it would be after the call.
        let mut after: BTreeMap<String, String> = r
            .attrs
            .iter()
            .filter(|(k, _)| !delete.contains(k))
            .map(|(k, a)| (k.clone(), a.value.clone()))
            .collect();
        for (k, v) in set {
            validate::attrs_fit(&self.cfg, &[(k, v)], 0, 0)?;
            after.insert(k.clone(), v.clone());
        }
        let pairs: Vec<(&String, &String)> = after.iter().collect();
        validate::attrs_fit(&self.cfg, &pairs, 0, 0)?;
        let r = self.rooms.get_mut(&room).ok_or(Error::RoomNotExist)?;
        let deleted: Vec<String> = delete
            .iter()
            .filter(|k| r.attrs.remove(*k).is_some())
            .cloned()
            .collect();
        for (k, v) in set {
            r.attrs.insert(
                k.clone(),
                MAttr {
                    value: v.clone(),
                    owner: None,
                    delete_after_owner_left: false,
                },
            );
        }
        if !set.is_empty() || !deleted.is_empty() {
            let keys: Vec<String> = set.keys().cloned().collect();
            self.note_attrs_written(room, &keys);
            self.tell_attrs(room, None, set.clone(), deleted);
        }
        Ok(ReplyOk::Empty {})
    }

    /// The users an admin command names: 1..=`max_kick_users` valid ids, repeats dropped.
    pub(super) fn admin_users(&self, room: RoomId, users: &[UserId]) -> Result<Vec<UserId>, Error> {
        validate::room_id(&self.cfg, room)?;
        if users.is_empty() || users.len() > self.cfg.max_kick_users as usize {
            return Err(Error::InvalidArgument(""));
        }
        let mut named = Vec::new();
        for u in users {
            validate::user_id(&self.cfg, *u)?;
            if !named.contains(u) {
                named.push(*u);
            }
        }
        Ok(named)
    }

    pub(super) fn ban(
        &mut self,
        room: RoomId,
        users: &[UserId],
        duration_s: u64,
    ) -> Result<ReplyOk, Error> {
        let named = self.admin_users(room, users)?;
        if duration_s == 0 || duration_s > 604_800 {
            return Err(Error::InvalidArgument(""));
        }
        let new = named.iter().filter(|u| !self.banned(room, **u)).count();
        if self.bans.len() + new > self.cfg.max_bans as usize {
            return Err(Error::BanLimit {
                max: self.cfg.max_bans,
            });
        }
        for u in &named {
            if let Some((_, seq)) = self.bans.remove(&(room, *u)) {
                self.cancel(seq);
            }
            let seq = self.arm(duration_s * 1000, TimerWhat::BanEnd(room, *u));
            let until = self.now + duration_s * 1000;
            self.bans.insert((room, *u), (until, seq));
        }
        let removed = if self.rooms.contains_key(&room) {
            self.eject(room, &named, ExitReason::Banned, RoomEvent::KickedOut)
                .0
        } else {
            Vec::new()
        };
        Ok(ReplyOk::UsersBanned {
            banned: named,
            removed,
        })
    }

    pub(super) fn unban(&mut self, room: RoomId, users: &[UserId]) -> Result<ReplyOk, Error> {
        let named = self.admin_users(room, users)?;
        let (mut unbanned, mut skipped) = (Vec::new(), Vec::new());
        for u in named {
            match self.bans.remove(&(room, u)) {
                Some((_, seq)) => {
                    self.cancel(seq);
                    unbanned.push(u);
                }
                None => skipped.push(u),
            }
        }
        Ok(ReplyOk::UsersUnbanned { unbanned, skipped })
    }

    /// A ban's time is up: it ends, telling nobody.
    pub(super) fn ban_due(&mut self, room: RoomId, user: UserId) {
        self.bans.remove(&(room, user));
    }

    pub(super) fn move_users(
        &mut self,
        from: RoomId,
        to: &RoomInfo,
        users: &[UserId],
        create_if_missing: bool,
        rc: Option<&RoomConfig>,
    ) -> Result<ReplyOk, Error> {
        validate::room_info(&self.cfg, to)?;
        validate::room_config(&self.cfg, rc)?;
        let named = self.admin_users(from, users)?;
        if from == to.id {
            return Err(Error::InvalidArgument(""));
        }
        if !self.rooms.contains_key(&from) {
            return Err(Error::RoomNotExist);
        }
        let target_exists = self.rooms.contains_key(&to.id);
        if !target_exists && !create_if_missing {
            return Err(Error::RoomNotExist);
        }
        // Who moves: a live member of `from` not already in `to` and not banned from it.
        let mut movers: Vec<(UserId, SessionId)> = Vec::new();
        let mut skipped = Vec::new();
        for u in named {
            let session = self
                .room_sessions(from)
                .unwrap_or_default()
                .into_iter()
                .find(|s| self.user_of(*s) == Some(u));
            let in_target = self.users_in(to.id).contains(&u);
            match session {
                Some(s) if !self.reconnecting(s, from) && !in_target && !self.banned(to.id, u) => {
                    movers.push((u, s));
                }
                _ => skipped.push(u),
            }
        }
        let max = if target_exists {
            self.rooms[&to.id].max_members
        } else {
            if self.rooms.len() >= self.cfg.max_rooms as usize {
                return Err(Error::ServerRoomLimit {
                    max: self.cfg.max_rooms,
                });
            }
            match rc.map_or(0, |c| c.max_members) {
                0 => self.cfg.max_members_per_room,
                n => n,
            }
        };
        if self.users_in(to.id).len() + movers.len() > max as usize {
            return Err(Error::RoomFull { max });
        }
        if movers.is_empty() {
            return Ok(ReplyOk::UsersMoved {
                moved: Vec::new(),
                skipped,
            });
        }
        if !target_exists {
            self.new_room(to, rc, None);
        }
        // What a switch shows each of them: the target connecting then connected (all of them
        // first), then the source left, all at once as a kick would take them out.
        for (_, s) in &movers {
            self.state(*s, to.id, RoomState::Connecting, RoomEvent::ActiveSwitch);
            self.admit(to.id, *s);
        }
        let users: Vec<UserId> = movers.iter().map(|(u, _)| *u).collect();
        let (moved, _) = self.eject(from, &users, ExitReason::Moved, RoomEvent::Success);
        Ok(ReplyOk::UsersMoved { moved, skipped })
    }
}

fn values(r: &MRoom) -> BTreeMap<String, String> {
    r.attrs
        .iter()
        .map(|(k, a)| (k.clone(), a.value.clone()))
        .collect()
}
