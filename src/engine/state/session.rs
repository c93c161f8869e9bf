//! Sessions (a user's logged-in device) and their room memberships.

use super::index::NO_SLOT;
use super::timer_handle::TimerHandle;
use crate::ids::{SessionId, UserId};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::num::NonZeroU32;

/// What a reconnecting membership remembers from the moment its link was lost, to tell the
/// session on restore exactly what changed meanwhile. Only counters (and the attribute keys,
/// at most `max_room_attributes` of them): the departures themselves are kept once per room
/// in its `ReconnectLog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LostView {
    /// The room's next join sequence number at the loss: later joins have larger numbers.
    pub(crate) join_mark: u64,
    /// The room's next departure number at the loss (see `ReconnectLog`).
    pub(crate) departure_mark: u64,
    /// The room's attribute version at the loss: keys set since carry a larger one.
    pub(crate) attr_version: u64,
    /// The room attribute keys at the loss, sorted (to tell which were deleted since).
    pub(crate) attr_keys: Vec<String>,
    /// The room's member attribute version at the loss.
    pub(crate) member_attr_version: u64,
}

impl LostView {
    /// The marks this view holds in its room's `ReconnectLog`.
    pub(crate) fn mark(&self) -> (u64, u64) {
        (self.join_mark, self.departure_mark)
    }
}

/// One room a session is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Membership {
    pub(crate) room: u32,
    pub(crate) join_seq: u64,
    /// `Some` while the session's link is lost and it is reconnecting to this room.
    pub(crate) lost: Option<Box<LostView>>,
}

impl Membership {
    pub(crate) fn is_reconnecting(&self) -> bool {
        self.lost.is_some()
    }
}

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) user: UserId,
    pub(crate) incarnation: u64,
    /// Rooms in the order they were joined.
    /// (One inline: most sessions are in one room at a time; more spill to the heap.)
    pub(in crate::engine::state) memberships: SmallVec<[Membership; 1]>,
    /// The reconnect grace timer; `Some` exactly while at least one membership is
    /// reconnecting (it is cancelled when the last one ends, however it ends).
    #[serde(default)]
    pub(in crate::engine::state) grace_timer: TimerHandle,
    /// Message rate limit bucket, in thousandths of a message.
    pub(crate) rate_tokens_milli: u64,
    /// When the bucket was last refilled.
    pub(crate) rate_refilled_at: crate::time::Millis,
    /// The user's session list, threaded through the records (derived: rebuilt on restore).
    #[serde(skip)]
    pub(in crate::engine::state) user_link: UserLink,
}

/// A session's place in its user's session list: the next session of the same user in slot
/// order, and whether this is the user's only live session. One `u32`: slots stay below
/// 2^31 (`max_sessions` is capped at 2^30), so the top bit holds the flag.
///
/// The flag lets a join skip the user index: most users have one device, and looking for
/// another device of theirs in the room was a hash probe (a cache miss in a big engine) on
/// every join.
///
/// The low bits hold the next slot plus one, never zero, so the link is a `NonZeroU32`: that
/// gives `Option<Session>` (a slab slot) a spare bit pattern and saves it a tag word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UserLink(NonZeroU32);

impl UserLink {
    /// The top bit: set when the user has other live sessions.
    const SHARED: u32 = 1 << 31;
    /// The low bits: the next slot plus one, or all ones for none.
    const NEXT: u32 = !Self::SHARED;

    fn raw(self) -> u32 {
        self.0.get()
    }

    fn set_raw(&mut self, raw: u32) {
        self.0 = NonZeroU32::new(raw).expect("a link's low bits are never zero");
    }

    /// The next session of the user in slot order (`NO_SLOT` at the end).
    pub(crate) fn next(self) -> u32 {
        match self.raw() & Self::NEXT {
            Self::NEXT => NO_SLOT,
            next_plus_one => next_plus_one - 1,
        }
    }

    pub(in crate::engine::state) fn set_next(&mut self, next: u32) {
        let low = if next == NO_SLOT {
            Self::NEXT
        } else {
            assert!(next < Self::NEXT - 1, "session slots stay below 2^31 - 1");
            next + 1
        };
        self.set_raw((self.raw() & Self::SHARED) | low);
    }

    /// Whether this is its user's only live session.
    pub(crate) fn alone(self) -> bool {
        self.raw() & Self::SHARED == 0
    }

    pub(in crate::engine::state) fn set_alone(&mut self, alone: bool) {
        let raw = if alone {
            self.raw() & Self::NEXT
        } else {
            self.raw() | Self::SHARED
        };
        self.set_raw(raw);
    }
}

/// Not linked: no next session, alone.
impl Default for UserLink {
    fn default() -> UserLink {
        UserLink(NonZeroU32::new(Self::NEXT).expect("all ones below the top bit is not zero"))
    }
}

impl Session {
    /// The session's rooms, in join order.
    pub(crate) fn memberships(&self) -> &[Membership] {
        &self.memberships
    }

    pub(crate) fn membership(&self, room: u32) -> Option<&Membership> {
        self.memberships.iter().find(|m| m.room == room)
    }

    pub(in crate::engine::state) fn membership_mut(
        &mut self,
        room: u32,
    ) -> Option<&mut Membership> {
        self.memberships.iter_mut().find(|m| m.room == room)
    }

    /// Removes the membership of `room`, keeping the others in join order.
    pub(in crate::engine::state) fn take_membership(&mut self, room: u32) -> Option<Membership> {
        let pos = self.memberships.iter().position(|m| m.room == room)?;
        Some(self.memberships.remove(pos))
    }

    pub(crate) fn room_count(&self) -> u32 {
        u32::try_from(self.memberships.len()).unwrap_or(u32::MAX)
    }

    pub(crate) fn is_link_lost(&self) -> bool {
        self.grace_timer.is_some()
    }

    /// Whether this is its user's only live session.
    pub(crate) fn alone(&self) -> bool {
        self.user_link.alone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two inline ids (68 bytes), one inline membership and the grace timer's key without
    /// an `Option` tag (`TimerHandle`): 144 bytes, down from 152.
    #[test]
    fn a_session_fits_in_144_bytes() {
        assert!(std::mem::size_of::<Session>() <= 144);
        assert!(std::mem::size_of::<Option<Session>>() <= 144);
    }

    #[test]
    fn a_user_link_keeps_its_next_slot_and_its_flag_apart() {
        let mut link = UserLink::default();
        assert_eq!((link.next(), link.alone()), (NO_SLOT, true));
        link.set_next(0);
        link.set_alone(false);
        assert_eq!((link.next(), link.alone()), (0, false));
        link.set_next((1 << 30) - 1);
        assert_eq!((link.next(), link.alone()), ((1 << 30) - 1, false));
        link.set_alone(true);
        assert_eq!((link.next(), link.alone()), ((1 << 30) - 1, true));
        link.set_next(NO_SLOT);
        assert_eq!((link.next(), link.alone()), (NO_SLOT, true));
    }
}

/// A closed session id, remembered so its commands answer `session_closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Tombstone {
    pub(crate) session: SessionId,
    pub(crate) forget_at: crate::time::Millis,
}
