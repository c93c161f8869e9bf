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
//!   the room (the embedder hands it to every member whose link is live) with the final
//!   outcome for every user whose membership changed in the window: `joined` lists those
//!   who are members at its end (in the order of their last join), `left` those who are not
//!   (in the order of their last leave, with its reason). So a user who joined and left
//!   within the window is in `left`, and one who left and came back is in `joined`.
//! - Why final outcomes rather than a net delta against the window's start: a member may
//!   learn the member list in the middle of a window (a `query_members` answered after it
//!   joined, or a restore delta), and that list already holds some of the window's changes.
//!   Applied as a set change (add `joined`, remove `left`), a list of final outcomes makes
//!   every such list exact at the window's end, wherever in the window it was learned; a
//!   net delta would leave a user who joined and left after the list was read in it forever.
//! - A window holds one entry per user it touched. At `max_members_per_room` entries it
//!   closes early, within the step that would add one more (its delta goes out then and
//!   the change opens the next window), so a window's memory is bounded however many users
//!   come and go during it. Nothing is sent when no member is live.
//! - The next change after a flush opens the next window, so a large room sends at most one
//!   delta per window, and exact per-change events resume once it is at or below the
//!   threshold with no window open.
//! - A member whose link drops while a window is open has not been told of the window's
//!   changes: its reconnect view starts at the window's start (the window holds a mark in
//!   the room's reconnect log, as a reconnecting member would), so its restore delta covers
//!   them.
//! - A room that empties or is destroyed drops its window without output: no one is left
//!   to tell.

use crate::engine::state::room::{BatchChange, MemberBatch};
use crate::engine::{Emit, Engine};
use crate::ids::UserId;
use crate::output::{LeaveReason, Member, MemberLeft, Output};

impl Engine {
    /// Whether a change to the room is batched, `members` being its member count with a
    /// joiner counted and a leaver not yet removed. Opens the window if it is (after
    /// closing a full one). Called before the change is made, so a new window's marks
    /// precede it.
    pub(crate) fn batch_change(
        &mut self,
        room_slot: u32,
        members: usize,
        emit: &mut Emit<'_>,
    ) -> bool {
        let threshold = self.state.config.member_notify_threshold as usize;
        let cap = self.state.config.max_members_per_room as usize;
        match self.state.room(room_slot).member_batch() {
            Some(b) if b.changes.len() < cap => return true,
            Some(_) => self.close_member_batch(room_slot, emit),
            None => {}
        }
        if members <= threshold {
            return false;
        }
        self.open_window(room_slot);
        true
    }

    /// Whether the room has an open window.
    pub(crate) fn batch_open(&self, room_slot: u32) -> bool {
        self.state.room(room_slot).member_batch().is_some()
    }

    /// Records a join in the room's open window.
    pub(crate) fn batch_join(&mut self, room_slot: u32, user: UserId) {
        self.record_in_window(room_slot, user, |order| BatchChange::Joined { order });
    }

    /// Records a leave in the room's open window.
    pub(crate) fn batch_leave(&mut self, room_slot: u32, user: UserId, reason: LeaveReason) {
        self.record_in_window(room_slot, user, |order| BatchChange::Left { order, reason });
    }

    /// The window's timer fired: its delta goes out and the window closes.
    pub(crate) fn member_batch_fired(&mut self, slot: u32, incarnation: u64, emit: &mut Emit<'_>) {
        let batch = self.window_fired(slot, incarnation);
        self.send_member_batch(slot, &batch, emit);
    }

    /// Closes the room's window before its deadline (it is full): its delta goes out now.
    fn close_member_batch(&mut self, room_slot: u32, emit: &mut Emit<'_>) {
        if let Some(batch) = self.close_window(room_slot) {
            self.send_member_batch(room_slot, &batch, emit);
        }
    }

    /// Emits a closed window's delta to the room, unless it is empty or nobody is live.
    fn send_member_batch(&self, room_slot: u32, batch: &MemberBatch, emit: &mut Emit<'_>) {
        let room_id = self.state.room_id(room_slot);
        let (joined, left) = outcome_lists(batch);
        if (joined.is_empty() && left.is_empty()) || !self.has_live_member(room_slot) {
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
        self.close_window(room_slot);
    }

    /// Whether some member of the room has a live link (stops at the first).
    fn has_live_member(&self, room_slot: u32) -> bool {
        self.state.room(room_slot).members().iter().any(|m| !m.lost)
    }
}

/// The window's final outcomes: members at its end, and users gone, each in the order of
/// its last change.
fn outcome_lists(batch: &MemberBatch) -> (Vec<Member>, Vec<MemberLeft>) {
    let mut joined: Vec<(u64, Member)> = Vec::new();
    let mut left: Vec<(u64, MemberLeft)> = Vec::new();
    for (user_id, change) in batch.changes.iter() {
        match change {
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
