#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod admin;
mod attributes;
mod batching;
#[cfg(feature = "trace")]
pub mod check;
pub mod config;
pub mod dialect;
mod engine;
pub mod error;
mod flows;
#[cfg(feature = "fuzzing")]
pub mod fuzz;
pub mod ids;
pub mod input;
pub mod invariants;
mod lifecycle;
mod member_attributes;
mod messages;
#[cfg(feature = "testing")]
pub mod model;
mod ops;
pub mod output;
mod reconnect;
#[cfg(feature = "trace")]
pub mod render;
mod rooms;
mod sessions;
#[cfg(feature = "testing")]
pub mod sim;
mod slab;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod timers;
#[cfg(feature = "trace")]
pub mod trace;
mod validate;

pub use config::{Config, DevicePolicy, RoomConfig};
pub use engine::Engine;
pub use error::{ConfigError, Error, ErrorCode};
pub use flows::MAX_PAGE;
pub use ids::{RoomId, SessionId, UserId};
pub use input::{Input, RequestId, RoomInfo};
pub use invariants::InvariantViolation;
pub use output::{
    CloseReason, DestroyCause, ErrorBody, LeaveReason, Member, MemberAttributesInfo, MemberLeft,
    Members, Outcome, Output, ReplyOk, RoomEvent, RoomState, Stamped,
};
pub use time::Millis;
pub use timers::{TimerKey, TimerKind, Timers};
