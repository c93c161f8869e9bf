//! Lookup tables derived from [`State`]: never serialized, never iterated in hash order
//! (clippy guards that), rebuilt on restore.
//!
//! Each id is stored once, in its record in the slab (a room's in the id column beside the
//! room slab, see `rooms.rs`). The id tables hold only `u32` slots: a slot's hash is its
//! record's id hashed, and a probe compares the id in the record, so a
//! table entry costs 4 bytes (plus hashbrown's control byte) instead of a copy of the
//! 34-byte id. A table must therefore only hold slots that are live in its slab whenever it
//! may rehash (an insert): records leave their table before they leave their slab.
//!
//! A user's sessions are a list threaded through the session records (`Session::next_of_user`,
//! ascending slot order); the user table holds the first slot of each user's list.

use super::rooms::Rooms;
use super::session::{Session, UserLink};
use super::slab::Slab;
use super::State;
use crate::error::ConfigError;
use crate::ids::{RoomId, RoomSid, SessionId, UserId};
use crate::time::Millis;
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

/// The end of a user's session list.
pub(crate) const NO_SLOT: u32 = u32::MAX;

type Map<K, V> = HashMap<K, V, FixedState>;

/// See the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    hasher: FixedState,
    /// Room slots by the room's id.
    pub(in crate::engine::state) rooms: HashTable<u32>,
    /// Session slots by the session's id.
    pub(in crate::engine::state) sessions: HashTable<u32>,
    /// The first (lowest) session slot of each user with a live session, by the user id.
    pub(in crate::engine::state) users: HashTable<u32>,
    /// Closed session ids still remembered, with when they are forgotten.
    pub(in crate::engine::state) closed: Map<SessionId, Millis>,
    /// Bans by (room id, user).
    pub(in crate::engine::state) bans: Map<(RoomId, UserId), u32>,
    /// Rooms in creation order: sid -> slot (`list_rooms` pages through it).
    pub(in crate::engine::state) by_sid: BTreeMap<RoomSid, u32>,
}

fn room_id_at(rooms: &Rooms, slot: u32) -> &RoomId {
    rooms
        .id(slot)
        .expect("the room table holds live slots only")
}

fn session_at(sessions: &Slab<Session>, slot: u32) -> &Session {
    sessions
        .get(slot)
        .expect("the session and user tables hold live slots only")
}

impl Index {
    pub(crate) fn new(seed: u64) -> Index {
        let h = FixedState::with_seed(seed);
        Index {
            hasher: h,
            rooms: HashTable::new(),
            sessions: HashTable::new(),
            users: HashTable::new(),
            closed: HashMap::with_hasher(h),
            bans: HashMap::with_hasher(h),
            by_sid: BTreeMap::new(),
        }
    }

    /// The engine's seeded hasher (also keys a large room's window of changes).
    pub(crate) fn hasher(&self) -> &FixedState {
        &self.hasher
    }

    fn hash<T: Hash>(&self, value: &T) -> u64 {
        self.hasher.hash_one(value)
    }

    /// Builds the indexes of a restored state, refusing duplicate ids, and threads each
    /// user's session list through the session records.
    pub(crate) fn rebuild(state: &mut State) -> Result<Index, ConfigError> {
        let mut index = Index::new(state.config.hash_seed);
        let room_slots: Vec<u32> = state.rooms.iter().map(|(slot, _)| slot).collect();
        for slot in room_slots {
            let id = *room_id_at(&state.rooms, slot);
            let sid = state.rooms.get(slot).expect("listed just now").sid;
            if index.room(&state.rooms, id).is_some() || index.by_sid.insert(sid, slot).is_some() {
                return Err(ConfigError::InconsistentState(format!(
                    "duplicate room {id}"
                )));
            }
            index.insert_room(&state.rooms, slot);
        }
        // A window's hash table of users is derived (the snapshot holds its changes).
        for slot in state
            .rooms
            .iter()
            .map(|(slot, _)| slot)
            .collect::<Vec<u32>>()
        {
            let room = state.rooms.get_mut(slot).expect("listed just now");
            if let Some(batch) = room
                .cold_if_any()
                .and_then(|c| c.member_batch.as_deref_mut())
            {
                batch.changes.reindex(&index.hasher);
            }
        }
        // The member lists' lost bits are derived from the sessions (not serialized twice).
        for (_, s) in state.sessions.iter() {
            for m in s.memberships().iter().filter(|m| m.is_reconnecting()) {
                if let Some(room) = state.rooms.get_mut(m.room) {
                    room.members_mut().set_lost(m.join_seq, true);
                }
            }
        }
        let session_slots: Vec<u32> = state.sessions.iter().map(|(slot, _)| slot).collect();
        for slot in session_slots {
            let s = session_at(&state.sessions, slot);
            if index.session(&state.sessions, s.id).is_some() {
                return Err(ConfigError::InconsistentState(format!(
                    "duplicate session {}",
                    s.id
                )));
            }
            index.insert_session(&mut state.sessions, slot);
        }
        for t in &state.tombstones {
            if index.session(&state.sessions, t.session).is_none() {
                index.closed.insert(t.session, t.forget_at);
            }
        }
        for (slot, ban) in state.bans.iter() {
            if index.bans.insert((ban.room_id, ban.user), slot).is_some() {
                return Err(ConfigError::InconsistentState(format!(
                    "duplicate ban of {} from {}",
                    ban.user, ban.room_id
                )));
            }
        }
        Ok(index)
    }

    /// The slot of a room by id.
    pub(crate) fn room(&self, rooms: &Rooms, id: RoomId) -> Option<u32> {
        self.rooms
            .find(self.hash(&id), |&s| *room_id_at(rooms, s) == id)
            .copied()
    }

    /// The slot of a logged-in session by id.
    pub(crate) fn session(&self, sessions: &Slab<Session>, id: SessionId) -> Option<u32> {
        self.sessions
            .find(self.hash(&id), |&s| session_at(sessions, s).id == id)
            .copied()
    }

    /// The first slot of a user's session list.
    pub(crate) fn first_user_session(&self, sessions: &Slab<Session>, user: UserId) -> u32 {
        self.users
            .find(self.hash(&user), |&s| session_at(sessions, s).user == user)
            .copied()
            .unwrap_or(NO_SLOT)
    }

    /// The slot of the ban of `user` from `room`, if one is in force.
    pub(crate) fn ban(&self, room: RoomId, user: UserId) -> Option<u32> {
        self.bans.get(&(room, user)).copied()
    }

    /// Rooms from sid `from` on, in creation order.
    pub(crate) fn rooms_from(&self, from: RoomSid) -> impl Iterator<Item = (&RoomSid, &u32)> {
        self.by_sid.range(from..)
    }

    /// Whether a session id is closed and still remembered.
    pub(crate) fn is_closed(&self, id: SessionId) -> bool {
        self.closed.contains_key(&id)
    }

    /// Indexes the room at `slot` (live in `rooms`, its id not indexed yet).
    pub(in crate::engine::state) fn insert_room(&mut self, rooms: &Rooms, slot: u32) {
        let hasher = self.hasher;
        let hash = hasher.hash_one(room_id_at(rooms, slot));
        self.rooms
            .insert_unique(hash, slot, |&s| hasher.hash_one(room_id_at(rooms, s)));
    }

    /// Forgets the room `id` at `slot` (its record may already be gone: only slots are
    /// compared).
    pub(in crate::engine::state) fn remove_room(&mut self, id: RoomId, slot: u32) {
        if let Ok(entry) = self.rooms.find_entry(self.hash(&id), |&s| s == slot) {
            entry.remove();
        }
    }

    /// Indexes the session at `slot` (live, its id not indexed yet, not in any user list)
    /// and links it into its user's list.
    pub(in crate::engine::state) fn insert_session(
        &mut self,
        sessions: &mut Slab<Session>,
        slot: u32,
    ) {
        let hasher = self.hasher;
        let (id, user) = {
            let s = session_at(sessions, slot);
            (s.id, s.user)
        };
        let snapshot: &Slab<Session> = sessions;
        self.sessions
            .insert_unique(hasher.hash_one(id), slot, |&s| {
                hasher.hash_one(session_at(snapshot, s).id)
            });
        let user_hash = hasher.hash_one(user);
        let head = self
            .users
            .find(user_hash, |&s| session_at(sessions, s).user == user)
            .copied();
        match head {
            None => {
                link_of(sessions, slot).set_alone(true);
                let snapshot: &Slab<Session> = sessions;
                self.users.insert_unique(user_hash, slot, |&s| {
                    hasher.hash_one(session_at(snapshot, s).user)
                });
                return;
            }
            Some(head) if slot < head => {
                set_next(sessions, slot, head);
                if let Some(first) = self.users.find_mut(user_hash, |&s| s == head) {
                    *first = slot;
                }
            }
            Some(head) => {
                let mut prev = head;
                loop {
                    let next = session_at(sessions, prev).user_link.next();
                    if next == NO_SLOT || next > slot {
                        set_next(sessions, slot, next);
                        set_next(sessions, prev, slot);
                        break;
                    }
                    prev = next;
                }
            }
        }
        if let Some(head) = head {
            // The user has two sessions at least now: the list starts at the smaller slot.
            set_alone_from(sessions, head.min(slot), false);
        }
    }

    /// Forgets the session at `slot` (still live in `sessions`) and unlinks it from its
    /// user's list.
    pub(in crate::engine::state) fn remove_session(
        &mut self,
        sessions: &mut Slab<Session>,
        slot: u32,
    ) {
        let (id, user, after) = {
            let s = session_at(sessions, slot);
            (s.id, s.user, s.user_link.next())
        };
        if let Ok(entry) = self.sessions.find_entry(self.hash(&id), |&s| s == slot) {
            entry.remove();
        }
        let user_hash = self.hash(&user);
        let head = self
            .users
            .find(user_hash, |&s| session_at(sessions, s).user == user)
            .copied()
            .expect("a live session is listed under its user");
        if head == slot {
            if let Ok(entry) = self.users.find_entry(user_hash, |&s| s == slot) {
                if after == NO_SLOT {
                    entry.remove();
                } else {
                    *entry.into_mut() = after;
                }
            }
        } else {
            let mut prev = head;
            loop {
                let next = session_at(sessions, prev).user_link.next();
                if next == slot || next == NO_SLOT {
                    set_next(sessions, prev, after);
                    break;
                }
                prev = next;
            }
        }
        set_next(sessions, slot, NO_SLOT);
        link_of(sessions, slot).set_alone(true);
        let first = if head == slot { after } else { head };
        if first != NO_SLOT && session_at(sessions, first).user_link.next() == NO_SLOT {
            link_of(sessions, first).set_alone(true);
        }
    }

    /// Table sizes, for the invariant check: rooms, sessions, users.
    pub(crate) fn table_lens(&self) -> [usize; 3] {
        [self.rooms.len(), self.sessions.len(), self.users.len()]
    }
}

fn set_next(sessions: &mut Slab<Session>, slot: u32, next: u32) {
    link_of(sessions, slot).set_next(next);
}

fn link_of(sessions: &mut Slab<Session>, slot: u32) -> &mut UserLink {
    &mut sessions
        .get_mut(slot)
        .expect("a user list links live sessions only")
        .user_link
}

/// Marks every session of the list starting at `head` as its user's only one or not.
fn set_alone_from(sessions: &mut Slab<Session>, head: u32, alone: bool) {
    let mut at = head;
    while at != NO_SLOT {
        let link = link_of(sessions, at);
        link.set_alone(alone);
        at = link.next();
    }
}

/// A user's live sessions in slot order, read from the list threaded through them.
pub(crate) struct UserSessions<'a> {
    pub(crate) sessions: &'a Slab<Session>,
    pub(crate) next: u32,
}

impl Iterator for UserSessions<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.next == NO_SLOT {
            return None;
        }
        let slot = self.next;
        self.next = session_at(self.sessions, slot).user_link.next();
        Some(slot)
    }
}
