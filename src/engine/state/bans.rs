//! Bans: a user kept out of a room id until a deadline, whatever happens to the room
//! meanwhile. Each ban holds an expiry timer; a second ban of the same pair replaces the
//! deadline, an unban or the timer ends it (silently).

use super::timers::TimerKind;
use super::{Ban, Engine};
use crate::ids::{RoomId, UserId};
use crate::time::Millis;

impl Engine {
    /// Whether `user` is banned from `room` now.
    pub(crate) fn is_banned(&self, room: RoomId, user: UserId) -> bool {
        self.index.ban(room, user).is_some()
    }

    /// Bans `user` from `room` until `until`, replacing the deadline of a ban already in
    /// force. The caller checked `max_bans` for a new pair.
    pub(crate) fn put_ban(&mut self, room_id: RoomId, user: UserId, until: Millis) {
        if let Some(slot) = self.index.ban(room_id, user) {
            let ban = self
                .state
                .bans
                .get_mut(slot)
                .expect("the ban index names live bans");
            let old = ban.timer;
            let kind = TimerKind::BanExpiry {
                slot,
                incarnation: ban.incarnation,
            };
            self.state.timers.cancel(old);
            let timer = self.state.timers.arm(until, kind);
            let ban = self
                .state
                .bans
                .get_mut(slot)
                .expect("the ban index names live bans");
            ban.until = until;
            ban.timer = timer;
            return;
        }
        let incarnation = self.state.take_incarnation();
        let slot = self.state.bans.vacant_slot();
        let timer = self
            .state
            .timers
            .arm(until, TimerKind::BanExpiry { slot, incarnation });
        let inserted = self.state.bans.insert(Ban {
            room_id,
            user,
            until,
            timer,
            incarnation,
        });
        assert_eq!(inserted, slot, "a slab inserts at its vacant slot");
        self.index.bans.insert((room_id, user), slot);
    }

    /// Lifts the ban of `user` from `room`; whether there was one.
    pub(crate) fn lift_ban(&mut self, room_id: RoomId, user: UserId) -> bool {
        let Some(slot) = self.index.bans.remove(&(room_id, user)) else {
            return false;
        };
        let ban = self
            .state
            .bans
            .remove(slot)
            .expect("the ban index names live bans");
        self.state.timers.cancel(ban.timer);
        true
    }

    /// A ban's timer fired: the ban ends, telling nobody.
    pub(crate) fn ban_expired(&mut self, slot: u32, incarnation: u64) {
        let ban = self
            .state
            .bans
            .remove(slot)
            .expect("a ban's timer is cancelled when the ban is lifted");
        assert!(
            ban.incarnation == incarnation,
            "a ban timer fired for another ban in its slot"
        );
        self.index.bans.remove(&(ban.room_id, ban.user));
    }
}
