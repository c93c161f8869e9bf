//! The test kit of roomcore: everything the tests, the verification runs and the fuzzers
//! share, kept out of the published library. It sees roomcore only through its public API,
//! so the reference model cannot lean on the engine's internals: the compiler enforces the
//! independence the comparison relies on.
//!
//! - [`model`]: the reference model, a naive re-implementation of the room rules;
//! - [`harness`] and [`checks`]: the step harness and the checks it runs after every step;
//!   [`ledger`]: the service's view kept from service events, checked against the engine;
//! - [`script`]: a builder of concrete inputs for hand-written tests;
//! - [`transcript`]: a harness transcript as a conformance trace (the golden format);
//! - [`cmd`]: the small-domain command alphabet (the generators' vocabulary);
//! - [`gen`]: the random generator of the lockstep test (config and steered commands, by
//!   feature group), and seeded traces from it;
//! - [`lockstep`]: the engine and the model side by side, compared after every step;
//! - [`sim`]: the seeded simulation (clients over a faulty network);
//! - [`fuzz`]: the fuzz target bodies, and [`seeds`]: their seed corpus, built from the
//!   published vectors.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod checks;
pub mod cmd;
pub mod fuzz;
pub mod gen;
pub mod harness;
pub mod ledger;
pub mod lockstep;
pub mod model;
pub mod script;
pub mod seeds;
pub mod sim;
pub mod transcript;

pub use harness::{Harness, Step};
