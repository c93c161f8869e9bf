//! The engine's state (what a snapshot holds) and the lookup indexes derived from it.

use crate::config::Config;
use crate::engine::rooms::Room;
use crate::engine::sessions::{Session, Tombstone};
use crate::engine::slab::Slab;
use crate::engine::timers::Timers;
use crate::ids::{RoomId, SessionId, UserId};
use crate::time::Millis;
use foldhash::fast::FixedState;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::collections::{HashMap, VecDeque};

/// Everything the engine knows; serialized as the engine's snapshot. Only ordered or
/// insertion-ordered containers live here, so the snapshot is deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) now: Millis,
    pub(crate) rooms: Slab<Room>,
    pub(crate) sessions: Slab<Session>,
    pub(crate) timers: Timers,
    /// Closed sessions, oldest first (so also in `forget_at` order: the TTL is constant).
    pub(crate) tombstones: VecDeque<Tombstone>,
    pub(crate) next_incarnation: u64,
}

type Map<K, V> = HashMap<K, V, FixedState>;

/// Lookup tables derived from [`State`]; never serialized, never iterated (clippy guards
/// that), rebuilt on restore.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub(crate) rooms: Map<RoomId, u32>,
    pub(crate) sessions: Map<SessionId, u32>,
    /// Live sessions of each user, sorted by slot.
    pub(crate) users: Map<UserId, SmallVec<[u32; 2]>>,
    /// Closed session ids still remembered, with when they are forgotten.
    pub(crate) closed: Map<SessionId, Millis>,
}

impl Index {
    pub(crate) fn new(seed: u64) -> Index {
        let h = FixedState::with_seed(seed);
        Index {
            rooms: HashMap::with_hasher(h),
            sessions: HashMap::with_hasher(h),
            users: HashMap::with_hasher(h),
            closed: HashMap::with_hasher(h),
        }
    }

    pub(crate) fn add_user_session(&mut self, user: UserId, slot: u32) {
        let list = self.users.entry(user).or_default();
        let pos = list.partition_point(|&s| s < slot);
        list.insert(pos, slot);
    }

    pub(crate) fn remove_user_session(&mut self, user: UserId, slot: u32) {
        if let Some(list) = self.users.get_mut(&user) {
            list.retain(|s| *s != slot);
            if list.is_empty() {
                self.users.remove(&user);
            }
        }
    }
}
