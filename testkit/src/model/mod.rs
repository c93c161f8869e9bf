//! A reference model of the room rules: a deliberately naive re-implementation of the
//! documented behaviour, sharing no code with the engine. It lives in the test kit, which
//! sees only roomcore's public API, so the compiler keeps it independent: the public
//! `Input`, `Output`, `Config` and error types are all it has in common with the engine.
//!
//! Everything is a `BTreeMap` or a `Vec` scanned linearly; nothing is indexed, nothing is
//! cached, timers are a plain list searched for the earliest. The point is that each rule
//! reads like the sentence of the behaviour it implements, so when the engine and the model
//! disagree the model is the easier one to believe (or to correct, where the product brief
//! was silent and the engine's choice is kept; those places say so).
//!
//! The files are named after the engine's: `flows.rs` (create, join, enter, switch, leave,
//! leave-all), `paging.rs`, `lifecycle.rs` (login, logout), `reconnect.rs` (link lost,
//! restored, grace), `admin.rs` (kick, dismiss), `large_rooms.rs` (coalescing windows),
//! `attributes.rs`, `member_attributes.rs`, `messages.rs`, `validate.rs` (argument checks),
//! `ops.rs` (the primitive membership changes every flow goes through), `dispatch.rs`,
//! `emit.rs`, `getters.rs` and `state.rs`.
//!
//! Driving it: [`Model::handle_input`] and [`Model::handle_timeout`] behave like the
//! engine's methods of the same names. [`crate::lockstep`] drives both side by side;
//! [`crate::cmd`] is the small-domain command alphabet the property tests, the explorer and
//! the fuzzer share.

mod admin;
mod attributes;
mod dispatch;
mod emit;
mod flows;
mod getters;
mod large_rooms;
mod lifecycle;
mod member_attributes;
mod messages;
mod ops;
mod paging;
mod reconnect;
mod service;
mod state;
mod validate;

pub use state::{Canonical, MemberAttributeSets, Model};

use roomcore::config::Config;
use state::{Timer, TimerWhat};
use std::collections::BTreeMap;

impl Model {
    /// A fresh model at time zero. `None` if the config is invalid (the engine refuses it too).
    #[must_use]
    pub fn new(cfg: Config) -> Option<Model> {
        if cfg.validate().is_err() {
            return None;
        }
        Some(Model {
            cfg,
            now: 0,
            sessions: BTreeMap::new(),
            closed: Vec::new(),
            rooms: BTreeMap::new(),
            timers: Vec::new(),
            next_timer_seq: 0,
            next_generation: 1,
            rooms_created: 0,
            next_event_id: 1,
            bans: BTreeMap::new(),
            out: Vec::new(),
            stamp: 0,
        })
    }

    // ---- timers and counters ---------------------------------------------------------------

    fn arm(&mut self, delay_ms: u64, what: TimerWhat) -> u64 {
        let seq = self.next_timer_seq;
        self.next_timer_seq += 1;
        self.timers.push(Timer {
            deadline: self.now.saturating_add(delay_ms),
            seq,
            what,
        });
        seq
    }

    fn cancel(&mut self, seq: u64) {
        self.timers.retain(|t| t.seq != seq);
    }

    fn generation(&mut self) -> u64 {
        let g = self.next_generation;
        self.next_generation += 1;
        g
    }
}
