//! `query_members` paging: join order, `count` 1..=100, an opaque `next` cursor that stays
//! correct while members come and go between pages, and an empty `next` when done.
use crate::common::*;
use roomcore::{Config, DevicePolicy, ReplyOk};

const USERS: [&str; 6] = ["u0", "u1", "u2", "u3", "u4", "u5"];

/// s0..s5 are u0..u5; s0 creates r1 and the others join in order.
fn room_of_six() -> T {
    let mut t = T::new();
    for (i, u) in USERS.iter().enumerate() {
        t.logins(0, &[(format!("s{i}").as_str(), u)]);
    }
    t.run(10, |r| r.create("s0", "r1", None));
    for i in 1..6 {
        t.run(10 + i as u64, |r| r.join(&format!("s{i}"), "r1"));
    }
    t
}

/// One page: the users and the cursor.
fn page(t: &mut T, at: u64, session: &str, next: &str, count: u32) -> (Vec<String>, String) {
    let outs = t.run(at, |r| r.query(session, "r1", next, count));
    assert_eq!(outs.len(), 1, "a query answers with its reply only");
    match ok_of(&outs) {
        Some(ReplyOk::Members { members, next }) => (
            members
                .iter()
                .map(|m| m.user_id.as_str().to_owned())
                .collect(),
            next,
        ),
        o => panic!("expected a page, got {o:?} / {:?}", lines(&outs)),
    }
}

#[test]
fn pages_come_in_join_order_and_an_empty_next_means_done() {
    let mut t = room_of_six();
    let (p1, n1) = page(&mut t, 100, "s3", "", 2);
    assert_eq!(p1, ["u0", "u1"]);
    assert!(!n1.is_empty());
    let (p2, n2) = page(&mut t, 110, "s3", &n1, 2);
    assert_eq!(p2, ["u2", "u3"]);
    let (p3, n3) = page(&mut t, 120, "s3", &n2, 2);
    assert_eq!(p3, ["u4", "u5"]);
    assert_eq!(n3, "", "the page that reaches the end says so");
    // One page for everything; the limit 100 is allowed.
    let (all, next) = page(&mut t, 130, "s3", "", 100);
    assert_eq!(all, USERS);
    assert_eq!(next, "");
    pin!("paging_pages", t);
}

#[test]
fn members_who_stay_are_neither_skipped_nor_repeated_while_others_come_and_go() {
    let mut t = room_of_six();
    t.logins(0, &[("s6", "u6"), ("s7", "u7")]);
    let (p1, n1) = page(&mut t, 100, "s0", "", 2);
    assert_eq!(p1, ["u0", "u1"]);
    // Before the next page: a member already read leaves, the member at the cursor leaves,
    // and a new one joins.
    t.run(101, |r| r.leave("s1", "r1"));
    t.run(102, |r| r.leave("s2", "r1"));
    t.run(103, |r| r.join("s6", "r1"));
    let (p2, n2) = page(&mut t, 110, "s0", &n1, 2);
    assert_eq!(p2, ["u3", "u4"]);
    // A member read already leaves and comes back: it is a new member at the end.
    t.run(111, |r| r.leave("s3", "r1"));
    t.run(112, |r| r.join("s3", "r1"));
    t.run(113, |r| r.leave("s6", "r1"));
    t.run(114, |r| r.join("s7", "r1"));
    let (p3, n3) = page(&mut t, 120, "s0", &n2, 2);
    assert_eq!(p3, ["u5", "u3"]);
    let (p4, n4) = page(&mut t, 130, "s0", &n3, 2);
    assert_eq!(p4, ["u7"]);
    assert_eq!(n4, "");
    pin!("paging_interleaved", t);
}

#[test]
fn a_cursor_past_everyone_left_gives_an_empty_last_page() {
    let mut t = room_of_six();
    let (_, n1) = page(&mut t, 100, "s0", "", 4);
    t.run(101, |r| r.leave("s4", "r1"));
    t.run(102, |r| r.leave("s5", "r1"));
    let (p2, n2) = page(&mut t, 110, "s0", &n1, 4);
    assert!(p2.is_empty());
    assert_eq!(n2, "");
}

#[test]
fn a_takeover_by_another_device_keeps_the_place() {
    let mut t = T::with(Config {
        device_policy: DevicePolicy::Multi,
        ..Config::default()
    });
    t.logins(0, &[("s0", "u0"), ("s1", "u1"), ("s2", "u2"), ("s9", "u1")]);
    t.run(10, |r| r.create("s0", "r1", None));
    t.run(11, |r| r.join("s1", "r1"));
    t.run(12, |r| r.join("s2", "r1"));
    let (p1, n1) = page(&mut t, 100, "s0", "", 1);
    assert_eq!(p1, ["u0"]);
    t.run(101, |r| r.join("s9", "r1"));
    let (p2, _) = page(&mut t, 110, "s0", &n1, 5);
    assert_eq!(p2, ["u1", "u2"]);
}

#[test]
fn bad_counts_cursors_and_callers_are_refused() {
    let mut t = room_of_six();
    t.logins(0, &[("s6", "u6")]);
    t.run(20, |r| r.create("s6", "r2", delay_s(60)));
    t.run(21, |r| r.join("s0", "r2"));
    let (_, from_r2) = {
        let outs = t.run(30, |r| r.query("s0", "r2", "", 1));
        match ok_of(&outs) {
            Some(ReplyOk::Members { members, next }) => (members, next),
            o => panic!("{o:?}"),
        }
    };
    let (_, from_r1) = page(&mut t, 40, "s0", "", 1);
    let cases: Vec<(ErrorCode, &str, &str, u32)> = vec![
        (ErrorCode::InvalidArgument, "s0", "", 0),
        (ErrorCode::InvalidArgument, "s0", "", 101),
        (ErrorCode::InvalidArgument, "s0", "zz", 10),
        (ErrorCode::InvalidArgument, "s0", "12", 10),
        (ErrorCode::InvalidArgument, "s0", "1.x", 10),
        (ErrorCode::InvalidArgument, "s0", from_r2.as_str(), 10),
        (ErrorCode::UserNotInRoom, "s6", from_r1.as_str(), 10),
        (ErrorCode::NotLoggedIn, "ghost", "", 0),
    ];
    for (i, (expected, session, next, count)) in cases.iter().enumerate() {
        let (code, outs) = t.refused(100 + i as u64, |r| r.query(session, "r1", next, *count));
        assert_eq!(code, *expected, "case {i}");
        assert_eq!(outs.len(), 1);
    }
    let (code, _) = t.refused(200, |r| r.query("s0", "bad room", "", 10));
    assert_eq!(code, ErrorCode::InvalidRoomId);
    // A cursor from a room that was destroyed and re-created under the same id is stale.
    t.run(300, |r| r.leave("s0", "r2"));
    t.run(301, |r| r.leave("s6", "r2"));
    t.run(400, |r| r.dismiss("r2"));
    t.run(401, |r| r.create("s6", "r2", None));
    let (code, outs) = t.refused(402, |r| r.query("s6", "r2", &from_r2, 10));
    assert_eq!(code, ErrorCode::InvalidArgument);
    assert_eq!(lines(&outs), ["s6 reply invalid_argument"]);
    pin!("paging_errors", t);
}

mod interleavings {
    //! Property: paging through a room while members join and leave between pages returns
    //! every member present at the end that never left meanwhile exactly once, in join
    //! order, and nobody who was never a member.
    use super::page;
    use crate::common::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Debug, Clone)]
    enum Op {
        Join(usize),
        Leave(usize),
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        proptest::collection::vec(
            prop_oneof![
                (1..10usize).prop_map(Op::Join),
                (1..10usize).prop_map(Op::Leave)
            ],
            0..4,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn stayers_are_seen_exactly_once(
            initial in proptest::collection::btree_set(1..10usize, 0..9),
            rounds in proptest::collection::vec((1..4u32, ops()), 1..12),
        ) {
            let mut t = T::new();
            t.h.check_restore = false;
            for i in 0..10 {
                t.logins(0, &[(format!("s{i}").as_str(), format!("u{i}").as_str())]);
            }
            t.run(1, |r| r.create("s0", "r1", None));
            for &i in &initial {
                t.run(2, |r| r.join(&format!("s{i}"), "r1"));
            }
            let mut now = 10;
            let mut seen: Vec<String> = Vec::new();
            let mut ever: BTreeSet<String> = t.members("r1").unwrap().into_iter().collect();
            let mut left: BTreeSet<String> = BTreeSet::new();
            let mut next = String::new();
            let mut done = false;
            for (count, ops) in rounds {
                now += 10;
                let (p, n) = page(&mut t, now, "s0", &next, count);
                prop_assert!(p.len() <= count as usize);
                seen.extend(p);
                next = n;
                if next.is_empty() {
                    done = true;
                    break;
                }
                for op in ops {
                    now += 1;
                    match op {
                        Op::Join(i) => { t.run(now, |r| r.join(&format!("s{i}"), "r1")); }
                        Op::Leave(i) => {
                            let outs = t.run(now, |r| r.leave(&format!("s{i}"), "r1"));
                            if error_of(&outs).is_none() {
                                left.insert(format!("u{i}"));
                            }
                        }
                    }
                    ever.extend(t.members("r1").unwrap());
                }
            }
            // Finish paging with no more changes.
            while !done {
                now += 10;
                let (p, n) = page(&mut t, now, "s0", &next, 100);
                seen.extend(p);
                next = n;
                done = next.is_empty();
            }
            let end = t.members("r1").unwrap();
            for u in end.iter().filter(|u| !left.contains(*u)) {
                prop_assert_eq!(seen.iter().filter(|s| *s == u).count(), 1, "{} in {:?}", u, seen);
            }
            for s in &seen {
                prop_assert!(ever.contains(s), "{} was never a member", s);
            }
            // Stayers come in the room's join order.
            let stayers: Vec<&String> = seen.iter().filter(|u| end.contains(*u) && !left.contains(*u)).collect();
            let order: Vec<&String> = end.iter().filter(|u| !left.contains(*u)).collect();
            prop_assert_eq!(stayers, order);
        }
    }
}
