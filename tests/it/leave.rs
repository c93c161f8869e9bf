//! Leave, leave all and logout: who sees what,
//! in which order, nothing more from a room once left, and closed-session tombstones.
use crate::common::*;
use roomcore::{Config, DevicePolicy, ReplyOk};

/// alice (s1), bob (s2) and carol (s3) in r1, joined in that order.
fn three_in_r1() -> T {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice"), ("s2", "bob"), ("s3", "carol")]);
    t.run(10, |r| r.create("s1", "r1", delay_s(60)));
    t.run(20, |r| r.join("s2", "r1"));
    t.run(30, |r| r.join("s3", "r1"));
    t
}

fn left_all(outs: &[Output]) -> Vec<String> {
    match ok_of(outs) {
        Some(ReplyOk::LeftAll { room_ids }) => {
            room_ids.iter().map(|r| r.as_str().to_owned()).collect()
        }
        other => panic!("expected a leave-all reply, got {other:?}"),
    }
}

#[test]
fn leave_room_disconnects_the_caller_and_tells_the_others() {
    let mut t = three_in_r1();
    let outs = t.run(100, |r| r.leave("s2", "r1"));
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 disconnected/success",
            "s1 r1 left bob left",
            "s3 r1 left bob left",
            "s2 reply ok"
        ]
    );
    assert!(matches!(ok_of(&outs), Some(ReplyOk::RoomId { room_id }) if room_id.as_str() == "r1"));
    assert_eq!(t.members("r1").unwrap(), ["alice", "carol"]);
    assert_eq!(t.rooms("s2").unwrap(), Vec::<String>::new());
    pin!("leave_room", t);
}

#[test]
fn leaving_a_room_one_is_not_in_is_user_not_in_room() {
    let mut t = three_in_r1();
    t.run(40, |r| r.create("s2", "r2", None));
    t.run(50, |r| r.leave("s3", "r1"));
    // Left already, never joined, and a room that does not exist: all user_not_in_room.
    for (at, session, room) in [(100, "s3", "r1"), (110, "s1", "r2"), (120, "s1", "nowhere")] {
        let (code, outs) = t.refused(at, |r| r.leave(session, room));
        assert_eq!(code, ErrorCode::UserNotInRoom);
        assert_eq!(lines(&outs), [format!("{session} reply user_not_in_room")]);
    }
    let (code, _) = t.refused(130, |r| r.leave("s1", "bad id"));
    assert_eq!(code, ErrorCode::InvalidRoomId);
    let (code, _) = t.refused(140, |r| r.leave("ghost", "r1"));
    assert_eq!(code, ErrorCode::NotLoggedIn);
    pin!("leave_not_in_room", t);
}

#[test]
fn leave_all_rooms_leaves_in_join_order_with_one_disconnect_each() {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice"), ("s2", "bob")]);
    t.run(10, |r| r.create("s2", "r1", None));
    // alice joins r3, then r1, then r2: not alphabetical, not creation order.
    t.run(20, |r| r.create("s1", "r3", delay_s(30)));
    t.run(30, |r| r.join("s1", "r1"));
    t.run(40, |r| r.enter("s1", "r2", None));
    let outs = t.run(100, |r| r.leave_all("s1"));
    assert_eq!(left_all(&outs), ["r3", "r1", "r2"]);
    assert_eq!(
        lines(&outs),
        [
            "s1 r3 disconnected/success",
            "s1 r1 disconnected/success",
            "s2 r1 left alice left",
            "s1 r2 disconnected/success",
            "destroyed r2 empty",
            "s1 reply ok"
        ]
    );
    // r3 had a destroy delay: it waits; r2 had none: gone.
    assert!(t.exists("r3"));
    assert!(!t.exists("r2"));
    assert_eq!(t.rooms("s1").unwrap(), Vec::<String>::new());
    pin!("leave_all", t);
}

#[test]
fn leave_all_rooms_with_no_rooms_replies_an_empty_list() {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice")]);
    let outs = t.run(10, |r| r.leave_all("s1"));
    assert_eq!(lines(&outs), ["s1 reply ok"]);
    assert_eq!(left_all(&outs), Vec::<String>::new());
    let (code, _) = t.refused(20, |r| r.leave_all("ghost"));
    assert_eq!(code, ErrorCode::NotLoggedIn);
}

#[test]
fn leave_all_rooms_leaves_only_this_sessions_rooms() {
    let mut t = T::with(Config {
        device_policy: DevicePolicy::Multi,
        ..Config::default()
    });
    t.logins(0, &[("phone", "alice"), ("laptop", "alice"), ("s2", "bob")]);
    t.run(10, |r| r.create("phone", "r1", None));
    t.run(20, |r| r.create("phone", "r2", None));
    t.run(30, |r| r.create("laptop", "r3", None));
    t.run(40, |r| r.join("s2", "r1"));
    t.run(50, |r| r.join("s2", "r3"));
    let outs = t.run(100, |r| r.leave_all("phone"));
    assert_eq!(left_all(&outs), ["r1", "r2"]);
    assert_eq!(seen_by(&outs, "laptop"), Vec::<String>::new());
    assert_eq!(seen_by(&outs, "s2"), ["s2 r1 left alice left"]);
    assert_eq!(t.rooms("laptop").unwrap(), ["r3"]);
    assert_eq!(t.members("r3").unwrap(), ["alice", "bob"]);
    pin!("leave_all_this_session_only", t);
}

#[test]
fn after_leaving_nothing_more_about_the_room_reaches_the_session() {
    let mut t = three_in_r1();
    t.logins(40, &[("s4", "dave")]);
    t.run(50, |r| r.create("s1", "r2", None));
    t.run(100, |r| r.leave("s1", "r1"));
    let mut later = Vec::new();
    later.extend(t.run(110, |r| r.join("s4", "r1")));
    later.extend(t.run(120, |r| r.message("s2", "r1", "hello")));
    later.extend(t.run(130, |r| r.leave("s3", "r1")));
    later.extend(t.run(140, |r| r.kick("r1", &["dave"])));
    later.extend(t.run(150, |r| r.dismiss("r1")));
    // Bob saw all of it; alice, who left, none of it.
    assert!(!seen_by(&later, "s2").is_empty());
    assert_eq!(seen_by(&later, "s1"), Vec::<String>::new());
    assert!(t.rooms("s1").unwrap() == ["r2"]);
    pin!("nothing_after_leaving", t);
}

#[test]
fn logout_leaves_every_room_then_replies_then_closes_the_session() {
    let mut t = three_in_r1();
    t.run(40, |r| r.create("s1", "r2", None));
    let outs = t.run(100, |r| r.logout("s1"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 disconnected/success",
            "s2 r1 left alice left",
            "s3 r1 left alice left",
            "s1 r2 disconnected/success",
            "destroyed r2 empty",
            "s1 reply ok",
            "s1 closed logout"
        ]
    );
    assert_eq!(t.rooms("s1"), None);
    assert_eq!(t.members("r1").unwrap(), ["bob", "carol"]);
    // Later commands of the closed session answer session_closed, with the reply only.
    let (code, outs) = t.refused(200, |r| r.join("s1", "r1"));
    assert_eq!(code, ErrorCode::SessionClosed);
    assert_eq!(lines(&outs), ["s1 reply session_closed"]);
    let (code, _) = t.refused(210, |r| r.logout("s1"));
    assert_eq!(code, ErrorCode::SessionClosed);
    let (code, _) = t.refused(220, |r| r.leave_all("s1"));
    assert_eq!(code, ErrorCode::SessionClosed);
    let (code, _) = t.refused(230, |r| r.enter("s1", "r9", None));
    assert_eq!(code, ErrorCode::SessionClosed);
    // Ids never seen answer not_logged_in.
    let (code, outs) = t.refused(240, |r| r.logout("ghost"));
    assert_eq!(code, ErrorCode::NotLoggedIn);
    assert_eq!(lines(&outs), ["ghost reply not_logged_in"]);
    pin!("logout", t);
}

#[test]
fn logout_with_no_rooms_is_reply_then_session_closed() {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice")]);
    let outs = t.run(10, |r| r.logout("s1"));
    assert_eq!(lines(&outs), ["s1 reply ok", "s1 closed logout"]);
}

#[test]
fn a_new_login_may_reuse_a_closed_session_id() {
    let mut t = three_in_r1();
    t.run(100, |r| r.logout("s1"));
    let outs = t.run(200, |r| r.login("s1", "dave"));
    assert_eq!(lines(&outs), ["s1 reply ok"]);
    let outs = t.run(210, |r| r.join("s1", "r1"));
    assert_eq!(error_of(&outs), None);
    assert_eq!(t.members("r1").unwrap(), ["bob", "carol", "dave"]);
    pin!("reuse_closed_id", t);
}

#[test]
fn a_closed_session_is_forgotten_after_the_ttl() {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice")]);
    t.run(1_000, |r| r.logout("s1"));
    // Remembered for closed_session_ttl_ms (600,000 by default) from the close...
    let (code, _) = t.refused(600_999, |r| r.join("s1", "r1"));
    assert_eq!(code, ErrorCode::SessionClosed);
    // ...and forgotten at exactly close + ttl: then it is an id never seen.
    let (code, _) = t.refused(601_000, |r| r.join("s1", "r1"));
    assert_eq!(code, ErrorCode::NotLoggedIn);
    assert_eq!(t.engine().closed_session_count(), 0);
    pin!("tombstone_ttl", t);
}

#[test]
fn a_reused_and_closed_again_id_is_remembered_from_its_latest_close() {
    let mut t = T::with(Config {
        closed_session_ttl_ms: 10_000,
        ..Config::default()
    });
    t.logins(0, &[("s1", "alice")]);
    t.run(1_000, |r| r.logout("s1"));
    t.run(2_000, |r| r.login("s1", "alice"));
    t.run(5_000, |r| r.logout("s1"));
    // The first close's deadline (11,000) passes; the second (15,000) still holds.
    let (code, _) = t.refused(11_000, |r| r.leave_all("s1"));
    assert_eq!(code, ErrorCode::SessionClosed);
    let (code, _) = t.refused(15_000, |r| r.leave_all("s1"));
    assert_eq!(code, ErrorCode::NotLoggedIn);
}

#[test]
fn tombstones_are_bounded_oldest_forgotten_first() {
    let mut t = T::with(Config {
        max_closed_sessions: 2,
        ..Config::default()
    });
    t.logins(0, &[("s1", "a"), ("s2", "b"), ("s3", "c")]);
    t.run(10, |r| r.logout("s1"));
    t.run(20, |r| r.logout("s2"));
    t.run(30, |r| r.logout("s3"));
    assert_eq!(t.engine().closed_session_count(), 2);
    let (code, _) = t.refused(40, |r| r.leave_all("s1"));
    assert_eq!(code, ErrorCode::NotLoggedIn);
    for s in ["s2", "s3"] {
        let (code, _) = t.refused(50, |r| r.leave_all(s));
        assert_eq!(code, ErrorCode::SessionClosed);
    }
}
