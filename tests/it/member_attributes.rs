//! Room member attributes (ZIM `setRoomMembersAttributes` and friends): per user per room,
//! within ZIM's limits, in rooms of up to 500 members, set by any member for listed
//! members, gone when the member leaves (by any path) with a notification to the room.
use crate::common::*;

/// Builds one command.
type Make = Box<dyn Fn(&mut Requests) -> Input>;
use roomcore::{Config, MemberAttributesInfo, ReplyOk};

/// alice (s1) created r1 (delay 60 s); bob (s2) and carol (s3) joined; dave (s4) is not in.
fn room() -> T {
    let mut t = T::new();
    t.logins(
        0,
        &[
            ("s1", "alice"),
            ("s2", "bob"),
            ("s3", "carol"),
            ("s4", "dave"),
        ],
    );
    t.run(10, |r| r.create("s1", "r1", delay_s(60)));
    t.run(20, |r| r.join("s2", "r1"));
    t.run(30, |r| r.join("s3", "r1"));
    t
}

fn infos(list: &[MemberAttributesInfo]) -> Vec<String> {
    list.iter()
        .map(|i| {
            let kv: Vec<String> = i
                .attributes
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("{}:{{{}}}", i.user_id, kv.join(","))
        })
        .collect()
}

/// The reply's member attributes and skipped users.
fn reply(outs: &[Output]) -> (Vec<String>, Vec<String>) {
    match ok_of(outs) {
        Some(ReplyOk::MemberAttributes {
            member_attributes,
            skipped,
        }) => (
            infos(&member_attributes),
            skipped.iter().map(|u| u.as_str().to_owned()).collect(),
        ),
        o => panic!("expected a member attributes reply, got {o:?}"),
    }
}

/// The members listed by the update addressed to `session` in `outs`.
fn update_for(outs: &[Output], session: &str) -> Option<Vec<String>> {
    outs.iter().find_map(|o| match o {
        Output::RoomMemberAttributesUpdated { to: s, members, .. } if s.to_string() == session => {
            Some(infos(members))
        }
        _ => None,
    })
}

fn query(t: &mut T, at: u64, users: &[&str]) -> Vec<String> {
    let outs = t.run(at, |r| r.query_member_attrs("s1", "r1", Some(users)));
    reply(&outs).0
}

#[test]
fn a_member_sets_its_own_attributes_and_every_live_member_is_told() {
    let mut t = room();
    let outs = t.run(100, |r| {
        r.set_member_attrs("s2", "r1", &[("mic", "on"), ("cam", "off")], None)
    });
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 room_member_attributes_updated",
            "s2 r1 room_member_attributes_updated",
            "s3 r1 room_member_attributes_updated",
            "s2 reply ok"
        ]
    );
    assert_eq!(update_for(&outs, "s3").unwrap(), ["bob:{cam=off,mic=on}"]);
    assert_eq!(
        reply(&outs),
        (vec!["bob:{cam=off,mic=on}".to_owned()], vec![])
    );
    // A later set merges: the update carries the whole set.
    let outs = t.run(110, |r| {
        r.set_member_attrs("s2", "r1", &[("mic", "off")], None)
    });
    assert_eq!(update_for(&outs, "s1").unwrap(), ["bob:{cam=off,mic=off}"]);
    let outs = t.run(120, |r| {
        r.query_member_attrs("s3", "r1", Some(&["bob", "alice", "dave"]))
    });
    assert_eq!(
        reply(&outs),
        (
            vec!["bob:{cam=off,mic=off}".to_owned(), "alice:{}".to_owned()],
            vec!["dave".to_owned()]
        )
    );
    assert_eq!(lines(&outs), ["s3 reply ok"]);
    pin!("member_attributes_set", t);
}

#[test]
fn a_member_sets_attributes_of_listed_members_and_non_members_are_skipped() {
    let mut t = room();
    let outs = t.run(100, |r| {
        r.set_member_attrs(
            "s1",
            "r1",
            &[("role", "guest")],
            Some(&["carol", "dave", "bob", "carol"]),
        )
    });
    assert_eq!(
        reply(&outs),
        (
            vec![
                "carol:{role=guest}".to_owned(),
                "bob:{role=guest}".to_owned()
            ],
            vec!["dave".to_owned()]
        )
    );
    assert_eq!(
        update_for(&outs, "s2").unwrap(),
        ["carol:{role=guest}", "bob:{role=guest}"]
    );
    // Naming nobody in the room changes nothing and tells nobody.
    let outs = t.run(110, |r| {
        r.set_member_attrs("s1", "r1", &[("x", "y")], Some(&["dave"]))
    });
    assert_eq!(lines(&outs), ["s1 reply ok"]);
    assert_eq!(reply(&outs), (vec![], vec!["dave".to_owned()]));
    pin!("member_attributes_listed", t);
}

#[test]
fn delete_tells_only_about_members_that_changed() {
    let mut t = room();
    t.run(100, |r| {
        r.set_member_attrs(
            "s1",
            "r1",
            &[("a", "1"), ("b", "2")],
            Some(&["alice", "bob"]),
        )
    });
    t.run(110, |r| {
        r.set_member_attrs("s1", "r1", &[("c", "3")], Some(&["carol"]))
    });
    let outs = t.run(120, |r| {
        r.delete_member_attrs("s1", "r1", &["a", "zz"], Some(&["carol", "bob"]))
    });
    assert_eq!(update_for(&outs, "s3").unwrap(), ["bob:{b=2}"]);
    assert_eq!(
        reply(&outs),
        (
            vec!["carol:{c=3}".to_owned(), "bob:{b=2}".to_owned()],
            vec![]
        )
    );
    // Nothing to delete: no update.
    let outs = t.run(130, |r| r.delete_member_attrs("s1", "r1", &["zz"], None));
    assert_eq!(lines(&outs), ["s1 reply ok"]);
    // Deleting every key leaves an empty set, which is reported.
    let outs = t.run(140, |r| r.delete_member_attrs("s3", "r1", &["c"], None));
    assert_eq!(update_for(&outs, "s1").unwrap(), ["carol:{}"]);
    assert_eq!(
        query(&mut t, 150, &["alice", "bob", "carol"]),
        ["alice:{a=1,b=2}", "bob:{b=2}", "carol:{}"]
    );
    pin!("member_attributes_delete", t);
}

#[test]
fn limits_per_member_and_per_room_size() {
    let mut t = room();
    // At the limits: key 8 bytes, value 64 bytes.
    let k8 = "k".repeat(8);
    let v64 = "v".repeat(64);
    let outs = t.run(100, |r| {
        r.set_member_attrs("s1", "r1", &[(&k8, &v64)], None)
    });
    assert_eq!(error_of(&outs), None);
    let k9 = "k".repeat(9);
    let v65 = "v".repeat(65);
    for (at, pairs) in [
        (110, vec![(k9.as_str(), "v")]),
        (120, vec![("k", v65.as_str())]),
    ] {
        let (code, outs) = t.refused(at, |r| r.set_member_attrs("s1", "r1", &pairs, None));
        assert_eq!(code, ErrorCode::AttributeLimit);
        assert_eq!(lines(&outs), ["s1 reply attribute_limit"]);
    }
    // Total 144 bytes per member: 72 used; 71 more fits (1 + 70), 72 more does not.
    let v71 = "v".repeat(71);
    let (code, _) = t.refused(130, |r| {
        r.set_member_attrs("s1", "r1", &[("x", &v71)], None)
    });
    assert_eq!(code, ErrorCode::AttributeLimit, "value over 64 first");
    let v63 = "v".repeat(63);
    let outs = t.run(140, |r| {
        r.set_member_attrs("s1", "r1", &[("x", &v63)], None)
    }); // 72 + 64 = 136
    assert_eq!(error_of(&outs), None);
    let (code, _) = t.refused(150, |r| {
        r.set_member_attrs("s1", "r1", &[("y", "12345678")], None)
    }); // 145
    assert_eq!(code, ErrorCode::AttributeLimit);
    let outs = t.run(160, |r| {
        r.set_member_attrs("s1", "r1", &[("y", "1234567")], None)
    }); // 144
    assert_eq!(error_of(&outs), None);
    // At most 30 pairs.
    let keys: Vec<String> = (0..30).map(|i| format!("{i}")).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "")).collect();
    let outs = t.run(170, |r| r.set_member_attrs("s2", "r1", &pairs, None));
    assert_eq!(error_of(&outs), None);
    let (code, _) = t.refused(180, |r| r.set_member_attrs("s2", "r1", &[("30", "")], None));
    assert_eq!(code, ErrorCode::AttributeLimit);
    // All or nothing: bob is full, so carol does not get it either.
    let (code, _) = t.refused(190, |r| {
        r.set_member_attrs("s1", "r1", &[("z", "")], Some(&["carol", "bob"]))
    });
    assert_eq!(code, ErrorCode::AttributeLimit);
    assert_eq!(query(&mut t, 200, &["carol"]), ["carol:{}"]);
}

#[test]
fn the_limits_are_configurable_including_the_room_size() {
    let mut t = T::with(Config {
        max_member_attributes: 1,
        member_attribute_key_max_bytes: 2,
        member_attribute_value_max_bytes: 2,
        member_attributes_total_max_bytes: 3,
        member_attributes_max_room_members: 2,
        member_attributes_max_users: 2,
        ..Config::default()
    });
    t.logins(0, &[("s1", "alice"), ("s2", "bob"), ("s3", "carol")]);
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.join("s2", "r1"));
    for (at, pairs) in [
        (30, vec![("abc", "v")]),
        (40, vec![("a", "vvv")]),
        (50, vec![("ab", "vv")]),
        (60, vec![("a", "v"), ("b", "v")]),
    ] {
        let (code, _) = t.refused(at, |r| r.set_member_attrs("s1", "r1", &pairs, None));
        assert_eq!(code, ErrorCode::AttributeLimit, "{pairs:?}");
    }
    let (code, _) = t.refused(70, |r| {
        r.set_member_attrs("s1", "r1", &[("a", "v")], Some(&["alice", "bob", "carol"]))
    });
    assert_eq!(code, ErrorCode::InvalidArgument);
    let outs = t.run(80, |r| {
        r.set_member_attrs("s1", "r1", &[("a", "v")], Some(&["alice", "bob"]))
    });
    assert_eq!(error_of(&outs), None);
    // A third member makes the room too big to set more; deleting and reading still work.
    t.run(90, |r| r.join("s3", "r1"));
    let (code, _) = t.refused(100, |r| r.set_member_attrs("s1", "r1", &[("a", "w")], None));
    assert_eq!(code, ErrorCode::AttributeLimit);
    let outs = t.run(110, |r| r.delete_member_attrs("s1", "r1", &["a"], None));
    assert_eq!(update_for(&outs, "s3").unwrap(), ["alice:{}"]);
    let outs = t.run(120, |r| r.query_member_attrs("s3", "r1", Some(&["bob"])));
    assert_eq!(reply(&outs).0, ["bob:{a=v}"]);
}

#[test]
fn argument_and_membership_errors() {
    let mut t = room();
    let cases: Vec<(ErrorCode, Make)> = vec![
        (
            ErrorCode::NotLoggedIn,
            Box::new(|r| r.set_member_attrs("ghost", "r1", &[], None)),
        ),
        (
            ErrorCode::InvalidRoomId,
            Box::new(|r| r.set_member_attrs("s1", "bad room", &[("k", "v")], None)),
        ),
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.set_member_attrs("s1", "r1", &[], None)),
        ),
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.set_member_attrs("s1", "r1", &[("", "v")], None)),
        ),
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.set_member_attrs("s1", "r1", &[("k", "v")], Some(&[]))),
        ),
        (
            ErrorCode::InvalidUserId,
            Box::new(|r| r.set_member_attrs("s1", "r1", &[("k", "v")], Some(&["bad user"]))),
        ),
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.delete_member_attrs("s1", "r1", &[], None)),
        ),
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.delete_member_attrs("s1", "r1", &[""], None)),
        ),
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.query_member_attrs("s1", "r1", Some(&[]))),
        ),
        (
            ErrorCode::InvalidUserId,
            Box::new(|r| r.query_member_attrs("s1", "r1", Some(&[""]))),
        ),
        (
            ErrorCode::UserNotInRoom,
            Box::new(|r| r.set_member_attrs("s4", "r1", &[("k", "v")], Some(&["bob"]))),
        ),
        (
            ErrorCode::UserNotInRoom,
            Box::new(|r| r.delete_member_attrs("s4", "r1", &["k"], Some(&["bob"]))),
        ),
        (
            ErrorCode::UserNotInRoom,
            Box::new(|r| r.query_member_attrs("s4", "r1", Some(&["bob"]))),
        ),
        (
            ErrorCode::UserNotInRoom,
            Box::new(|r| r.query_member_attrs("s1", "nowhere", None)),
        ),
        // Arguments before the membership, membership before the limits.
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.set_member_attrs("s4", "r1", &[("", "v")], None)),
        ),
        (
            ErrorCode::UserNotInRoom,
            Box::new(|r| r.set_member_attrs("s4", "r1", &[("too-long-key", "v")], None)),
        ),
    ];
    for (i, (expected, make)) in cases.iter().enumerate() {
        let (code, _) = t.refused(100 + i as u64, |r| make(r));
        assert_eq!(code, *expected, "case {i}");
    }
    pin!("member_attributes_errors", t);
}

#[test]
fn attributes_go_when_their_member_leaves_by_any_path() {
    type Leave = Box<dyn Fn(&mut T)>;
    let paths: Vec<(&str, Leave)> = vec![
        (
            "leave",
            Box::new(|t: &mut T| {
                t.run(200, |r| r.leave("s2", "r1"));
            }),
        ),
        (
            "switch",
            Box::new(|t: &mut T| {
                t.run(200, |r| r.switch("s2", "r1", "r9", true, None));
            }),
        ),
        (
            "kick",
            Box::new(|t: &mut T| {
                t.run(200, |r| r.kick("r1", &["bob"]));
            }),
        ),
        (
            "logout",
            Box::new(|t: &mut T| {
                t.run(200, |r| r.logout("s2"));
            }),
        ),
        (
            "other device",
            Box::new(|t: &mut T| {
                t.run(200, |r| r.login("s9", "bob"));
            }),
        ),
        (
            "timeout",
            Box::new(|t: &mut T| {
                t.at(200, link_lost("s2"));
                t.advance(90_200);
            }),
        ),
    ];
    for (name, leave) in paths {
        let mut t = room();
        t.run(100, |r| {
            r.set_member_attrs("s1", "r1", &[("mic", "on")], Some(&["alice", "bob"]))
        });
        leave(&mut t);
        let step = t.transcript().last().unwrap().clone();
        for s in ["s1", "s3"] {
            assert_eq!(
                update_for(&step.out, s),
                Some(vec!["bob:{}".to_owned()]),
                "{name} {s}"
            );
        }
        assert_eq!(
            update_for(&step.out, "s2"),
            None,
            "{name}: the leaver is not told"
        );
        assert_eq!(
            query(&mut t, 100_000, &["alice", "bob"]),
            ["alice:{mic=on}"],
            "{name}"
        );
        // Back in the room, bob starts with no attributes.
        if name == "leave" {
            t.run(100_010, |r| r.join("s2", "r1"));
            assert_eq!(query(&mut t, 100_020, &["bob"]), ["bob:{}"]);
            pin!("member_attributes_leave", t);
        }
    }
}

#[test]
fn a_member_without_attributes_leaves_silently() {
    let mut t = room();
    t.run(100, |r| {
        r.set_member_attrs("s1", "r1", &[("mic", "on")], None)
    });
    t.run(110, |r| r.delete_member_attrs("s2", "r1", &["none"], None));
    let outs = t.run(120, |r| r.leave("s2", "r1"));
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 disconnected/success",
            "s1 r1 left bob left",
            "s3 r1 left bob left",
            "s2 reply ok"
        ]
    );
    // Even with an empty set left after deleting every key.
    t.run(130, |r| r.set_member_attrs("s3", "r1", &[("k", "v")], None));
    t.run(140, |r| r.delete_member_attrs("s3", "r1", &["k"], None));
    let outs = t.run(150, |r| r.leave("s3", "r1"));
    assert_eq!(
        lines(&outs),
        [
            "s3 r1 disconnected/success",
            "s1 r1 left carol left",
            "s3 reply ok"
        ]
    );
}

#[test]
fn a_dismissed_room_takes_its_member_attributes_along() {
    let mut t = room();
    t.run(100, |r| {
        r.set_member_attrs("s1", "r1", &[("mic", "on")], None)
    });
    let outs = t.run(110, |r| r.dismiss("r1"));
    assert!(update_for(&outs, "s2").is_none());
    t.run(120, |r| r.create("s1", "r1", None));
    assert_eq!(query(&mut t, 130, &["alice"]), ["alice:{}"]);
}

#[test]
fn the_wire_shapes() {
    let input: Input = serde_json::from_str(
        r#"{"type":"set_room_members_attributes","session":"s1","request":7,"room_id":"r1","attributes":{"mic":"on"},"user_ids":["bob"]}"#,
    )
    .unwrap();
    let mut r = Requests::default();
    for _ in 0..6 {
        r.login("x", "x");
    }
    assert_eq!(
        input,
        r.set_member_attrs("s1", "r1", &[("mic", "on")], Some(&["bob"]))
    );
    let input: Input = serde_json::from_str(
        r#"{"type":"delete_room_members_attributes","session":"s1","request":8,"room_id":"r1","keys":["mic"]}"#,
    )
    .unwrap();
    assert_eq!(input, r.delete_member_attrs("s1", "r1", &["mic"], None));
    let input: Input = serde_json::from_str(
        r#"{"type":"query_room_members_attributes","session":"s1","request":9,"room_id":"r1","user_ids":["alice"]}"#,
    )
    .unwrap();
    assert_eq!(input, r.query_member_attrs("s1", "r1", Some(&["alice"])));
    let mut t = room();
    let outs = t.run(100, |r| {
        r.set_member_attrs("s1", "r1", &[("mic", "on")], None)
    });
    assert_eq!(
        serde_json::to_string(&outs[0]).unwrap(),
        r#"{"type":"room_member_attributes_updated","session":"s1","room_id":"r1","members":[{"user_id":"alice","attributes":{"mic":"on"}}]}"#
    );
    assert_eq!(
        serde_json::to_string(outs.last().unwrap()).unwrap(),
        r#"{"type":"reply","session":"s1","request":8,"ok":{"member_attributes":[{"user_id":"alice","attributes":{"mic":"on"}}],"skipped":[]}}"#
    );
    // The reply shape reads back as itself (untagged replies are told apart by their fields).
    let back: Output =
        serde_json::from_str(&serde_json::to_string(outs.last().unwrap()).unwrap()).unwrap();
    assert_eq!(&back, outs.last().unwrap());
}
