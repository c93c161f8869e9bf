//! What a large room's open window holds: each touched user's latest change.
//!
//! A window records a change on every join and leave of a large room, so recording must
//! cost a hash probe, not a walk down an ordered tree whose every step compares two 32-byte
//! ids (that walk was a fifth of a join+leave pair in a room of 100,000). The changes live
//! in a list in the order users were first touched, with a hash table of list positions by
//! user beside it. Nothing reads the table's order: the window's outcome is sorted by each
//! change's `order`, and equality, `Debug` and the snapshot form see the changes sorted by
//! user, exactly the ordered map they used to be.

use super::room::BatchChange;
use crate::ids::UserId;
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::hash::BuildHasher;

/// Each touched user's latest change in a window (see the module docs).
#[derive(Clone, Default)]
pub(crate) struct WindowChanges {
    /// `(user, latest change)`, in the order users were first touched.
    entries: Vec<(UserId, BatchChange)>,
    /// Positions in `entries`, found by the user's hash (the engine's seeded hasher). Empty
    /// after a restore until `reindex` runs.
    by_user: HashTable<u32>,
}

impl WindowChanges {
    /// How many users the window has touched.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Each touched user with its latest change, in the order users were first touched.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (UserId, BatchChange)> + '_ {
        self.entries.iter().copied()
    }

    /// Records `user`'s latest change, replacing its earlier one.
    pub(crate) fn record(&mut self, hasher: &FixedState, user: UserId, change: BatchChange) {
        let entries = &mut self.entries;
        let hash = hasher.hash_one(user);
        if let Some(&at) = self
            .by_user
            .find(hash, |&at| entries[at as usize].0 == user)
        {
            entries[at as usize].1 = change;
            return;
        }
        let at = u32::try_from(entries.len())
            .expect("a window holds at most max_members_per_room (a u32) users");
        entries.push((user, change));
        let entries: &[(UserId, BatchChange)] = entries;
        self.by_user
            .insert_unique(hash, at, |&at| hasher.hash_one(entries[at as usize].0));
    }

    /// Rebuilds the hash table after a restore (the snapshot holds the changes only).
    pub(crate) fn reindex(&mut self, hasher: &FixedState) {
        self.by_user.clear();
        let entries: &[(UserId, BatchChange)] = &self.entries;
        for (at, (user, _)) in entries.iter().enumerate() {
            let at = u32::try_from(at).expect("a window holds at most u32::MAX users");
            self.by_user
                .insert_unique(hasher.hash_one(user), at, |&at| {
                    hasher.hash_one(entries[at as usize].0)
                });
        }
    }

    /// Whether every user is listed once and the hash table finds each at its position (for
    /// the invariant check).
    pub(crate) fn is_indexed(&self, hasher: &FixedState) -> bool {
        let entries = &self.entries;
        self.by_user.len() == entries.len()
            && entries.iter().enumerate().all(|(at, (user, _))| {
                self.by_user
                    .find(hasher.hash_one(user), |&i| entries[i as usize].0 == *user)
                    == Some(&(at as u32))
            })
    }

    /// The changes sorted by user: the form equality, `Debug` and snapshots see.
    fn sorted(&self) -> BTreeMap<UserId, BatchChange> {
        self.iter().collect()
    }
}

impl PartialEq for WindowChanges {
    fn eq(&self, other: &WindowChanges) -> bool {
        self.len() == other.len() && self.sorted() == other.sorted()
    }
}

impl Eq for WindowChanges {}

impl fmt::Debug for WindowChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.sorted(), f)
    }
}

/// A map from user to change, sorted by user (the form a snapshot has always had).
impl Serialize for WindowChanges {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.sorted().serialize(s)
    }
}

/// Reads the map; the hash table is rebuilt by `reindex` once the engine's hasher is known.
impl<'de> Deserialize<'de> for WindowChanges {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<WindowChanges, D::Error> {
        let map = BTreeMap::<UserId, BatchChange>::deserialize(d)?;
        Ok(WindowChanges {
            entries: map.into_iter().collect(),
            by_user: HashTable::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::LeaveReason;

    fn user(n: u32) -> UserId {
        UserId::new(&format!("user-{n}"))
    }

    fn joined(order: u64) -> BatchChange {
        BatchChange::Joined { order }
    }

    #[test]
    fn a_later_change_replaces_the_earlier_one() {
        let h = FixedState::with_seed(7);
        let mut w = WindowChanges::default();
        w.record(&h, user(1), joined(0));
        w.record(&h, user(2), joined(1));
        let left = BatchChange::Left {
            order: 2,
            reason: LeaveReason::Left,
        };
        w.record(&h, user(1), left);
        assert_eq!(w.len(), 2);
        assert_eq!(
            w.iter().collect::<Vec<_>>(),
            [(user(1), left), (user(2), joined(1))]
        );
    }

    #[test]
    fn equality_and_snapshots_ignore_the_order_of_first_touch() {
        let h = FixedState::with_seed(7);
        let (mut a, mut b) = (WindowChanges::default(), WindowChanges::default());
        a.record(&h, user(1), joined(0));
        a.record(&h, user(2), joined(1));
        b.record(&h, user(2), joined(1));
        b.record(&h, user(1), joined(0));
        assert_eq!(a, b);
        let json = serde_json::to_string(&a).expect("changes serialize");
        assert_eq!(json, serde_json::to_string(&b).expect("changes serialize"));
        assert_eq!(
            json,
            serde_json::to_string(&a.sorted()).expect("a map serializes")
        );
    }

    #[test]
    fn a_restored_window_finds_its_users_once_reindexed() {
        let h = FixedState::with_seed(7);
        let mut w = WindowChanges::default();
        for n in 0..100 {
            w.record(&h, user(n), joined(u64::from(n)));
        }
        let json = serde_json::to_string(&w).expect("changes serialize");
        let mut back: WindowChanges = serde_json::from_str(&json).expect("changes read back");
        assert_eq!(back, w);
        assert!(!back.is_indexed(&h), "a read window has no table yet");
        back.reindex(&h);
        assert!(back.is_indexed(&h));
        back.record(&h, user(5), joined(100));
        assert_eq!(back.len(), 100, "user 5 was found, not added twice");
        assert!(back.iter().any(|c| c == (user(5), joined(100))));
    }
}
