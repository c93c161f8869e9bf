//! Server-side (admin) commands: kick and dismiss.

use super::emit::members_of;
use super::state::Model;
use super::validate;
use roomcore::error::Error;
use roomcore::ids::{RoomId, UserId};
use roomcore::output::{DestroyCause, LeaveReason, Output, ReplyOk, RoomEvent, RoomState};

impl Model {
    pub(super) fn kick(&mut self, room: RoomId, users: &[UserId]) -> Result<ReplyOk, Error> {
        validate::room_id(&self.cfg, room)?;
        if users.is_empty() || users.len() > self.cfg.max_kick_users as usize {
            return Err(Error::InvalidArgument(""));
        }
        for u in users {
            validate::user_id(&self.cfg, *u)?;
        }
        if !self.rooms.contains_key(&room) {
            return Err(Error::RoomNotExist);
        }
        let (mut removed, mut skipped) = (Vec::new(), Vec::new());
        // Users whose leave was not batched: told in one `members_left` below.
        let mut exact: Vec<UserId> = Vec::new();
        // The product brief is silent on a user named twice; as the engine, the repeat is ignored.
        let mut named: Vec<UserId> = Vec::new();
        for u in users {
            if named.contains(u) {
                continue;
            }
            named.push(*u);
            let target = self
                .room_sessions(room)
                .unwrap_or_default()
                .into_iter()
                .find(|s| self.user_of(*s) == Some(*u));
            match target {
                Some(s) => {
                    // Each one out decides for a large room while it still counts, after
                    // its own `kicked_out` (a full window may close right there).
                    self.state(s, room, RoomState::Disconnected, RoomEvent::KickedOut);
                    let batched = self.batched(room, self.users_in(room).len());
                    self.detach(room, s);
                    if batched {
                        self.window_leaves(room, &[*u], LeaveReason::Kicked);
                    } else {
                        exact.push(*u);
                    }
                    removed.push(*u);
                }
                None => skipped.push(*u),
            }
        }
        // All are out before anyone is told anything; as the engine documents, the keys that
        // go with their owners, then each one's member attributes, are announced before the
        // kick's `members_left`.
        for u in &removed {
            self.owner_left(room, *u);
            self.member_attrs_left(room, *u);
        }
        if !exact.is_empty() {
            for other in self.live_members(room, None) {
                self.emit(Output::MembersLeft {
                    session: other,
                    room_id: room,
                    members: members_of(&exact),
                    reason: LeaveReason::Kicked,
                });
            }
        }
        self.after_leave(room);
        Ok(ReplyOk::UsersRemoved { removed, skipped })
    }

    pub(super) fn dismiss(&mut self, room: RoomId) -> Result<ReplyOk, Error> {
        validate::room_id(&self.cfg, room)?;
        let Some(r) = self.rooms.get(&room) else {
            return Err(Error::RoomNotExist);
        };
        let timer = r.destroy_timer;
        for s in self.room_sessions(room).unwrap_or_default() {
            self.detach(room, s);
            self.state(s, room, RoomState::Disconnected, RoomEvent::RoomNotExist);
        }
        if let Some(seq) = timer {
            self.cancel(seq);
        }
        self.drop_window(room);
        self.rooms.remove(&room);
        self.emit(Output::RoomDestroyed {
            room_id: room,
            cause: DestroyCause::Dismissed,
        });
        Ok(ReplyOk::RoomId { room_id: room })
    }
}
