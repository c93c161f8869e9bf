//! One user on several devices: the single-device
//! policy closes the older session on a new login; the multi-device policy keeps both, each
//! with its own rooms, and a device entering a room its user is in from another device
//! takes the membership over.
use crate::common::*;
use roomcore::{Config, DevicePolicy, ReplyOk, SessionId};

fn multi() -> T {
    T::with(Config {
        device_policy: DevicePolicy::Multi,
        ..Config::default()
    })
}

#[test]
fn single_policy_a_new_login_closes_the_older_session() {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice"), ("s2", "bob")]);
    t.run(10, |r| r.create("s1", "r1", delay_s(60)));
    t.run(20, |r| r.join("s2", "r1"));
    t.run(30, |r| r.create("s1", "r2", delay_s(60)));
    let outs = t.run(100, |r| r.login("s3", "alice"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 disconnected/kicked_out_by_other_device",
            "s2 r1 left alice other_device",
            "s1 r2 disconnected/kicked_out_by_other_device",
            "s1 closed kicked_out_by_other_device",
            "s3 reply ok"
        ]
    );
    assert_eq!(t.members("r1").unwrap(), ["bob"]);
    assert_eq!(t.rooms("s1"), None);
    assert_eq!(t.rooms("s3").unwrap(), Vec::<String>::new());
    // The emptied r2 waits for its delay like any emptied room.
    assert!(t.exists("r2"));
    // Later commands of the closed session answer session_closed and change nothing.
    let (code, outs) = t.refused(200, |r| r.join("s1", "r1"));
    assert_eq!(code, ErrorCode::SessionClosed);
    assert_eq!(lines(&outs), ["s1 reply session_closed"]);
    let (code, _) = t.refused(210, |r| r.logout("s1"));
    assert_eq!(code, ErrorCode::SessionClosed);
    // Link events for it are ignored.
    assert!(t.at(220, link_lost("s1")).is_empty());
    // The new session works.
    let outs = t.run(300, |r| r.join("s3", "r1"));
    assert_eq!(seen_by(&outs, "s2"), ["s2 r1 joined alice"]);
    pin!("single_device_login", t);
}

#[test]
fn single_policy_other_users_are_not_affected() {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice"), ("s2", "bob")]);
    t.run(10, |r| r.create("s1", "r1", None));
    let outs = t.run(20, |r| r.login("s3", "carol"));
    assert_eq!(lines(&outs), ["s3 reply ok"]);
    assert_eq!(t.engine().session_count(), 3);
}

#[test]
fn single_policy_closed_ids_are_forgotten_after_their_ttl() {
    let mut t = T::with(Config {
        closed_session_ttl_ms: 1_000,
        ..Config::default()
    });
    t.logins(0, &[("s1", "alice")]);
    t.run(10, |r| r.login("s2", "alice"));
    let (code, _) = t.refused(1_009, |r| r.leave_all("s1"));
    assert_eq!(code, ErrorCode::SessionClosed);
    let (code, _) = t.refused(1_010, |r| r.leave_all("s1"));
    assert_eq!(code, ErrorCode::NotLoggedIn);
}

#[test]
fn multi_policy_sessions_of_one_user_live_side_by_side() {
    let mut t = multi();
    t.logins(0, &[("s1", "alice"), ("s2", "bob")]);
    let outs = t.run(10, |r| r.login("s3", "alice"));
    assert_eq!(lines(&outs), ["s3 reply ok"]);
    t.run(20, |r| r.create("s1", "r1", delay_s(60)));
    t.run(30, |r| r.join("s2", "r1"));
    t.run(40, |r| r.create("s3", "r2", delay_s(60)));
    t.run(50, |r| r.join("s2", "r2"));
    t.run(60, |r| r.create("s3", "r3", delay_s(60)));
    // leave_all on s3 leaves only s3's rooms; alice stays in r1 through s1.
    let outs = t.run(100, |r| r.leave_all("s3"));
    assert_eq!(
        lines(&outs),
        [
            "s3 r2 disconnected/success",
            "s2 r2 left alice left",
            "s3 r3 disconnected/success",
            "s3 reply ok"
        ]
    );
    match ok_of(&outs) {
        Some(ReplyOk::LeftAll { room_ids }) => {
            let ids: Vec<&str> = room_ids.iter().map(|r| r.as_str()).collect();
            assert_eq!(ids, ["r2", "r3"]);
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(t.rooms("s1").unwrap(), ["r1"]);
    assert_eq!(t.members("r1").unwrap(), ["alice", "bob"]);
    // Logging one device out leaves the other logged in and in its rooms.
    t.run(200, |r| r.logout("s3"));
    assert_eq!(t.rooms("s1").unwrap(), ["r1"]);
    pin!("multi_device_side_by_side", t);
}

#[test]
fn multi_policy_entering_a_room_from_a_second_device_takes_it_over() {
    let mut t = multi();
    t.logins(0, &[("s1", "alice"), ("s2", "bob"), ("s3", "carol")]);
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.join("s2", "r1"));
    t.run(30, |r| r.join("s3", "r1"));
    t.run(40, |r| r.create("s1", "r2", None));
    t.run(50, |r| r.login("s4", "alice"));
    let outs = t.run(100, |r| r.join("s4", "r1"));
    assert_eq!(
        lines(&outs),
        [
            "s4 r1 connecting/active_enter",
            "s1 r1 disconnected/kicked_out_by_other_device",
            "s4 r1 connected/success",
            "s4 reply ok"
        ]
    );
    // One member, same place in the join order; bob and carol saw nothing.
    assert_eq!(t.members("r1").unwrap(), ["alice", "bob", "carol"]);
    assert_eq!(
        t.engine()
            .room_sessions(roomcore::RoomId::new("r1"))
            .unwrap(),
        [
            SessionId::new("s4"),
            SessionId::new("s2"),
            SessionId::new("s3")
        ]
    );
    // s1 keeps its other rooms and gets nothing more from r1.
    assert_eq!(t.rooms("s1").unwrap(), ["r2"]);
    let outs = t.run(110, |r| r.message("s2", "r1", "hi"));
    assert_eq!(seen_by(&outs, "s1"), Vec::<String>::new());
    assert_eq!(seen_by(&outs, "s4"), ["s4 r1 message 1 from bob"]);
    // enter_room takes over the same way.
    let outs = t.run(120, |r| r.enter("s1", "r1", None));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 connecting/active_enter",
            "s4 r1 disconnected/kicked_out_by_other_device",
            "s1 r1 connected/success",
            "s1 reply ok"
        ]
    );
    pin!("multi_device_takeover", t);
}

#[test]
fn a_switch_into_a_room_held_by_another_device_takes_it_over_too() {
    let mut t = multi();
    t.logins(0, &[("s1", "alice"), ("s2", "bob"), ("s3", "alice")]);
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.join("s2", "r1"));
    t.run(30, |r| r.create("s3", "r2", delay_s(10)));
    let outs = t.run(100, |r| r.switch("s3", "r2", "r1", false, None));
    assert_eq!(
        lines(&outs),
        [
            "s3 r1 connecting/active_switch",
            "s1 r1 disconnected/kicked_out_by_other_device",
            "s3 r1 connected/success",
            "s3 r2 disconnected/success",
            "s3 reply ok"
        ]
    );
    assert_eq!(t.members("r1").unwrap(), ["alice", "bob"]);
}

#[test]
fn a_takeover_is_allowed_in_a_full_room() {
    let mut t = T::with(Config {
        device_policy: DevicePolicy::Multi,
        max_members_per_room: 2,
        ..Config::default()
    });
    t.logins(
        0,
        &[
            ("s1", "alice"),
            ("s2", "bob"),
            ("s3", "alice"),
            ("s4", "carol"),
        ],
    );
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.join("s2", "r1"));
    let outs = t.run(30, |r| r.join("s4", "r1"));
    assert_eq!(error_of(&outs), Some(ErrorCode::RoomFull));
    let outs = t.run(40, |r| r.join("s3", "r1"));
    assert_eq!(error_of(&outs), None);
    assert_eq!(t.members("r1").unwrap(), ["alice", "bob"]);
}

#[test]
fn a_takeover_keeps_the_users_attributes() {
    let mut t = multi();
    t.logins(0, &[("s1", "alice"), ("s2", "bob"), ("s3", "alice")]);
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.join("s2", "r1"));
    t.run(30, |r| {
        r.set_attrs("s1", "r1", &[("seat", "1")], false, false, true)
    });
    t.run(40, |r| {
        r.set_member_attrs("s1", "r1", &[("mic", "on")], None)
    });
    let outs = t.run(100, |r| r.join("s3", "r1"));
    // The user did not leave: no attribute update, nothing deleted.
    assert_eq!(seen_by(&outs, "s2"), Vec::<String>::new());
    assert_eq!(
        t.engine()
            .room_attributes(roomcore::RoomId::new("r1"))
            .unwrap(),
        [("seat".to_owned(), "1".to_owned())]
    );
    let outs = t.run(110, |r| r.query_member_attrs("s3", "r1", None));
    match ok_of(&outs) {
        Some(ReplyOk::MemberAttributes {
            member_attributes, ..
        }) => assert_eq!(member_attributes[0].attributes.len(), 1),
        o => panic!("{o:?}"),
    }
    // And the new device owns the user's keys.
    let outs = t.run(120, |r| r.delete_attrs("s3", "r1", &["seat"], false));
    assert_eq!(error_of(&outs), None);
}

#[test]
fn a_takeover_of_a_reconnecting_membership_ends_its_grace() {
    let mut t = multi();
    t.logins(0, &[("s1", "alice"), ("s2", "bob"), ("s3", "alice")]);
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.join("s2", "r1"));
    t.at(100, link_lost("s1"));
    assert_eq!(t.engine().pending_timers(), 1);
    let outs = t.run(200, |r| r.join("s3", "r1"));
    assert_eq!(
        lines(&outs),
        [
            "s3 r1 connecting/active_enter",
            "s1 r1 disconnected/kicked_out_by_other_device",
            "s3 r1 connected/success",
            "s3 reply ok"
        ]
    );
    assert_eq!(t.engine().pending_timers(), 0);
    assert!(!t.engine().is_link_lost(SessionId::new("s1")));
    assert!(t.at(300, link_restored("s1")).is_empty());
    pin!("takeover_of_lost_membership", t);
}

#[test]
fn a_second_device_cannot_create_a_room_its_user_is_in() {
    let mut t = multi();
    t.logins(0, &[("s1", "alice"), ("s2", "alice")]);
    t.run(10, |r| r.create("s1", "r1", None));
    let outs = t.run(20, |r| r.create("s2", "r1", None));
    assert_eq!(error_of(&outs), Some(ErrorCode::RoomAlreadyExists));
    assert_eq!(t.rooms("s1").unwrap(), ["r1"]);
}
