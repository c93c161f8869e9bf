//! Tencent TRTC numbers.

use super::{LeaveReason, RoomEvent};

/// `onExitRoom(reason)` for a session leaving a room because of `event`: 0 it called
/// `exitRoom`, 1 removed by the server (`RemoveUser`; also a same-id login elsewhere),
/// 2 the room was dismissed (`DismissRoom`). `None`: TRTC fires no `onExitRoom`.
#[must_use]
pub fn exit_room_reason(event: RoomEvent) -> Option<u8> {
    match event {
        RoomEvent::Success => Some(0),
        RoomEvent::KickedOut | RoomEvent::KickedOutByOtherDevice => Some(1),
        RoomEvent::RoomNotExist => Some(2),
        _ => None,
    }
}

/// Room event callbacks to the service (event group 1): a room was created.
pub const EVENT_CREATE_ROOM: u16 = 101;
/// A room was dismissed (or destroyed once empty).
pub const EVENT_DISMISS_ROOM: u16 = 102;
/// A user entered a room.
pub const EVENT_ENTER_ROOM: u16 = 103;
/// A user exited a room.
pub const EVENT_EXIT_ROOM: u16 = 104;

/// The `Reason` of an exit-room callback as this crate numbers it: 1 left on its own
/// (a move included), 2 timed out, 3 removed by the service (kick, ban, another device
/// taking over), 4 the room was dismissed.
#[must_use]
pub fn exit_callback_reason(reason: super::ExitReason) -> u8 {
    use super::ExitReason as R;
    match reason {
        R::Left | R::Moved => 1,
        R::Timeout => 2,
        R::Kicked | R::Banned | R::OtherDevice => 3,
        R::Dismissed => 4,
    }
}

/// `onRemoteUserLeaveRoom(userId, reason)`: 0 left, 1 timed out, 2 removed (kicked, or
/// replaced by the same user's newer device).
#[must_use]
pub fn remote_leave_reason(reason: LeaveReason) -> u8 {
    match reason {
        LeaveReason::Left => 0,
        LeaveReason::Timeout => 1,
        LeaveReason::Kicked | LeaveReason::OtherDevice | LeaveReason::Banned => 2,
    }
}
