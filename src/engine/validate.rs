//! Request checks that come before any flow: the session, then the arguments, then the
//! caller's relation to the rooms named, then its limits (the order of docs/flows.md, "Check order").

use crate::config::{RoomConfig, DEFAULT_EMPTY_TIMEOUT_S, MAX_EMPTY_TIMEOUT_S};
use crate::engine::state::room::RoomSettings;
use crate::engine::Engine;
use crate::error::Error;
use crate::ids::{RoomId, SessionId, UserId};
use crate::input::RoomInfo;

/// How a session stands towards a room it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    /// Not a member (or the room does not exist).
    Outside,
    /// A member with a live link, with the room's slot.
    Member(u32),
    /// A member whose link is lost, reconnecting.
    Reconnecting,
}

impl Engine {
    /// The slot of a logged-in session, or why it is not one.
    pub(crate) fn check_session(&self, id: SessionId) -> Result<u32, Error> {
        if let Some(slot) = self.session_slot(id) {
            return Ok(slot);
        }
        if self.index.is_closed(id) {
            Err(Error::SessionClosed)
        } else {
            Err(Error::NotLoggedIn)
        }
    }

    pub(crate) fn check_room_id(&self, id: RoomId) -> Result<(), Error> {
        let max = self.state.config.room_id_max_bytes as usize;
        if id.0.is_empty() {
            Err(Error::InvalidRoomId("empty"))
        } else if id.0.len() > max {
            Err(Error::InvalidRoomId("too long"))
        } else if !id.0.is_valid(max) {
            Err(Error::InvalidRoomId("character outside the allowed set"))
        } else {
            Ok(())
        }
    }

    pub(crate) fn check_user_id(&self, id: UserId) -> Result<(), Error> {
        let max = self.state.config.user_id_max_bytes as usize;
        if id.0.is_empty() {
            Err(Error::InvalidUserId("empty"))
        } else if id.0.len() > max {
            Err(Error::InvalidUserId("too long"))
        } else if !id.0.is_valid(max) {
            Err(Error::InvalidUserId("character outside the allowed set"))
        } else {
            Ok(())
        }
    }

    pub(crate) fn check_room_info(&self, info: &RoomInfo) -> Result<(), Error> {
        self.check_room_id(info.id)?;
        let max = self.state.config.room_name_max_bytes;
        if info.name.len() > max as usize {
            return Err(Error::InvalidRoomName { max });
        }
        Ok(())
    }

    /// Checks the room config of a session's command; returns the room's settings.
    pub(crate) fn check_room_config(
        &self,
        config: Option<&RoomConfig>,
    ) -> Result<RoomSettings, Error> {
        let Some(config) = config else {
            return Ok(self.default_room_settings());
        };
        if config.empty_timeout_s.is_some() {
            return Err(Error::InvalidConfig(
                "empty_timeout_s is for admin_create_room",
            ));
        }
        self.check_settings(config)
    }

    /// Checks the room config of `admin_create_room`; returns the room's settings and how
    /// long it waits for its first member, in ms.
    pub(crate) fn check_admin_room_config(
        &self,
        config: Option<&RoomConfig>,
    ) -> Result<(RoomSettings, u64), Error> {
        let Some(config) = config else {
            return Ok((self.default_room_settings(), DEFAULT_EMPTY_TIMEOUT_S * 1000));
        };
        let timeout_s = config.empty_timeout_s.unwrap_or(DEFAULT_EMPTY_TIMEOUT_S);
        if timeout_s > MAX_EMPTY_TIMEOUT_S {
            return Err(Error::InvalidConfig("empty_timeout_s must be 0..=86400"));
        }
        Ok((self.check_settings(config)?, timeout_s * 1000))
    }

    /// The settings of a room created without a config.
    pub(crate) fn default_room_settings(&self) -> RoomSettings {
        RoomSettings {
            destroy_delay_ms: 0,
            max_members: self.state.config.max_members_per_room,
        }
    }

    fn check_settings(&self, config: &RoomConfig) -> Result<RoomSettings, Error> {
        // A room keeps its delay in 32 bits (49 days); the config's bound is far below.
        let destroy_delay_ms = config
            .destroy_delay_ms()
            .and_then(|ms| u32::try_from(ms).ok())
            .ok_or(Error::InvalidConfig("destroy_delay_s must be 0..=10800"))?;
        let engine_max = self.state.config.max_members_per_room;
        let max_members = match config.max_members {
            0 => engine_max,
            n if n <= engine_max => n,
            _ => {
                return Err(Error::InvalidConfig(
                    "max_members must be 0..=max_members_per_room",
                ))
            }
        };
        self.check_initial_attributes(&config.attributes)?;
        Ok(RoomSettings {
            destroy_delay_ms,
            max_members,
        })
    }

    /// How `session_slot` stands towards `room_id`.
    pub(crate) fn relation(&self, session_slot: u32, room_id: RoomId) -> Relation {
        let Some(room_slot) = self.room_slot(room_id) else {
            return Relation::Outside;
        };
        match self.state.session(session_slot).membership(room_slot) {
            None => Relation::Outside,
            Some(m) if m.is_reconnecting() => Relation::Reconnecting,
            Some(_) => Relation::Member(room_slot),
        }
    }

    /// The caller must not be in the room already.
    pub(crate) fn require_outside(&self, session_slot: u32, room_id: RoomId) -> Result<(), Error> {
        match self.relation(session_slot, room_id) {
            Relation::Outside => Ok(()),
            Relation::Member(_) => Err(Error::UserAlreadyInRoom),
            Relation::Reconnecting => Err(Error::RoomConnecting),
        }
    }

    /// The caller must be a live member; returns the room slot.
    pub(crate) fn require_member(&self, session_slot: u32, room_id: RoomId) -> Result<u32, Error> {
        match self.relation(session_slot, room_id) {
            Relation::Outside => Err(Error::UserNotInRoom),
            Relation::Reconnecting => Err(Error::RoomConnecting),
            Relation::Member(room_slot) => Ok(room_slot),
        }
    }

    /// The caller must have room for one more membership.
    pub(crate) fn require_room_budget(&self, session_slot: u32) -> Result<(), Error> {
        let max = self.state.config.max_rooms_per_session;
        let count = self.state.session(session_slot).room_count();
        if count >= max {
            return Err(Error::JoinedRoomLimit { max });
        }
        Ok(())
    }

    /// Whether one more room may be created.
    pub(crate) fn require_room_capacity(&self) -> Result<(), Error> {
        let max = self.state.config.max_rooms;
        if self.state.rooms().len() >= max {
            return Err(Error::ServerRoomLimit { max });
        }
        Ok(())
    }

    /// Whether `session_slot` may join the existing room (member limit; a same-user takeover
    /// does not add a member, so it is never refused for a full room).
    pub(crate) fn require_seat(&self, room_slot: u32, session_slot: u32) -> Result<(), Error> {
        let room = self.state.room(room_slot);
        let max = room.max_members;
        if room.member_count() < max {
            return Ok(());
        }
        let user = self.state.session(session_slot).user;
        let takeover = self
            .user_sessions(user)
            .any(|s| s != session_slot && self.state.session(s).membership(room_slot).is_some());
        if takeover {
            Ok(())
        } else {
            Err(Error::RoomFull { max })
        }
    }
}
