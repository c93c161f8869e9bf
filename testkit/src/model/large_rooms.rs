//! Large rooms (the engine's `large_rooms.rs`): joins and leaves coalesced into one
//! `room_members_changed` per window, written naively and differently from the engine's
//! change map: the window keeps the member list at its start and a plain list of the leaves
//! announced since; at the flush the outcome lists come from comparing them with now.
//!
//! - A change is batched while a window is open, or when the room holds more than
//!   `member_notify_threshold` users counting a joiner (before it is added) or a leaver
//!   (before it is removed); the first batched change opens the window and arms its flush.
//! - Flush: the final outcome of every user touched in the window. joined = users now present
//!   who were not at the start or left during the window (and came back), in join order (the
//!   member list's order, which is that of each user's latest join); left = users who left
//!   during the window and are gone, ordered by their last leave, with its reason. Nothing is
//!   sent when both are empty or no member's link is live.
//! - A window touching `max_members_per_room` users closes early, at the next batched
//!   change, before that change.
//! - A room that empties or is dismissed drops its window silently.
//! - A link lost while a window is open starts its reconnect view at the window's start
//!   (the start list and the departures since), see `reconnect.rs`.

use super::state::Model;
use super::state::{MWindow, TimerWhat};
use roomcore::ids::{RoomId, UserId};
use roomcore::output::{LeaveReason, Member, MemberLeft, Output};

impl Model {
    /// Whether a change to `room` is batched, `count` being its user count with a joiner
    /// counted and a leaver not yet removed. Opens the window if it is.
    pub(super) fn batched(&mut self, room: RoomId, count: usize) -> bool {
        let Some(r) = self.rooms.get(&room) else {
            return false;
        };
        if let Some(w) = &r.window {
            if self.touched(room, w).len() < self.cfg.max_members_per_room as usize {
                return true;
            }
            if let Some(w) = self.rooms.get_mut(&room).and_then(|r| r.window.take()) {
                self.cancel(w.timer);
                self.flush(room, &w);
            }
        }
        if count <= self.cfg.member_notify_threshold as usize {
            return false;
        }
        let start_users = self.users_in(room);
        let timer = self.arm(self.cfg.member_batch_interval_ms, TimerWhat::Batch(room));
        if let Some(r) = self.rooms.get_mut(&room) {
            r.window = Some(MWindow {
                timer,
                start_users,
                leaves: Vec::new(),
                departures: Vec::new(),
            });
        }
        true
    }

    /// Whether `room` has an open coalescing window.
    #[must_use]
    pub fn window_open(&self, room: RoomId) -> bool {
        self.rooms.get(&room).is_some_and(|r| r.window.is_some())
    }

    /// Notes announced leaves in the room's open window.
    pub(super) fn window_leaves(&mut self, room: RoomId, users: &[UserId], reason: LeaveReason) {
        if let Some(w) = self.rooms.get_mut(&room).and_then(|r| r.window.as_mut()) {
            w.leaves.extend(users.iter().map(|u| (*u, reason)));
        }
    }

    /// Closes the room's window without output.
    pub(super) fn drop_window(&mut self, room: RoomId) {
        if let Some(w) = self.rooms.get_mut(&room).and_then(|r| r.window.take()) {
            self.cancel(w.timer);
        }
    }

    /// The users a window touched: every one that left during it, and every member now who
    /// was not there at its start.
    fn touched(&self, room: RoomId, w: &MWindow) -> Vec<UserId> {
        let mut users: Vec<UserId> = Vec::new();
        for (u, _) in &w.leaves {
            if !users.contains(u) {
                users.push(*u);
            }
        }
        for u in self.users_in(room) {
            if !w.start_users.contains(&u) && !users.contains(&u) {
                users.push(u);
            }
        }
        users
    }

    /// The window's deadline: its outcome lists go to the room.
    pub(super) fn window_due(&mut self, room: RoomId) {
        if let Some(w) = self.rooms.get_mut(&room).and_then(|r| r.window.take()) {
            self.flush(room, &w);
        }
    }

    /// Emits a closed window's outcome lists (see the module docs).
    fn flush(&mut self, room: RoomId, w: &MWindow) {
        let now = self.users_in(room);
        let left_once = |u: &UserId| w.leaves.iter().any(|(l, _)| l == u);
        let joined: Vec<Member> = now
            .iter()
            .filter(|u| !w.start_users.contains(u) || left_once(u))
            .map(|u| Member { user_id: *u })
            .collect();
        let mut left: Vec<(usize, MemberLeft)> = Vec::new();
        for (i, (u, reason)) in w.leaves.iter().enumerate() {
            let is_last = !w.leaves[i + 1..].iter().any(|(l, _)| l == u);
            if is_last && !now.contains(u) {
                left.push((
                    i,
                    MemberLeft {
                        user_id: *u,
                        reason: *reason,
                    },
                ));
            }
        }
        left.sort_by_key(|(at, _)| *at);
        if (joined.is_empty() && left.is_empty()) || self.live_members(room, None).is_empty() {
            return;
        }
        self.emit(Output::RoomMembersChanged {
            room_id: room,
            joined,
            left: left.into_iter().map(|(_, m)| m).collect(),
        });
    }

    /// The sessions a room-addressed output reaches: the members whose link is live, in
    /// join order (as `Engine::room_recipients`).
    #[must_use]
    pub fn room_recipients(&self, room: RoomId) -> Option<Vec<roomcore::ids::SessionId>> {
        self.rooms.get(&room).map(|_| self.live_members(room, None))
    }
}
