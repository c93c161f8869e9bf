//! Rooms: their members in join order, their destroy timer, attributes and message counter.

use super::members::{MemberEntry, MemberList};
use super::timers::TimerKey;
use super::window_changes::WindowChanges;
use crate::ids::{RoomSid, UserId};
use crate::input::{RoomInfo, RoomName};
use crate::output::LeaveReason;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One room attribute: its value, the user that owns it (or the service), and whether it
/// goes when that user leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Attribute {
    pub(crate) value: String,
    pub(crate) owner: Option<UserId>,
    #[serde(default)]
    pub(crate) delete_after_owner_left: bool,
    /// The room's attribute version when this key was last set (see `Room::attr_version`).
    #[serde(default)]
    pub(crate) version: u64,
    /// Set by the service (`admin_create_room`, `admin_set_room_attributes`): owned by no
    /// member, so a member needs `is_force` to change it and no leave deletes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) service: bool,
}

/// One member's attributes in a room (ZIM room member attributes), with the room's member
/// attribute version when they last changed. Kept while the member is in the room (even
/// when all keys were deleted, so a reconnecting member can be told), dropped when it leaves.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct MemberAttributes {
    pub(crate) values: BTreeMap<String, String>,
    pub(crate) version: u64,
}

impl MemberAttributes {
    /// Total bytes of keys and values.
    pub(crate) fn bytes(&self) -> usize {
        self.values.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

/// What a room remembers for its members whose link is lost, shared by all of them: a lost
/// link costs a few counters, never a copy of the member list.
///
/// Each reconnecting membership holds two marks taken when its link dropped: the room's
/// next join sequence number (members with a larger one joined since) and its next
/// departure number (departures logged with a number at least that happened since). Both
/// counters only grow, so the first mark has the smallest of each and the last the largest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct ReconnectLog {
    /// `(join mark, departure mark)` of every reconnecting membership, with how many share it.
    #[serde(with = "mark_list")]
    pub(crate) marks: BTreeMap<(u64, u64), u32>,
    /// Departure number -> (join sequence number, user, whether it took a member attribute
    /// record along, even an emptied one) of members who left while someone was
    /// reconnecting and who were present when at least one of them lost its link.
    pub(crate) departures: BTreeMap<u64, (u64, UserId, bool)>,
    /// The next departure number; never reused.
    pub(crate) next_departure: u64,
}

impl ReconnectLog {
    /// Records a reconnecting membership's marks.
    pub(crate) fn add_mark(&mut self, mark: (u64, u64)) {
        *self.marks.entry(mark).or_insert(0) += 1;
    }

    /// Forgets a reconnecting membership's marks, and every departure no remaining
    /// reconnecting member needs.
    pub(crate) fn remove_mark(&mut self, mark: (u64, u64)) {
        if let Some(n) = self.marks.get_mut(&mark) {
            *n -= 1;
            if *n == 0 {
                self.marks.remove(&mark);
            }
        }
        let (Some(&(_, oldest)), Some(&(latest_join, _))) =
            (self.marks.keys().next(), self.marks.keys().next_back())
        else {
            self.departures.clear();
            return;
        };
        self.departures = self.departures.split_off(&oldest);
        self.departures
            .retain(|_, &mut (join_seq, _, _)| join_seq < latest_join);
    }

    /// A member left: logged only if it was present when some reconnecting member lost its
    /// link (it joined before the latest join mark); anyone else joined and left unseen.
    pub(crate) fn departed(&mut self, join_seq: u64, user: UserId, had_attributes: bool) {
        let Some(&(latest_join_mark, _)) = self.marks.keys().next_back() else {
            return;
        };
        if join_seq < latest_join_mark {
            self.departures
                .insert(self.next_departure, (join_seq, user, had_attributes));
            self.next_departure += 1;
        }
    }
}

/// A new room's settings, checked and resolved from its config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoomSettings {
    /// How long it waits, once emptied, before it is destroyed (room configs allow at most
    /// 3 hours, so 32 bits hold it).
    pub(crate) destroy_delay_ms: u32,
    /// Its member limit.
    pub(crate) max_members: u32,
}

/// A room as the engine stores it: what a join, a leave and fan-out read inline, the rest
/// (see [`RoomCold`]) behind one box allocated on first use, and its id in a column beside
/// the slab (see `rooms.rs`). Serialized flat, with its id (see `room_serde.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Room {
    /// Unique over the engine's life: tells this room from a later one in the same slot.
    pub(crate) incarnation: u64,
    /// The public incarnation id (`"R<n>"`): counts rooms only, from 1.
    pub(crate) sid: RoomSid,
    /// How long it waits, once emptied, before it is destroyed (see [`RoomSettings`]).
    pub(crate) destroy_delay_ms: u32,
    /// This room's member limit (the room config's, or the engine's).
    pub(crate) max_members: u32,
    /// Its members, or its pending destroy timer once it is empty (see [`Occupants`]).
    pub(super) occupants: Occupants,
    pub(in crate::engine::state) next_join_seq: u64,
    /// The cold parts; `None` while they are all at their defaults (an unnamed room nobody
    /// set attributes or messages in, with no reconnecting member and no open window).
    pub(in crate::engine::state) cold: Option<Box<RoomCold>>,
}

/// What most joins and leaves never read: the name, attributes, member attributes, message
/// counter, reconnect log and coalescing window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RoomCold {
    pub(crate) name: RoomName,
    pub(crate) attributes: BTreeMap<String, Attribute>,
    /// Keep attributes while empty (room config `keep_attributes_while_empty`).
    pub(crate) keep_attributes_while_empty: bool,
    /// Sequence number of the last room message (0 before the first).
    pub(crate) message_seq: u64,
    /// Counts room attribute changes; each key carries the count of its last set.
    pub(crate) attr_version: u64,
    /// Member attributes by user (members only).
    pub(crate) member_attributes: BTreeMap<UserId, MemberAttributes>,
    /// Counts member attribute changes; each record carries the count of its last change.
    pub(crate) member_attr_version: u64,
    /// Bookkeeping for members whose link is lost.
    pub(in crate::engine::state) reconnect: ReconnectLog,
    /// The open coalescing window of a large room (boxed: most rooms never have one).
    pub(in crate::engine::state) member_batch: Option<Box<MemberBatch>>,
}

impl RoomCold {
    /// Every cold field at its default: what a room without a cold box reads.
    pub(crate) const EMPTY: RoomCold = RoomCold {
        name: RoomName::EMPTY,
        attributes: BTreeMap::new(),
        keep_attributes_while_empty: false,
        message_seq: 0,
        attr_version: 0,
        member_attributes: BTreeMap::new(),
        member_attr_version: 0,
        reconnect: ReconnectLog {
            marks: BTreeMap::new(),
            departures: BTreeMap::new(),
            next_departure: 0,
        },
        member_batch: None,
    };
}

/// What a room without a cold box reads.
static NO_COLD: RoomCold = RoomCold::EMPTY;

/// What a room waiting for destruction reads as its members. Any form of an empty list
/// reads the same (the form is not part of the value), and this one can be built in a
/// `static`.
static NO_MEMBERS: MemberList = MemberList::Many(BTreeMap::new());

/// Who is in a room, or, once it is empty, its pending destroy timer. A room never has
/// both, so they share their bytes: this is the size of the member list alone (32 bytes),
/// where a member list beside an optional timer key took 56.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Occupants {
    /// Members in join order, with what fan-out reads (session slot, lost link). A sequence
    /// number is never reused within the room, which makes paging cursors stable. Empty
    /// only within the step that emptied or created the room, until its timer is armed.
    Members(MemberList),
    /// The room is empty and waits for this destroy timer.
    Waiting(TimerKey),
}

/// One change a member batch holds for a user, with its order in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BatchChange {
    /// Its last change was a join: a member now.
    Joined { order: u64 },
    /// Its last change was a leave: gone now (with that leave's reason).
    Left { order: u64, reason: LeaveReason },
}

/// The open coalescing window of a large room: the final outcome for every user whose
/// membership changed since it opened.
///
/// The window also holds a mark `(join mark, departure mark)` in the room's `ReconnectLog`,
/// taken when it opened, as a reconnecting member would: a member whose link drops while
/// the window is open has not been told of the window's changes, so its restore delta must
/// count from the window's start, and the departures of the window must be logged for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MemberBatch {
    /// The flush timer.
    pub(crate) timer: TimerKey,
    /// The room's marks when the window opened.
    pub(crate) mark: (u64, u64),
    /// Each touched user's final outcome in the window (one entry per user; the window
    /// closes early at `max_members_per_room` entries).
    pub(crate) changes: WindowChanges,
    /// Order of the next change.
    pub(crate) next_order: u64,
}

impl Room {
    pub(crate) fn new(
        info: &RoomInfo,
        incarnation: u64,
        sid: RoomSid,
        settings: RoomSettings,
    ) -> Room {
        let cold = (!info.name.is_empty()).then(|| {
            Box::new(RoomCold {
                name: info.name.clone(),
                ..RoomCold::default()
            })
        });
        Room {
            incarnation,
            sid,
            destroy_delay_ms: settings.destroy_delay_ms,
            max_members: settings.max_members,
            occupants: Occupants::Members(MemberList::default()),
            next_join_seq: 1,
            cold,
        }
    }

    /// The cold parts (their defaults when the room has no cold box).
    pub(crate) fn cold(&self) -> &RoomCold {
        self.cold.as_deref().unwrap_or(&NO_COLD)
    }

    /// The cold parts, to change them (allocates the box on first use).
    pub(crate) fn cold_mut(&mut self) -> &mut RoomCold {
        self.cold.get_or_insert_with(Box::default)
    }

    /// The cold parts if the room has them (to change what exists, without allocating).
    pub(crate) fn cold_if_any(&mut self) -> Option<&mut RoomCold> {
        self.cold.as_deref_mut()
    }

    /// The room's name.
    pub(crate) fn name(&self) -> &RoomName {
        &self.cold().name
    }

    /// Members in join order.
    pub(crate) fn members(&self) -> &MemberList {
        match &self.occupants {
            Occupants::Members(list) => list,
            Occupants::Waiting(_) => &NO_MEMBERS,
        }
    }

    /// The member list, to change it.
    ///
    /// # Panics
    /// When the room is waiting for destruction: a join takes the timer back first
    /// ([`Room::take_destroy_timer`]), and nothing else changes the members of an empty room.
    pub(in crate::engine::state) fn members_mut(&mut self) -> &mut MemberList {
        match &mut self.occupants {
            Occupants::Members(list) => list,
            Occupants::Waiting(_) => {
                panic!(
                    "room {} changes members while its destroy timer is pending",
                    self.sid
                )
            }
        }
    }

    /// The pending destroy timer: there is one exactly when the room is empty (once the
    /// step that emptied or created it has armed it).
    pub(crate) fn destroy_timer(&self) -> Option<TimerKey> {
        match self.occupants {
            Occupants::Members(_) => None,
            Occupants::Waiting(key) => Some(key),
        }
    }

    /// Holds the destroy timer of this empty room.
    ///
    /// # Panics
    /// When the room has members, or a timer already.
    pub(in crate::engine::state) fn set_destroy_timer(&mut self, key: TimerKey) {
        assert!(
            matches!(&self.occupants, Occupants::Members(m) if m.is_empty()),
            "room {} gets a destroy timer only while empty and without one",
            self.sid
        );
        self.occupants = Occupants::Waiting(key);
    }

    /// Takes the destroy timer back, leaving an empty member list.
    pub(in crate::engine::state) fn take_destroy_timer(&mut self) -> Option<TimerKey> {
        let key = self.destroy_timer()?;
        self.occupants = Occupants::Members(MemberList::default());
        Some(key)
    }

    /// The join sequence number the next member will get.
    pub(crate) fn next_join_seq(&self) -> u64 {
        self.next_join_seq
    }

    /// What the room remembers for its reconnecting members.
    pub(crate) fn reconnect(&self) -> &ReconnectLog {
        &self.cold().reconnect
    }

    /// The open coalescing window, if any.
    pub(crate) fn member_batch(&self) -> Option<&MemberBatch> {
        self.cold().member_batch.as_deref()
    }

    /// Appends a member and returns its join sequence number.
    pub(in crate::engine::state) fn push_member(&mut self, session_slot: u32) -> u64 {
        let seq = self.next_join_seq;
        self.next_join_seq += 1;
        self.members_mut().put(MemberEntry {
            join_seq: seq,
            session: session_slot,
            lost: false,
        });
        seq
    }

    /// Total bytes of keys and values.
    pub(crate) fn attributes_bytes(&self) -> usize {
        self.cold()
            .attributes
            .iter()
            .map(|(k, a)| k.len() + a.value.len())
            .sum()
    }

    pub(crate) fn member_count(&self) -> u32 {
        u32::try_from(self.members().len()).unwrap_or(u32::MAX)
    }
}

/// Serializes the marks as a list (JSON map keys must be strings).
mod mark_list {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub(super) fn serialize<S: Serializer>(
        map: &BTreeMap<(u64, u64), u32>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<(u64, u64), u32>, D::Error> {
        let list: Vec<((u64, u64), u32)> = Vec::deserialize(d)?;
        Ok(list.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::room_serde::{RoomIn, RoomOut};
    use super::*;
    use crate::ids::RoomId;

    fn a_room() -> Room {
        let info = RoomInfo {
            id: RoomId::new("r"),
            name: RoomName::EMPTY,
        };
        let settings = RoomSettings {
            destroy_delay_ms: 1,
            max_members: 8,
        };
        Room::new(&info, 1, RoomSid(1), settings)
    }

    /// A room's members and its destroy timer share their bytes, and a room fits in 72
    /// (it was 136 with the member list beside an optional timer key, 112 with its id
    /// inline and a 64-bit destroy delay).
    #[test]
    fn members_and_destroy_timer_share_their_bytes() {
        use std::mem::size_of;
        assert_eq!(size_of::<Occupants>(), size_of::<MemberList>());
        assert!(size_of::<Room>() <= 72, "{}", size_of::<Room>());
        assert!(
            size_of::<Option<Room>>() <= 72,
            "slab slots are as big as rooms"
        );
    }

    /// A room gives its timer back as an empty member list, and reads no members while
    /// it waits.
    #[test]
    fn an_empty_room_holds_its_timer_in_place_of_members() {
        let mut room = a_room();
        let key = TimerKey {
            deadline: crate::time::Millis(5),
            seq: 0,
        };
        assert_eq!(room.destroy_timer(), None);
        room.set_destroy_timer(key);
        assert_eq!(room.destroy_timer(), Some(key));
        assert!(room.members().is_empty());
        assert_eq!(room.member_count(), 0);
        assert_eq!(room.take_destroy_timer(), Some(key));
        assert_eq!(room.take_destroy_timer(), None);
        assert_eq!(room.push_member(3), 1);
        assert_eq!(room.member_count(), 1);
    }

    /// The snapshot form still names members and the timer side by side; a room read
    /// back with both is refused, and each alone round-trips.
    #[test]
    fn a_snapshot_room_with_members_and_a_destroy_timer_is_refused() {
        let key = TimerKey {
            deadline: crate::time::Millis(5),
            seq: 2,
        };
        let id = RoomId::new("r");
        let mut waiting = a_room();
        waiting.set_destroy_timer(key);
        let json = serde_json::to_value(RoomOut::new(&id, &waiting)).unwrap();
        assert_eq!(json["destroy_timer"], serde_json::to_value(key).unwrap());
        assert_eq!(read(json).unwrap(), (id, waiting));

        let mut busy = a_room();
        busy.push_member(3);
        let mut json = serde_json::to_value(RoomOut::new(&id, &busy)).unwrap();
        assert_eq!(json["destroy_timer"], serde_json::Value::Null);
        assert_eq!(read(json.clone()).unwrap(), (id, busy));
        json["destroy_timer"] = serde_json::to_value(key).unwrap();
        let err = read(json).unwrap_err();
        assert!(err.contains("no destroy timer"), "{err}");
    }

    fn read(json: serde_json::Value) -> Result<(RoomId, Room), &'static str> {
        serde_json::from_value::<RoomIn>(json)
            .expect("a room record")
            .into_room()
    }

    /// The destroy delay is kept in 32 bits: a snapshot room with one that does not fit
    /// is refused (rooms are created with 3 hours at most), and the largest that fits
    /// round-trips.
    #[test]
    fn a_snapshot_room_with_a_destroy_delay_past_32_bits_is_refused() {
        let id = RoomId::new("r");
        let mut room = a_room();
        room.destroy_delay_ms = u32::MAX;
        let mut json = serde_json::to_value(RoomOut::new(&id, &room)).unwrap();
        assert_eq!(json["destroy_delay_ms"], u64::from(u32::MAX));
        assert_eq!(read(json.clone()).unwrap(), (id, room));
        json["destroy_delay_ms"] = (u64::from(u32::MAX) + 1).into();
        let err = read(json).unwrap_err();
        assert!(err.contains("destroy_delay_ms"), "{err}");
    }

    #[test]
    #[should_panic(expected = "only while empty")]
    fn a_room_with_members_gets_no_destroy_timer() {
        let mut room = a_room();
        room.push_member(3);
        room.set_destroy_timer(TimerKey {
            deadline: crate::time::Millis(5),
            seq: 0,
        });
    }
}
