//! The engine: the room lifecycle state machine and everything it keeps.
//!
//! Method taxonomy (as in quinn-proto), written on [`Engine`] itself: read-only getters
//! (`getters.rs`); `handle_*` to feed an input or the passage of time (`dispatch.rs`);
//! outputs pushed into a caller-owned buffer so it can be reused (`emit.rs`).

mod admin;
mod attributes;
mod batching;
mod dispatch;
mod emit;
pub(crate) mod flows;
mod getters;
pub mod invariants;
mod lifecycle;
mod member_attributes;
mod messages;
mod ops;
mod reconnect;
pub(crate) mod rooms;
pub(crate) mod sessions;
mod slab;
mod snapshot;
mod state;
pub mod timers;
mod validate;

pub(crate) use emit::Emit;
pub(crate) use state::{Index, State};

use crate::config::Config;
use crate::error::ConfigError;
use crate::time::Millis;
use slab::Slab;
use std::collections::VecDeque;
use timers::Timers;

/// The room lifecycle state machine. See the crate docs for the driver loop.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) state: State,
    pub(crate) index: Index,
}

impl Engine {
    /// A fresh engine with no sessions and no rooms, at time zero.
    pub fn new(config: Config) -> Result<Engine, ConfigError> {
        config.validate()?;
        let index = Index::new(config.hash_seed);
        Ok(Engine {
            state: State {
                config,
                now: Millis::ZERO,
                rooms: Slab::default(),
                sessions: Slab::default(),
                timers: Timers::default(),
                tombstones: VecDeque::new(),
                next_incarnation: 1,
            },
            index,
        })
    }
}
