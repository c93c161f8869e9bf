//! Snapshot and restore: the engine serializes its [`State`]; a restored state is checked
//! (config, counters, indexes, every invariant) before it is accepted.

use crate::engine::{Engine, Index, State};
use crate::error::ConfigError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

impl Engine {
    /// Rebuilds an engine from a serialized [`State`], checking that it holds together.
    fn from_state(mut state: State) -> Result<Engine, ConfigError> {
        state.config.validate()?;
        if !counters_in_range(&state) {
            return Err(ConfigError::InconsistentState(
                "a sequence counter is too close to overflow".into(),
            ));
        }
        let index = Index::rebuild(&mut state)?;
        let engine = Engine {
            state,
            index,
            closed_in_step: Vec::new(),
        };
        crate::engine::invariants::check(&engine)
            .map_err(|v| ConfigError::InconsistentState(v.to_string()))?;
        Ok(engine)
    }
}

/// Counters grow by one per operation and are never reset. A live engine cannot get anywhere
/// near this bound (2^63 operations), so a snapshot that starts one above it is corrupt; the
/// bound is what keeps every `+= 1` on them free of overflow panics.
const COUNTER_LIMIT: u64 = u64::MAX / 2;

fn counters_in_range(state: &State) -> bool {
    let rooms_ok = state.rooms().iter().all(|(_, r)| {
        [
            r.next_join_seq(),
            r.cold().message_seq,
            r.cold().attr_version,
            r.cold().member_attr_version,
            r.reconnect().next_departure,
        ]
        .iter()
        .all(|&c| c <= COUNTER_LIMIT)
    });
    rooms_ok
        && state.next_incarnation() <= COUNTER_LIMIT
        && state.timers().next_seq() <= COUNTER_LIMIT
        && state
            .sid_and_event_counters()
            .iter()
            .all(|&c| c <= COUNTER_LIMIT)
}

impl Serialize for Engine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.state.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Engine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let state = State::deserialize(d)?;
        Engine::from_state(state).map_err(serde::de::Error::custom)
    }
}
