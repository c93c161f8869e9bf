//! The service's own commands beyond kick and dismiss: create a room before anyone joins
//! (`admin_create_room`), and keep users out of a room id (`ban_users`, `unban_users`). They
//! are answered by `admin_reply`. Reading rooms (`list_rooms`, `query_room`) is in
//! `paging.rs`, moving users in `moves.rs`.

use crate::config::{RoomConfig, MAX_BAN_S};
use crate::engine::paging::room_details;
use crate::engine::{Emit, Engine};
use crate::error::Error;
use crate::ids::{RoomId, UserId};
use crate::input::RoomInfo;
use crate::output::{ExitReason, ReplyOk, RoomEvent};

impl Engine {
    /// Creates an empty room (`room_created`) that waits `empty_timeout_s` for its first
    /// member; `destroy_delay_s` governs its later emptying. Its initial attributes are the
    /// service's.
    pub(crate) fn admin_create_room(
        &mut self,
        info: &RoomInfo,
        config: Option<&RoomConfig>,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        self.check_room_info(info)?;
        let (settings, empty_timeout_ms) = self.check_admin_room_config(config)?;
        if self.room_slot(info.id).is_some() {
            return Err(Error::RoomAlreadyExists);
        }
        self.require_room_capacity()?;
        let slot = self.create_room_now(info, settings, emit);
        if let Some(config) = config {
            self.seed_attributes(slot, None, config);
        }
        self.await_first_member(slot, empty_timeout_ms);
        Ok(room_details(info.id, self.state.room(slot)))
    }

    /// Bans `users` from the room id for `duration_s`: their sessions in the room (if it
    /// exists) are removed as by a kick, with reason `banned`, and until the deadline their
    /// joins, enters and switches into that room id are refused with `user_banned`. A ban of
    /// a pair already banned replaces its deadline. All or nothing: past `max_bans`, nothing
    /// changes.
    pub(crate) fn ban_users(
        &mut self,
        room_id: RoomId,
        users: &[UserId],
        duration_s: u64,
        emit: &mut Emit<'_>,
    ) -> Result<ReplyOk, Error> {
        let users = self.check_admin_users(room_id, users)?;
        if !(1..=MAX_BAN_S).contains(&duration_s) {
            return Err(Error::InvalidArgument("duration_s must be 1..=604800"));
        }
        let new = users
            .iter()
            .filter(|&&u| !self.is_banned(room_id, u))
            .count();
        let max = self.state.config.max_bans;
        if self.state.bans().len() as usize + new > max as usize {
            return Err(Error::BanLimit { max });
        }
        let until = self.state.now.after_ms(duration_s * 1000);
        for &user in &users {
            self.put_ban(room_id, user, until);
        }
        let removed = match self.room_slot(room_id) {
            Some(room_slot) => {
                let kicked = RoomEvent::KickedOut;
                self.eject(room_slot, &users, ExitReason::Banned, kicked, emit)
                    .0
            }
            None => Vec::new(),
        };
        Ok(ReplyOk::UsersBanned {
            banned: users,
            removed,
        })
    }

    /// Lifts the bans of `users` from the room id; users without one are skipped.
    pub(crate) fn unban_users(
        &mut self,
        room_id: RoomId,
        users: &[UserId],
    ) -> Result<ReplyOk, Error> {
        let users = self.check_admin_users(room_id, users)?;
        let (unbanned, skipped) = users.into_iter().partition(|&u| self.lift_ban(room_id, u));
        Ok(ReplyOk::UsersUnbanned { unbanned, skipped })
    }

    /// The argument checks an admin command on users of a room shares: the room id, then
    /// 1..=`max_kick_users` valid user ids. Returns them without repeats, in order.
    pub(crate) fn check_admin_users(
        &self,
        room_id: RoomId,
        users: &[UserId],
    ) -> Result<Vec<UserId>, Error> {
        self.check_room_id(room_id)?;
        let max = self.state.config.max_kick_users as usize;
        if users.is_empty() || users.len() > max {
            return Err(Error::InvalidArgument(
                "users must name 1..=max_kick_users users",
            ));
        }
        let mut unique = Vec::with_capacity(users.len());
        for &u in users {
            self.check_user_id(u)?;
            if !unique.contains(&u) {
                unique.push(u);
            }
        }
        Ok(unique)
    }
}
