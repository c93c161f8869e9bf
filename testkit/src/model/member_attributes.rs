//! Room member attributes (ZIM `setRoomMembersAttributes`, `deleteRoomMembersAttributes`,
//! `queryRoomMembersAttributes`). The product brief names none of this; the model
//! follows the rules the engine documents (its `member_attributes.rs`), written out plainly:
//! - any live member may write any member's attributes; `user_ids` absent means the caller's
//!   own user, present it names 1..=`member_attributes_max_users` users (repeats count once);
//!   users not in the room are skipped and named in the reply;
//! - checks: the session, the room id, the arguments (`invalid_argument`, then
//!   `invalid_user_id`), the caller's membership (`user_not_in_room`, `room_connecting`),
//!   then (set only) the limits, all or nothing (`attribute_limit`);
//! - a change reaches every live member, the caller included, as one update listing each
//!   member changed (a set changes every member it names; a delete those that had a key),
//!   in request order, each with its whole set; the reply lists every named member in the
//!   room with its whole set;
//! - a member who leaves takes its attributes along (the others are told it has none, if
//!   it had any); another device of the same user taking its place is not a leave.

use super::state::{MemberAttributeSets, Model};
use super::validate;
use roomcore::error::Error;
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::output::{MemberAttributesInfo, Output, ReplyOk};
use std::collections::BTreeMap;

/// The members a call names: those in the room, and the rest.
struct Named {
    members: Vec<UserId>,
    skipped: Vec<UserId>,
}

impl Model {
    /// A member's attributes now (empty if none).
    pub(super) fn member_attrs_of(&self, room: RoomId, user: UserId) -> BTreeMap<String, String> {
        self.rooms
            .get(&room)
            .and_then(|r| r.member_attrs.get(&user))
            .cloned()
            .unwrap_or_default()
    }

    fn infos(&self, room: RoomId, users: &[UserId]) -> Vec<MemberAttributesInfo> {
        users
            .iter()
            .map(|u| MemberAttributesInfo {
                user_id: *u,
                attributes: self.member_attrs_of(room, *u),
            })
            .collect()
    }

    fn tell_member_attrs(&mut self, room: RoomId, members: Vec<MemberAttributesInfo>) {
        for s in self.live_members(room, None) {
            self.emit(Output::RoomMemberAttributesUpdated {
                to: s.into(),
                room_id: room,
                members: members.clone(),
            });
        }
    }

    /// The checks every call shares, in order; `keys_ok` is the verdict on the keys (an
    /// argument check, answered before the user list).
    fn named(
        &self,
        session: SessionId,
        room: RoomId,
        keys_ok: bool,
        user_ids: Option<&[UserId]>,
    ) -> Result<Named, Error> {
        let me = self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        if !keys_ok {
            return Err(Error::InvalidArgument(""));
        }
        let mut named: Vec<UserId> = Vec::new();
        match user_ids {
            None => named.push(me),
            Some(list) => {
                if list.is_empty() || list.len() > self.cfg.member_attributes_max_users as usize {
                    return Err(Error::InvalidArgument(""));
                }
                for u in list {
                    validate::user_id(&self.cfg, *u)?;
                    if !named.contains(u) {
                        named.push(*u);
                    }
                }
            }
        }
        self.must_be_member(session, room)?;
        let in_room = self.users_in(room);
        let (members, skipped) = named.into_iter().partition(|u| in_room.contains(u));
        Ok(Named { members, skipped })
    }

    pub(super) fn set_member_attrs(
        &mut self,
        session: SessionId,
        room: RoomId,
        attrs: &BTreeMap<String, String>,
        user_ids: Option<&[UserId]>,
    ) -> Result<ReplyOk, Error> {
        let keys_ok = !attrs.is_empty() && !attrs.keys().any(String::is_empty);
        let n = self.named(session, room, keys_ok, user_ids)?;
        let c = &self.cfg;
        if self.users_in(room).len() > c.member_attributes_max_room_members as usize {
            return Err(Error::AttributeLimit(""));
        }
        for (k, v) in attrs {
            if k.len() > c.member_attribute_key_max_bytes as usize
                || v.len() > c.member_attribute_value_max_bytes as usize
            {
                return Err(Error::AttributeLimit(""));
            }
        }
        let mut after: Vec<(UserId, BTreeMap<String, String>)> = Vec::new();
        for u in &n.members {
            let mut set = self.member_attrs_of(room, *u);
            set.extend(attrs.iter().map(|(k, v)| (k.clone(), v.clone())));
            let total: usize = set.iter().map(|(k, v)| k.len() + v.len()).sum();
            if set.len() > c.max_member_attributes as usize
                || total > c.member_attributes_total_max_bytes as usize
            {
                return Err(Error::AttributeLimit(""));
            }
            after.push((*u, set));
        }
        if n.members.is_empty() {
            return Ok(ReplyOk::MemberAttributes {
                member_attributes: Vec::new(),
                skipped: n.skipped,
            });
        }
        if let Some(r) = self.rooms.get_mut(&room) {
            r.member_attrs.extend(after);
        }
        self.note_members_written(room, &n.members);
        let changed = self.infos(room, &n.members);
        self.tell_member_attrs(room, changed.clone());
        Ok(ReplyOk::MemberAttributes {
            member_attributes: changed,
            skipped: n.skipped,
        })
    }

    pub(super) fn delete_member_attrs(
        &mut self,
        session: SessionId,
        room: RoomId,
        keys: &[String],
        user_ids: Option<&[UserId]>,
    ) -> Result<ReplyOk, Error> {
        let keys_ok = !keys.is_empty() && !keys.iter().any(String::is_empty);
        let n = self.named(session, room, keys_ok, user_ids)?;
        let mut changed: Vec<UserId> = Vec::new();
        if let Some(r) = self.rooms.get_mut(&room) {
            for u in &n.members {
                let Some(set) = r.member_attrs.get_mut(u) else {
                    continue;
                };
                if keys.iter().any(|k| set.contains_key(k)) {
                    set.retain(|k, _| !keys.contains(k));
                    changed.push(*u);
                }
            }
        }
        if !changed.is_empty() {
            self.note_members_written(room, &changed);
            let infos = self.infos(room, &changed);
            self.tell_member_attrs(room, infos);
        }
        Ok(ReplyOk::MemberAttributes {
            member_attributes: self.infos(room, &n.members),
            skipped: n.skipped,
        })
    }

    pub(super) fn query_member_attrs(
        &self,
        session: SessionId,
        room: RoomId,
        user_ids: Option<&[UserId]>,
    ) -> Result<ReplyOk, Error> {
        let n = self.named(session, room, true, user_ids)?;
        Ok(ReplyOk::MemberAttributes {
            member_attributes: self.infos(room, &n.members),
            skipped: n.skipped,
        })
    }

    /// `user` left `room` (already out of its lists): its attributes go, and if it had any
    /// the members left are told it has none now.
    pub(super) fn member_attrs_left(&mut self, room: RoomId, user: UserId) {
        let Some(set) = self
            .rooms
            .get_mut(&room)
            .and_then(|r| r.member_attrs.remove(&user))
        else {
            return;
        };
        if !set.is_empty() {
            let info = MemberAttributesInfo {
                user_id: user,
                attributes: BTreeMap::new(),
            };
            self.tell_member_attrs(room, vec![info]);
        }
    }

    /// The members of `room` that have attributes, each with its set, by user id (members
    /// whose keys were all deleted have none).
    #[must_use]
    pub fn member_attributes(&self, room: RoomId) -> Option<MemberAttributeSets> {
        let r = self.rooms.get(&room)?;
        Some(
            r.member_attrs
                .iter()
                .filter(|(_, set)| !set.is_empty())
                .map(|(u, set)| (*u, set.clone()))
                .collect(),
        )
    }
}
