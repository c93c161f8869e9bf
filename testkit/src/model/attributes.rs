//! Room attributes, with ZIM's rules: keys have an owner, `is_force` overrides it; keys
//! marked delete-after-owner-left go when their owner leaves.

use super::state::MAttr;
use super::state::Model;
use super::validate;
use roomcore::error::Error;
use roomcore::ids::{RoomId, SessionId, UserId};
use roomcore::output::{Output, ReplyOk};
use std::collections::BTreeMap;

/// The flags of `set_room_attributes`.
#[derive(Debug, Clone, Copy)]
pub(super) struct SetFlags {
    pub(super) force: bool,
    pub(super) update_owner: bool,
    pub(super) delete_after_owner_left: bool,
}

impl Model {
    pub(super) fn tell_attrs(
        &mut self,
        room: RoomId,
        except: Option<SessionId>,
        set: BTreeMap<String, String>,
        deleted: Vec<String>,
    ) {
        for other in self.live_members(room, except) {
            self.emit(Output::RoomAttributesUpdated {
                to: other.into(),
                room_id: room,
                set: set.clone(),
                deleted: deleted.clone(),
            });
        }
    }

    pub(super) fn set_attributes(
        &mut self,
        session: SessionId,
        room: RoomId,
        attrs: &BTreeMap<String, String>,
        flags: SetFlags,
    ) -> Result<ReplyOk, Error> {
        let user = self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        if attrs.is_empty() || attrs.keys().any(String::is_empty) {
            return Err(Error::InvalidArgument(""));
        }
        self.must_be_member(session, room)?;
        let Some(r) = self.rooms.get(&room) else {
            return Err(Error::RoomNotExist);
        };
        if !flags.force
            && attrs
                .keys()
                .any(|k| r.attrs.get(k).is_some_and(|a| a.owner != Some(user)))
        {
            return Err(Error::AttributeNotOwner);
        }
        // Sizes are the caller's limits: checked last, on the keys given and on the result.
        let pairs: Vec<(&String, &String)> = attrs.iter().collect();
        validate::attrs_fit(&self.cfg, &pairs, 0, 0)?;
        let mut after = r.attrs.clone();
        for (k, v) in attrs {
            let mut a = after.remove(k).unwrap_or(MAttr {
                value: String::new(),
                owner: Some(user),
                delete_after_owner_left: flags.delete_after_owner_left,
            });
            a.value = v.clone();
            // The owner (or a taker-over) sets the flag; a forced write changes the value only.
            if a.owner == Some(user) || flags.update_owner {
                a.owner = Some(user);
                a.delete_after_owner_left = flags.delete_after_owner_left;
            }
            after.insert(k.clone(), a);
        }
        let total: usize = after.iter().map(|(k, a)| k.len() + a.value.len()).sum();
        if after.len() > self.cfg.max_room_attributes as usize
            || total > self.cfg.attributes_total_max_bytes as usize
        {
            return Err(Error::AttributeLimit(""));
        }
        if let Some(r) = self.rooms.get_mut(&room) {
            r.attrs = after;
        }
        let keys: Vec<String> = attrs.keys().cloned().collect();
        self.note_attrs_written(room, &keys);
        self.tell_attrs(room, None, attrs.clone(), Vec::new());
        Ok(ReplyOk::Empty {})
    }

    pub(super) fn delete_attributes(
        &mut self,
        session: SessionId,
        room: RoomId,
        keys: &[String],
        force: bool,
    ) -> Result<ReplyOk, Error> {
        let user = self.caller(session)?;
        validate::room_id(&self.cfg, room)?;
        if keys.is_empty() || keys.iter().any(String::is_empty) {
            return Err(Error::InvalidArgument(""));
        }
        self.must_be_member(session, room)?;
        let Some(r) = self.rooms.get(&room) else {
            return Err(Error::RoomNotExist);
        };
        if !force
            && keys
                .iter()
                .any(|k| r.attrs.get(k).is_some_and(|a| a.owner != Some(user)))
        {
            return Err(Error::AttributeNotOwner);
        }
        let mut deleted = Vec::new();
        if let Some(r) = self.rooms.get_mut(&room) {
            for k in keys {
                if r.attrs.remove(k).is_some() {
                    deleted.push(k.clone());
                }
            }
        }
        if !deleted.is_empty() {
            self.tell_attrs(room, None, BTreeMap::new(), deleted);
        }
        Ok(ReplyOk::Empty {})
    }

    /// `user` left `room`: its attributes marked delete-after-owner-left go, and the members
    /// still there are told.
    pub(super) fn owner_left(&mut self, room: RoomId, user: UserId) {
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        let gone: Vec<String> = r
            .attrs
            .iter()
            .filter(|(_, a)| a.owner == Some(user) && a.delete_after_owner_left)
            .map(|(k, _)| k.clone())
            .collect();
        if gone.is_empty() {
            return;
        }
        for k in &gone {
            r.attrs.remove(k);
        }
        self.tell_attrs(room, None, BTreeMap::new(), gone);
    }
}
