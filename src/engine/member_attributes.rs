//! Room member attributes (ZIM `setRoomMembersAttributes`, `deleteRoomMembersAttributes`,
//! `queryRoomMembersAttributes`): key-value pairs per user per room, within limits on count,
//! key, value and total size per member, in rooms of at most
//! `member_attributes_max_room_members` members. They go when the member leaves the room.
//!
//! Decisions (the requirements leave these open; docs/decisions.md):
//! - Who may write: any live member of the room may set or delete the attributes of any
//!   member of the room, as ZIM allows (deciding who may is the service's business, like
//!   room attributes with `is_force`). Member attributes have no owner and no force flag.
//!   `user_ids` absent means the caller's own user; present, it names 1..=
//!   `member_attributes_max_users` users (duplicates count once).
//! - Users named that are not in the room are skipped and named in the reply's `skipped`
//!   (ZIM's `errorUserList`, and like `remove_users`); a call that names nobody in the room
//!   succeeds and changes nothing. A user is in the room if one of its sessions is a member,
//!   connected or reconnecting.
//! - Check order: the session; the room id; the arguments (`invalid_argument`: an empty
//!   map or key list, an empty key, an empty or too long user list; `invalid_user_id`); the
//!   caller must be a live member (`user_not_in_room`, `room_connecting`); then the limits
//!   (`attribute_limit`: a key or value too long, a room with more than
//!   `member_attributes_max_room_members` members (set only: deleting and reading stay
//!   possible after a room grows past it), or a member over its count or total size). A
//!   refused call changes nothing, for any member.
//! - Every change reaches every live member (the caller included) as one
//!   `room_member_attributes_updated` listing each member whose attributes changed, in
//!   request order, each with its whole set. A set always counts as a change; a delete only
//!   for members that had one of the keys.
//! - The reply lists every named member that is in the room, with its whole set now (empty
//!   if it has none).
//! - When a member leaves by any path (leave, switch, kick, grace timeout, logout, another
//!   device's login), its attributes go and, if it had any, the members left get one
//!   `room_member_attributes_updated` with its set empty. A takeover by another device of
//!   the same user is not a leave: the attributes stay. A dismissed room takes them along.

use crate::engine::state::room::MemberAttributes;
use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{RoomId, SessionId, UserId};
use crate::output::{MemberAttributesInfo, Output, ReplyOk};
use std::collections::BTreeMap;

/// The members a call is about: those in the room, and the rest.
struct Targets {
    room_slot: u32,
    members: Vec<UserId>,
    skipped: Vec<UserId>,
}

impl Engine {
    pub(crate) fn set_room_members_attributes(
        &mut self,
        session: SessionId,
        room_id: RoomId,
        attrs: &BTreeMap<String, String>,
        user_ids: Option<&[UserId]>,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        if attrs.is_empty() {
            // Session and room id first, as everywhere.
            self.check_session(session)?;
            self.check_room_id(room_id)?;
            return Err(Error::InvalidArgument("no attributes to set"));
        }
        let t = self.member_targets(session, room_id, attrs.keys(), user_ids)?;
        self.check_member_set(&t, attrs)?;
        if t.members.is_empty() {
            return Ok(ReplyOk::MemberAttributes {
                member_attributes: Vec::new(),
                skipped: t.skipped,
            });
        }
        let room = self.state.room_mut(t.room_slot);
        room.cold_mut().member_attr_version += 1;
        let version = room.cold().member_attr_version;
        for user in &t.members {
            let record = room.cold_mut().member_attributes.entry(*user).or_default();
            for (k, v) in attrs {
                record.values.insert(k.clone(), v.clone());
            }
            record.version = version;
        }
        let changed = self.member_infos(t.room_slot, &t.members);
        self.announce_member_attributes(t.room_slot, changed.clone(), emit);
        Ok(ReplyOk::MemberAttributes {
            member_attributes: changed,
            skipped: t.skipped,
        })
    }

    pub(crate) fn delete_room_members_attributes(
        &mut self,
        session: SessionId,
        room_id: RoomId,
        keys: &[String],
        user_ids: Option<&[UserId]>,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        if keys.is_empty() {
            self.check_session(session)?;
            self.check_room_id(room_id)?;
            return Err(Error::InvalidArgument("no keys to delete"));
        }
        let t = self.member_targets(session, room_id, keys.iter(), user_ids)?;
        let room = self.state.room_mut(t.room_slot);
        let version = room.cold().member_attr_version + 1;
        let mut changed = Vec::new();
        for user in &t.members {
            let Some(record) = room.cold_mut().member_attributes.get_mut(user) else {
                continue;
            };
            let before = record.values.len();
            record.values.retain(|k, _| !keys.contains(k));
            if record.values.len() != before {
                record.version = version;
                changed.push(*user);
            }
        }
        if !changed.is_empty() {
            room.cold_mut().member_attr_version = version;
            let infos = self.member_infos(t.room_slot, &changed);
            self.announce_member_attributes(t.room_slot, infos, emit);
        }
        Ok(ReplyOk::MemberAttributes {
            member_attributes: self.member_infos(t.room_slot, &t.members),
            skipped: t.skipped,
        })
    }

    pub(crate) fn query_room_members_attributes(
        &self,
        session: SessionId,
        room_id: RoomId,
        user_ids: Option<&[UserId]>,
    ) -> Result<ReplyOk, Error> {
        let no_keys: [String; 0] = [];
        let t = self.member_targets(session, room_id, no_keys.iter(), user_ids)?;
        Ok(ReplyOk::MemberAttributes {
            member_attributes: self.member_infos(t.room_slot, &t.members),
            skipped: t.skipped,
        })
    }

    /// The checks every member attribute call shares, in the documented order, and the
    /// members it is about.
    fn member_targets<'a>(
        &self,
        session: SessionId,
        room_id: RoomId,
        mut keys: impl Iterator<Item = &'a String>,
        user_ids: Option<&[UserId]>,
    ) -> Result<Targets, Error> {
        let slot = self.check_session(session)?;
        self.check_room_id(room_id)?;
        if keys.any(String::is_empty) {
            return Err(Error::InvalidArgument("empty attribute key"));
        }
        let max = self.state.config.member_attributes_max_users as usize;
        let mut named: Vec<UserId> = Vec::new();
        match user_ids {
            None => named.push(self.user_of(slot)),
            Some(list) if list.is_empty() || list.len() > max => {
                return Err(Error::InvalidArgument(
                    "user_ids must name 1..=member_attributes_max_users users",
                ));
            }
            Some(list) => {
                for &u in list {
                    self.check_user_id(u)?;
                    if !named.contains(&u) {
                        named.push(u);
                    }
                }
            }
        }
        let room_slot = self.require_member(slot, room_id)?;
        let (members, skipped) = named
            .into_iter()
            .partition(|&u| self.user_in_room(room_slot, u));
        Ok(Targets {
            room_slot,
            members,
            skipped,
        })
    }

    /// The limits of a set, for every member it is about (all or nothing).
    fn check_member_set(&self, t: &Targets, attrs: &BTreeMap<String, String>) -> Result<(), Error> {
        let c = &self.state.config;
        let room = self.state.room(t.room_slot);
        if room.member_count() > c.member_attributes_max_room_members {
            return Err(Error::AttributeLimit(
                "room has too many members for member attributes",
            ));
        }
        for (k, v) in attrs {
            if k.len() > c.member_attribute_key_max_bytes as usize {
                return Err(Error::AttributeLimit("member attribute key too long"));
            }
            if v.len() > c.member_attribute_value_max_bytes as usize {
                return Err(Error::AttributeLimit("member attribute value too long"));
            }
        }
        let empty = MemberAttributes::default();
        for user in &t.members {
            let mut merged = room
                .cold()
                .member_attributes
                .get(user)
                .unwrap_or(&empty)
                .values
                .clone();
            merged.extend(attrs.iter().map(|(k, v)| (k.clone(), v.clone())));
            if merged.len() > c.max_member_attributes as usize {
                return Err(Error::AttributeLimit("too many member attributes"));
            }
            let total: usize = merged.iter().map(|(k, v)| k.len() + v.len()).sum();
            if total > c.member_attributes_total_max_bytes as usize {
                return Err(Error::AttributeLimit(
                    "member attributes over the total size",
                ));
            }
        }
        Ok(())
    }

    /// Each of `users` with its whole attribute set (empty if it has none), in that order.
    fn member_infos(&self, room_slot: u32, users: &[UserId]) -> Vec<MemberAttributesInfo> {
        let room = self.state.room(room_slot);
        users
            .iter()
            .map(|&user_id| MemberAttributesInfo {
                user_id,
                attributes: room
                    .cold()
                    .member_attributes
                    .get(&user_id)
                    .map(|a| a.values.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Whether one of `user`'s sessions is a member of the room (connected or reconnecting).
    pub(crate) fn user_in_room(&self, room_slot: u32, user: UserId) -> bool {
        self.user_sessions(user)
            .any(|s| self.state.session(s).membership(room_slot).is_some())
    }

    /// A member left the room: its attributes go, and if it had any the members left are
    /// told it has none now.
    pub(crate) fn member_left_attributes(
        &mut self,
        room_slot: u32,
        user: UserId,
        emit: &mut Emit<'_>,
    ) {
        let room = self.state.room_mut(room_slot);
        let Some(record) = room
            .cold_if_any()
            .and_then(|c| c.member_attributes.remove(&user))
        else {
            return;
        };
        if record.values.is_empty() {
            return;
        }
        room.cold_mut().member_attr_version += 1;
        let info = MemberAttributesInfo {
            user_id: user,
            attributes: BTreeMap::new(),
        };
        self.announce_member_attributes(room_slot, vec![info], emit);
    }

    fn announce_member_attributes(
        &self,
        room_slot: u32,
        members: Vec<MemberAttributesInfo>,
        emit: &mut Emit<'_>,
    ) {
        let room_id = self.state.room_id(room_slot);
        self.fan_out(room_slot, None, emit, |to| {
            Output::RoomMemberAttributesUpdated {
                to,
                room_id,
                members,
            }
        });
    }
}
