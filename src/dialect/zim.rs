//! ZEGO ZIM numbers.

use super::{ErrorCode, RoomEvent, RoomState};

/// `ZIMRoomState`: disconnected 0, connecting 1, connected 2.
#[must_use]
pub fn room_state(s: RoomState) -> u8 {
    match s {
        RoomState::Disconnected => 0,
        RoomState::Connecting => 1,
        RoomState::Connected => 2,
    }
}

/// `ZIMRoomEvent`: 0..=12 in the order docs/concepts.md lists them.
#[must_use]
pub fn room_event(e: RoomEvent) -> u8 {
    match e {
        RoomEvent::Success => 0,
        RoomEvent::NetworkInterrupted => 1,
        RoomEvent::NetworkDisconnected => 2,
        RoomEvent::RoomNotExist => 3,
        RoomEvent::ActiveCreate => 4,
        RoomEvent::CreateFailed => 5,
        RoomEvent::ActiveEnter => 6,
        RoomEvent::EnterFailed => 7,
        RoomEvent::KickedOut => 8,
        RoomEvent::ConnectTimeout => 9,
        RoomEvent::KickedOutByOtherDevice => 10,
        RoomEvent::ActiveSwitch => 11,
        RoomEvent::SwitchFailed => 12,
    }
}

/// ZIM's generic "parameter invalid" (`CommonModuleParamInvalid`).
pub const PARAM_INVALID: u32 = 6_000_001;
/// ZIM's room-module common error, for room errors it has no own code for.
pub const ROOM_COMMON_ERROR: u32 = 6_000_301;
/// ZIM's generic failure.
pub const FAILED: u32 = 1;

/// The `ZIMErrorCode` for a canonical code, and whether ZIM has that exact error (`false`:
/// the nearest generic code).
#[must_use]
pub fn error_code(c: ErrorCode) -> (u32, bool) {
    match c {
        ErrorCode::UserAlreadyInRoom => (6_000_320, true),
        ErrorCode::UserNotInRoom => (6_000_321, true),
        ErrorCode::RoomNotExist => (6_000_322, true),
        ErrorCode::RoomAlreadyExists => (6_000_323, true),
        ErrorCode::ServerRoomLimit => (6_000_324, true),
        ErrorCode::JoinedRoomLimit => (6_000_325, true),
        ErrorCode::RoomConnecting => (6_000_326, true),
        ErrorCode::NotLoggedIn => (6_000_121, true),
        ErrorCode::AlreadyLoggedIn => (6_000_111, true),
        ErrorCode::RateLimited => (6_000_004, true),
        // ZIM forgets a logged-out session: its commands answer "not logged in".
        ErrorCode::SessionClosed => (6_000_121, false),
        ErrorCode::InvalidRoomId
        | ErrorCode::InvalidRoomName
        | ErrorCode::InvalidUserId
        | ErrorCode::InvalidConfig
        | ErrorCode::InvalidArgument
        | ErrorCode::PayloadTooLarge => (PARAM_INVALID, false),
        ErrorCode::RoomFull
        | ErrorCode::AttributeLimit
        | ErrorCode::AttributeNotOwner
        | ErrorCode::UserBanned
        | ErrorCode::NotAllowed => (ROOM_COMMON_ERROR, false),
        ErrorCode::SessionLimit | ErrorCode::BanLimit | ErrorCode::DuplicateLogin => {
            (FAILED, false)
        }
    }
}
