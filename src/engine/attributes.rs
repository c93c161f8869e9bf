//! Room attributes (ZIM rules): per-key owners, forced writes, keys that go with their owner,
//! limits on count, key, value and total size. Every change reaches all live members as one
//! `room_attributes_updated`. A refused operation changes nothing (all keys or none).
//!
//! Decisions (the requirements leave these open; docs/decisions.md):
//! - Check order, after the session and the room id: an empty attribute map or key list, or
//!   an empty key, is `invalid_argument`; then the caller must be a live member
//!   (`user_not_in_room`, `room_connecting`); then ownership (`attribute_not_owner`, any key
//!   owned by another user without `is_force`); then the limits (`attribute_limit`).
//! - The owner is a user, not a session: another device of the same user owns the same keys.
//! - A forced write without `is_update_owner` changes the value only: the owner and its
//!   delete-after-owner-left flag stay. When the caller owns the key (or takes it over with
//!   `is_update_owner`), the call's `is_delete_after_owner_left` replaces the flag.
//! - Deleting keys that do not exist is not an error; they are left out of the update, and a
//!   call that deletes nothing tells nobody.
//! - The setter is told too: `room_attributes_updated` goes to every live member.
//! - Initial attributes (room config) are owned by the creator and never deleted after it
//!   leaves. Over the limits they make the create `invalid_config`.
//! - When a member leaves, its delete-after-owner-left keys go with one update to the members
//!   left; on a kick that update comes before the kick's `members_left`.

use crate::config::RoomConfig;
use crate::engine::state::room::Attribute;
use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{RoomId, SessionId, UserId};
use crate::output::{Output, ReplyOk};
use std::collections::BTreeMap;

/// The flags of `set_room_attributes`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SetFlags {
    pub(crate) is_force: bool,
    pub(crate) is_update_owner: bool,
    pub(crate) is_delete_after_owner_left: bool,
}

impl Engine {
    /// Key and value sizes of one pair, against the limits.
    fn check_pair(&self, key: &str, value: &str) -> Result<(), Error> {
        let c = &self.state.config;
        if key.is_empty() {
            return Err(Error::AttributeLimit("empty key"));
        }
        if key.len() > c.attribute_key_max_bytes as usize {
            return Err(Error::AttributeLimit("key too long"));
        }
        if value.len() > c.attribute_value_max_bytes as usize {
            return Err(Error::AttributeLimit("value too long"));
        }
        Ok(())
    }

    /// Count and total size of a whole attribute set, against the limits.
    fn check_totals(&self, count: usize, total_bytes: usize) -> Result<(), Error> {
        let c = &self.state.config;
        if count > c.max_room_attributes as usize {
            return Err(Error::AttributeLimit("too many keys"));
        }
        if total_bytes > c.attributes_total_max_bytes as usize {
            return Err(Error::AttributeLimit("total size over the limit"));
        }
        Ok(())
    }

    /// Attributes in a create config: over a limit is an `invalid_config` (it is a request
    /// check, before the flow starts).
    pub(crate) fn check_initial_attributes(
        &self,
        attrs: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let total: usize = attrs.iter().map(|(k, v)| k.len() + v.len()).sum();
        attrs
            .iter()
            .try_for_each(|(k, v)| self.check_pair(k, v))
            .and_then(|()| self.check_totals(attrs.len(), total))
            .map_err(|_| Error::InvalidConfig("attributes over the room attribute limits"))
    }

    /// Seeds a new room's attributes from its config; the creator owns them (the service,
    /// when `creator` is `None`).
    pub(crate) fn seed_attributes(
        &mut self,
        room_slot: u32,
        creator: Option<u32>,
        config: &RoomConfig,
    ) {
        let owner = creator.map(|slot| self.state.session(slot).user);
        let room = self.state.room_mut(room_slot);
        // Only a room that needs them gets the cold parts.
        if config.keep_attributes_while_empty {
            room.cold_mut().keep_attributes_while_empty = true;
        }
        if config.attributes.is_empty() {
            return;
        }
        let cold = room.cold_mut();
        cold.attr_version += 1;
        let version = cold.attr_version;
        for (k, v) in &config.attributes {
            cold.attributes.insert(
                k.clone(),
                Attribute {
                    value: v.clone(),
                    owner,
                    delete_after_owner_left: false,
                    version,
                    service: owner.is_none(),
                },
            );
        }
    }

    pub(crate) fn set_room_attributes(
        &mut self,
        session: SessionId,
        room_id: RoomId,
        attrs: &BTreeMap<String, String>,
        flags: SetFlags,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        self.check_room_id(room_id)?;
        if attrs.is_empty() {
            return Err(Error::InvalidArgument("no attributes to set"));
        }
        check_keys(attrs.keys())?;
        let room_slot = self.require_member(slot, room_id)?;
        let me = self.user_of(slot);
        let room = self.state.room(room_slot);
        if !flags.is_force && attrs.keys().any(|k| owned_by_other(room, k, me)) {
            return Err(Error::AttributeNotOwner);
        }
        for (k, v) in attrs {
            self.check_pair(k, v)?;
        }
        let (count, total) = attrs.iter().fold(
            (room.cold().attributes.len(), room.attributes_bytes()),
            |(n, t), (k, v)| match room.cold().attributes.get(k) {
                Some(old) => (n, t - old.value.len() + v.len()),
                None => (n + 1, t + k.len() + v.len()),
            },
        );
        self.check_totals(count, total)?;
        let room = self.state.room_mut(room_slot);
        room.cold_mut().attr_version += 1;
        let version = room.cold().attr_version;
        for (k, v) in attrs {
            let entry = room
                .cold_mut()
                .attributes
                .entry(k.clone())
                .or_insert(Attribute {
                    value: String::new(),
                    owner: Some(me),
                    delete_after_owner_left: false,
                    version,
                    service: false,
                });
            entry.value.clone_from(v);
            entry.version = version;
            if entry.owner == Some(me) || flags.is_update_owner {
                entry.owner = Some(me);
                entry.service = false;
                entry.delete_after_owner_left = flags.is_delete_after_owner_left;
            }
        }
        self.announce_attributes(room_slot, attrs.clone(), Vec::new(), emit);
        Ok(ReplyOk::Empty {})
    }

    pub(crate) fn delete_room_attributes(
        &mut self,
        session: SessionId,
        room_id: RoomId,
        keys: &[String],
        is_force: bool,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let slot = self.check_session(session)?;
        self.check_room_id(room_id)?;
        if keys.is_empty() {
            return Err(Error::InvalidArgument("no keys to delete"));
        }
        check_keys(keys.iter())?;
        let room_slot = self.require_member(slot, room_id)?;
        let me = self.user_of(slot);
        let room = self.state.room(room_slot);
        if !is_force && keys.iter().any(|k| owned_by_other(room, k, me)) {
            return Err(Error::AttributeNotOwner);
        }
        let room = self.state.room_mut(room_slot);
        let mut deleted = Vec::new();
        for k in keys {
            if room.cold_mut().attributes.remove(k).is_some() {
                deleted.push(k.clone());
            }
        }
        if !deleted.is_empty() {
            room.cold_mut().attr_version += 1;
            self.announce_attributes(room_slot, BTreeMap::new(), deleted, emit);
        }
        Ok(ReplyOk::Empty {})
    }

    /// Admin: sets and deletes room attributes whatever their owners; the service owns the
    /// keys it sets (no member's leave deletes them, and a member needs `is_force` to change
    /// them). The limits still apply, to the set as it would be after the call. Every live
    /// member gets one `room_attributes_updated`.
    pub(crate) fn admin_set_room_attributes(
        &mut self,
        room_id: RoomId,
        set: &BTreeMap<String, String>,
        delete: &[String],
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        self.check_room_id(room_id)?;
        if set.is_empty() && delete.is_empty() {
            return Err(Error::InvalidArgument("nothing to set or delete"));
        }
        check_keys(set.keys().chain(delete))?;
        if delete.iter().any(|k| set.contains_key(k)) {
            return Err(Error::InvalidArgument("a key is both set and deleted"));
        }
        let room_slot = self.room_slot(room_id).ok_or(Error::RoomNotExist)?;
        for (k, v) in set {
            self.check_pair(k, v)?;
        }
        let room = self.state.room(room_slot);
        let mut after: BTreeMap<&str, usize> = room
            .cold()
            .attributes
            .iter()
            .map(|(k, a)| (k.as_str(), k.len() + a.value.len()))
            .collect();
        for k in delete {
            after.remove(k.as_str());
        }
        for (k, v) in set {
            after.insert(k, k.len() + v.len());
        }
        self.check_totals(after.len(), after.values().sum())?;
        let room = self.state.room_mut(room_slot);
        let deleted: Vec<String> = delete
            .iter()
            .filter(|k| room.cold_mut().attributes.remove(*k).is_some())
            .cloned()
            .collect();
        if set.is_empty() && deleted.is_empty() {
            return Ok(ReplyOk::Empty {});
        }
        room.cold_mut().attr_version += 1;
        let version = room.cold().attr_version;
        for (k, v) in set {
            let attribute = Attribute {
                value: v.clone(),
                owner: None,
                delete_after_owner_left: false,
                version,
                service: true,
            };
            room.cold_mut().attributes.insert(k.clone(), attribute);
        }
        self.announce_attributes(room_slot, set.clone(), deleted, emit);
        Ok(ReplyOk::Empty {})
    }

    /// A member left: its delete-after-leave keys go, and the remaining members are told.
    pub(crate) fn owner_left(&mut self, room_slot: u32, user: UserId, emit: &mut Emit<'_>) {
        let room = self.state.room_mut(room_slot);
        let gone: Vec<String> = room
            .cold()
            .attributes
            .iter()
            .filter(|(_, a)| a.delete_after_owner_left && a.owner == Some(user))
            .map(|(k, _)| k.clone())
            .collect();
        if gone.is_empty() {
            return;
        }
        for k in &gone {
            room.cold_mut().attributes.remove(k);
        }
        room.cold_mut().attr_version += 1;
        self.announce_attributes(room_slot, BTreeMap::new(), gone, emit);
    }

    /// A room became empty: its attributes go unless it was created to keep them.
    pub(crate) fn empty_room_attributes(&mut self, room_slot: u32) {
        let room = self.state.room_mut(room_slot);
        if !room.cold().keep_attributes_while_empty && !room.cold().attributes.is_empty() {
            room.cold_mut().attributes.clear();
            room.cold_mut().attr_version += 1;
        }
    }

    fn announce_attributes(
        &self,
        room_slot: u32,
        set: BTreeMap<String, String>,
        deleted: Vec<String>,
        emit: &mut Emit<'_>,
    ) {
        let room_id = self.state.room_id(room_slot);
        self.fan_out(room_slot, None, emit, |to| Output::RoomAttributesUpdated {
            to,
            room_id,
            set,
            deleted,
        });
    }

    /// The user of a session slot held within this step.
    pub(crate) fn user_of(&self, session_slot: u32) -> UserId {
        self.state.session(session_slot).user
    }
}

/// Every key must be non-empty (an argument check, before the membership check).
fn check_keys<'a>(mut keys: impl Iterator<Item = &'a String>) -> Result<(), Error> {
    if keys.any(String::is_empty) {
        return Err(Error::InvalidArgument("empty attribute key"));
    }
    Ok(())
}

/// Whether `key` exists and belongs to a user other than `me`.
fn owned_by_other(room: &crate::engine::state::room::Room, key: &str, me: UserId) -> bool {
    room.cold()
        .attributes
        .get(key)
        .is_some_and(|a| a.service || a.owner.is_some_and(|o| o != me))
}
