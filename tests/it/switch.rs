//! Switch room: every row of ZIM's switch table and every branch of its flowchart (docs/flows.md, "Switch").
//!
//! Flowchart branches: target exists -> success; target missing -> server room limit reached
//! -> fail; not reached -> `create_if_missing` false -> fail, true -> create from `to_info` +
//! `config` -> success; after success, source has other members -> they get `members_left`,
//! none -> the source waits for its destroy delay.
use crate::common::*;
use roomcore::{Config, ReplyOk, RoomId};

fn two_rooms() -> T {
    two_rooms_with(Config::default())
}

/// alice (s1) and bob (s2) in r1 (destroy delay 90 s); carol (s3) alone in r2 (delay 0).
fn two_rooms_with(config: Config) -> T {
    let mut t = T::with(config);
    let i = t.r.login("s1", "alice");
    t.at(0, i);
    let i = t.r.login("s2", "bob");
    t.at(0, i);
    let i = t.r.login("s3", "carol");
    t.at(0, i);
    let i = t.r.create("s1", "r1", delay_s(90));
    t.at(10, i);
    let i = t.r.join("s2", "r1");
    t.at(20, i);
    let i = t.r.create("s3", "r2", None);
    t.at(30, i);
    t
}

fn reply_room(outs: &[Output]) -> (String, String) {
    match ok_of(outs) {
        Some(ReplyOk::Room { room, .. }) => (room.id.as_str().to_owned(), room.name.into()),
        other => panic!("expected a room reply, got {other:?}"),
    }
}

#[test]
fn switch_to_existing_room_connects_target_before_leaving_source() {
    let mut t = two_rooms();
    let i = t.r.switch("s1", "r1", "r2", false, None);
    let outs = t.at(100, i);
    assert_eq!(
        states(&outs),
        [
            "s1 r2 Connecting/ActiveSwitch",
            "s1 r2 Connected/Success",
            "s1 r1 Disconnected/Success"
        ]
    );
    assert!(error_of(&outs).is_none());
    assert_eq!(seen_by(&outs, "s1").last().unwrap(), "s1 reply ok");
    assert_eq!(seen_by(&outs, "s3"), ["s3 r2 joined alice"]);
    assert_eq!(seen_by(&outs, "s2"), ["s2 r1 left alice left"]);
    assert_eq!(
        server_side(&outs),
        Vec::<String>::new(),
        "nothing created or destroyed"
    );
    assert_eq!(reply_room(&outs), ("r2".into(), "Room r2".into()));
    assert_eq!(t.members("r1").unwrap(), ["bob"]);
    assert_eq!(t.members("r2").unwrap(), ["carol", "alice"]);
    assert_eq!(t.rooms("s1").unwrap(), ["r2"]);
    pin!("switch_existing", t);
}

#[test]
fn missing_target_without_create_fails_and_the_caller_stays_in_the_source() {
    let mut t = two_rooms();
    let (code, outs) = t.refused(100, |r| r.switch("s1", "r1", "r9", false, None));
    assert_eq!(code, ErrorCode::RoomNotExist);
    assert_eq!(
        lines(&outs),
        [
            "s1 r9 connecting/active_switch",
            "s1 r9 disconnected/switch_failed",
            "s1 reply room_not_exist"
        ]
    );
    assert_eq!(t.rooms("s1").unwrap(), ["r1"]);
    assert!(!t.exists("r9"));
    pin!("switch_missing_no_create", t);
}

#[test]
fn missing_target_with_create_is_created_from_to_info_and_config() {
    let mut t = two_rooms();
    let switch = renamed(
        t.r.switch("s1", "r1", "r9", true, room_config(30, &[("topic", "new")])),
        "Nine",
    );
    let outs = t.at(100, switch);
    assert_eq!(
        lines(&outs),
        [
            "s1 r9 connecting/active_switch",
            "created r9",
            "s1 r9 connected/success",
            "s1 r1 disconnected/success",
            "s2 r1 left alice left",
            "s1 reply ok"
        ]
    );
    assert_eq!(reply_room(&outs), ("r9".into(), "Nine".into()));
    assert_eq!(
        t.engine().room_attributes(RoomId::new("r9")).unwrap(),
        [("topic".to_owned(), "new".to_owned())]
    );
    assert_eq!(t.members("r9").unwrap(), ["alice"]);
    // The new room took the config's destroy delay: emptied at 200, destroyed at 30,200.
    t.run(200, |r| r.leave("s1", "r9"));
    assert_eq!(t.engine().poll_timeout().map(|m| m.as_ms()), Some(30_200));
    t.advance(30_200);
    assert!(!t.exists("r9"));
    let last = t.transcript().last().unwrap();
    assert_eq!(
        (last.at, lines(&last.out)),
        (30_200, vec!["destroyed r9 empty".to_owned()])
    );
    pin!("switch_missing_create", t);
}

#[test]
fn create_if_missing_to_an_existing_target_joins_it_and_ignores_name_and_config() {
    let mut t = two_rooms();
    let switch = renamed(
        t.r.switch("s1", "r1", "r2", true, room_config(30, &[("topic", "new")])),
        "Renamed",
    );
    let outs = t.at(100, switch);
    assert_eq!(server_side(&outs), Vec::<String>::new(), "no room_created");
    assert_eq!(reply_room(&outs), ("r2".into(), "Room r2".into()));
    assert_eq!(t.engine().room_attributes(RoomId::new("r2")).unwrap(), []);
    // r2 keeps its delay 0: when both leave it goes at once.
    t.run(110, |r| r.leave("s3", "r2"));
    let outs = t.run(120, |r| r.leave("s1", "r2"));
    assert!(lines(&outs).contains(&"destroyed r2 empty".to_owned()));
    pin!("switch_create_existing", t);
}

#[test]
fn missing_target_at_the_server_room_limit_fails_with_server_room_limit() {
    let mut t = two_rooms_with(Config {
        max_rooms: 2,
        ..Config::default()
    });
    let (code, outs) = t.refused(100, |r| r.switch("s1", "r1", "r9", true, None));
    assert_eq!(code, ErrorCode::ServerRoomLimit);
    assert_eq!(
        lines(&outs),
        [
            "s1 r9 connecting/active_switch",
            "s1 r9 disconnected/switch_failed",
            "s1 reply server_room_limit"
        ]
    );
    assert_eq!(t.rooms("s1").unwrap(), ["r1"]);
    // Decision: with `create_if_missing` false nothing would be created, so the answer is
    // room_not_exist (the registry checks room_not_exist before server_room_limit).
    let (code, _) = t.refused(110, |r| r.switch("s1", "r1", "r9", false, None));
    assert_eq!(code, ErrorCode::RoomNotExist);
    // Decision: the limit is checked before the source is left, so a switch out of a room it
    // would empty (carol alone in r2, delay 0) still may not create a room.
    let (code, _) = t.refused(120, |r| r.switch("s3", "r2", "r9", true, None));
    assert_eq!(code, ErrorCode::ServerRoomLimit);
    assert!(t.exists("r2"));
    // An existing target needs no new room: the limit does not apply.
    let outs = t.run(130, |r| r.switch("s1", "r1", "r2", true, None));
    assert_eq!(error_of(&outs), None);
    pin!("switch_server_room_limit", t);
}

#[test]
fn full_target_fails_with_room_full() {
    let mut t = two_rooms_with(Config {
        max_members_per_room: 2,
        ..Config::default()
    });
    let (code, outs) = t.refused(100, |r| r.switch("s3", "r2", "r1", false, None));
    assert_eq!(code, ErrorCode::RoomFull);
    assert_eq!(
        lines(&outs),
        [
            "s3 r1 connecting/active_switch",
            "s3 r1 disconnected/switch_failed",
            "s3 reply room_full"
        ]
    );
    // create_if_missing changes nothing for a room that exists.
    let (code, _) = t.refused(110, |r| r.switch("s3", "r2", "r1", true, None));
    assert_eq!(code, ErrorCode::RoomFull);
    assert_eq!(t.rooms("s3").unwrap(), ["r2"]);
    assert_eq!(t.members("r1").unwrap(), ["alice", "bob"]);
    pin!("switch_room_full", t);
}

#[test]
fn a_source_the_caller_is_not_in_gives_user_not_in_room_only() {
    let mut t = two_rooms();
    // carol is in r2, not in r1; and nobody is in a room that does not exist.
    for (at, from) in [(100, "r1"), (110, "nowhere")] {
        let (code, outs) = t.refused(at, |r| r.switch("s3", from, "r9", true, None));
        assert_eq!(code, ErrorCode::UserNotInRoom);
        assert_eq!(lines(&outs), ["s3 reply user_not_in_room"]);
    }
    assert!(!t.exists("r9"));
    pin!("switch_not_in_source", t);
}

#[test]
fn a_target_already_joined_gives_user_already_in_room_only() {
    let mut t = two_rooms();
    t.run(40, |r| r.join("s1", "r2"));
    let (code, outs) = t.refused(100, |r| r.switch("s1", "r1", "r2", false, None));
    assert_eq!(code, ErrorCode::UserAlreadyInRoom);
    assert_eq!(lines(&outs), ["s1 reply user_already_in_room"]);
    // Source == target.
    let (code, outs) = t.refused(110, |r| r.switch("s1", "r1", "r1", true, None));
    assert_eq!(code, ErrorCode::UserAlreadyInRoom);
    assert_eq!(lines(&outs), ["s1 reply user_already_in_room"]);
    assert_eq!(t.rooms("s1").unwrap(), ["r1", "r2"]);
    pin!("switch_already_in_target", t);
}

#[test]
fn invalid_arguments_and_sessions_give_the_error_reply_only() {
    let mut t = two_rooms();
    let too_many: Vec<(String, String)> =
        (0..21).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let too_many: Vec<(&str, &str)> = too_many
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let cases: Vec<(Input, ErrorCode)> = vec![
        (
            t.r.switch("s1", "", "r2", false, None),
            ErrorCode::InvalidRoomId,
        ),
        (
            t.r.switch("s1", "r 1", "r2", false, None),
            ErrorCode::InvalidRoomId,
        ),
        (
            t.r.switch("s1", "r1", "", false, None),
            ErrorCode::InvalidRoomId,
        ),
        (
            t.r.switch("s1", "r1", "r*2", true, None),
            ErrorCode::InvalidRoomId,
        ),
        (
            renamed(t.r.switch("s1", "r1", "r2", false, None), &"n".repeat(65)),
            ErrorCode::InvalidRoomName,
        ),
        // The config is checked even when it would not be used (target exists / no create).
        (
            t.r.switch("s1", "r1", "r2", false, delay_s(10_801)),
            ErrorCode::InvalidConfig,
        ),
        (
            t.r.switch("s1", "r1", "r9", true, room_config(0, &too_many)),
            ErrorCode::InvalidConfig,
        ),
        (
            t.r.switch("nobody", "r1", "r2", false, None),
            ErrorCode::NotLoggedIn,
        ),
    ];
    for (i, (input, want)) in cases.into_iter().enumerate() {
        let caller = input.session().unwrap().as_str().to_owned();
        let (code, outs) = t.refused(100 + i as u64, |_| input);
        assert_eq!(code, want, "case {i}");
        assert_eq!(
            lines(&outs),
            [format!("{caller} reply {}", wire(&want))],
            "case {i}"
        );
    }
    assert_eq!(t.rooms("s1").unwrap(), ["r1"]);
    pin!("switch_invalid", t);
}

#[test]
fn switch_is_not_refused_by_the_joined_room_limit() {
    let mut t = two_rooms();
    for (i, room) in ["a2", "a3", "a4", "a5"].iter().enumerate() {
        t.run(40 + i as u64, |r| r.create("s1", room, None));
    }
    assert_eq!(t.rooms("s1").unwrap().len(), 5);
    let (code, _) = t.refused(50, |r| r.join("s1", "r2"));
    assert_eq!(code, ErrorCode::JoinedRoomLimit);
    // At the limit, a switch to an existing room and one that creates both work.
    let outs = t.run(100, |r| r.switch("s1", "r1", "r2", false, None));
    assert_eq!(error_of(&outs), None);
    let outs = t.run(110, |r| r.switch("s1", "a2", "r9", true, None));
    assert_eq!(error_of(&outs), None);
    assert_eq!(t.rooms("s1").unwrap(), ["a3", "a4", "a5", "r2", "r9"]);
    pin!("switch_at_joined_room_limit", t);
}

#[test]
fn an_emptied_source_with_delay_zero_is_destroyed_at_once() {
    let mut t = two_rooms();
    let outs = t.run(100, |r| r.switch("s3", "r2", "r1", false, None));
    assert_eq!(
        lines(&outs),
        [
            "s3 r1 connecting/active_switch",
            "s3 r1 connected/success",
            "s1 r1 joined carol",
            "s2 r1 joined carol",
            "s3 r2 disconnected/success",
            "destroyed r2 empty",
            "s3 reply ok"
        ]
    );
    assert!(!t.exists("r2"));
    pin!("switch_source_destroyed_at_once", t);
}

#[test]
fn an_emptied_source_waits_for_its_destroy_delay_and_a_switch_back_cancels_it() {
    let mut t = two_rooms();
    t.run(40, |r| r.leave("s2", "r1"));
    // alice alone in r1 (delay 90 s) switches out at 100: r1 waits until 90,100.
    let outs = t.run(100, |r| r.switch("s1", "r1", "r2", false, None));
    assert_eq!(
        server_side(&outs),
        Vec::<String>::new(),
        "not destroyed yet"
    );
    assert!(t.exists("r1"));
    assert_eq!(t.engine().poll_timeout().map(|m| m.as_ms()), Some(90_100));
    // Switching back before the deadline cancels the timer; r1 lives on.
    t.run(50_000, |r| r.switch("s1", "r2", "r1", false, None));
    assert_eq!(t.engine().pending_timers(), 0);
    t.advance(200_000);
    assert!(t.exists("r1"));
    // Out again: a fresh 90 s delay from that moment, fired at exactly its deadline.
    t.run(200_000, |r| r.switch("s1", "r1", "r2", false, None));
    t.advance(290_000);
    let last = t.transcript().last().unwrap();
    assert_eq!(
        (last.at, lines(&last.out)),
        (290_000, vec!["destroyed r1 empty".to_owned()])
    );
    assert!(!t.exists("r1"));
    pin!("switch_source_waits", t);
}

#[test]
fn each_recipient_sees_its_events_in_the_flow_order() {
    let mut t = two_rooms();
    t.logins(40, &[("s4", "dave"), ("s5", "erin")]);
    t.run(50, |r| r.join("s4", "r1"));
    t.run(60, |r| r.join("s5", "r2"));
    let outs = t.run(100, |r| r.switch("s1", "r1", "r2", false, None));
    assert_eq!(
        seen_by(&outs, "s1"),
        [
            "s1 r2 connecting/active_switch",
            "s1 r2 connected/success",
            "s1 r1 disconnected/success",
            "s1 reply ok"
        ]
    );
    for target_member in ["s3", "s5"] {
        assert_eq!(
            seen_by(&outs, target_member),
            [format!("{target_member} r2 joined alice")]
        );
    }
    for source_member in ["s2", "s4"] {
        assert_eq!(
            seen_by(&outs, source_member),
            [format!("{source_member} r1 left alice left")]
        );
    }
    // Emission order: the target side completes before the source is left.
    assert_eq!(
        lines(&outs),
        [
            "s1 r2 connecting/active_switch",
            "s1 r2 connected/success",
            "s3 r2 joined alice",
            "s5 r2 joined alice",
            "s1 r1 disconnected/success",
            "s2 r1 left alice left",
            "s4 r1 left alice left",
            "s1 reply ok"
        ]
    );
    pin!("switch_order_per_recipient", t);
}
