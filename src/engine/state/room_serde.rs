//! A room's snapshot form: the flat record the format has always had (hot and cold fields
//! side by side), whatever the room keeps inline or behind its cold box. A room whose cold
//! fields are all at their defaults restores without a cold box.

use super::members::MemberList;
use super::room::{
    Attribute, MemberAttributes, MemberBatch, Occupants, ReconnectLog, Room, RoomCold,
};
use super::timers::TimerKey;
use crate::ids::{RoomId, RoomSid, UserId};
use crate::input::RoomName;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// The written form, borrowing from the room.
#[derive(Serialize)]
struct RoomOut<'a> {
    id: &'a RoomId,
    name: &'a RoomName,
    incarnation: u64,
    sid: RoomSid,
    destroy_delay_ms: u64,
    max_members: u32,
    members: &'a MemberList,
    next_join_seq: u64,
    destroy_timer: Option<TimerKey>,
    attributes: &'a BTreeMap<String, Attribute>,
    keep_attributes_while_empty: bool,
    message_seq: u64,
    attr_version: u64,
    member_attributes: &'a BTreeMap<UserId, MemberAttributes>,
    member_attr_version: u64,
    reconnect: &'a ReconnectLog,
    #[serde(skip_serializing_if = "no_batch")]
    member_batch: &'a Option<Box<MemberBatch>>,
}

fn no_batch(b: &&Option<Box<MemberBatch>>) -> bool {
    b.is_none()
}

/// The read form (the defaults are those of snapshots written before a field existed).
#[derive(Deserialize)]
struct RoomIn {
    id: RoomId,
    name: RoomName,
    incarnation: u64,
    sid: RoomSid,
    destroy_delay_ms: u64,
    max_members: u32,
    members: MemberList,
    next_join_seq: u64,
    destroy_timer: Option<TimerKey>,
    attributes: BTreeMap<String, Attribute>,
    keep_attributes_while_empty: bool,
    message_seq: u64,
    #[serde(default)]
    attr_version: u64,
    #[serde(default)]
    member_attributes: BTreeMap<UserId, MemberAttributes>,
    #[serde(default)]
    member_attr_version: u64,
    #[serde(default)]
    reconnect: ReconnectLog,
    #[serde(default)]
    member_batch: Option<Box<MemberBatch>>,
}

impl Serialize for Room {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let cold = self.cold();
        RoomOut {
            id: &self.id,
            name: &cold.name,
            incarnation: self.incarnation,
            sid: self.sid,
            destroy_delay_ms: self.destroy_delay_ms,
            max_members: self.max_members,
            members: self.members(),
            next_join_seq: self.next_join_seq,
            destroy_timer: self.destroy_timer(),
            attributes: &cold.attributes,
            keep_attributes_while_empty: cold.keep_attributes_while_empty,
            message_seq: cold.message_seq,
            attr_version: cold.attr_version,
            member_attributes: &cold.member_attributes,
            member_attr_version: cold.member_attr_version,
            reconnect: &cold.reconnect,
            member_batch: &cold.member_batch,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Room {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = RoomIn::deserialize(d)?;
        let cold = RoomCold {
            name: r.name,
            attributes: r.attributes,
            keep_attributes_while_empty: r.keep_attributes_while_empty,
            message_seq: r.message_seq,
            attr_version: r.attr_version,
            member_attributes: r.member_attributes,
            member_attr_version: r.member_attr_version,
            reconnect: r.reconnect,
            member_batch: r.member_batch,
        };
        let mut room = Room {
            id: r.id,
            incarnation: r.incarnation,
            sid: r.sid,
            destroy_delay_ms: r.destroy_delay_ms,
            max_members: r.max_members,
            occupants: occupants(r.members, r.destroy_timer).map_err(D::Error::custom)?,
            next_join_seq: r.next_join_seq,
            cold: None,
        };
        if cold != RoomCold::EMPTY {
            room.cold = Some(Box::new(cold));
        }
        Ok(room)
    }
}

/// A room's members, or its destroy timer: a snapshot naming both is refused (a room with
/// members has no destroy timer).
fn occupants(members: MemberList, timer: Option<TimerKey>) -> Result<Occupants, &'static str> {
    match timer {
        None => Ok(Occupants::Members(members)),
        Some(key) if members.is_empty() => Ok(Occupants::Waiting(key)),
        Some(_) => Err("a room with members has no destroy timer"),
    }
}
