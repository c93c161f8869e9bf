//! Large rooms: member joins and leaves coalesced into one `room_members_changed` per room
//! per window, instead of one event per change per member.
//!
//! Why: telling every member of a 100,000-member room about every join costs 100,000
//! outputs per join, quadratic over a join storm. ZEGO and BytePlus stop per-join callbacks
//! above 500 members; we keep the members informed but pay once per window.
//!
//! Rules:
//! - A change is batched while the room holds more than `member_notify_threshold` members
//!   (counting a joiner, and a leaver before it leaves), or while a window is open: once a
//!   window is open every change goes into it, so a member never sees a later change
//!   before an earlier one.
//! - The first batched change opens a window and arms its flush timer
//!   `member_batch_interval_ms` later. When it fires, one `room_members_changed` goes to
//!   the room (the embedder hands it to every member whose link is live): the net joins in
//!   join order and the net leaves in leave order, each with its last reason. A member who
//!   joined and left within the window appears in neither list, nor does one who left and
//!   came back. Nothing is sent when the net change is empty or no member is live.
//! - The next change after a flush opens the next window, so a large room sends at most one
//!   delta per window, and exact per-change events resume once it is at or below the
//!   threshold with no window open.
//! - A member whose link drops while a window is open has not been told of the window's
//!   changes: its reconnect view starts at the window's start (the window holds a mark in
//!   the room's reconnect log, as a reconnecting member would), so its restore delta covers
//!   them.
//! - A room that empties or is destroyed drops its window without output: no one is left
//!   to tell.

use crate::engine::{Emit, Engine};
use crate::ids::UserId;
use crate::output::{LeaveReason, Member, MemberLeft, Output};
use crate::rooms::{BatchChange, MemberBatch};
use crate::sessions::Membership;
use crate::timers::TimerKind;
use std::collections::BTreeMap;

impl Engine {
    /// Whether a change to the room is batched, `members` being its member count with a
    /// joiner counted and a leaver not yet removed. Opens the window if it is.
    pub(crate) fn batch_change(&mut self, room_slot: u32, members: usize) -> bool {
        let threshold = self.state.config.member_notify_threshold as usize;
        let Some(room) = self.state.rooms.get(room_slot) else {
            return false;
        };
        if room.member_batch.is_some() {
            return true;
        }
        if members <= threshold {
            return false;
        }
        let mark = (room.next_join_seq, room.reconnect.next_departure);
        let kind = TimerKind::MemberBatch {
            slot: room_slot,
            incarnation: room.incarnation,
        };
        let deadline = self
            .state
            .now
            .after_ms(self.state.config.member_batch_interval_ms);
        let timer = self.state.timers.arm(deadline, kind);
        if let Some(room) = self.state.rooms.get_mut(room_slot) {
            room.reconnect.add_mark(mark);
            room.member_batch = Some(Box::new(MemberBatch {
                timer,
                mark,
                changes: BTreeMap::new(),
                next_order: 0,
            }));
        }
        true
    }

    /// Records a join in the room's open window.
    pub(crate) fn batch_join(&mut self, room_slot: u32, user: UserId) {
        self.batch_record(room_slot, user, |order| BatchChange::Joined { order });
    }

    /// Records a leave in the room's open window.
    pub(crate) fn batch_leave(&mut self, room_slot: u32, user: UserId, reason: LeaveReason) {
        self.batch_record(room_slot, user, |order| BatchChange::Left { order, reason });
    }

    /// A join cancels a leave of the same user in the window and a leave cancels a join:
    /// the delta is net against the member set at the window's start.
    fn batch_record(&mut self, room_slot: u32, user: UserId, change: impl Fn(u64) -> BatchChange) {
        let Some(batch) = self
            .state
            .rooms
            .get_mut(room_slot)
            .and_then(|r| r.member_batch.as_deref_mut())
        else {
            return;
        };
        if batch.changes.remove(&user).is_none() {
            batch.changes.insert(user, change(batch.next_order));
            batch.next_order += 1;
        }
    }

    /// The window's timer fired: its delta goes out and the window closes.
    pub(crate) fn member_batch_fired(&mut self, slot: u32, incarnation: u64, emit: &mut Emit<'_>) {
        let Some(room) = self.state.rooms.get_mut(slot) else {
            return;
        };
        // A timer is removed when its window closes, so a mismatch cannot happen; the check
        // makes a reused slot safe even so.
        if room.incarnation != incarnation {
            return;
        }
        let Some(batch) = room.member_batch.take() else {
            return;
        };
        room.reconnect.remove_mark(batch.mark);
        let room_id = room.id;
        let (joined, left) = net_lists(&batch);
        if (joined.is_empty() && left.is_empty()) || !self.has_live_member(slot) {
            return;
        }
        emit.push(Output::RoomMembersChanged {
            room_id,
            joined,
            left,
        });
    }

    /// Closes the room's window without output (the room emptied or is going).
    pub(crate) fn drop_member_batch(&mut self, room_slot: u32) {
        let Some(room) = self.state.rooms.get_mut(room_slot) else {
            return;
        };
        if let Some(batch) = room.member_batch.take() {
            room.reconnect.remove_mark(batch.mark);
            self.state.timers.cancel(batch.timer);
        }
    }

    /// Whether some member of the room has a live link (stops at the first).
    fn has_live_member(&self, room_slot: u32) -> bool {
        let Some(room) = self.state.rooms.get(room_slot) else {
            return false;
        };
        room.members.values().any(|&s| {
            self.state
                .sessions
                .get(s)
                .and_then(|s| s.membership(room_slot))
                .is_some_and(|m| !Membership::is_reconnecting(m))
        })
    }
}

/// The window's joins and leaves, each in the order it happened.
fn net_lists(batch: &MemberBatch) -> (Vec<Member>, Vec<MemberLeft>) {
    let mut joined: Vec<(u64, Member)> = Vec::new();
    let mut left: Vec<(u64, MemberLeft)> = Vec::new();
    for (&user_id, change) in &batch.changes {
        match *change {
            BatchChange::Joined { order } => joined.push((order, Member { user_id })),
            BatchChange::Left { order, reason } => {
                left.push((order, MemberLeft { user_id, reason }))
            }
        }
    }
    joined.sort_unstable_by_key(|&(order, _)| order);
    left.sort_unstable_by_key(|&(order, _)| order);
    (
        joined.into_iter().map(|(_, m)| m).collect(),
        left.into_iter().map(|(_, m)| m).collect(),
    )
}
