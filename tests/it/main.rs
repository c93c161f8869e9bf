//! The crate's integration tests, as one test binary (one link of the crate and the test kit
//! instead of one per file): a module per suite. The golden transcripts these tests pin are
//! under `snapshots/`, as conformance traces (see `snapshots_are_vectors`).
//!
//! Run one suite with `cargo test --test it <module>::`, e.g. `cargo test --test it switch::`.

#[macro_use]
mod common;

mod admin;
mod attributes;
mod bad_input_sweep;
mod create_join_enter;
mod destroy_delay;
mod determinism;
mod devices;
mod dialect;
mod errors;
mod explore;
mod fuzz_regressions;
mod handles;
mod large_rooms;
mod leave;
mod member_attributes;
mod messages;
mod model_equivalence;
mod network;
mod outputs;
mod paging;
mod simulation;
mod snapshot_restore;
mod snapshots_are_vectors;
mod switch;
mod trace_fast_paths;
mod vectors;
