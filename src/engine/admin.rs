//! Server-side (admin) commands: remove users (kick) and dismiss a room. They come from the
//! service, never from a session, and are answered by `admin_reply`.

use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{RoomId, UserId};
use crate::output::{
    DestroyCause, ExitReason, Member, Members, Output, ReplyOk, RoomEvent, RoomState,
};

impl Engine {
    /// Kicks `users` out of the room. Each kicked session sees `disconnected`/`kicked_out`;
    /// each remaining member gets one `members_left`/`kicked` naming everyone removed. Users
    /// not in the room are skipped and named in the reply. A kick is not a ban.
    pub(crate) fn remove_users(
        &mut self,
        room_id: RoomId,
        users: &[UserId],
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let users = self.check_admin_users(room_id, users)?;
        let room_slot = self.room_slot(room_id).ok_or(Error::RoomNotExist)?;
        let (removed, skipped) = self.eject(
            room_slot,
            &users,
            ExitReason::Kicked,
            RoomEvent::KickedOut,
            emit,
        );
        Ok(ReplyOk::UsersRemoved { removed, skipped })
    }

    /// Takes the sessions of `users` out of the room at once, for `exit` (a kick, a ban, or
    /// the source room of a move): each sees `disconnected`/`event`, and each remaining
    /// member gets one `members_left` naming everyone removed, with the reason members see.
    /// Returns who was removed and who was not in the room, in the order named (a user
    /// named twice counts once).
    pub(crate) fn eject(
        &mut self,
        room_slot: u32,
        users: &[UserId],
        exit: ExitReason,
        event: RoomEvent,
        emit: &mut Emit<'_>,
    ) -> (Vec<UserId>, Vec<UserId>) {
        let room_id = self.state.room_id(room_slot);
        let reason = exit
            .members_see()
            .expect("a kick, a ban or a move leaves members to tell");
        let mut removed: Vec<UserId> = Vec::new();
        let mut skipped: Vec<UserId> = Vec::new();
        let mut exact: Vec<UserId> = Vec::new();
        // Everyone named is taken out first, so what the remaining members are told next
        // (attributes that go with their owners) reaches none of the kicked.
        for &user in users {
            if removed.contains(&user) || skipped.contains(&user) {
                continue;
            }
            match self.member_session_of(room_slot, user) {
                Some(session_slot) => {
                    let id = self.state.session(session_slot).id;
                    emit.state(id, room_id, RoomState::Disconnected, event);
                    self.detach_member(room_slot, session_slot, exit, emit);
                    // A large room's open window takes the leave as it happens (so a window
                    // closed early by a later leave of this kick has it); the others are
                    // told below, in one event.
                    if self.batch_open(room_slot) {
                        self.batch_leave(room_slot, user, reason);
                    } else {
                        exact.push(user);
                    }
                    removed.push(user);
                }
                None => skipped.push(user),
            }
        }
        for &user in &removed {
            self.member_gone(room_slot, user, None, emit);
        }
        if !exact.is_empty() {
            let members: Members = exact.iter().map(|&user_id| Member { user_id }).collect();
            self.fan_out(room_slot, None, emit, |to| Output::MembersLeft {
                to,
                room_id,
                members,
                reason,
            });
        }
        self.settle_room(room_slot, emit);
        (removed, skipped)
    }

    /// The session of `user` that is in the room, if any (at most one: a user is one member).
    pub(crate) fn member_session_of(&self, room_slot: u32, user: UserId) -> Option<u32> {
        self.user_sessions(user)
            .find(|&s| self.state.session(s).membership(room_slot).is_some())
    }

    /// Destroys the room at once: every member (lost links included) sees
    /// `disconnected`/`room_not_exist`; its timers are cancelled.
    pub(crate) fn dismiss_room(
        &mut self,
        room_id: RoomId,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        self.check_room_id(room_id)?;
        let room_slot = self.room_slot(room_id).ok_or(Error::RoomNotExist)?;
        let members: Vec<u32> = self
            .state
            .room(room_slot)
            .members()
            .iter()
            .map(|m| m.session)
            .collect();
        for session_slot in members {
            self.release_for_dismissal(room_slot, session_slot, emit);
        }
        self.destroy_room(room_slot, DestroyCause::Dismissed, emit);
        Ok(ReplyOk::RoomId { room_id })
    }
}
