//! Property: under any interleaving of joins, leaves, kicks, losses, restores and
//! takeovers by a user's second device in one room, each restore reports exactly the net
//! change of the member set since that session's loss (joins in join order, never the
//! session's own user).
use crate::common::*;
use proptest::prelude::*;
use roomcore::{Config, DevicePolicy, SessionId};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
enum Op {
    Join(usize),
    Leave(usize),
    Kick(usize),
    Lost(usize),
    Restore(usize),
    Advance,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..12usize).prop_map(Op::Join),
        2 => (0..12usize).prop_map(Op::Leave),
        1 => (0..6usize).prop_map(Op::Kick),
        2 => (0..12usize).prop_map(Op::Lost),
        2 => (0..12usize).prop_map(Op::Restore),
        1 => Just(Op::Advance),
    ]
}

/// Sessions 0..6 are s0..s5, 6..12 are t0..t5: the second devices of u0..u5.
fn s(i: usize) -> String {
    if i < 6 {
        format!("s{i}")
    } else {
        format!("t{}", i - 6)
    }
}

fn users(m: &roomcore::Members) -> Vec<String> {
    m.iter().map(|m| m.user_id.as_str().to_owned()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn restore_reports_the_net_change(ops in proptest::collection::vec(op(), 1..60)) {
        let mut t = T::with(Config { device_policy: DevicePolicy::Multi, reconnect_grace_ms: 5_000, ..Config::default() });
        t.h.check_restore = false;
        // u6 holds the room open; sessions s0..s5 are users u0..u5.
        t.logins(0, &[("keeper", "u6")]);
        for i in 0..12 {
            t.logins(0, &[(s(i).as_str(), format!("u{}", i % 6).as_str())]);
        }
        t.run(0, |r| r.create("keeper", "r", None));
        let mut now = 0;
        let mut at_loss: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        for op in ops {
            now += 100;
            match op {
                Op::Join(i) => { t.run(now, |r| r.join(&s(i), "r")); }
                Op::Leave(i) => { t.run(now, |r| r.leave(&s(i), "r")); }
                Op::Kick(i) => { t.run(now, |r| r.kick("r", &[format!("u{i}").as_str()])); }
                Op::Lost(i) => {
                    let was_lost = t.engine().is_link_lost(SessionId::new(&s(i)));
                    let in_room = t.rooms(&s(i)).unwrap().contains(&"r".to_owned());
                    t.at(now, link_lost(&s(i)));
                    if !was_lost && in_room {
                        let m: BTreeSet<String> = t.members("r").unwrap().into_iter().collect();
                        at_loss.insert(i, m);
                    }
                }
                Op::Restore(i) => {
                    let outs = t.at(now, link_restored(&s(i)));
                    let me = format!("u{}", i % 6);
                    let Some(before) = at_loss.remove(&i) else {
                        prop_assert!(outs.is_empty(), "restore without a reconnecting room: {:?}", lines(&outs));
                        continue;
                    };
                    if outs.is_empty() {
                        // Its membership ended meanwhile (kick or grace expiry).
                        prop_assert!(!t.rooms(&s(i)).unwrap().contains(&"r".to_owned()));
                        continue;
                    }
                    let now_members = t.members("r").unwrap();
                    let now_set: BTreeSet<String> = now_members.iter().cloned().collect();
                    let mut joined = Vec::new();
                    let mut left = Vec::new();
                    for o in &outs {
                        match o {
                            Output::MembersJoined { members, .. } => joined = users(members),
                            Output::MembersLeft { members, .. } => left = users(members),
                            _ => {}
                        }
                    }
                    let expect_joined: Vec<String> = now_members.iter()
                        .filter(|u| !before.contains(*u) && **u != me).cloned().collect();
                    let expect_left: BTreeSet<String> = before.iter()
                        .filter(|u| !now_set.contains(*u) && **u != me).cloned().collect();
                    prop_assert_eq!(joined, expect_joined);
                    prop_assert_eq!(left.iter().cloned().collect::<BTreeSet<_>>(), expect_left);
                    prop_assert_eq!(left.len(), left.iter().collect::<BTreeSet<_>>().len());
                }
                Op::Advance => {
                    now += 2_000;
                    t.advance(now);
                }
            }
            // A grace that ran out, or a kick, ends the view.
            at_loss.retain(|i, _| t.engine().is_link_lost(SessionId::new(&s(*i)))
                && t.rooms(&s(*i)).unwrap().contains(&"r".to_owned()));
        }
    }
}
