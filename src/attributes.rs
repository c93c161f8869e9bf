//! Room attributes (ZIM rules): per-key owners, forced writes, keys that go with their owner,
//! limits on count, key, value and total size. Every change reaches all live members as one
//! `room_attributes_updated`. A refused operation changes nothing (all keys or none).

use crate::config::RoomConfig;
use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{RoomId, SessionId, UserId};
use crate::output::{Output, ReplyOk};
use crate::rooms::Attribute;
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
    pub(crate) fn check_initial_attributes(&self, attrs: &BTreeMap<String, String>) -> Result<(), Error> {
        let total: usize = attrs.iter().map(|(k, v)| k.len() + v.len()).sum();
        attrs
            .iter()
            .try_for_each(|(k, v)| self.check_pair(k, v))
            .and_then(|()| self.check_totals(attrs.len(), total))
            .map_err(|_| Error::InvalidConfig("attributes over the room attribute limits"))
    }

    /// Seeds a new room's attributes from its config; the creator owns them.
    pub(crate) fn seed_attributes(&mut self, room_slot: u32, creator: u32, config: &RoomConfig) {
        let owner = self.state.sessions.get(creator).map(|s| s.user);
        let Some(room) = self.state.rooms.get_mut(room_slot) else {
            return;
        };
        room.keep_attributes_while_empty = config.keep_attributes_while_empty;
        for (k, v) in &config.attributes {
            room.attributes.insert(
                k.clone(),
                Attribute {
                    value: v.clone(),
                    owner,
                    delete_after_owner_left: false,
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
        let room_slot = self.require_member(slot, room_id)?;
        let me = self.user_of(slot)?;
        let room = self.state.rooms.get(room_slot).ok_or(Error::RoomNotExist)?;
        for (k, v) in attrs {
            self.check_pair(k, v)?;
            if let Some(a) = room.attributes.get(k) {
                if a.owner.is_some_and(|o| o != me) && !flags.is_force {
                    return Err(Error::AttributeNotOwner);
                }
            }
        }
        let (count, total) = attrs.iter().fold(
            (room.attributes.len(), room.attributes_bytes()),
            |(n, t), (k, v)| match room.attributes.get(k) {
                Some(old) => (n, t - old.value.len() + v.len()),
                None => (n + 1, t + k.len() + v.len()),
            },
        );
        self.check_totals(count, total)?;
        let room = self.state.rooms.get_mut(room_slot).ok_or(Error::RoomNotExist)?;
        for (k, v) in attrs {
            let entry = room.attributes.entry(k.clone()).or_insert(Attribute {
                value: String::new(),
                owner: Some(me),
                delete_after_owner_left: false,
            });
            entry.value.clone_from(v);
            if entry.owner.is_none() || entry.owner == Some(me) || flags.is_update_owner {
                entry.owner = Some(me);
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
        let room_slot = self.require_member(slot, room_id)?;
        let me = self.user_of(slot)?;
        let room = self.state.rooms.get(room_slot).ok_or(Error::RoomNotExist)?;
        for k in keys {
            if let Some(a) = room.attributes.get(k) {
                if a.owner.is_some_and(|o| o != me) && !is_force {
                    return Err(Error::AttributeNotOwner);
                }
            }
        }
        let room = self.state.rooms.get_mut(room_slot).ok_or(Error::RoomNotExist)?;
        let mut deleted = Vec::new();
        for k in keys {
            if room.attributes.remove(k).is_some() {
                deleted.push(k.clone());
            }
        }
        if !deleted.is_empty() {
            self.announce_attributes(room_slot, BTreeMap::new(), deleted, emit);
        }
        Ok(ReplyOk::Empty {})
    }

    /// A member left: its delete-after-leave keys go, and the remaining members are told.
    pub(crate) fn owner_left(&mut self, room_slot: u32, user: UserId, emit: &mut Emit<'_>) {
        let Some(room) = self.state.rooms.get_mut(room_slot) else {
            return;
        };
        let gone: Vec<String> = room
            .attributes
            .iter()
            .filter(|(_, a)| a.delete_after_owner_left && a.owner == Some(user))
            .map(|(k, _)| k.clone())
            .collect();
        if gone.is_empty() {
            return;
        }
        for k in &gone {
            room.attributes.remove(k);
        }
        self.announce_attributes(room_slot, BTreeMap::new(), gone, emit);
    }

    /// A room became empty: its attributes go unless it was created to keep them.
    pub(crate) fn empty_room_attributes(&mut self, room_slot: u32) {
        if let Some(room) = self.state.rooms.get_mut(room_slot) {
            if !room.keep_attributes_while_empty {
                room.attributes.clear();
            }
        }
    }

    fn announce_attributes(
        &self,
        room_slot: u32,
        set: BTreeMap<String, String>,
        deleted: Vec<String>,
        emit: &mut Emit<'_>,
    ) {
        let Some(room_id) = self.state.rooms.get(room_slot).map(|r| r.id) else {
            return;
        };
        self.fan_out(room_slot, None, emit, |session| Output::RoomAttributesUpdated {
            session,
            room_id,
            set: set.clone(),
            deleted: deleted.clone(),
        });
    }

    pub(crate) fn user_of(&self, session_slot: u32) -> Result<UserId, Error> {
        self.state
            .sessions
            .get(session_slot)
            .map(|s| s.user)
            .ok_or(Error::NotLoggedIn)
    }
}
