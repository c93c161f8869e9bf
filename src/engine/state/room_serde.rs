//! A room's snapshot form: the flat record the format has always had (its id, hot and cold
//! fields side by side), whatever the room keeps inline, behind its cold box or in the id
//! column beside the slab (`rooms.rs`). A room whose cold fields are all at their defaults
//! restores without a cold box.

use super::members::MemberList;
use super::room::{
    Attribute, MemberAttributes, MemberBatch, Occupants, ReconnectLog, Room, RoomCold,
};
use super::timers::TimerKey;
use crate::ids::{RoomId, RoomSid, UserId};
use crate::input::RoomName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The written form, borrowing from the room and its id.
#[derive(Serialize)]
pub(super) struct RoomOut<'a> {
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
pub(super) struct RoomIn {
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

impl<'a> RoomOut<'a> {
    /// The written form of `room`, stored under `id`.
    pub(super) fn new(id: &'a RoomId, room: &'a Room) -> RoomOut<'a> {
        let cold = room.cold();
        RoomOut {
            id,
            name: &cold.name,
            incarnation: room.incarnation,
            sid: room.sid,
            destroy_delay_ms: u64::from(room.destroy_delay_ms),
            max_members: room.max_members,
            members: room.members(),
            next_join_seq: room.next_join_seq,
            destroy_timer: room.destroy_timer(),
            attributes: &cold.attributes,
            keep_attributes_while_empty: cold.keep_attributes_while_empty,
            message_seq: cold.message_seq,
            attr_version: cold.attr_version,
            member_attributes: &cold.member_attributes,
            member_attr_version: cold.member_attr_version,
            reconnect: &cold.reconnect,
            member_batch: &cold.member_batch,
        }
    }
}

impl RoomIn {
    /// The room read and its id, or why the record is refused.
    pub(super) fn into_room(self) -> Result<(RoomId, Room), &'static str> {
        let r = self;
        // Rooms are created with at most 3 hours (10,800,000 ms); the field keeps 49 days.
        let destroy_delay_ms = u32::try_from(r.destroy_delay_ms)
            .map_err(|_| "a room's destroy_delay_ms must fit in 32 bits")?;
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
            incarnation: r.incarnation,
            sid: r.sid,
            destroy_delay_ms,
            max_members: r.max_members,
            occupants: occupants(r.members, r.destroy_timer)?,
            next_join_seq: r.next_join_seq,
            cold: None,
        };
        if cold != RoomCold::EMPTY {
            room.cold = Some(Box::new(cold));
        }
        Ok((r.id, room))
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
