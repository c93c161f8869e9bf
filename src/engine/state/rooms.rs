//! The rooms: their records in a slab, their ids in a column beside it, indexed by the same
//! slot.
//!
//! The id is 34 bytes, a third of what a room record would be with it inline; only the id
//! table's probes, the outputs that name a room and the snapshot read it, while a join, a
//! leave and fan-out read the record. Kept apart, the record stays small (see the size test
//! in `room.rs`). The snapshot form is the slab's, with each room's id inside its record, as
//! it has always been.

use super::room::Room;
use super::room_serde::{RoomIn, RoomOut};
use super::slab::Slab;
use crate::ids::RoomId;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rooms {
    records: Slab<Room>,
    /// `ids[slot]` is the id of the room in `slot`; a free slot keeps its last room's id
    /// until reused (nothing reads it: the id table holds live slots only). As long as the
    /// slab has slots.
    ids: Vec<RoomId>,
}

impl Rooms {
    /// Stores a room under its id and returns its slot.
    pub(crate) fn insert(&mut self, id: RoomId, room: Room) -> u32 {
        let slot = self.records.insert(room);
        match self.ids.get_mut(slot as usize) {
            Some(old) => *old = id,
            None => self.ids.push(id),
        }
        slot
    }

    /// Takes the room out of `slot` (its id stays readable until the slot is reused).
    pub(crate) fn remove(&mut self, slot: u32) -> Option<Room> {
        self.records.remove(slot)
    }

    pub(crate) fn get(&self, slot: u32) -> Option<&Room> {
        self.records.get(slot)
    }

    pub(crate) fn get_mut(&mut self, slot: u32) -> Option<&mut Room> {
        self.records.get_mut(slot)
    }

    /// The id of the room in `slot`: for a live slot its room's, for a free one its last
    /// room's, `None` past the last slot.
    pub(crate) fn id(&self, slot: u32) -> Option<&RoomId> {
        self.ids.get(slot as usize)
    }

    pub(crate) fn len(&self) -> u32 {
        self.records.len()
    }

    /// Live rooms in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Room)> {
        self.records.iter()
    }

    /// Whether the free list and the count agree with the records, and every slot has an id.
    pub(crate) fn is_consistent(&self) -> bool {
        self.records.is_consistent() && self.ids.len() == self.records.slot_count()
    }
}

/// Equal when the same rooms sit in the same slots under the same ids (a free slot's
/// leftover id is not part of the value).
impl PartialEq for Rooms {
    fn eq(&self, other: &Self) -> bool {
        self.records == other.records
            && self.ids.len() == other.ids.len()
            && self.iter().all(|(slot, _)| self.id(slot) == other.id(slot))
    }
}

impl Eq for Rooms {}

/// The written form: the slab's, each room with its id.
#[derive(Serialize)]
struct RoomsOut<'a> {
    entries: Entries<'a>,
    free: &'a [u32],
    len: u32,
}

/// The slots in order, each a room with its id or nothing.
struct Entries<'a>(&'a [Option<Room>], &'a [RoomId]);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.0
                .iter()
                .zip(self.1)
                .map(|(room, id)| room.as_ref().map(|r| RoomOut::new(id, r))),
        )
    }
}

impl Serialize for Rooms {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (entries, free, len) = self.records.parts();
        RoomsOut {
            entries: Entries(entries, &self.ids),
            free,
            len,
        }
        .serialize(s)
    }
}

/// The read form.
#[derive(Deserialize)]
struct RoomsIn {
    entries: Vec<Option<RoomIn>>,
    free: Vec<u32>,
    len: u32,
}

impl<'de> Deserialize<'de> for Rooms {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = RoomsIn::deserialize(d)?;
        let mut ids = Vec::with_capacity(r.entries.len());
        let mut records = Vec::with_capacity(r.entries.len());
        for entry in r.entries {
            let (id, room) = match entry {
                // A free slot's id is never read; any will do.
                None => (RoomId::new(""), None),
                Some(room) => {
                    let (id, room) = room.into_room().map_err(D::Error::custom)?;
                    (id, Some(room))
                }
            };
            ids.push(id);
            records.push(room);
        }
        Ok(Rooms {
            records: Slab::from_parts(records, r.free, r.len),
            ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::room::RoomSettings;
    use crate::ids::RoomSid;
    use crate::input::{RoomInfo, RoomName};

    fn room(id: &str, n: u64) -> (RoomId, Room) {
        let info = RoomInfo {
            id: RoomId::new(id),
            name: RoomName::EMPTY,
        };
        let settings = RoomSettings {
            destroy_delay_ms: 1,
            max_members: 8,
        };
        (info.id, Room::new(&info, n, RoomSid(n), settings))
    }

    /// Each slot reads its own room's id, a reused slot its new room's; the snapshot form is
    /// the slab's with the id inside each record, and it reads back the same.
    #[test]
    fn ids_follow_their_slots_and_serialize_inside_the_records() {
        let mut rooms = Rooms::default();
        let (a, ra) = room("a", 1);
        let (b, rb) = room("b", 2);
        let (c, rc) = room("c", 3);
        assert_eq!(rooms.insert(a, ra.clone()), 0);
        assert_eq!(rooms.insert(b, rb), 1);
        assert_eq!(rooms.id(1), Some(&b));
        assert_eq!(rooms.remove(1).map(|r| r.sid), Some(RoomSid(2)));
        assert_eq!(rooms.insert(c, rc.clone()), 1);
        assert_eq!(
            (rooms.id(0), rooms.id(1), rooms.id(2)),
            (Some(&a), Some(&c), None)
        );
        assert!(rooms.is_consistent());

        let json = serde_json::to_value(&rooms).unwrap();
        assert_eq!(json["entries"][1]["id"], "c");
        assert_eq!(json["entries"][0]["id"], "a");
        assert_eq!(json["free"], serde_json::json!([]));
        assert_eq!(json["len"], 2);
        let back: Rooms = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, rooms);
        assert_eq!(serde_json::to_value(&back).unwrap(), json);

        // A free slot reads back as nothing, and keeps the slab's form.
        rooms.remove(0);
        let json = serde_json::to_value(&rooms).unwrap();
        assert_eq!(json["entries"][0], serde_json::Value::Null);
        let back: Rooms = serde_json::from_value(json).unwrap();
        assert_eq!(back.get(0), None);
        assert_eq!(back.get(1), Some(&rc));
        assert_eq!(back.id(1), Some(&c));
        assert!(back.is_consistent());
        assert_ne!(back.get(1), Some(&ra));
    }

    /// A snapshot's room that the record refuses (a destroy delay past 32 bits) fails the
    /// whole read with a message, and a column that misses a slot is caught.
    #[test]
    fn a_refused_room_fails_the_read_and_a_short_column_is_inconsistent() {
        let mut rooms = Rooms::default();
        let (a, ra) = room("a", 1);
        rooms.insert(a, ra);
        let mut json = serde_json::to_value(&rooms).unwrap();
        json["entries"][0]["destroy_delay_ms"] = (1_u64 << 32).into();
        let err = serde_json::from_value::<Rooms>(json).unwrap_err();
        assert!(err.to_string().contains("destroy_delay_ms"), "{err}");

        rooms.ids.clear();
        assert!(!rooms.is_consistent());
    }
}
