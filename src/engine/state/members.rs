//! A room's member list: what fan-out and the join/leave path read, kept with the room.
//!
//! Each entry holds the member's join sequence number (join order, paging cursors), its
//! session slot and whether its link to this room is lost, so telling the members of a room
//! or checking who is reconnecting reads the room's list, not each member's session record.
//! Small lists (the common case) are a vector sorted by join sequence number (new members
//! always get the largest number, so a join appends); a list that grows past
//! [`MANY_MEMBERS`] moves to a B-tree so a leave from a huge room stays O(log n), and moves
//! back below half of that. The form is not part of the value: equality and serialization
//! see only the entries in order (serialized as the `join_seq -> session slot` map the
//! snapshot format has always had; the lost bits are derived from the sessions on restore).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;
use std::collections::BTreeMap;

/// Above this many members the list is a B-tree.
const MANY_MEMBERS: usize = 64;

/// In the B-tree form, a member's lost-link bit rides in its slot's top bit (slots stay
/// below 2^31: `max_sessions` is at most 2^30), so an entry is 12 bytes, not 16.
const LOST_BIT: u32 = 1 << 31;

/// The B-tree form's value for a slot and its lost-link bit.
fn pack(session: u32, lost: bool) -> u32 {
    assert!(
        session < LOST_BIT,
        "session slots stay below 2^31 (max_sessions is at most 2^30)"
    );
    session | if lost { LOST_BIT } else { 0 }
}

/// The entry a B-tree form's key and value stand for.
fn unpack(join_seq: u64, packed: u32) -> MemberEntry {
    MemberEntry {
        join_seq,
        session: packed & !LOST_BIT,
        lost: packed & LOST_BIT != 0,
    }
}

/// One member of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemberEntry {
    /// Join sequence number: join order, never reused within the room.
    pub(crate) join_seq: u64,
    /// The member's session slot.
    pub(crate) session: u32,
    /// Whether the member's link to this room is lost (it is reconnecting to it).
    pub(crate) lost: bool,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub(crate) enum MemberList {
    /// Sorted by join sequence number; one member inline.
    Few(SmallVec<[MemberEntry; 1]>),
    /// Join sequence number -> session slot, with the lost-link bit on top ([`pack`]).
    Many(BTreeMap<u64, u32>),
}

impl Default for MemberList {
    fn default() -> Self {
        MemberList::Few(SmallVec::new())
    }
}

impl PartialEq for MemberList {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for MemberList {}

impl MemberList {
    pub(crate) fn len(&self) -> usize {
        match self {
            MemberList::Few(v) => v.len(),
            MemberList::Many(m) => m.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Members in join order.
    pub(crate) fn iter(&self) -> Iter<'_> {
        self.range_from(0)
    }

    /// Members with a join sequence number of at least `from`, in join order.
    pub(crate) fn range_from(&self, from: u64) -> Iter<'_> {
        match self {
            MemberList::Few(v) => {
                let start = v.partition_point(|e| e.join_seq < from);
                Iter::Few(v[start..].iter())
            }
            MemberList::Many(m) => Iter::Many(m.range(from..)),
        }
    }

    /// The member with this join sequence number.
    pub(crate) fn get(&self, join_seq: u64) -> Option<MemberEntry> {
        match self {
            MemberList::Few(v) => v
                .binary_search_by_key(&join_seq, |e| e.join_seq)
                .ok()
                .map(|i| v[i]),
            MemberList::Many(m) => m.get(&join_seq).map(|&packed| unpack(join_seq, packed)),
        }
    }

    /// Appends a member whose join sequence number is above every other's, or replaces
    /// the entry with the same number (a takeover by another device of the same user).
    pub(crate) fn put(&mut self, entry: MemberEntry) {
        match self {
            MemberList::Few(v) => {
                match v.binary_search_by_key(&entry.join_seq, |e| e.join_seq) {
                    Ok(i) => v[i] = entry,
                    Err(i) => v.insert(i, entry),
                }
                if v.len() > MANY_MEMBERS {
                    let tree = v
                        .iter()
                        .map(|e| (e.join_seq, pack(e.session, e.lost)))
                        .collect();
                    *self = MemberList::Many(tree);
                }
            }
            MemberList::Many(m) => {
                m.insert(entry.join_seq, pack(entry.session, entry.lost));
            }
        }
    }

    /// Removes the member with this join sequence number.
    pub(crate) fn remove(&mut self, join_seq: u64) -> Option<MemberEntry> {
        match self {
            MemberList::Few(v) => {
                let i = v.binary_search_by_key(&join_seq, |e| e.join_seq).ok()?;
                Some(v.remove(i))
            }
            MemberList::Many(m) => {
                let packed = m.remove(&join_seq)?;
                if m.len() < MANY_MEMBERS / 2 {
                    let few = m.iter().map(|(&seq, &p)| unpack(seq, p)).collect();
                    *self = MemberList::Few(few);
                }
                Some(unpack(join_seq, packed))
            }
        }
    }

    /// Sets whether the member with this join sequence number has lost its link; false if
    /// there is none.
    pub(crate) fn set_lost(&mut self, join_seq: u64, lost: bool) -> bool {
        match self {
            MemberList::Few(v) => match v.binary_search_by_key(&join_seq, |e| e.join_seq) {
                Ok(i) => {
                    v[i].lost = lost;
                    true
                }
                Err(_) => false,
            },
            MemberList::Many(m) => m
                .get_mut(&join_seq)
                .map(|p| *p = pack(*p & !LOST_BIT, lost))
                .is_some(),
        }
    }
}

/// Members in join order (see [`MemberList::iter`]).
pub(crate) enum Iter<'a> {
    Few(std::slice::Iter<'a, MemberEntry>),
    Many(std::collections::btree_map::Range<'a, u64, u32>),
}

impl Iterator for Iter<'_> {
    type Item = MemberEntry;

    fn next(&mut self) -> Option<MemberEntry> {
        match self {
            Iter::Few(it) => it.next().copied(),
            Iter::Many(it) => it
                .next()
                .map(|(&join_seq, &packed)| unpack(join_seq, packed)),
        }
    }
}

impl Serialize for MemberList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|e| (e.join_seq, e.session)))
    }
}

impl<'de> Deserialize<'de> for MemberList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<u64, u32>::deserialize(d)?;
        let mut list = MemberList::default();
        for (join_seq, session) in map {
            list.put(MemberEntry {
                join_seq,
                session,
                lost: false,
            });
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(join_seq: u64) -> MemberEntry {
        MemberEntry {
            join_seq,
            session: u32::try_from(join_seq * 10).unwrap(),
            lost: join_seq.is_multiple_of(3),
        }
    }

    /// Both forms agree with a plain ordered map through growth past the threshold and
    /// shrinking back, and a list equals another with the same entries whatever its form.
    #[test]
    fn both_forms_behave_as_an_ordered_map() {
        let mut list = MemberList::default();
        let mut model: BTreeMap<u64, MemberEntry> = BTreeMap::new();
        let n = 3 * MANY_MEMBERS as u64;
        for seq in 1..=n {
            list.put(entry(seq));
            model.insert(seq, entry(seq));
        }
        assert!(matches!(list, MemberList::Many(_)));
        for seq in (1..=n).filter(|s| s.is_multiple_of(2) || *s > 20) {
            assert_eq!(list.remove(seq), model.remove(&seq));
            assert_eq!(
                list.iter().collect::<Vec<_>>(),
                model.values().copied().collect::<Vec<_>>()
            );
            assert_eq!(list.get(seq), None);
        }
        assert!(matches!(list, MemberList::Few(_)));
        assert!(list.set_lost(1, true));
        model.get_mut(&1).unwrap().lost = true;
        assert!(!list.set_lost(2, true));
        let tail: Vec<_> = list.range_from(5).collect();
        assert_eq!(tail, model.range(5..).map(|(_, e)| *e).collect::<Vec<_>>());
        let mut tree = MemberList::Many(BTreeMap::new());
        for e in model.values() {
            if let MemberList::Many(m) = &mut tree {
                m.insert(e.join_seq, pack(e.session, e.lost));
            }
        }
        assert_eq!(tree, list);
    }

    /// Serialized as the `join_seq -> slot` map; lost bits are not in it.
    #[test]
    fn serializes_as_the_map_of_slots() {
        let mut list = MemberList::default();
        list.put(entry(3));
        list.put(entry(7));
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"{"3":30,"7":70}"#);
        let back: MemberList = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back.iter().map(|e| e.lost).collect::<Vec<_>>(),
            [false, false]
        );
    }
}
