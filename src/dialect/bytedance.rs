//! ByteDance mini-program `RtcRoomContext` strings and numbers.

use super::{ErrorCode, Input, Outcome};

/// `errNo` for a parameter error.
pub const PARAMETER_ERROR: u32 = 20_000;
/// `errNo` when the RTC engine (our session) has been destroyed.
pub const ENGINE_DESTROYED: u32 = 115_910;
/// The detail text ByteDance gives with [`ENGINE_DESTROYED`].
pub const ENGINE_DESTROYED_MSG: &str =
    "engine has been destroyed,please invoke tt.createRtcRoomContext create new engine";

/// The `errNo` of a failure, where ByteDance documents one.
#[must_use]
pub fn err_no(c: ErrorCode) -> Option<u32> {
    match c {
        ErrorCode::InvalidRoomId
        | ErrorCode::InvalidRoomName
        | ErrorCode::InvalidUserId
        | ErrorCode::InvalidConfig
        | ErrorCode::InvalidArgument => Some(PARAMETER_ERROR),
        ErrorCode::SessionClosed => Some(ENGINE_DESTROYED),
        _ => None,
    }
}

/// The API a command corresponds to: `exitRtcRoom` (leave), `joinRtcRoom` (create, join,
/// enter); other commands keep their canonical name.
#[must_use]
pub fn api_name(input: &Input) -> &'static str {
    match input {
        Input::LeaveRoom { .. } | Input::LeaveAllRooms { .. } => "exitRtcRoom",
        Input::CreateRoom { .. } | Input::JoinRoom { .. } | Input::EnterRoom { .. } => {
            "joinRtcRoom"
        }
        other => other.name(),
    }
}

/// `errMsg`: `"<api>:ok"`, or `"<api>:fail <detail>"`.
#[must_use]
pub fn err_msg(api: &str, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok(_) => format!("{api}:ok"),
        Outcome::Error(e) if e.code == ErrorCode::SessionClosed => {
            format!("{api}:fail {ENGINE_DESTROYED_MSG}")
        }
        Outcome::Error(e) => format!("{api}:fail {}", e.message),
    }
}
