//! `move_users`: the service moves users from one room to another (breakout rooms, LiveKit's
//! `MoveParticipant`). Each moved session goes through exactly what a `switch_room` shows it
//! (target `connecting`/`active_switch`, target `connected`/`success`, source
//! `disconnected`/`success`), without a reply; the target's members see `members_joined`,
//! the source's remaining members one `members_left` naming everyone moved (reason `left`,
//! as for a switch), and service events say `moved`.
//!
//! Decisions (the requirements leave these open; docs/decisions.md):
//! - All or nothing: the target must exist (or be created, with `create_if_missing`) and
//!   have room for every user moved, or the admin gets `room_not_exist`, `room_full` or
//!   `server_room_limit` and nothing changes.
//! - Skipped (named in `ok.skipped`): users with no session in the source room, users
//!   already in the target (from any device), users whose session is reconnecting to the
//!   source (its link is lost: it could not see the move), and users banned from the target.
//! - Nothing to move: nothing happens (a missing target is not created), and the reply
//!   names everyone skipped.
//! - A target created by a move is the service's: its initial attributes belong to the
//!   service.
//! - A move keeps each moved session's room count, like a switch: `joined_room_limit` never
//!   refuses it.

use crate::config::RoomConfig;
use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{RoomId, UserId};
use crate::input::RoomInfo;
use crate::output::{ExitReason, ReplyOk, RoomEvent, RoomState};

/// Where a move takes users: an existing room, or one to create.
enum Destination {
    Existing(u32),
    Create,
}

impl Engine {
    pub(crate) fn move_users(
        &mut self,
        from: RoomId,
        to: &RoomInfo,
        users: &[UserId],
        create_if_missing: bool,
        config: Option<&RoomConfig>,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        self.check_room_info(to)?;
        let settings = self.check_room_config(config)?;
        let users = self.check_admin_users(from, users)?;
        if from == to.id {
            return Err(Error::InvalidArgument("from and to name the same room"));
        }
        let source = self.room_slot(from).ok_or(Error::RoomNotExist)?;
        let destination = match self.room_slot(to.id) {
            Some(slot) => Destination::Existing(slot),
            None if create_if_missing => Destination::Create,
            None => return Err(Error::RoomNotExist),
        };
        let (movers, skipped) = self.movers(source, to.id, &users);
        match destination {
            Destination::Existing(slot) => {
                let room = self.state.room(slot);
                let max = room.max_members;
                if room.member_count() as usize + movers.len() > max as usize {
                    return Err(Error::RoomFull { max });
                }
            }
            Destination::Create => {
                self.require_room_capacity()?;
                if movers.len() > settings.max_members as usize {
                    return Err(Error::RoomFull {
                        max: settings.max_members,
                    });
                }
            }
        }
        if movers.is_empty() {
            return Ok(ReplyOk::UsersMoved {
                moved: Vec::new(),
                skipped,
            });
        }
        let target = match destination {
            Destination::Existing(slot) => slot,
            Destination::Create => {
                let slot = self.create_room_now(to, settings, emit);
                if let Some(config) = config {
                    self.seed_attributes(slot, None, config);
                }
                slot
            }
        };
        // Everyone moved joins the target first (as a switch connects its target first), then
        // all leave the source at once, so its remaining members get one `members_left` and
        // nobody moved hears about the source after leaving it.
        let target_id = self.state.room_id(target);
        for &(_, session_slot) in &movers {
            let session_id = self.state.session(session_slot).id;
            emit.state(
                session_id,
                target_id,
                RoomState::Connecting,
                RoomEvent::ActiveSwitch,
            );
            self.add_member(target, session_slot, emit);
        }
        let users: Vec<UserId> = movers.iter().map(|&(user, _)| user).collect();
        let (moved, _) = self.eject(source, &users, ExitReason::Moved, RoomEvent::Success, emit);
        Ok(ReplyOk::UsersMoved { moved, skipped })
    }

    /// Splits the users named into those to move (with their session in the source room)
    /// and those skipped, in the order named.
    fn movers(
        &self,
        source: u32,
        target: RoomId,
        users: &[UserId],
    ) -> (Vec<(UserId, u32)>, Vec<UserId>) {
        let target_slot = self.room_slot(target);
        let mut movers = Vec::new();
        let mut skipped = Vec::new();
        for &user in users {
            let session = self.member_session_of(source, user);
            let reconnecting = session.is_some_and(|s| {
                self.state
                    .session(s)
                    .membership(source)
                    .is_some_and(|m| m.is_reconnecting())
            });
            let in_target = target_slot.is_some_and(|t| self.user_in_room(t, user));
            match session {
                Some(s) if !reconnecting && !in_target && !self.is_banned(target, user) => {
                    movers.push((user, s));
                }
                _ => skipped.push(user),
            }
        }
        (movers, skipped)
    }
}
