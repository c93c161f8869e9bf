//! A bounded table of recent keys, oldest evicted first: the replicated memory that makes
//! client retries and saga steps idempotent without growing without bound.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// Up to `capacity` entries, looked up by key, evicted in insertion order.
///
/// Serialized as the entries in insertion order (a JSON map cannot have struct keys, and the
/// order is part of the replicated state: every replica must evict the same key next).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    from = "RecentWire<K, V>",
    into = "RecentWire<K, V>",
    bound(
        serialize = "K: Ord + Clone + Serialize, V: Clone + Serialize",
        deserialize = "K: Ord + Clone + Deserialize<'de>, V: Deserialize<'de>"
    )
)]
pub struct Recent<K: Ord + Clone, V> {
    capacity: usize,
    order: VecDeque<K>,
    map: BTreeMap<K, V>,
}

/// The serialized form of [`Recent`].
#[derive(Serialize, Deserialize)]
struct RecentWire<K, V> {
    capacity: usize,
    entries: Vec<(K, V)>,
}

impl<K: Ord + Clone, V> Recent<K, V> {
    /// An empty table that keeps at most `capacity` entries (at least one).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Recent {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            map: BTreeMap::new(),
        }
    }

    /// The value recorded for `key`, if it is still remembered.
    #[must_use]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// Records `key`; the oldest entry goes when the table is full. A key already present
    /// keeps its place and gets the new value.
    pub fn insert(&mut self, key: K, value: V) {
        if let Some(slot) = self.map.get_mut(&key) {
            *slot = value;
            return;
        }
        while self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
    }

    /// How many entries are remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl<K: Ord + Clone, V> From<RecentWire<K, V>> for Recent<K, V> {
    fn from(wire: RecentWire<K, V>) -> Self {
        let mut table = Recent::new(wire.capacity);
        for (k, v) in wire.entries {
            table.insert(k, v);
        }
        table
    }
}

impl<K: Ord + Clone, V: Clone> From<Recent<K, V>> for RecentWire<K, V> {
    fn from(mut table: Recent<K, V>) -> Self {
        let entries = table
            .order
            .iter()
            .filter_map(|k| table.map.remove(k).map(|v| (k.clone(), v)))
            .collect();
        RecentWire {
            capacity: table.capacity,
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn evicts_oldest_first_and_round_trips_in_order() {
        let mut t = Recent::new(2);
        t.insert(3u64, "a");
        t.insert(1, "b");
        t.insert(3, "c"); // update keeps the place
        t.insert(2, "d"); // evicts 3, the oldest
        assert_eq!(t.get(&3), None);
        assert_eq!(t.get(&1), Some(&"b"));
        let json = serde_json::to_string(&t).expect("serializes");
        assert_eq!(json, r#"{"capacity":2,"entries":[[1,"b"],[2,"d"]]}"#);
        let back: Recent<u64, String> = serde_json::from_str(&json).expect("parses");
        assert_eq!(back.len(), 2);
        assert_eq!(back.get(&2).map(String::as_str), Some("d"));
    }
}
