//! LiveKit numbers.

use super::{LeaveReason, RoomEvent};

/// `DisconnectReason.CLIENT_INITIATED`.
pub const CLIENT_INITIATED: u8 = 1;
/// `DisconnectReason.DUPLICATE_IDENTITY`.
pub const DUPLICATE_IDENTITY: u8 = 2;
/// `DisconnectReason.PARTICIPANT_REMOVED`.
pub const PARTICIPANT_REMOVED: u8 = 4;
/// `DisconnectReason.ROOM_DELETED`.
pub const ROOM_DELETED: u8 = 5;
/// `DisconnectReason.CONNECTION_TIMEOUT`.
pub const CONNECTION_TIMEOUT: u8 = 14;

/// The `DisconnectReason` of a local `Disconnected` event; `None` when the state change is
/// not a disconnect LiveKit reports (a failed connect throws instead).
#[must_use]
pub fn disconnect_reason(event: RoomEvent) -> Option<u8> {
    match event {
        RoomEvent::Success => Some(CLIENT_INITIATED),
        RoomEvent::KickedOutByOtherDevice => Some(DUPLICATE_IDENTITY),
        RoomEvent::KickedOut => Some(PARTICIPANT_REMOVED),
        RoomEvent::RoomNotExist => Some(ROOM_DELETED),
        RoomEvent::ConnectTimeout => Some(CONNECTION_TIMEOUT),
        _ => None,
    }
}

/// `DisconnectReason.MIGRATION`: the participant was moved to another room.
pub const MIGRATION: u8 = 8;

/// The `DisconnectReason` a `participant_left` webhook carries.
#[must_use]
pub fn webhook_reason(reason: super::ExitReason) -> u8 {
    use super::ExitReason as R;
    match reason {
        R::Left => CLIENT_INITIATED,
        R::OtherDevice => DUPLICATE_IDENTITY,
        R::Kicked | R::Banned => PARTICIPANT_REMOVED,
        R::Dismissed => ROOM_DELETED,
        R::Moved => MIGRATION,
        R::Timeout => CONNECTION_TIMEOUT,
    }
}

/// The `DisconnectReason` of a remote `ParticipantDisconnected`.
#[must_use]
pub fn participant_reason(reason: LeaveReason) -> u8 {
    match reason {
        LeaveReason::Left => CLIENT_INITIATED,
        LeaveReason::OtherDevice => DUPLICATE_IDENTITY,
        LeaveReason::Kicked | LeaveReason::Banned => PARTICIPANT_REMOVED,
        LeaveReason::Timeout => CONNECTION_TIMEOUT,
    }
}
