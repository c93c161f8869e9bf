//! Typed errors. Every refused command is answered with one of these, and changes no state.

use serde::{Deserialize, Serialize};

/// The canonical error codes of the trace format (docs/trace-format.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The room does not exist (ZIM 6000322).
    RoomNotExist,
    /// `create_room` of an id that exists (ZIM 6000323).
    RoomAlreadyExists,
    /// The room is at `max_members_per_room`.
    RoomFull,
    /// Creating would pass `max_rooms` (ZIM 6000324).
    ServerRoomLimit,
    /// The session is in `max_rooms_per_session` rooms (ZIM 6000325).
    JoinedRoomLimit,
    /// The session is already in that room (ZIM 6000320).
    UserAlreadyInRoom,
    /// The session is not in that room (ZIM 6000321).
    UserNotInRoom,
    /// The session's link is lost and it is reconnecting to that room (ZIM 6000326).
    RoomConnecting,
    /// Malformed room id.
    InvalidRoomId,
    /// Room name too long.
    InvalidRoomName,
    /// Malformed user id.
    InvalidUserId,
    /// Bad room config (destroy delay out of range, attributes over the limits).
    InvalidConfig,
    /// Any other malformed argument (session id, paging count or cursor, user list).
    InvalidArgument,
    /// The session id was never logged in, or has been forgotten (ZIM 6000121).
    NotLoggedIn,
    /// The session was closed (logout, or another device) (ByteDance 115910).
    SessionClosed,
    /// `login` with a session id that is in use.
    AlreadyLoggedIn,
    /// `login` past `max_sessions`.
    SessionLimit,
    /// Room attributes over the limits.
    AttributeLimit,
    /// Changing another user's attribute without `is_force`.
    AttributeNotOwner,
    /// A message payload over the limit.
    PayloadTooLarge,
    /// The session's message rate limit is exhausted.
    RateLimited,
    /// The user is banned from that room id (ByteDance `BanRoomUser`).
    UserBanned,
    /// `ban_users` past `max_bans`.
    BanLimit,
    /// The service does not allow this command (`create_room` when clients may not create
    /// rooms).
    NotAllowed,
    /// `login` of a user who has a live session, under the `reject_new` device policy.
    DuplicateLogin,
}

impl ErrorCode {
    /// The snake_case name used on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::RoomNotExist => "room_not_exist",
            ErrorCode::RoomAlreadyExists => "room_already_exists",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::ServerRoomLimit => "server_room_limit",
            ErrorCode::JoinedRoomLimit => "joined_room_limit",
            ErrorCode::UserAlreadyInRoom => "user_already_in_room",
            ErrorCode::UserNotInRoom => "user_not_in_room",
            ErrorCode::RoomConnecting => "room_connecting",
            ErrorCode::InvalidRoomId => "invalid_room_id",
            ErrorCode::InvalidRoomName => "invalid_room_name",
            ErrorCode::InvalidUserId => "invalid_user_id",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::NotLoggedIn => "not_logged_in",
            ErrorCode::SessionClosed => "session_closed",
            ErrorCode::AlreadyLoggedIn => "already_logged_in",
            ErrorCode::SessionLimit => "session_limit",
            ErrorCode::AttributeLimit => "attribute_limit",
            ErrorCode::AttributeNotOwner => "attribute_not_owner",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UserBanned => "user_banned",
            ErrorCode::BanLimit => "ban_limit",
            ErrorCode::NotAllowed => "not_allowed",
            ErrorCode::DuplicateLogin => "duplicate_login",
        }
    }
}

/// Why a command was refused. `Display` gives the human message of the error reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// See [`ErrorCode::RoomNotExist`].
    #[error("room does not exist")]
    RoomNotExist,
    /// See [`ErrorCode::RoomAlreadyExists`].
    #[error("room already exists")]
    RoomAlreadyExists,
    /// See [`ErrorCode::RoomFull`].
    #[error("room is full ({max} members)")]
    RoomFull {
        /// The member limit.
        max: u32,
    },
    /// See [`ErrorCode::ServerRoomLimit`].
    #[error("server room limit reached ({max} rooms)")]
    ServerRoomLimit {
        /// The room limit.
        max: u32,
    },
    /// See [`ErrorCode::JoinedRoomLimit`].
    #[error("joined room limit reached ({max} rooms per session)")]
    JoinedRoomLimit {
        /// The per-session limit.
        max: u32,
    },
    /// See [`ErrorCode::UserAlreadyInRoom`].
    #[error("already in the room")]
    UserAlreadyInRoom,
    /// See [`ErrorCode::UserNotInRoom`].
    #[error("not in the room")]
    UserNotInRoom,
    /// See [`ErrorCode::RoomConnecting`].
    #[error("reconnecting to the room")]
    RoomConnecting,
    /// See [`ErrorCode::InvalidRoomId`].
    #[error("invalid room id: {0}")]
    InvalidRoomId(&'static str),
    /// See [`ErrorCode::InvalidRoomName`].
    #[error("invalid room name: longer than {max} bytes")]
    InvalidRoomName {
        /// The name limit.
        max: u32,
    },
    /// See [`ErrorCode::InvalidUserId`].
    #[error("invalid user id: {0}")]
    InvalidUserId(&'static str),
    /// See [`ErrorCode::InvalidConfig`].
    #[error("invalid config: {0}")]
    InvalidConfig(&'static str),
    /// See [`ErrorCode::InvalidArgument`].
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// See [`ErrorCode::NotLoggedIn`].
    #[error("not logged in")]
    NotLoggedIn,
    /// See [`ErrorCode::SessionClosed`].
    #[error("session is closed")]
    SessionClosed,
    /// See [`ErrorCode::AlreadyLoggedIn`].
    #[error("session id is already logged in")]
    AlreadyLoggedIn,
    /// See [`ErrorCode::SessionLimit`].
    #[error("session limit reached ({max} sessions)")]
    SessionLimit {
        /// The session limit.
        max: u32,
    },
    /// See [`ErrorCode::AttributeLimit`].
    #[error("room attribute limit: {0}")]
    AttributeLimit(&'static str),
    /// See [`ErrorCode::AttributeNotOwner`].
    #[error("attribute is owned by another user")]
    AttributeNotOwner,
    /// See [`ErrorCode::PayloadTooLarge`].
    #[error("payload too large ({len} bytes, max {max})")]
    PayloadTooLarge {
        /// The payload's size.
        len: usize,
        /// The limit.
        max: u32,
    },
    /// See [`ErrorCode::RateLimited`].
    #[error("rate limited")]
    RateLimited,
    /// See [`ErrorCode::UserBanned`].
    #[error("user is banned from the room")]
    UserBanned,
    /// See [`ErrorCode::BanLimit`].
    #[error("ban limit reached ({max} bans)")]
    BanLimit {
        /// The ban limit.
        max: u32,
    },
    /// See [`ErrorCode::NotAllowed`].
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// See [`ErrorCode::DuplicateLogin`].
    #[error("the user is logged in on another device")]
    DuplicateLogin,
}

impl Error {
    /// The canonical code of this error.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::RoomNotExist => ErrorCode::RoomNotExist,
            Error::RoomAlreadyExists => ErrorCode::RoomAlreadyExists,
            Error::RoomFull { .. } => ErrorCode::RoomFull,
            Error::ServerRoomLimit { .. } => ErrorCode::ServerRoomLimit,
            Error::JoinedRoomLimit { .. } => ErrorCode::JoinedRoomLimit,
            Error::UserAlreadyInRoom => ErrorCode::UserAlreadyInRoom,
            Error::UserNotInRoom => ErrorCode::UserNotInRoom,
            Error::RoomConnecting => ErrorCode::RoomConnecting,
            Error::InvalidRoomId(_) => ErrorCode::InvalidRoomId,
            Error::InvalidRoomName { .. } => ErrorCode::InvalidRoomName,
            Error::InvalidUserId(_) => ErrorCode::InvalidUserId,
            Error::InvalidConfig(_) => ErrorCode::InvalidConfig,
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::NotLoggedIn => ErrorCode::NotLoggedIn,
            Error::SessionClosed => ErrorCode::SessionClosed,
            Error::AlreadyLoggedIn => ErrorCode::AlreadyLoggedIn,
            Error::SessionLimit { .. } => ErrorCode::SessionLimit,
            Error::AttributeLimit(_) => ErrorCode::AttributeLimit,
            Error::AttributeNotOwner => ErrorCode::AttributeNotOwner,
            Error::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Error::RateLimited => ErrorCode::RateLimited,
            Error::UserBanned => ErrorCode::UserBanned,
            Error::BanLimit { .. } => ErrorCode::BanLimit,
            Error::NotAllowed(_) => ErrorCode::NotAllowed,
            Error::DuplicateLogin => ErrorCode::DuplicateLogin,
        }
    }
}

/// A bad engine [`Config`](crate::Config), or a state snapshot that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A limit is zero or out of its range.
    #[error("config field `{field}` is out of range")]
    OutOfRange {
        /// The offending field.
        field: &'static str,
    },
    /// A restored state breaks an invariant.
    #[error("restored state is inconsistent: {0}")]
    InconsistentState(String),
}
