//! Placement: which Raft group (shard) owns a room, and which one is a session's home.

use roomcore::{RoomId, SessionId};
use serde::{Deserialize, Serialize};

/// A shard (one Raft group) id.
pub type ShardId = u32;

/// How room ids map to shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Placement {
    /// `fnv1a64(room id) % shards`: even spread, no locality.
    Hash {
        /// Number of shards, ids `0..shards`.
        shards: u32,
    },
    /// Sorted ranges of room ids: each entry owns ids from its `start` (inclusive) up to
    /// the next entry's start. Ids before the first start belong to the first shard listed.
    Ranges {
        /// `(start, shard)`, sorted by start.
        ranges: Vec<(String, ShardId)>,
    },
}

/// A versioned shard map. Every group holds the newest version it was given; a newer
/// version replaces an older one, never the reverse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMap {
    /// Bumped on every change.
    pub version: u64,
    /// The rule.
    pub placement: Placement,
}

impl ShardMap {
    /// The shard that owns `room`.
    #[must_use]
    pub fn shard_of(&self, room: &RoomId) -> ShardId {
        match &self.placement {
            Placement::Hash { shards } => bucket(room.as_str(), *shards),
            Placement::Ranges { ranges } => {
                let id = room.as_str();
                let first = ranges.first().map_or(0, |r| r.1);
                ranges
                    .iter()
                    .take_while(|(start, _)| start.as_str() <= id)
                    .last()
                    .map_or(first, |r| r.1)
            }
        }
    }

    /// A session's home shard: where it logs in and where its cross-shard bookkeeping
    /// (switch outbox, and the designed leave-all and limit ledgers) is replicated.
    #[must_use]
    pub fn home_of(&self, session: &SessionId) -> ShardId {
        let shards = self.shards();
        let n = u32::try_from(shards.len()).unwrap_or(u32::MAX);
        let index = bucket(session.as_str(), n) as usize;
        shards.get(index).copied().unwrap_or(0)
    }

    /// Every shard the map names, ascending.
    #[must_use]
    pub fn shards(&self) -> Vec<ShardId> {
        match &self.placement {
            Placement::Hash { shards } => (0..*shards).collect(),
            Placement::Ranges { ranges } => {
                let mut ids: Vec<ShardId> = ranges.iter().map(|r| r.1).collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
        }
    }
}

/// `fnv1a64(text) % n` (0 when `n` is 0): stable across processes, machines and releases,
/// unlike the std hasher.
fn bucket(text: &str, n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // The remainder is below n, which is a u32.
    u32::try_from(h % u64::from(n)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_pick_the_last_start_at_or_before_the_id() {
        let map = ShardMap {
            version: 1,
            placement: Placement::Ranges {
                ranges: vec![("".into(), 0), ("m".into(), 1)],
            },
        };
        assert_eq!(map.shard_of(&RoomId::new("apple")), 0);
        assert_eq!(map.shard_of(&RoomId::new("m")), 1);
        assert_eq!(map.shard_of(&RoomId::new("zebra")), 1);
        assert_eq!(map.shards(), vec![0, 1]);
    }

    #[test]
    fn hash_placement_is_stable_and_spreads() {
        let map = ShardMap {
            version: 1,
            placement: Placement::Hash { shards: 4 },
        };
        // Pinned values: a change here would move every room of a running deployment.
        // FNV-1a 64 test vectors (the empty string is the offset basis).
        assert_eq!(
            bucket("", u32::MAX),
            (14_695_981_039_346_656_037u64 % u64::from(u32::MAX)) as u32
        );
        assert_eq!(bucket("r1", 4), 0);
        assert_eq!(bucket("lobby", 7), 5);
        assert_eq!(
            map.home_of(&SessionId::new("r1")),
            0,
            "a home is a shard of the map"
        );
        let mut seen = [0u32; 4];
        for i in 0..400 {
            seen[map.shard_of(&RoomId::new(&format!("room{i}"))) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 50), "uneven spread {seen:?}");
    }
}
