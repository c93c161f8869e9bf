//! Server-side (admin) commands: `remove_users` (kick) and `dismiss_room`.
use crate::common::*;
use roomcore::{Config, ReplyOk};

/// alice (s1), bob (s2), carol (s3), dave (s4) in r1 in that order; erin (s5) in r2.
fn four_in_r1() -> T {
    four_in_r1_with(Config::default())
}

fn four_in_r1_with(config: Config) -> T {
    let mut t = T::with(config);
    t.logins(
        0,
        &[
            ("s1", "alice"),
            ("s2", "bob"),
            ("s3", "carol"),
            ("s4", "dave"),
            ("s5", "erin"),
        ],
    );
    t.run(10, |r| r.create("s1", "r1", None));
    for (i, s) in ["s2", "s3", "s4"].iter().enumerate() {
        t.run(20 + i as u64, |r| r.join(s, "r1"));
    }
    t.run(30, |r| r.create("s5", "r2", None));
    t
}

fn removed_skipped(outs: &[Output]) -> (Vec<String>, Vec<String>) {
    match ok_of(outs) {
        Some(ReplyOk::UsersRemoved { removed, skipped }) => (
            removed.iter().map(|u| u.as_str().to_owned()).collect(),
            skipped.iter().map(|u| u.as_str().to_owned()).collect(),
        ),
        other => panic!("expected a remove_users reply, got {other:?}"),
    }
}

#[test]
fn kicked_sessions_are_told_and_the_rest_get_one_members_left_naming_all() {
    let mut t = four_in_r1();
    // erin is logged in but elsewhere; zed was never seen: both skipped.
    let outs = t.run(100, |r| r.kick("r1", &["bob", "erin", "dave", "zed"]));
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 disconnected/kicked_out",
            "s4 r1 disconnected/kicked_out",
            "s1 r1 left bob,dave kicked",
            "s3 r1 left bob,dave kicked",
            "admin ok"
        ]
    );
    assert_eq!(
        removed_skipped(&outs),
        (
            vec!["bob".into(), "dave".into()],
            vec!["erin".into(), "zed".into()]
        )
    );
    assert_eq!(t.members("r1").unwrap(), ["alice", "carol"]);
    assert_eq!(
        t.rooms("s5").unwrap(),
        ["r2"],
        "a skipped user keeps its rooms"
    );
    pin!("kick", t);
}

#[test]
fn kicking_nobody_who_is_in_the_room_changes_nothing() {
    let mut t = four_in_r1();
    t.advance(100);
    let before = t.snapshot();
    let outs = t.run(100, |r| r.kick("r1", &["erin", "zed"]));
    assert_eq!(lines(&outs), ["admin ok"]);
    assert_eq!(
        removed_skipped(&outs),
        (vec![], vec!["erin".into(), "zed".into()])
    );
    assert_eq!(before, t.snapshot());
}

#[test]
fn a_user_named_twice_is_removed_once() {
    let mut t = four_in_r1();
    let outs = t.run(100, |r| r.kick("r1", &["bob", "bob", "zed", "zed"]));
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 disconnected/kicked_out",
            "s1 r1 left bob kicked",
            "s3 r1 left bob kicked",
            "s4 r1 left bob kicked",
            "admin ok"
        ]
    );
    // Decision: duplicates are ignored, in the removed and in the skipped list alike.
    assert_eq!(
        removed_skipped(&outs),
        (vec!["bob".into()], vec!["zed".into()])
    );
}

#[test]
fn kicking_the_last_member_empties_the_room_like_a_leave() {
    let mut t = four_in_r1();
    t.run(40, |r| r.create("s1", "waits", delay_s(30)));
    let outs = t.run(100, |r| r.kick("r2", &["erin"]));
    assert_eq!(
        lines(&outs),
        [
            "s5 r2 disconnected/kicked_out",
            "destroyed r2 empty",
            "admin ok"
        ]
    );
    assert!(!t.exists("r2"));
    // With a destroy delay the room waits, as after a leave.
    let outs = t.run(200, |r| r.kick("waits", &["alice"]));
    assert_eq!(
        lines(&outs),
        ["s1 waits disconnected/kicked_out", "admin ok"]
    );
    assert!(t.exists("waits"));
    t.advance(30_200);
    assert!(!t.exists("waits"));
    pin!("kick_last_member", t);
}

#[test]
fn a_kick_is_not_a_ban() {
    let mut t = four_in_r1();
    t.run(100, |r| r.kick("r1", &["bob"]));
    let outs = t.run(110, |r| r.join("s2", "r1"));
    assert_eq!(error_of(&outs), None);
    assert_eq!(t.members("r1").unwrap(), ["alice", "carol", "dave", "bob"]);
}

#[test]
fn a_session_whose_link_is_lost_is_told_of_its_kick_at_once() {
    let mut t = four_in_r1();
    t.at(90, link_lost("s2"));
    let outs = t.run(100, |r| r.kick("r1", &["bob"]));
    assert_eq!(seen_by(&outs, "s2"), ["s2 r1 disconnected/kicked_out"]);
    assert_eq!(t.members("r1").unwrap(), ["alice", "carol", "dave"]);
    pin!("kick_lost_link", t);
}

#[test]
fn remove_users_refusals() {
    let mut t = four_in_r1_with(Config {
        max_kick_users: 3,
        ..Config::default()
    });
    let cases: Vec<(Vec<&str>, &str, ErrorCode)> = vec![
        (vec!["bob"], "nowhere", ErrorCode::RoomNotExist),
        (vec!["bob"], "", ErrorCode::InvalidRoomId),
        (vec!["bob"], "r 1", ErrorCode::InvalidRoomId),
        (vec![], "r1", ErrorCode::InvalidArgument),
        (vec!["a", "b", "c", "d"], "r1", ErrorCode::InvalidArgument),
        (vec!["bob", "bad user"], "r1", ErrorCode::InvalidUserId),
        (vec![""], "r1", ErrorCode::InvalidUserId),
    ];
    for (i, (users, room, want)) in cases.into_iter().enumerate() {
        let (code, outs) = t.refused(100 + i as u64, |r| r.kick(room, &users));
        assert_eq!(code, want, "case {i}");
        assert_eq!(lines(&outs), [format!("admin {}", wire(&want))], "case {i}");
    }
    // Exactly max_kick_users is accepted.
    let outs = t.run(200, |r| r.kick("r1", &["bob", "carol", "dave"]));
    assert_eq!(error_of(&outs), None);
    pin!("kick_refusals", t);
}

#[test]
fn remove_users_takes_up_to_fifty_users_by_default() {
    let mut t = four_in_r1();
    let names: Vec<String> = (0..51).map(|i| format!("u{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (code, _) = t.refused(100, |r| r.kick("r1", &names));
    assert_eq!(code, ErrorCode::InvalidArgument);
    let outs = t.run(110, |r| r.kick("r1", &names[..50]));
    assert_eq!(removed_skipped(&outs).1.len(), 50);
}

#[test]
fn dismiss_disconnects_every_member_and_destroys_the_room_at_once() {
    let mut t = four_in_r1();
    let outs = t.run(100, |r| r.dismiss("r1"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 disconnected/room_not_exist",
            "s2 r1 disconnected/room_not_exist",
            "s3 r1 disconnected/room_not_exist",
            "s4 r1 disconnected/room_not_exist",
            "destroyed r1 dismissed",
            "admin ok"
        ]
    );
    assert!(matches!(ok_of(&outs), Some(ReplyOk::RoomId { room_id }) if room_id.as_str() == "r1"));
    assert!(!t.exists("r1"));
    for s in ["s1", "s2", "s3", "s4"] {
        assert_eq!(t.rooms(s).unwrap(), Vec::<String>::new());
    }
    assert_eq!(t.rooms("s5").unwrap(), ["r2"]);
    let (code, _) = t.refused(110, |r| r.join("s1", "r1"));
    assert_eq!(code, ErrorCode::RoomNotExist);
    pin!("dismiss", t);
}

#[test]
fn dismiss_of_an_empty_waiting_room_cancels_its_timer() {
    let mut t = four_in_r1();
    t.run(40, |r| r.create("s1", "waits", delay_s(60)));
    t.run(50, |r| r.leave("s1", "waits"));
    assert_eq!(t.engine().pending_timers(), 1);
    let outs = t.run(100, |r| r.dismiss("waits"));
    assert_eq!(lines(&outs), ["destroyed waits dismissed", "admin ok"]);
    assert_eq!(t.engine().pending_timers(), 0);
    t.advance(100_000);
    assert!(
        t.transcript().iter().all(|s| s.input.is_some()),
        "no timer fired"
    );
    pin!("dismiss_waiting", t);
}

#[test]
fn a_session_whose_link_is_lost_is_told_of_the_dismissal_at_once() {
    let mut t = four_in_r1();
    t.at(90, link_lost("s2"));
    let outs = t.run(100, |r| r.dismiss("r1"));
    assert_eq!(seen_by(&outs, "s2"), ["s2 r1 disconnected/room_not_exist"]);
    assert_eq!(t.rooms("s2").unwrap(), Vec::<String>::new());
}

#[test]
fn dismiss_refusals() {
    let mut t = four_in_r1();
    for (at, room, want) in [
        (100, "nowhere", ErrorCode::RoomNotExist),
        (110, "", ErrorCode::InvalidRoomId),
        (120, "r,1", ErrorCode::InvalidRoomId),
    ] {
        let (code, outs) = t.refused(at, |r| r.dismiss(room));
        assert_eq!(code, want);
        assert_eq!(lines(&outs), [format!("admin {}", wire(&want))]);
    }
    // A dismissed room is unknown to a second dismiss.
    t.run(130, |r| r.dismiss("r1"));
    let (code, _) = t.refused(140, |r| r.dismiss("r1"));
    assert_eq!(code, ErrorCode::RoomNotExist);
    pin!("dismiss_refusals", t);
}
