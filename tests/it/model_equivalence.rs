//! The engine against the reference model (testkit/src/model/): random command sequences (1..64
//! steps over 4 sessions, 3 users, 3 rooms, plus one invalid id of each kind; time steps that
//! cross destroy, grace and tombstone deadlines; valid and invalid commands, member
//! attributes included; both device policies; small limits so they are hit; large-room
//! coalescing with a small threshold in half the cases) drive both, and every step's outputs and the
//! observable state must be equal. The harness also checks the state
//! invariants on the engine after every step.
//!
//! Cases: `ROOMCORE_MODEL_CASES` (default 256 in debug, 10,000 in release). Seed:
//! `ROOMCORE_SEED` (printed at the start; random otherwise). Failures are kept in
//! proptest-regressions/model_equivalence.txt and replayed first.

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, FileFailurePersistence, RngSeed};
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use roomcore::Config;
use roomcore_testkit::cmd::{Cmd, Domain};
use roomcore_testkit::gen::{self, Groups, Steer};
use roomcore_testkit::lockstep::Lockstep;
use std::sync::OnceLock;

/// The reference side: the test kit's generator (every feature group), whose state runs a
/// model of its own ahead of the pair under test only to steer generation (see
/// `roomcore_testkit::gen::Steer`). The comparison itself happens in [`Lockstep`], which runs
/// its own engine and model. `roomcore gen` and `roomcore conform` sample the same generator
/// from a seed.
pub(crate) struct Setup;

impl ReferenceStateMachine for Setup {
    type State = Steer;
    type Transition = Cmd;

    fn init_state() -> BoxedStrategy<Steer> {
        gen::init_state(&Groups::all())
    }

    fn transitions(st: &Steer) -> BoxedStrategy<Cmd> {
        st.transitions(&Groups::all())
    }

    fn apply(mut st: Steer, cmd: &Cmd) -> Steer {
        st.apply(cmd);
        st
    }
}

struct EngineVsModel;

impl StateMachineTest for EngineVsModel {
    type SystemUnderTest = Lockstep;
    type Reference = Setup;

    fn init_test(st: &Steer) -> Lockstep {
        Lockstep::new(st.config.clone(), Domain::standard()).expect("valid config")
    }

    fn apply(mut sut: Lockstep, _: &Steer, cmd: Cmd) -> Lockstep {
        if let Err(e) = sut.step(&cmd) {
            panic!("{e}");
        }
        sut
    }
}

fn cases() -> u32 {
    static CASES: OnceLock<u32> = OnceLock::new();
    *CASES.get_or_init(|| {
        let default = if cfg!(debug_assertions) { 256 } else { 10_000 };
        std::env::var("ROOMCORE_MODEL_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    })
}

/// The run's seed, chosen (and printed) once: the config below is re-evaluated per case.
fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let seed = std::env::var("ROOMCORE_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                // A fresh random seed without reading a clock: std's per-process hash keys.
                use std::hash::{BuildHasher, Hasher};
                std::collections::hash_map::RandomState::new()
                    .build_hasher()
                    .finish()
            });
        eprintln!(
            "model_equivalence: seed {seed}, {} cases; replay with ROOMCORE_SEED={seed}",
            cases()
        );
        seed
    })
}

prop_state_machine! {
    #![proptest_config(PtConfig {
        cases: cases(),
        rng_seed: RngSeed::Fixed(seed()),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/model_equivalence.txt",
        ))),
        max_shrink_iters: 20_000,
        ..PtConfig::default()
    })]

    #[test]
    fn engine_matches_model(sequential 1..64 => EngineVsModel);
}

/// Bugs the comparison found, replayed as explicit sequences (engine and model in lockstep,
/// harness checks on), each with the assertion that failed.
mod regressions {
    use super::*;
    use roomcore::{ErrorCode, Outcome, Output, Stamped};
    use roomcore_testkit::cmd::Cmd::*;

    fn run(config: Config, cmds: &[Cmd]) -> (Lockstep, Vec<Stamped>) {
        let mut l = Lockstep::new(config, Domain::standard()).expect("valid config");
        let mut last = Vec::new();
        for c in cmds {
            last = l.step(c).unwrap_or_else(|e| panic!("{e}"));
        }
        (l, last)
    }

    fn error_code(out: &[Stamped]) -> Option<ErrorCode> {
        out.iter().find_map(|s| match &s.output {
            Output::Reply { outcome, .. } | Output::AdminReply { outcome, .. } => {
                outcome.error_code()
            }
            _ => None,
        })
    }

    /// A session id reused after a logout left a stale tombstone; when the new session was
    /// closed in the same millisecond, popping the stale one (count limit 1) erased the
    /// fresh one: the closed id answered `not_logged_in`, and a restored snapshot disagreed.
    #[test]
    fn reused_session_id_stays_closed() {
        let config = Config {
            closed_session_ttl_ms: 2000,
            max_closed_sessions: 1,
            ..Config::default()
        };
        // s2 alice; s2 out; s2 carol; s3 carol closes s2; s2 acts.
        let (_, out) = run(
            config,
            &[
                Login(1, 0),
                Logout(1),
                Login(1, 2),
                Login(2, 2),
                SetAttrs(1, 0, 0, 0),
            ],
        );
        assert_eq!(error_code(&out), Some(ErrorCode::SessionClosed));
    }

    /// The stale tombstone of an id being logged in again counted against
    /// `max_closed_sessions` while the sessions that login replaced were remembered, so a
    /// genuinely closed id was forgotten early.
    #[test]
    fn reuse_does_not_evict_other_closed_ids() {
        let config = Config {
            closed_session_ttl_ms: 2000,
            max_closed_sessions: 2,
            ..Config::default()
        };
        // s2 alice, s1 bob; s2 logs out; s4 bob closes s1; s1 bob (reuse) closes s4; s2 acts.
        let (l, out) = run(
            config,
            &[
                Login(1, 0),
                Login(0, 1),
                Logout(1),
                Login(3, 1),
                Login(0, 1),
                Leave(1, 0),
            ],
        );
        assert_eq!(error_code(&out), Some(ErrorCode::SessionClosed));
        assert_eq!(l.harness.engine.closed_session_count(), 2);
    }

    /// Kicking two users where the first owned a delete-after-owner-left attribute told the
    /// second (about to be kicked by the same call) that the attribute was deleted.
    #[test]
    fn kick_tells_the_kicked_nothing_but_their_kick() {
        // s1 alice enters r2 (config: attribute "a"); s4 bob; alice sets "d" (delete after she
        // leaves); bob joins; kick alice and bob.
        let (_, out) = run(
            Config::default(),
            &[
                Login(0, 0),
                Enter(0, 1, 4),
                Login(3, 1),
                SetAttrs(0, 1, 7, 4),
                Join(3, 1),
                Kick(1, 0b11),
            ],
        );
        let to_bob: Vec<&Output> = out
            .iter()
            .map(|s| &s.output)
            .filter(|o| o.session().is_some_and(|s| s.as_str() == "s4"))
            .collect();
        assert_eq!(to_bob.len(), 1, "bob got {to_bob:?}");
        assert!(matches!(
            out.last().map(|s| &s.output),
            Some(Output::AdminReply {
                outcome: Outcome::Ok(_),
                ..
            })
        ));
    }

    /// A member whose attributes were emptied by deletes while another member's link was
    /// lost, and who then left and came back, was left out of the restore delta (only a
    /// member leaving with a non-empty set counted): the restored session kept the set it
    /// knew from before the loss.
    #[test]
    fn member_back_after_deletes_is_resent_on_restore() {
        // s1 alice enters r1, s2 bob joins and sets {a: 1} on himself; alice's link drops;
        // bob deletes "a", leaves and joins again; alice's link is back.
        let (_, out) = run(
            Config::default(),
            &[
                Login(0, 0),
                Login(1, 1),
                Enter(0, 0, 2),
                Join(1, 0),
                SetMemberAttrs(1, 0, 0, 0),
                LinkLost(0),
                DelMemberAttrs(1, 0, 0, 0),
                Leave(1, 0),
                Join(1, 0),
                LinkRestored(0),
            ],
        );
        let resent = out.iter().find_map(|s| match &s.output {
            Output::RoomMemberAttributesUpdated {
                to: session,
                members,
                ..
            } if session.to_string() == "s1" => Some(members.clone()),
            _ => None,
        });
        let members = resent.expect("bob's attributes resent to alice");
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].user_id.as_str(), "bob");
        assert!(members[0].attributes.is_empty());
    }
}
