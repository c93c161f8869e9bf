//! Large rooms (README "Large rooms", src/batching.rs): joins and leaves coalesced into one
//! `room_members_changed` per window, written naively and differently from the engine's
//! change map: the window keeps the member list at its start and a plain list of the leaves
//! announced since; at the flush the delta is a set difference between the start and now.
//!
//! - A change is batched while a window is open, or when the room holds more than
//!   `member_notify_threshold` users counting a joiner (before it is added) or a leaver
//!   (before it is removed); the first batched change opens the window and arms its flush.
//! - Flush: joined = users now present who were not at the start, in join order (the member
//!   list's order, which is that of each user's latest join); left = users present at the
//!   start who are gone, ordered by their last leave in the window, with its reason. Nothing
//!   is sent when both are empty or no member's link is live.
//! - A room that empties or is dismissed drops its window silently.
//! - A link lost while a window is open starts its reconnect view at the window's start
//!   (the start list and the departures since), see `link.rs`.

use super::state::{MWindow, TimerWhat};
use super::Model;
use crate::ids::{RoomId, UserId};
use crate::output::{LeaveReason, Member, MemberLeft, Output};

impl Model {
    /// Whether a change to `room` is batched, `count` being its user count with a joiner
    /// counted and a leaver not yet removed. Opens the window if it is.
    pub(super) fn batched(&mut self, room: RoomId, count: usize) -> bool {
        let Some(r) = self.rooms.get(&room) else {
            return false;
        };
        if r.window.is_some() {
            return true;
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

    /// The window's deadline: the net delta goes to the room.
    pub(super) fn window_due(&mut self, room: RoomId) {
        let Some(w) = self.rooms.get_mut(&room).and_then(|r| r.window.take()) else {
            return;
        };
        let now = self.users_in(room);
        let joined: Vec<Member> = now
            .iter()
            .filter(|u| !w.start_users.contains(u))
            .map(|u| Member { user_id: *u })
            .collect();
        let mut left: Vec<(usize, MemberLeft)> = Vec::new();
        for u in w.start_users.iter().filter(|u| !now.contains(u)) {
            // Every departure is announced, so a gone user has a leave; the last one counts.
            let last = w.leaves.iter().enumerate().rev().find(|(_, (l, _))| l == u);
            let (at, reason) = last.map_or((usize::MAX, LeaveReason::Left), |(i, (_, r))| (i, *r));
            left.push((
                at,
                MemberLeft {
                    user_id: *u,
                    reason,
                },
            ));
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
    pub fn room_recipients(&self, room: RoomId) -> Option<Vec<crate::ids::SessionId>> {
        self.rooms.get(&room).map(|_| self.live_members(room, None))
    }
}
