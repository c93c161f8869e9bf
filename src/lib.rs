#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod admin;
mod attributes;
pub mod config;
mod engine;
pub mod error;
mod flows;
pub mod ids;
pub mod input;
pub mod invariants;
mod lifecycle;
mod member_attributes;
mod messages;
mod ops;
pub mod output;
mod reconnect;
mod rooms;
mod sessions;
mod slab;
pub mod time;
pub mod timers;
mod validate;
pub mod dialect;
#[cfg(feature = "trace")]
pub mod trace;
#[cfg(feature = "trace")]
pub mod check;
#[cfg(feature = "trace")]
pub mod render;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "testing")]
pub mod model;
#[cfg(feature = "testing")]
pub mod sim;
#[cfg(feature = "fuzzing")]
pub mod fuzz;

pub use config::{Config, DevicePolicy, RoomConfig};
pub use engine::Engine;
pub use error::{ConfigError, Error, ErrorCode};
pub use flows::MAX_PAGE;
pub use ids::{RoomId, SessionId, UserId};
pub use input::{Input, RequestId, RoomInfo};
pub use invariants::InvariantViolation;
pub use output::{
    CloseReason, DestroyCause, ErrorBody, LeaveReason, Member, MemberAttributesInfo, Members,
    Outcome, Output, ReplyOk, RoomEvent, RoomState, Stamped,
};
pub use time::Millis;
pub use timers::{TimerKey, TimerKind, Timers};
