//! The timer table: pending deadlines in order, each naming the object it belongs to.
//!
//! Entries are keyed by `(deadline, seq)` where `seq` is never reused, and each names its
//! target by slot *and* incarnation. Cancelling removes the entry; and even an entry that
//! somehow outlived its target could not act on a new room or session that reuses the slot,
//! because the incarnation would not match.

use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerKind {
    /// An empty room's destroy delay ran out.
    DestroyRoom {
        /// Room slot.
        slot: u32,
        /// The room's incarnation when the timer was armed.
        incarnation: u64,
    },
    /// A lost session's reconnect grace ran out.
    ReconnectGrace {
        /// Session slot.
        slot: u32,
        /// The session's incarnation when the timer was armed.
        incarnation: u64,
    },
}

/// Handle of a pending timer, kept by its owner to cancel it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimerKey {
    /// When it fires.
    pub deadline: Millis,
    /// Arming order; never reused.
    pub seq: u64,
}

/// See the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Timers {
    #[serde(with = "entries")]
    pending: BTreeMap<TimerKey, TimerKind>,
    next_seq: u64,
}

impl Timers {
    pub(crate) fn arm(&mut self, deadline: Millis, kind: TimerKind) -> TimerKey {
        let key = TimerKey {
            deadline,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.pending.insert(key, kind);
        key
    }

    pub(crate) fn cancel(&mut self, key: TimerKey) {
        self.pending.remove(&key);
    }

    /// The earliest pending timer.
    pub(crate) fn next(&self) -> Option<(TimerKey, TimerKind)> {
        self.pending.first_key_value().map(|(k, v)| (*k, *v))
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Millis) -> Option<(TimerKey, TimerKind)> {
        let (key, _) = self.pending.first_key_value()?;
        if key.deadline > now {
            return None;
        }
        self.pending.pop_first()
    }

    pub(crate) fn get(&self, key: TimerKey) -> Option<TimerKind> {
        self.pending.get(&key).copied()
    }

    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&TimerKey, &TimerKind)> {
        self.pending.iter()
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }
}

/// Serializes the timer map as a list (JSON maps need string keys).
mod entries {
    use super::{TimerKey, TimerKind};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub(super) fn serialize<S: Serializer>(
        map: &BTreeMap<TimerKey, TimerKind>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<TimerKey, TimerKind>, D::Error> {
        let list: Vec<(TimerKey, TimerKind)> = Vec::deserialize(d)?;
        Ok(list.into_iter().collect())
    }

}
