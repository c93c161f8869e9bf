//! Per-user quotas, kept by the engine task: sessions logged in, rooms created that still
//! exist, and room attribute bytes written into rooms that still exist. The engine bounds the
//! whole server (`max_rooms`, attribute limits per room); these bound one user's share, so a
//! single account cannot fill the server with rooms that outlive it (an empty room keeps its
//! attributes for up to three hours with `keep_attributes_while_empty`).
//!
//! Attribute bytes are charged to the writer when a write succeeds: the keys and values it
//! set, at least [`MIN_CHARGE_BYTES`] per write, and at most the room's attribute limit per
//! user and room (a room cannot hold more, however often it is overwritten). The charge is
//! released when the room is destroyed. It is an upper bound of what the user holds.

use roomcore::{Input, Output, RoomConfig, RoomId, Stamped, UserId};
use std::collections::HashMap;

/// Smallest charge of one attribute write (about what the bookkeeping of a charge costs).
pub const MIN_CHARGE_BYTES: usize = 64;

/// Which quota a command would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// Sessions per user.
    Sessions,
    /// Rooms created per user.
    Rooms,
    /// Attribute bytes per user.
    AttributeBytes,
}

impl Exceeded {
    /// A human-readable reason.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Exceeded::Sessions => "this user has as many sessions as it may have",
            Exceeded::Rooms => "this user has created as many rooms as it may have at once",
            Exceeded::AttributeBytes => {
                "this user has written as many room attribute bytes as it may hold"
            }
        }
    }
}

/// The bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    /// Sessions per user.
    pub sessions: usize,
    /// Rooms created per user.
    pub rooms: usize,
    /// Attribute bytes per user.
    pub attribute_bytes: usize,
    /// One room's attribute limit (the engine's `attributes_total_max_bytes`).
    pub room_attribute_bytes: usize,
}

/// The counters.
#[derive(Debug)]
pub struct Quotas {
    limits: QuotaLimits,
    sessions: HashMap<UserId, usize>,
    rooms: HashMap<UserId, usize>,
    creator: HashMap<RoomId, UserId>,
    charges: HashMap<RoomId, HashMap<UserId, usize>>,
    charged: HashMap<UserId, usize>,
}

fn attribute_bytes(attributes: &std::collections::BTreeMap<String, String>) -> usize {
    attributes.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// The room an input would create if it does not exist, with its initial config.
fn would_create(input: &Input) -> Option<(RoomId, Option<&RoomConfig>)> {
    match input {
        Input::CreateRoom { room, config, .. } | Input::EnterRoom { room, config, .. } => {
            Some((room.id, config.as_ref()))
        }
        Input::SwitchRoom {
            to,
            create_if_missing: true,
            config,
            ..
        } => Some((to.id, config.as_ref())),
        _ => None,
    }
}

impl Quotas {
    /// No user holds anything yet.
    #[must_use]
    pub fn new(limits: QuotaLimits) -> Quotas {
        Quotas {
            limits,
            sessions: HashMap::new(),
            rooms: HashMap::new(),
            creator: HashMap::new(),
            charges: HashMap::new(),
            charged: HashMap::new(),
        }
    }

    fn charge_after(&self, room: RoomId, user: UserId, bytes: usize) -> usize {
        let cur = self
            .charges
            .get(&room)
            .and_then(|m| m.get(&user))
            .copied()
            .unwrap_or(0);
        let next = (cur + bytes.max(MIN_CHARGE_BYTES)).min(self.limits.room_attribute_bytes);
        let total = self.charged.get(&user).copied().unwrap_or(0);
        total - cur + next
    }

    /// Whether `user` may send `input` now; `exists` tells whether a room exists.
    ///
    /// # Errors
    /// The quota it would pass.
    pub fn check(
        &self,
        user: UserId,
        input: &Input,
        exists: impl Fn(RoomId) -> bool,
    ) -> Result<(), Exceeded> {
        if let Input::Login { .. } = input {
            if self.sessions.get(&user).copied().unwrap_or(0) >= self.limits.sessions {
                return Err(Exceeded::Sessions);
            }
        }
        if let Some((room, config)) = would_create(input) {
            if !exists(room) {
                if self.rooms.get(&user).copied().unwrap_or(0) >= self.limits.rooms {
                    return Err(Exceeded::Rooms);
                }
                if let Some(c) = config.filter(|c| !c.attributes.is_empty()) {
                    let after = self.charge_after(room, user, attribute_bytes(&c.attributes));
                    if after > self.limits.attribute_bytes {
                        return Err(Exceeded::AttributeBytes);
                    }
                }
            }
        }
        if let Input::SetRoomAttributes {
            room_id,
            attributes,
            ..
        } = input
        {
            let after = self.charge_after(*room_id, user, attribute_bytes(attributes));
            if after > self.limits.attribute_bytes {
                return Err(Exceeded::AttributeBytes);
            }
        }
        Ok(())
    }

    fn charge(&mut self, room: RoomId, user: UserId, bytes: usize) {
        let after = self.charge_after(room, user, bytes);
        let per_room = self.charges.entry(room).or_default();
        let cur = per_room.get(&user).copied().unwrap_or(0);
        let total = self.charged.get(&user).copied().unwrap_or(0);
        per_room.insert(user, after + cur - total);
        self.charged.insert(user, after);
    }

    /// Counts what `user`'s `input` did, from its outputs (`ok`: its reply succeeded).
    pub fn after(&mut self, user: UserId, input: &Input, ok: bool, outputs: &[Stamped]) {
        for s in outputs {
            if let Output::RoomCreated { room_id, .. } = s.output {
                *self.rooms.entry(user).or_default() += 1;
                self.creator.insert(room_id, user);
                let initial = would_create(input)
                    .filter(|(r, _)| *r == room_id)
                    .and_then(|(_, c)| c)
                    .map_or(0, |c| attribute_bytes(&c.attributes));
                if initial > 0 {
                    self.charge(room_id, user, initial);
                }
            }
        }
        if let (
            Input::SetRoomAttributes {
                room_id,
                attributes,
                ..
            },
            true,
        ) = (input, ok)
        {
            self.charge(*room_id, user, attribute_bytes(attributes));
        }
    }

    /// Releases what a destroyed room held.
    pub fn room_destroyed(&mut self, room: RoomId) {
        if let Some(user) = self.creator.remove(&room) {
            if let Some(n) = self.rooms.get_mut(&user) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.rooms.remove(&user);
                }
            }
        }
        for (user, bytes) in self.charges.remove(&room).unwrap_or_default() {
            if let Some(t) = self.charged.get_mut(&user) {
                *t = t.saturating_sub(bytes);
                if *t == 0 {
                    self.charged.remove(&user);
                }
            }
        }
    }

    /// A session of `user` logged in (+1) or closed (-1).
    pub fn session_delta(&mut self, user: UserId, opened: bool) {
        let n = self.sessions.entry(user).or_default();
        if opened {
            *n += 1;
        } else {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.sessions.remove(&user);
            }
        }
    }

    /// Rooms `user` created that still exist.
    #[must_use]
    pub fn rooms_of(&self, user: UserId) -> usize {
        self.rooms.get(&user).copied().unwrap_or(0)
    }

    /// Attribute bytes charged to `user`.
    #[must_use]
    pub fn attribute_bytes_of(&self, user: UserId) -> usize {
        self.charged.get(&user).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roomcore::{Millis, RoomInfo};
    use std::collections::BTreeMap;

    const LIMITS: QuotaLimits = QuotaLimits {
        sessions: 2,
        rooms: 2,
        attribute_bytes: 1000,
        room_attribute_bytes: 600,
    };

    fn created(room: &str) -> Vec<Stamped> {
        vec![Stamped {
            at: Millis(0),
            output: Output::RoomCreated {
                room_id: RoomId::new(room),
                sid: None,
                event_id: None,
            },
        }]
    }

    fn create(room: &str) -> Input {
        Input::CreateRoom {
            session: "s".into(),
            request: 1,
            room: RoomInfo {
                id: RoomId::new(room),
                name: roomcore::RoomName::EMPTY,
            },
            config: None,
        }
    }

    fn set(room: &str, bytes: usize) -> Input {
        Input::SetRoomAttributes {
            session: "s".into(),
            request: 1,
            room_id: RoomId::new(room),
            attributes: BTreeMap::from([("k".to_owned(), "v".repeat(bytes - 1))]),
            is_force: false,
            is_update_owner: false,
            is_delete_after_owner_left: false,
        }
    }

    #[test]
    fn rooms_count_until_destroyed() {
        let mut q = Quotas::new(LIMITS);
        let u = UserId::new("u");
        for r in ["a", "b"] {
            assert_eq!(q.check(u, &create(r), |_| false), Ok(()));
            q.after(u, &create(r), true, &created(r));
        }
        assert_eq!(q.check(u, &create("c"), |_| false), Err(Exceeded::Rooms));
        // Entering an existing room creates nothing.
        assert_eq!(q.check(u, &create("a"), |_| true), Ok(()));
        assert_eq!(q.check(UserId::new("v"), &create("c"), |_| false), Ok(()));
        q.room_destroyed(RoomId::new("a"));
        assert_eq!(q.rooms_of(u), 1);
        assert_eq!(q.check(u, &create("c"), |_| false), Ok(()));
    }

    #[test]
    fn attribute_bytes_are_charged_capped_per_room_and_released() {
        let mut q = Quotas::new(LIMITS);
        let u = UserId::new("u");
        for _ in 0..10 {
            assert_eq!(q.check(u, &set("a", 100), |_| true), Ok(()));
            q.after(u, &set("a", 100), true, &[]);
        }
        // Overwriting one room is capped at its limit.
        assert_eq!(q.attribute_bytes_of(u), 600);
        q.after(u, &set("b", 300), true, &[]);
        assert_eq!(
            q.check(u, &set("c", 200), |_| true),
            Err(Exceeded::AttributeBytes)
        );
        // A failed write costs nothing; a small one costs the minimum.
        q.after(u, &set("c", 50), false, &[]);
        assert_eq!(q.attribute_bytes_of(u), 900);
        q.after(u, &set("c", 2), true, &[]);
        assert_eq!(q.attribute_bytes_of(u), 900 + MIN_CHARGE_BYTES);
        q.room_destroyed(RoomId::new("a"));
        assert_eq!(q.attribute_bytes_of(u), 300 + MIN_CHARGE_BYTES);
    }

    #[test]
    fn sessions_count_per_user() {
        let mut q = Quotas::new(LIMITS);
        let u = UserId::new("u");
        let login = Input::Login {
            session: "s".into(),
            request: 1,
            user: u,
        };
        q.session_delta(u, true);
        q.session_delta(u, true);
        assert_eq!(q.check(u, &login, |_| true), Err(Exceeded::Sessions));
        q.session_delta(u, false);
        assert_eq!(q.check(u, &login, |_| true), Ok(()));
    }
}
