//! Server-side (admin) commands: kick and dismiss. The service's other commands (provision,
//! list, read, attributes, moves, bans) are in `service.rs`.

use super::emit::members_of;
use super::service::members_see;
use super::state::Model;
use super::validate;
use roomcore::error::Error;
use roomcore::ids::{RoomId, UserId};
use roomcore::output::{
    DestroyCause, ExitReason, LeaveReason, Output, ReplyOk, RoomEvent, RoomState,
};

impl Model {
    pub(super) fn kick(&mut self, room: RoomId, users: &[UserId]) -> Result<ReplyOk, Error> {
        let named = self.admin_users(room, users)?;
        if !self.rooms.contains_key(&room) {
            return Err(Error::RoomNotExist);
        }
        let (removed, skipped) = self.eject(room, &named, ExitReason::Kicked, RoomEvent::KickedOut);
        Ok(ReplyOk::UsersRemoved { removed, skipped })
    }

    /// Takes `users` (no repeats) out of `room` for `exit` (a kick, a ban, the source of a
    /// move), each seeing `disconnected`/`event`: who was removed, who was not there.
    pub(super) fn eject(
        &mut self,
        room: RoomId,
        users: &[UserId],
        exit: ExitReason,
        event: RoomEvent,
    ) -> (Vec<UserId>, Vec<UserId>) {
        let reason = members_see(exit).unwrap_or(LeaveReason::Kicked);
        let (mut removed, mut skipped) = (Vec::new(), Vec::new());
        // Users whose leave was not batched: told in one `members_left` below.
        let mut exact: Vec<UserId> = Vec::new();
        for u in users {
            let target = self
                .room_sessions(room)
                .unwrap_or_default()
                .into_iter()
                .find(|s| self.user_of(*s) == Some(*u));
            match target {
                Some(s) => {
                    // Each one out decides for a large room while it still counts, after
                    // its own `kicked_out` and the service's event (a full window may close
                    // right there).
                    self.state(s, room, RoomState::Disconnected, event);
                    self.tell_left(room, s, exit);
                    let batched = self.batched(room, self.users_in(room).len());
                    self.detach(room, s);
                    if batched {
                        self.window_leaves(room, &[*u], reason);
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
        // `members_left`.
        for u in &removed {
            self.owner_left(room, *u);
            self.member_attrs_left(room, *u);
        }
        if !exact.is_empty() {
            for other in self.live_members(room, None) {
                self.emit(Output::MembersLeft {
                    to: other.into(),
                    room_id: room,
                    members: members_of(&exact),
                    reason,
                });
            }
        }
        self.after_leave(room);
        (removed, skipped)
    }

    pub(super) fn dismiss(&mut self, room: RoomId) -> Result<ReplyOk, Error> {
        validate::room_id(&self.cfg, room)?;
        let Some(r) = self.rooms.get(&room) else {
            return Err(Error::RoomNotExist);
        };
        let timer = r.destroy_timer;
        for s in self.room_sessions(room).unwrap_or_default() {
            self.state(s, room, RoomState::Disconnected, RoomEvent::RoomNotExist);
            self.tell_left(room, s, ExitReason::Dismissed);
            self.detach(room, s);
        }
        if let Some(seq) = timer {
            self.cancel(seq);
        }
        self.drop_window(room);
        self.room_gone(room, DestroyCause::Dismissed);
        Ok(ReplyOk::RoomId { room_id: room })
    }
}
