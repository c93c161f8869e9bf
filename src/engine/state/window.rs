//! A large room's coalescing window: opened with its flush timer and a mark in the room's
//! reconnect log, filled with each touched user's final outcome, closed by its timer or
//! early. What goes into a window and what is sent when it closes is decided in
//! `large_rooms.rs`.

use super::room::{BatchChange, MemberBatch};
use super::timers::TimerKind;
use super::window_changes::WindowChanges;
use super::Engine;
use crate::ids::UserId;

impl Engine {
    /// Opens a window on a room that has none, arming its flush timer
    /// `member_batch_interval_ms` from now.
    pub(crate) fn open_window(&mut self, room_slot: u32) {
        let room = self.state.room(room_slot);
        assert!(
            room.cold().member_batch.is_none(),
            "a room has one window at a time"
        );
        let mark = (room.next_join_seq, room.cold().reconnect.next_departure);
        let kind = TimerKind::MemberBatch {
            slot: room_slot,
            incarnation: room.incarnation,
        };
        let deadline = self
            .state
            .now
            .after_ms(self.state.config.member_batch_interval_ms);
        let timer = self.state.timers.arm(deadline, kind);
        let room = self.state.room_mut(room_slot);
        room.cold_mut().reconnect.add_mark(mark);
        room.cold_mut().member_batch = Some(Box::new(MemberBatch {
            timer,
            mark,
            changes: WindowChanges::default(),
            next_order: 0,
        }));
    }

    /// Records a user's latest change in the room's open window, replacing its earlier one:
    /// the window keeps each user's final outcome, in the order of its last change.
    pub(crate) fn record_in_window(
        &mut self,
        room_slot: u32,
        user: UserId,
        change: impl Fn(u64) -> BatchChange,
    ) {
        let hasher = self.index.hasher();
        let batch = self
            .state
            .room_mut(room_slot)
            .cold_mut()
            .member_batch
            .as_deref_mut()
            .expect("callers record only while the room's window is open");
        batch.changes.record(hasher, user, change(batch.next_order));
        batch.next_order += 1;
    }

    /// Closes the room's window, if one is open, before its deadline: cancels its timer and
    /// takes its mark off the reconnect log. Returns what it held.
    pub(crate) fn close_window(&mut self, room_slot: u32) -> Option<Box<MemberBatch>> {
        let room = self.state.room_mut(room_slot);
        let batch = room.cold_if_any()?.member_batch.take()?;
        room.cold_mut().reconnect.remove_mark(batch.mark);
        self.state.timers.cancel(batch.timer);
        Some(batch)
    }

    /// The window's timer fired (it is no longer pending): the window closes. Returns what
    /// it held.
    pub(crate) fn window_fired(&mut self, slot: u32, incarnation: u64) -> Box<MemberBatch> {
        let room = self.state.room_mut(slot);
        // A window's timer is cancelled when the window closes early or the room goes, so a
        // timer that fires names its own room's open window.
        assert!(
            room.incarnation == incarnation,
            "a window timer fired for room {} of another incarnation",
            room.sid
        );
        let batch = room
            .cold_mut()
            .member_batch
            .take()
            .expect("a window timer fires only while its window is open");
        room.cold_mut().reconnect.remove_mark(batch.mark);
        batch
    }
}
