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
use roomcore::{Config, DevicePolicy, Input, Millis};
use roomcore_testkit::cmd::{Cmd, Domain};
use roomcore_testkit::lockstep::Lockstep;
use roomcore_testkit::model::Model;
use std::sync::OnceLock;

/// The reference side: the configuration and a model of its own, run ahead of the pair under
/// test only to steer generation towards live sessions and existing rooms (most random
/// commands would otherwise answer `not_logged_in`). The comparison itself happens in
/// [`Lockstep`], which runs its own engine and model.
#[derive(Debug, Clone)]
pub(crate) struct Steer {
    pub(crate) config: Config,
    model: Model,
    now: u64,
}

pub(crate) struct Setup;

/// Indexes into `Domain::standard()`: 4 valid sessions then an invalid one, 3 valid users
/// then an invalid one, 3 valid rooms then an invalid one.
const SESSIONS: u8 = 4;
const USERS: u8 = 3;
const ROOMS: u8 = 3;

fn config_strategy() -> BoxedStrategy<Config> {
    (
        any::<bool>(),
        prop::sample::select(vec![2u32, 1000]),
        prop::sample::select(vec![2u32, 100]),
        prop::sample::select(vec![2u32, 5]),
        prop::sample::select(vec![1000u64, 2000, 3000]),
        prop::sample::select(vec![0u64, 2000, 5000]),
        prop::sample::select(vec![1u32, 2, 100]),
        prop::sample::select(vec![3u32, 100]),
        prop::sample::select(vec![0u32, 1]),
        prop::sample::select(vec![2u32, 50]),
        (
            member_limits_strategy(),
            batch_strategy(),
            service_strategy(),
        ),
    )
        .prop_map(
            |(
                multi,
                rooms,
                members,
                per_session,
                grace,
                ttl,
                tombs,
                sessions,
                rate,
                kicks,
                (ma, batch, service),
            )| {
                Config {
                    device_policy: match (multi, service.3) {
                        (_, true) => DevicePolicy::RejectNew,
                        (true, false) => DevicePolicy::Multi,
                        (false, false) => DevicePolicy::Single,
                    },
                    service_events: service.0,
                    clients_create_rooms: service.1,
                    max_bans: service.2,
                    max_rooms: rooms,
                    max_members_per_room: members,
                    max_rooms_per_session: per_session,
                    reconnect_grace_ms: grace,
                    closed_session_ttl_ms: ttl,
                    max_closed_sessions: tombs,
                    max_sessions: sessions,
                    message_rate_per_s: rate,
                    message_burst: 2,
                    message_max_bytes: 16,
                    attributes_total_max_bytes: 1000,
                    max_kick_users: kicks,
                    max_member_attributes: ma.0,
                    member_attributes_max_room_members: ma.1,
                    member_attributes_max_users: ma.2,
                    member_notify_threshold: batch.0,
                    member_batch_interval_ms: batch.1,
                    ..Config::default()
                }
            },
        )
        .boxed()
}

/// The service's knobs: service events on in half the cases; clients may create rooms in
/// most; a ban limit of 2 (reached) or the default; the `reject_new` device policy
/// sometimes.
fn service_strategy() -> impl Strategy<Value = (bool, bool, u32, bool)> {
    (
        any::<bool>(),
        prop_oneof![4 => Just(true), 1 => Just(false)],
        prop::sample::select(vec![2u32, 100_000]),
        prop_oneof![5 => Just(false), 1 => Just(true)],
    )
}

/// Large rooms: half the cases keep the default threshold (500: never reached, every change
/// an exact event); the others batch constantly (threshold 0, 1 or 2 against rooms of up to
/// 4 users) with windows that the `WAITS` land before, on and after (1 ms, 1 s, 2 s).
fn batch_strategy() -> impl Strategy<Value = (u32, u64)> {
    prop_oneof![
        3 => Just((500u32, 1000u64)),
        3 => (
            prop::sample::select(vec![0u32, 1, 2]),
            prop::sample::select(vec![1u64, 1000, 2000]),
        ),
    ]
}

/// Member attribute limits: keys per member (ZIM's 30, or 2 so the count is hit), room size
/// (500, or 1 so a room of two refuses sets), users per call (100, or 2). Key, value and
/// total sizes keep ZIM's 8, 64 and 144 bytes, which the command menus reach.
fn member_limits_strategy() -> impl Strategy<Value = (u32, u32, u32)> {
    (
        prop::sample::select(vec![2u32, 30]),
        prop::sample::select(vec![1u32, 500]),
        prop::sample::select(vec![2u32, 100]),
    )
}

/// Mostly one of `preferred`, sometimes any index below `valid`, rarely the invalid one.
fn biased(preferred: Vec<u8>, valid: u8) -> BoxedStrategy<u8> {
    if preferred.is_empty() {
        prop_oneof![9 => 0..valid, 1 => Just(valid)].boxed()
    } else {
        prop_oneof![24 => prop::sample::select(preferred), 3 => 0..valid, 1 => Just(valid)].boxed()
    }
}

/// The `user_ids` menu of member attribute calls (see `Domain::member_users`): mostly absent
/// (the caller) or one or two valid users, sometimes a repeat, the invalid user, an empty
/// list or more users than a call may name.
fn member_users() -> BoxedStrategy<u8> {
    prop_oneof![
        4 => Just(0u8),
        4 => 1u8..8,
        1 => prop::sample::select(vec![0x80u8, 0x81, 0x83, 0x08, 0x0f, 0x8f]),
    ]
    .boxed()
}

impl ReferenceStateMachine for Setup {
    type State = Steer;
    type Transition = Cmd;

    fn init_state() -> BoxedStrategy<Steer> {
        config_strategy()
            .prop_map(|config| Steer {
                model: Model::new(config.clone()).expect("valid config"),
                config,
                now: 0,
            })
            .boxed()
    }

    fn transitions(st: &Steer) -> BoxedStrategy<Cmd> {
        let d = Domain::standard();
        let m = &st.model;
        let live: Vec<u8> = (0..SESSIONS)
            .filter(|i| m.session_user(d.session(*i)).is_some())
            .collect();
        let idle: Vec<u8> = (0..SESSIONS).filter(|i| !live.contains(i)).collect();
        let rooms: Vec<u8> = (0..ROOMS).filter(|i| m.room_exists(d.room(*i))).collect();
        // (session, room) pairs where the session is in the room: what leave, switch, query,
        // attributes and messages need to get past the membership check.
        let mut joined: Vec<(u8, u8)> = Vec::new();
        for s in &live {
            let mine = m.session_rooms(d.session(*s)).unwrap_or_default();
            for r in 0..ROOMS {
                if mine.iter().any(|(x, _)| *x == d.room(r)) {
                    joined.push((*s, r));
                }
            }
        }
        let s = biased(live.clone(), SESSIONS);
        let fresh = biased(idle, SESSIONS);
        let r = biased(rooms.clone(), ROOMS);
        let sr = if joined.is_empty() {
            (s.clone(), r.clone()).boxed()
        } else {
            prop_oneof![3 => prop::sample::select(joined), 1 => (s.clone(), r.clone())].boxed()
        };
        let u = prop_oneof![9 => 0..USERS, 1 => Just(USERS)];
        let login = if live.len() < 2 { 30 } else { 5 };
        let make = if rooms.is_empty() { 12 } else { 5 };
        prop_oneof![
            10 => (0u8..10).prop_map(Cmd::Wait),
            login => (fresh, u).prop_map(|(s, u)| Cmd::Login(s, u)),
            2 => s.clone().prop_map(Cmd::Logout),
            4 => s.clone().prop_map(Cmd::LinkLost),
            4 => s.clone().prop_map(Cmd::LinkRestored),
            make => (s.clone(), r.clone(), any::<u8>()).prop_map(|(s, r, o)| Cmd::Create(s, r, o)),
            8 => (s.clone(), r.clone()).prop_map(|(s, r)| Cmd::Join(s, r)),
            make => (s.clone(), r.clone(), any::<u8>()).prop_map(|(s, r, o)| Cmd::Enter(s, r, o)),
            8 => (sr.clone(), r.clone(), any::<bool>(), any::<u8>())
                .prop_map(|((s, a), b, c, o)| Cmd::Switch(s, a, b, c, o)),
            5 => sr.clone().prop_map(|(s, r)| Cmd::Leave(s, r)),
            2 => s.clone().prop_map(Cmd::LeaveAll),
            4 => (sr.clone(), 0u8..5, prop_oneof![8 => 0u8..3, 1 => 3u8..5])
                .prop_map(|((s, r), c, n)| Cmd::Query(s, r, c, n)),
            4 => (sr.clone(), 0u8..8, 0u8..8).prop_map(|((s, r), w, f)| Cmd::SetAttrs(s, r, w, f)),
            3 => (sr.clone(), 0u8..4, any::<bool>()).prop_map(|((s, r), w, f)| Cmd::DelAttrs(s, r, w, f)),
            4 => (sr.clone(), 0u8..3).prop_map(|((s, r), p)| Cmd::Send(s, r, p)),
            3 => (r.clone(), any::<u8>()).prop_map(|(r, m)| Cmd::Kick(r, m)),
            2 => r.clone().prop_map(Cmd::Dismiss),
            4 => (sr.clone(), 0u8..10, member_users())
                .prop_map(|((s, r), w, u)| Cmd::SetMemberAttrs(s, r, w, u)),
            3 => (sr.clone(), 0u8..6, member_users())
                .prop_map(|((s, r), w, u)| Cmd::DelMemberAttrs(s, r, w, u)),
            2 => (sr.clone(), member_users()).prop_map(|((s, r), u)| Cmd::QueryMemberAttrs(s, r, u)),
            2 => sr.clone().prop_map(|(s, r)| Cmd::QueryRoomAttrs(s, r)),
            2 => sr.clone().prop_map(|(s, r)| Cmd::OnlineCount(s, r)),
            make => (r.clone(), any::<u8>()).prop_map(|(r, o)| Cmd::AdminCreate(r, o)),
            2 => (0u8..5, prop_oneof![8 => 0u8..3, 1 => 3u8..5]).prop_map(|(c, n)| Cmd::ListRooms(c, n)),
            1 => r.clone().prop_map(Cmd::QueryRoom),
            2 => (r.clone(), 0u8..8, 0u8..4).prop_map(|(r, w, k)| Cmd::AdminAttrs(r, w, k)),
            4 => (r.clone(), r.clone(), any::<u8>(), any::<bool>(), any::<u8>())
                .prop_map(|(a, b, m, c, o)| Cmd::Move(a, b, m, c, o)),
            3 => (r.clone(), any::<u8>(), 0u8..5).prop_map(|(r, m, t)| Cmd::Ban(r, m, t)),
            2 => (r, any::<u8>()).prop_map(|(r, m)| Cmd::Unban(r, m)),
        ]
        .boxed()
    }

    fn apply(mut st: Steer, cmd: &Cmd) -> Steer {
        st.now += cmd.wait_ms();
        let input = cmd
            .to_input(&Domain::standard(), 0, &mut |_, _| String::new())
            .unwrap_or(Input::Tick);
        st.model
            .handle_input(Millis(st.now), &input, &mut Vec::new());
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
                session, members, ..
            } if session.as_str() == "s1" => Some(members.clone()),
            _ => None,
        });
        let members = resent.expect("bob's attributes resent to alice");
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].user_id.as_str(), "bob");
        assert!(members[0].attributes.is_empty());
    }
}
