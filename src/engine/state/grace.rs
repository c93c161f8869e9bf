//! Lost links: a membership marked reconnecting (with its view of the room at the loss),
//! the session's grace timer, and the marks the room's reconnect log keeps for it.

use super::session::{LostView, Membership};
use super::timer_handle::TimerHandle;
use super::timers::TimerKind;
use super::Engine;
use crate::ids::UserId;

/// What a session had lost when its link came back: its user and each reconnecting room with
/// the view taken at the loss.
pub(crate) struct Restored {
    pub(crate) user: UserId,
    pub(crate) rooms: Vec<(u32, Box<LostView>)>,
}

impl Engine {
    /// Marks the session's membership of the room reconnecting, taking its view of the room
    /// now and recording the view's marks in the room's log. The membership must be live.
    pub(crate) fn mark_lost(&mut self, session_slot: u32, room_slot: u32) {
        let room = self.state.room_mut(room_slot);
        // An open member batch has not told anyone its changes yet: count from its start.
        let (join_mark, departure_mark) = room.cold().member_batch.as_ref().map_or(
            (room.next_join_seq, room.cold().reconnect.next_departure),
            |b| b.mark,
        );
        let view = LostView {
            join_mark,
            departure_mark,
            attr_version: room.cold().attr_version,
            attr_keys: room.cold().attributes.keys().cloned().collect(),
            member_attr_version: room.cold().member_attr_version,
        };
        room.cold_mut().reconnect.add_mark(view.mark());
        let m = self
            .state
            .session_mut(session_slot)
            .membership_mut(room_slot)
            .expect("callers mark a room the session is in");
        assert!(
            m.lost.is_none(),
            "a reconnecting membership is marked again"
        );
        m.lost = Some(Box::new(view));
        let join_seq = m.join_seq;
        self.state
            .room_mut(room_slot)
            .members_mut()
            .set_lost(join_seq, true);
    }

    /// Arms the grace timer if some room is reconnecting and it is not running already.
    pub(crate) fn arm_grace(&mut self, slot: u32) {
        let deadline = self
            .state
            .now
            .after_ms(self.state.config.reconnect_grace_ms);
        let s = self.state.session(slot);
        if s.grace_timer.is_some() || !s.memberships.iter().any(Membership::is_reconnecting) {
            return;
        }
        let kind = TimerKind::ReconnectGrace {
            slot,
            incarnation: s.incarnation,
        };
        let key = self.state.timers.arm(deadline, kind);
        self.state.session_mut(slot).grace_timer.set(key);
    }

    /// A reconnecting membership ended (restored, or taken away by whatever removed it):
    /// its marks leave the room's log.
    pub(crate) fn unmark_lost(&mut self, room_slot: u32, view: &LostView) {
        self.state
            .room_mut(room_slot)
            .cold_mut()
            .reconnect
            .remove_mark(view.mark());
    }

    /// Cancels the grace timer once no room of the session is reconnecting any more.
    pub(crate) fn settle_grace(&mut self, slot: u32) {
        let s = self.state.session_mut(slot);
        if s.memberships.iter().any(Membership::is_reconnecting) {
            return;
        }
        if let Some(key) = s.grace_timer.take() {
            self.state.timers.cancel(key);
        }
    }

    /// The link is back: cancels the grace timer and takes every reconnecting membership's
    /// view, leaving the memberships live. `None` if the link was not lost. The caller
    /// computes each room's delta from its view, then calls [`Engine::unmark_lost`].
    pub(crate) fn restore_links(&mut self, slot: u32) -> Option<Restored> {
        let s = self.state.session_mut(slot);
        let key = s.grace_timer.take()?;
        let user = s.user;
        let back: Vec<(u32, u64, Box<LostView>)> = s
            .memberships
            .iter_mut()
            .filter_map(|m| Some((m.room, m.join_seq, m.lost.take()?)))
            .collect();
        self.state.timers.cancel(key);
        let mut rooms = Vec::with_capacity(back.len());
        for (room_slot, join_seq, view) in back {
            self.state
                .room_mut(room_slot)
                .members_mut()
                .set_lost(join_seq, false);
            rooms.push((room_slot, view));
        }
        Some(Restored { user, rooms })
    }

    /// The session's grace timer fired: it is no longer pending. The caller ends the
    /// reconnecting memberships.
    pub(crate) fn grace_fired(&mut self, slot: u32, incarnation: u64) {
        let s = self.state.session_mut(slot);
        // A cancelled timer is gone from the table and a closed session cancels its own, so
        // a timer that fires names its own session.
        assert!(
            s.incarnation == incarnation && s.grace_timer.is_some(),
            "a grace timer fired for session {} that is not its owner",
            s.id
        );
        s.grace_timer = TimerHandle::NONE;
    }
}
