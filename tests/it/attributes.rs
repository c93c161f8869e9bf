//! Room attributes with ZIM's rules: limits, per-key owners, forced
//! writes, keys that go with their owner, one `room_attributes_updated` per change to every
//! live member, and what an emptied room keeps.
use crate::common::*;

/// Builds one command.
type Make = Box<dyn Fn(&mut Requests) -> Input>;
use roomcore::{Config, RoomConfig, RoomId};

/// alice (s1) created r1 (delay 60 s); bob (s2) and carol (s3) joined.
fn room() -> T {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice"), ("s2", "bob"), ("s3", "carol")]);
    t.run(10, |r| r.create("s1", "r1", delay_s(60)));
    t.run(20, |r| r.join("s2", "r1"));
    t.run(30, |r| r.join("s3", "r1"));
    t
}

fn attrs(t: &T, room: &str) -> Vec<(String, String)> {
    t.engine()
        .room_attributes(RoomId::new(room))
        .unwrap_or_default()
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_set_reaches_every_live_member_as_one_update() {
    let mut t = room();
    let outs = t.run(100, |r| {
        r.set_attrs("s2", "r1", &[("k1", "a"), ("k2", "b")], false, false, false)
    });
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 room_attributes_updated",
            "s2 r1 room_attributes_updated",
            "s3 r1 room_attributes_updated",
            "s2 reply ok"
        ]
    );
    assert_eq!(attrs(&t, "r1"), kv(&[("k1", "a"), ("k2", "b")]));
    let outs = t.run(110, |r| {
        r.delete_attrs("s2", "r1", &["k1", "missing"], false)
    });
    match &outs[0] {
        Output::RoomAttributesUpdated { set, deleted, .. } => {
            assert!(set.is_empty());
            assert_eq!(deleted, &["k1".to_owned()]);
        }
        o => panic!("{o:?}"),
    }
    // Deleting only keys that do not exist tells nobody.
    let outs = t.run(120, |r| r.delete_attrs("s2", "r1", &["missing"], false));
    assert_eq!(lines(&outs), ["s2 reply ok"]);
    pin!("attributes_set_delete", t);
}

#[test]
fn initial_attributes_come_from_the_config_and_belong_to_the_creator() {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice"), ("s2", "bob")]);
    t.run(10, |r| {
        r.create("s1", "r1", room_config(0, &[("topic", "rust")]))
    });
    t.run(20, |r| r.join("s2", "r1"));
    assert_eq!(attrs(&t, "r1"), kv(&[("topic", "rust")]));
    let (code, _) = t.refused(30, |r| {
        r.set_attrs("s2", "r1", &[("topic", "go")], false, false, false)
    });
    assert_eq!(code, ErrorCode::AttributeNotOwner);
    let outs = t.run(40, |r| {
        r.set_attrs("s1", "r1", &[("topic", "go")], false, false, false)
    });
    assert_eq!(error_of(&outs), None);
    // enter_room that joins ignores the config (and its attributes).
    t.logins(50, &[("s3", "carol")]);
    t.run(60, |r| r.enter("s3", "r1", room_config(0, &[("x", "y")])));
    assert_eq!(attrs(&t, "r1"), kv(&[("topic", "go")]));
}

#[test]
fn initial_attributes_over_the_limits_are_an_invalid_config() {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice")]);
    let long_key = "k".repeat(17);
    let (code, outs) = t.refused(10, |r| {
        r.create("s1", "r1", room_config(0, &[(&long_key, "v")]))
    });
    assert_eq!(code, ErrorCode::InvalidConfig);
    assert_eq!(lines(&outs), ["s1 reply invalid_config"]);
    assert!(!t.exists("r1"));
}

#[test]
fn owners_force_and_update_owner() {
    let mut t = room();
    t.run(100, |r| {
        r.set_attrs("s1", "r1", &[("seat", "alice")], false, false, false)
    });
    // bob may not change or delete alice's key without is_force.
    let (code, outs) = t.refused(110, |r| {
        r.set_attrs("s2", "r1", &[("seat", "bob")], false, false, false)
    });
    assert_eq!(code, ErrorCode::AttributeNotOwner);
    assert_eq!(lines(&outs), ["s2 reply attribute_not_owner"]);
    let (code, _) = t.refused(120, |r| r.delete_attrs("s2", "r1", &["seat"], false));
    assert_eq!(code, ErrorCode::AttributeNotOwner);
    // One foreign key refuses the whole call: the other key is not set either.
    let (code, _) = t.refused(130, |r| {
        r.set_attrs(
            "s2",
            "r1",
            &[("mine", "1"), ("seat", "bob")],
            false,
            false,
            false,
        )
    });
    assert_eq!(code, ErrorCode::AttributeNotOwner);
    assert_eq!(attrs(&t, "r1"), kv(&[("seat", "alice")]));
    // Forced without is_update_owner: the value changes, alice still owns it.
    t.run(140, |r| {
        r.set_attrs("s2", "r1", &[("seat", "bob")], true, false, false)
    });
    assert_eq!(attrs(&t, "r1"), kv(&[("seat", "bob")]));
    let (code, _) = t.refused(150, |r| {
        r.set_attrs("s2", "r1", &[("seat", "x")], false, false, false)
    });
    assert_eq!(code, ErrorCode::AttributeNotOwner);
    t.run(160, |r| {
        r.set_attrs("s1", "r1", &[("seat", "alice2")], false, false, false)
    });
    // Forced with is_update_owner: carol owns it now, alice no longer.
    t.run(170, |r| {
        r.set_attrs("s3", "r1", &[("seat", "carol")], true, true, false)
    });
    let (code, _) = t.refused(180, |r| {
        r.set_attrs("s1", "r1", &[("seat", "a")], false, false, false)
    });
    assert_eq!(code, ErrorCode::AttributeNotOwner);
    t.run(190, |r| r.delete_attrs("s3", "r1", &["seat"], false));
    // A forced delete of another's key.
    t.run(200, |r| {
        r.set_attrs("s1", "r1", &[("k", "v")], false, false, false)
    });
    let outs = t.run(210, |r| r.delete_attrs("s2", "r1", &["k"], true));
    assert_eq!(error_of(&outs), None);
    assert!(attrs(&t, "r1").is_empty());
    pin!("attributes_owners", t);
}

#[test]
fn another_device_of_the_owner_is_the_owner() {
    let mut t = T::with(Config {
        device_policy: roomcore::DevicePolicy::Multi,
        ..Config::default()
    });
    t.logins(0, &[("s1", "alice"), ("s2", "alice"), ("s3", "bob")]);
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.join("s3", "r1"));
    t.run(30, |r| {
        r.set_attrs("s1", "r1", &[("k", "v")], false, false, false)
    });
    t.run(40, |r| r.join("s2", "r1"));
    let outs = t.run(50, |r| {
        r.set_attrs("s2", "r1", &[("k", "w")], false, false, false)
    });
    assert_eq!(error_of(&outs), None);
}

#[test]
fn limits_count_key_value_and_total() {
    let mut t = room();
    let k16 = "k".repeat(16);
    let v1024 = "v".repeat(1024);
    // Exactly at the key and value limits is fine.
    let outs = t.run(100, |r| {
        r.set_attrs("s1", "r1", &[(&k16, &v1024)], false, false, false)
    });
    assert_eq!(error_of(&outs), None);
    let k17 = "k".repeat(17);
    let (code, _) = t.refused(110, |r| {
        r.set_attrs("s1", "r1", &[(&k17, "v")], false, false, false)
    });
    assert_eq!(code, ErrorCode::AttributeLimit);
    let v1025 = "v".repeat(1025);
    let (code, _) = t.refused(120, |r| {
        r.set_attrs("s1", "r1", &[("k", &v1025)], false, false, false)
    });
    assert_eq!(code, ErrorCode::AttributeLimit);
    // Total: 16 + 1024 = 1040 so far; four more of 1020 + 1 = 5121 > 5120.
    let big = "v".repeat(1020);
    for (i, at) in [(1, 130), (2, 140), (3, 150)] {
        let key = format!("{i}");
        let outs = t.run(at, |r| {
            r.set_attrs("s1", "r1", &[(&key, &big)], false, false, false)
        });
        assert_eq!(error_of(&outs), None);
    }
    // 1040 + 3 * 1021 = 4103; one more of 1021 = 5124 > 5120.
    let (code, _) = t.refused(160, |r| {
        r.set_attrs("s1", "r1", &[("4", &big)], false, false, false)
    });
    assert_eq!(code, ErrorCode::AttributeLimit);
    // 1017 bytes fits exactly: 4103 + 1 + 1016 = 5120.
    let fits = "v".repeat(1016);
    let outs = t.run(170, |r| {
        r.set_attrs("s1", "r1", &[("4", &fits)], false, false, false)
    });
    assert_eq!(error_of(&outs), None);
    // Replacing a value counts its new size only.
    let outs = t.run(180, |r| {
        r.set_attrs("s1", "r1", &[("4", "")], false, false, false)
    });
    assert_eq!(error_of(&outs), None);
}

#[test]
fn at_most_twenty_keys_and_the_limits_are_configurable() {
    let mut t = room();
    let keys: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
    let outs = t.run(100, |r| {
        r.set_attrs("s1", "r1", &pairs, false, false, false)
    });
    assert_eq!(error_of(&outs), None);
    let (code, outs) = t.refused(110, |r| {
        r.set_attrs("s1", "r1", &[("k20", "v")], false, false, false)
    });
    assert_eq!(code, ErrorCode::AttributeLimit);
    assert_eq!(lines(&outs), ["s1 reply attribute_limit"]);
    // Overwriting an existing key does not add one.
    let outs = t.run(120, |r| {
        r.set_attrs("s1", "r1", &[("k0", "w")], false, false, false)
    });
    assert_eq!(error_of(&outs), None);

    let mut t = T::with(Config {
        max_room_attributes: 2,
        attribute_key_max_bytes: 2,
        attribute_value_max_bytes: 3,
        attributes_total_max_bytes: 7,
        ..Config::default()
    });
    t.logins(0, &[("s1", "alice")]);
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| {
        r.set_attrs("s1", "r1", &[("ab", "cde")], false, false, false)
    });
    for (at, pairs) in [
        (30, vec![("abc", "v")]),
        (40, vec![("x", "long")]),
        (50, vec![("x", "y"), ("z", "w")]),
        (60, vec![("xy", "zw")]),
    ] {
        let (code, _) = t.refused(at, |r| r.set_attrs("s1", "r1", &pairs, false, false, false));
        assert_eq!(code, ErrorCode::AttributeLimit, "{pairs:?}");
    }
    let outs = t.run(70, |r| {
        r.set_attrs("s1", "r1", &[("x", "y")], false, false, false)
    });
    assert_eq!(error_of(&outs), None);
}

#[test]
fn argument_and_membership_errors_come_first() {
    let mut t = room();
    t.logins(0, &[("s4", "dave")]);
    t.run(100, |r| {
        r.set_attrs("s1", "r1", &[("k", "v")], false, false, false)
    });
    let cases: Vec<(ErrorCode, Make)> = vec![
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.set_attrs("s1", "r1", &[], false, false, false)),
        ),
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.set_attrs("s1", "r1", &[("", "v")], false, false, false)),
        ),
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.delete_attrs("s1", "r1", &[], false)),
        ),
        (
            ErrorCode::InvalidArgument,
            Box::new(|r| r.delete_attrs("s1", "r1", &[""], false)),
        ),
        (
            ErrorCode::InvalidRoomId,
            Box::new(|r| r.set_attrs("s1", "bad room", &[("k", "v")], false, false, false)),
        ),
        (
            ErrorCode::UserNotInRoom,
            Box::new(|r| r.set_attrs("s4", "r1", &[("k", "v")], false, false, false)),
        ),
        (
            ErrorCode::UserNotInRoom,
            Box::new(|r| r.delete_attrs("s4", "r1", &["k"], true)),
        ),
        (
            ErrorCode::UserNotInRoom,
            Box::new(|r| r.set_attrs("s1", "nowhere", &[("k", "v")], false, false, false)),
        ),
        (
            ErrorCode::NotLoggedIn,
            Box::new(|r| r.set_attrs("ghost", "r1", &[("k", "v")], false, false, false)),
        ),
        // Ownership answers before the limits.
        (
            ErrorCode::AttributeNotOwner,
            Box::new(|r| {
                r.set_attrs(
                    "s2",
                    "r1",
                    &[("k", "v"), ("a-key-of-17-bytes", "v")],
                    false,
                    false,
                    false,
                )
            }),
        ),
        // The session comes before everything.
        (
            ErrorCode::NotLoggedIn,
            Box::new(|r| r.set_attrs("ghost", "bad room", &[], false, false, false)),
        ),
    ];
    for (i, (expected, make)) in cases.iter().enumerate() {
        let (code, _) = t.refused(200 + i as u64, |r| make(r));
        assert_eq!(code, *expected, "case {i}");
    }
    pin!("attributes_errors", t);
}

#[test]
fn delete_after_owner_left_keys_go_with_their_owner_by_every_path() {
    // (how alice leaves r1, and what the remaining members see)
    type Leave = Box<dyn Fn(&mut T)>;
    let paths: Vec<(&str, Leave)> = vec![
        (
            "leave",
            Box::new(|t: &mut T| {
                t.run(200, |r| r.leave("s1", "r1"));
            }),
        ),
        (
            "switch",
            Box::new(|t: &mut T| {
                t.run(200, |r| r.switch("s1", "r1", "r9", true, None));
            }),
        ),
        (
            "kick",
            Box::new(|t: &mut T| {
                t.run(200, |r| r.kick("r1", &["alice"]));
            }),
        ),
        (
            "logout",
            Box::new(|t: &mut T| {
                t.run(200, |r| r.logout("s1"));
            }),
        ),
        (
            "other device",
            Box::new(|t: &mut T| {
                t.run(200, |r| r.login("s9", "alice"));
            }),
        ),
        (
            "timeout",
            Box::new(|t: &mut T| {
                t.at(200, link_lost("s1"));
                t.advance(90_200);
            }),
        ),
    ];
    for (name, leave) in paths {
        let mut t = room();
        t.run(100, |r| {
            r.set_attrs(
                "s1",
                "r1",
                &[("seat", "1"), ("hand", "up")],
                false,
                false,
                true,
            )
        });
        t.run(110, |r| {
            r.set_attrs("s1", "r1", &[("topic", "x")], false, false, false)
        });
        t.run(120, |r| {
            r.set_attrs("s2", "r1", &[("bob", "y")], false, false, true)
        });
        leave(&mut t);
        assert_eq!(
            attrs(&t, "r1"),
            kv(&[("bob", "y"), ("topic", "x")]),
            "{name}"
        );
        // bob and carol each got one update deleting exactly alice's flagged keys.
        let step = t.transcript().last().unwrap();
        let updates: Vec<&Output> = step
            .out
            .iter()
            .filter(|o| matches!(o, Output::RoomAttributesUpdated { .. }))
            .collect();
        assert_eq!(updates.len(), 2, "{name}");
        for u in updates {
            match u {
                Output::RoomAttributesUpdated { set, deleted, .. } => {
                    assert!(set.is_empty());
                    assert_eq!(deleted, &["hand".to_owned(), "seat".to_owned()], "{name}");
                }
                _ => unreachable!(),
            }
        }
        if name == "leave" {
            pin!("attributes_delete_after_owner_left", t);
        }
    }
}

#[test]
fn a_forced_write_keeps_the_owner_and_its_flag() {
    let mut t = room();
    t.run(100, |r| {
        r.set_attrs("s1", "r1", &[("seat", "1")], false, false, true)
    });
    // bob overwrites without taking ownership: the key still goes when alice leaves.
    t.run(110, |r| {
        r.set_attrs("s2", "r1", &[("seat", "2")], true, false, false)
    });
    t.run(120, |r| r.leave("s1", "r1"));
    assert!(attrs(&t, "r1").is_empty());
    // Taken over with is_update_owner (flag off): it stays when its old owner leaves.
    t.run(130, |r| r.join("s1", "r1"));
    t.run(140, |r| {
        r.set_attrs("s1", "r1", &[("seat", "1")], false, false, true)
    });
    t.run(150, |r| {
        r.set_attrs("s2", "r1", &[("seat", "2")], true, true, false)
    });
    t.run(160, |r| r.leave("s1", "r1"));
    assert_eq!(attrs(&t, "r1"), kv(&[("seat", "2")]));
    // The owner setting again without the flag clears it.
    t.run(170, |r| {
        r.set_attrs("s2", "r1", &[("seat", "3")], false, false, true)
    });
    t.run(180, |r| {
        r.set_attrs("s2", "r1", &[("seat", "4")], false, false, false)
    });
    t.run(190, |r| r.leave("s2", "r1"));
    assert_eq!(attrs(&t, "r1"), kv(&[("seat", "4")]));
}

#[test]
fn an_emptied_room_drops_its_attributes_unless_configured_to_keep_them() {
    for keep in [false, true] {
        let mut t = T::new();
        t.logins(0, &[("s1", "alice"), ("s2", "bob")]);
        let config = RoomConfig {
            destroy_delay_s: 60,
            keep_attributes_while_empty: keep,
            ..RoomConfig::default()
        };
        t.run(10, |r| r.create("s1", "r1", Some(config.clone())));
        t.run(20, |r| {
            r.set_attrs("s1", "r1", &[("k", "v")], false, false, false)
        });
        t.run(30, |r| r.leave("s1", "r1"));
        assert!(t.exists("r1"));
        let expected = if keep { kv(&[("k", "v")]) } else { Vec::new() };
        assert_eq!(attrs(&t, "r1"), expected, "keep={keep}");
        // A join before the deadline finds the room as it was kept.
        t.run(40, |r| r.join("s2", "r1"));
        assert_eq!(attrs(&t, "r1"), expected, "keep={keep}");
        if keep {
            pin!("attributes_kept_while_empty", t);
        } else {
            pin!("attributes_dropped_while_empty", t);
        }
    }
}
