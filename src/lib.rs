#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "trace")]
pub mod check;
pub mod config;
pub mod dialect;
mod engine;
pub mod error;
pub mod ids;
pub mod input;
pub mod output;
#[cfg(feature = "trace")]
pub mod render;
pub mod time;
#[cfg(feature = "trace")]
pub mod trace;
pub mod transitions;

pub use config::{Config, DevicePolicy, RoomConfig};
pub use engine::flows::MAX_PAGE;
pub use engine::invariants::{self, InvariantViolation};
pub use engine::timers::{self, TimerKey, TimerKind, Timers};
pub use engine::Engine;
pub use error::{ConfigError, Error, ErrorCode};
pub use ids::{RoomId, SessionId, UserId};
pub use input::{Input, RequestId, RoomInfo};
pub use output::{
    CloseReason, DestroyCause, ErrorBody, LeaveReason, Member, MemberAttributesInfo, MemberLeft,
    Members, Outcome, Output, ReplyOk, RoomEvent, RoomState, Stamped,
};
pub use time::Millis;
