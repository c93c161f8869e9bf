//! Two shards of three replicas each: routing by a versioned map, and the cross-shard
//! switch saga surviving both leaders dying between its steps.

mod common;

use common::{assert_equal, count, event_is, sim, state_is};
use roomcore::{Input, Outcome, Output, RoomEvent, RoomId, RoomInfo, RoomState, SessionId, UserId};
use roomcore_raft::cluster::{Cluster, GroupSpec, SwitchOutcome};
use roomcore_raft::store::Applied;
use roomcore_raft::{Command, EnterResult, Placement, RequestKey, Response, ShardMap, SwitchPlan};

fn map() -> ShardMap {
    ShardMap {
        version: 1,
        placement: Placement::Ranges {
            ranges: vec![(String::new(), 0), ("m".into(), 1)],
        },
    }
}

async fn start(seed: u64) -> Cluster {
    let specs = vec![
        GroupSpec::three(0, 1, seed),
        GroupSpec::three(1, 11, seed + 1_000),
    ];
    Cluster::start(specs, map()).await
}

async fn put(c: &mut Cluster, shard: u32, seq: u64, input: Input) -> Response {
    let g = c.groups.get_mut(&shard).expect("shard");
    g.write(
        Command::Input { input },
        Some(RequestKey { client: 100, seq }),
    )
    .await
    .expect("applied")
}

fn login(session: &str, user: &str) -> Input {
    Input::Login {
        session: SessionId::new(session),
        request: 1,
        user: UserId::new(user),
    }
}

fn enter(session: &str, room: &str) -> Input {
    Input::EnterRoom {
        session: SessionId::new(session),
        request: 2,
        room: RoomInfo {
            id: RoomId::new(room),
            name: roomcore::RoomName::EMPTY,
        },
        config: None,
    }
}

/// alice (s1) and bob (s2) in "apple" on shard 0; carol (s3) in "zoo" on shard 1.
async fn populate(c: &mut Cluster) {
    put(c, 0, 1, login("s1", "alice")).await;
    put(c, 0, 2, login("s2", "bob")).await;
    put(c, 0, 3, enter("s1", "apple")).await;
    put(c, 0, 4, enter("s2", "apple")).await;
    put(c, 1, 5, login("s3", "carol")).await;
    put(c, 1, 6, enter("s3", "zoo")).await;
}

fn plan() -> SwitchPlan {
    SwitchPlan {
        session: SessionId::new("s1"),
        request: 7,
        from: RoomId::new("apple"),
        to: RoomInfo {
            id: RoomId::new("zoo"),
            name: roomcore::RoomName::EMPTY,
        },
        create_if_missing: false,
        config: None,
    }
}

async fn kill_leaders(c: &mut Cluster) {
    for g in c.groups.values_mut() {
        let l = g.leader().expect("a leader");
        g.kill(l).await;
    }
}

/// The stamp of the first entry whose outputs match.
fn stamp_of(h: &[Applied], pred: impl Fn(&Output) -> bool) -> Option<u64> {
    h.iter()
        .find(|a| a.response.outputs().iter().any(|s| pred(&s.output)))
        .map(|a| a.now_ms)
}

#[test]
fn the_switch_saga_completes_once_when_both_leaders_die_between_steps() {
    for seed in common::seeds() {
        sim(seed, async move {
            let mut c = start(seed).await;
            populate(&mut c).await;
            let switch = RequestKey { client: 1, seq: 1 };
            match seed % 4 {
                0 => {
                    let out = c.switch_room(switch, plan()).await;
                    assert!(
                        matches!(out, Ok(SwitchOutcome::Saga(EnterResult::Entered(_)))),
                        "{out:?}"
                    );
                }
                1 => {
                    // Dies after the outbox entry is committed, before the target hears of it.
                    c.switch_begin(switch, plan()).await.expect("begun");
                    kill_leaders(&mut c).await;
                    assert_eq!(c.resume(0).await, Ok(1));
                }
                2 => {
                    // Dies after the target entered, before the source heard back.
                    c.switch_begin(switch, plan()).await.expect("begun");
                    let entry = c.groups[&0]
                        .read_leader(|m| m.outbox())
                        .expect("leader")
                        .remove(0);
                    let entered = c.switch_enter(&entry).await;
                    assert!(
                        matches!(entered, Ok(EnterResult::Entered(_))),
                        "{entered:?}"
                    );
                    kill_leaders(&mut c).await;
                    assert_eq!(c.resume(0).await, Ok(1));
                }
                _ => {
                    // Dies after the last step; a late retry of every step changes nothing.
                    c.switch_begin(switch, plan()).await.expect("begun");
                    let entry = c.groups[&0]
                        .read_leader(|m| m.outbox())
                        .expect("leader")
                        .remove(0);
                    let result = c.switch_enter(&entry).await.expect("entered");
                    c.switch_finish(&entry, result.clone())
                        .await
                        .expect("finished");
                    kill_leaders(&mut c).await;
                    assert_eq!(c.resume(0).await, Ok(0));
                    assert_eq!(
                        c.switch_finish(&entry, result).await,
                        Ok(Response::Duplicate { reply: None })
                    );
                    let entered = c.switch_enter(&entry).await;
                    assert!(
                        matches!(entered, Ok(EnterResult::Entered(_))),
                        "{entered:?}"
                    );
                    let again = c.switch_begin(switch, plan()).await.expect("answered");
                    assert_eq!(again, Response::Duplicate { reply: None });
                }
            }
            let source = assert_equal(&c.groups[&0], &format!("seed {seed}, source")).await;
            let target = assert_equal(&c.groups[&1], &format!("seed {seed}, target")).await;
            assert!(!source.is_empty() && !target.is_empty());

            let a = c.groups[&0].live()[0].sm.history();
            let b = c.groups[&1].live()[0].sm.history();
            let ctx = format!("seed {seed}");
            assert_eq!(
                count(&b, |o| event_is(o, "s1", "zoo", RoomEvent::ActiveSwitch)),
                1,
                "{ctx}"
            );
            assert_eq!(
                count(&b, |o| state_is(o, "s1", "zoo", RoomState::Connected)),
                1,
                "{ctx}: one connect"
            );
            assert_eq!(
                count(&a, |o| state_is(o, "s1", "apple", RoomState::Disconnected)),
                1,
                "{ctx}"
            );
            let replies = count(
                &a,
                |o| matches!(o, Output::Reply { session, request: 7, outcome: Outcome::Ok(_) } if session.as_str() == "s1"),
            );
            assert_eq!(replies, 1, "{ctx}: one reply");
            let joined = count(
                &b,
                |o| matches!(o, Output::MembersJoined { to, .. } if to.to_string() == "s3"),
            );
            let left = count(
                &a,
                |o| matches!(o, Output::MembersLeft { to, .. } if to.to_string() == "s2"),
            );
            assert_eq!((joined, left), (1, 1), "{ctx}: the others are told once");

            // The caller's order: connected in the target before disconnected in the source.
            let connected = stamp_of(&b, |o| state_is(o, "s1", "zoo", RoomState::Connected))
                .expect("connected");
            let disconnected =
                stamp_of(&a, |o| state_is(o, "s1", "apple", RoomState::Disconnected))
                    .expect("left");
            assert!(
                connected <= disconnected,
                "{ctx}: {connected} > {disconnected}"
            );

            let s1 = SessionId::new("s1");
            let in_a = c.groups[&0]
                .read_leader(|m| m.engine().session_rooms(s1))
                .flatten()
                .unwrap_or_default();
            let in_b = c.groups[&1]
                .read_leader(|m| m.engine().session_rooms(s1))
                .flatten()
                .unwrap_or_default();
            assert!(in_a.is_empty(), "{ctx}: {in_a:?}");
            assert_eq!(
                in_b.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
                ["zoo"],
                "{ctx}"
            );
            assert!(
                c.groups[&0]
                    .read_leader(|m| m.outbox().is_empty())
                    .expect("leader"),
                "{ctx}"
            );
        });
    }
}

#[test]
fn a_failed_cross_shard_switch_leaves_the_caller_in_the_source() {
    sim(3, async {
        let mut c = start(3).await;
        populate(&mut c).await;
        let p = SwitchPlan {
            to: RoomInfo {
                id: RoomId::new("nowhere"),
                name: roomcore::RoomName::EMPTY,
            },
            ..plan()
        };
        let out = c.switch_room(RequestKey { client: 1, seq: 1 }, p).await;
        assert!(
            matches!(out, Ok(SwitchOutcome::Saga(EnterResult::Failed(ref e))) if e.code == roomcore::ErrorCode::RoomNotExist)
        );
        assert_equal(&c.groups[&0], "source").await;
        let a = c.groups[&0].live()[0].sm.history();
        let b = c.groups[&1].live()[0].sm.history();
        assert_eq!(
            count(&b, |o| event_is(
                o,
                "s1",
                "nowhere",
                RoomEvent::SwitchFailed
            )),
            1
        );
        assert_eq!(
            count(&a, |o| state_is(o, "s1", "apple", RoomState::Disconnected)),
            0
        );
        let err = count(&a, |o| {
            matches!(
                o,
                Output::Reply {
                    request: 7,
                    outcome: Outcome::Error(_),
                    ..
                }
            )
        });
        assert_eq!(err, 1);
        let rooms = c.groups[&0]
            .read_leader(|m| m.engine().session_rooms(SessionId::new("s1")))
            .flatten();
        assert_eq!(rooms.map(|r| r.len()), Some(1));
    });
}

#[test]
fn a_request_at_the_wrong_shard_is_told_to_retry_at_the_owner() {
    sim(4, async {
        let mut c = start(4).await;
        put(&mut c, 0, 1, login("s1", "alice")).await;
        let wrong = put(&mut c, 0, 2, enter("s1", "zoo")).await;
        assert_eq!(
            wrong,
            Response::WrongShard {
                room: RoomId::new("zoo"),
                owner: 1,
                map_version: 1
            }
        );
        // The client follows the answer (the owner logs the session in as a guest first).
        let owner = c.group_of(&RoomId::new("zoo")).shard;
        assert_eq!(owner, 1);
        put(&mut c, owner, 3, login("s1", "alice")).await;
        let right = put(&mut c, owner, 2, enter("s1", "zoo")).await;
        assert!(matches!(right, Response::Applied { .. }));
    });
}
