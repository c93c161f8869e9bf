//! Rooms: their members in join order, their destroy timer, attributes and message counter.

use crate::ids::{RoomId, UserId};
use crate::timers::TimerKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One room attribute: its value, the user that owns it, and whether it goes when that user
/// leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Attribute {
    pub(crate) value: String,
    pub(crate) owner: Option<UserId>,
    #[serde(default)]
    pub(crate) delete_after_owner_left: bool,
}

/// A room as the engine stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Room {
    pub(crate) id: RoomId,
    pub(crate) name: String,
    /// Unique over the engine's life: tells this room from a later one in the same slot.
    pub(crate) incarnation: u64,
    pub(crate) destroy_delay_ms: u64,
    /// Join sequence number -> session slot. Join order is key order; a sequence number is
    /// never reused within the room, which makes paging cursors stable.
    pub(crate) members: BTreeMap<u64, u32>,
    pub(crate) next_join_seq: u64,
    /// Pending destroy timer; `Some` exactly when the room is empty.
    pub(crate) destroy_timer: Option<TimerKey>,
    pub(crate) attributes: BTreeMap<String, Attribute>,
    /// Keep attributes while empty (room config `keep_attributes_while_empty`).
    pub(crate) keep_attributes_while_empty: bool,
    /// Sequence number of the last room message (0 before the first).
    pub(crate) message_seq: u64,
}

impl Room {
    pub(crate) fn new(id: RoomId, name: String, incarnation: u64, destroy_delay_ms: u64) -> Room {
        Room {
            id,
            name,
            incarnation,
            destroy_delay_ms,
            members: BTreeMap::new(),
            next_join_seq: 1,
            destroy_timer: None,
            attributes: BTreeMap::new(),
            keep_attributes_while_empty: false,
            message_seq: 0,
        }
    }

    /// Appends a member and returns its join sequence number.
    pub(crate) fn push_member(&mut self, session_slot: u32) -> u64 {
        let seq = self.next_join_seq;
        self.next_join_seq += 1;
        self.members.insert(seq, session_slot);
        seq
    }

    /// Total bytes of keys and values.
    pub(crate) fn attributes_bytes(&self) -> usize {
        self.attributes
            .iter()
            .map(|(k, a)| k.len() + a.value.len())
            .sum()
    }

    pub(crate) fn member_count(&self) -> u32 {
        u32::try_from(self.members.len()).unwrap_or(u32::MAX)
    }
}
