//! The engine: the room lifecycle state machine and everything it keeps.
//!
//! Method taxonomy (as in quinn-proto), written on [`Engine`] itself: read-only getters
//! (`getters.rs`); `handle_*` to feed an input or the passage of time (`dispatch.rs`);
//! outputs pushed into a caller-owned buffer so it can be reused (`emit.rs`).

mod admin;
mod attributes;
mod dispatch;
mod emit;
pub(crate) mod flows;
mod getters;
mod large_rooms;
mod lifecycle;
mod member_attributes;
mod messages;
mod moves;
pub(crate) mod paging;
mod provisioning;
mod reconnect;
mod snapshot;
pub(crate) mod state;
mod timer_reason;
mod validate;

pub(crate) use emit::Emit;
pub use state::invariants;
pub use state::Engine;
pub(crate) use state::{Index, State};
pub use timer_reason::TimerReason;

use crate::config::Config;
use crate::error::ConfigError;

impl Engine {
    /// A fresh engine with no sessions and no rooms, at time zero.
    pub fn new(config: Config) -> Result<Engine, ConfigError> {
        config.validate()?;
        let index = Index::new(config.hash_seed);
        Ok(Engine {
            state: State::new(config),
            index,
            closed_in_step: Vec::new(),
        })
    }
}
