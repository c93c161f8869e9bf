#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "trace")]
pub mod check;
pub mod config;
pub mod dialect;
mod engine;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzz;
pub mod ids;
pub mod input;
#[cfg(feature = "testing")]
pub mod model;
pub mod output;
#[cfg(feature = "trace")]
pub mod render;
#[cfg(feature = "testing")]
pub mod sim;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
#[cfg(feature = "trace")]
pub mod trace;
pub mod transitions;

pub use config::{Config, DevicePolicy, RoomConfig};
pub use engine::flows::MAX_PAGE;
pub use engine::invariants::{self, InvariantViolation};

/// The engine's timer table, reachable only for the benches (`--features bench-internals`):
/// it is an implementation detail, not part of the API.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_internals {
    pub use crate::engine::state::timers::{TimerKey, TimerKind, Timers};
}
pub use engine::{Engine, TimerReason};
pub use error::{ConfigError, Error, ErrorCode};
pub use ids::{RoomId, SessionId, UserId};
pub use input::{Input, RequestId, RoomInfo};
pub use output::{
    CloseReason, DestroyCause, ErrorBody, LeaveReason, Member, MemberAttributesInfo, MemberLeft,
    Members, Outcome, Output, ReplyOk, RoomEvent, RoomState, Stamped,
};
pub use time::Millis;
