//! Create, join and enter: the flow bracket (how a room flow looks to the caller), who is told what, `room_created` once per room,
//! and every registry and request-check refusal.
use crate::common::*;
use roomcore::{Config, ReplyOk, RoomId};

fn three_users() -> T {
    three_users_with(Config::default())
}

fn three_users_with(config: Config) -> T {
    let mut t = T::with(config);
    t.logins(0, &[("s1", "alice"), ("s2", "bob"), ("s3", "carol")]);
    t
}

fn reply_room(outs: &[Output]) -> (String, String) {
    match ok_of(outs) {
        Some(ReplyOk::Room { room, .. }) => (room.id.as_str().to_owned(), room.name.into()),
        other => panic!("expected a room reply, got {other:?}"),
    }
}

fn created_count(t: &T, room: &str) -> usize {
    t.transcript()
        .iter()
        .flat_map(|s| s.out.iter())
        .filter(|o| matches!(o, Output::RoomCreated { room_id, .. } if room_id.as_str() == room))
        .count()
}

#[test]
fn create_is_bracketed_and_makes_the_caller_the_first_member() {
    let mut t = three_users();
    let outs = t.run(10, |r| r.create("s1", "r1", None));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 connecting/active_create",
            "created r1",
            "s1 r1 connected/success",
            "s1 reply ok"
        ]
    );
    assert_eq!(reply_room(&outs), ("r1".into(), "Room r1".into()));
    assert_eq!(t.members("r1").unwrap(), ["alice"]);
    assert_eq!(t.rooms("s1").unwrap(), ["r1"]);
    pin!("create", t);
}

#[test]
fn join_tells_only_the_others_and_not_the_joiner_about_anyone() {
    let mut t = three_users();
    t.run(10, |r| r.create("s1", "r1", None));
    let outs = t.run(20, |r| r.join("s2", "r1"));
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 connecting/active_enter",
            "s2 r1 connected/success",
            "s1 r1 joined bob",
            "s2 reply ok"
        ]
    );
    let outs = t.run(30, |r| r.join("s3", "r1"));
    // The joiner hears nothing about itself nor about alice and bob (it would query them).
    assert_eq!(
        seen_by(&outs, "s3"),
        [
            "s3 r1 connecting/active_enter",
            "s3 r1 connected/success",
            "s3 reply ok"
        ]
    );
    assert_eq!(seen_by(&outs, "s1"), ["s1 r1 joined carol"]);
    assert_eq!(seen_by(&outs, "s2"), ["s2 r1 joined carol"]);
    assert_eq!(
        server_side(&outs),
        Vec::<String>::new(),
        "a join creates nothing"
    );
    assert_eq!(reply_room(&outs), ("r1".into(), "Room r1".into()));
    assert_eq!(t.members("r1").unwrap(), ["alice", "bob", "carol"]);
    pin!("join_tells_others", t);
}

#[test]
fn enter_creates_a_missing_room_with_its_name_and_config() {
    let mut t = three_users();
    let enter = renamed(
        t.r.enter("s1", "r1", room_config(60, &[("topic", "rust")])),
        "Rustaceans",
    );
    let outs = t.at(10, enter);
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 connecting/active_enter",
            "created r1",
            "s1 r1 connected/success",
            "s1 reply ok"
        ]
    );
    assert_eq!(reply_room(&outs), ("r1".into(), "Rustaceans".into()));
    assert_eq!(
        t.engine().room_attributes(RoomId::new("r1")).unwrap(),
        [("topic".to_owned(), "rust".to_owned())]
    );
    // The config's destroy delay applies: the emptied room waits 60 s.
    t.run(20, |r| r.leave("s1", "r1"));
    assert_eq!(t.engine().poll_timeout().map(|m| m.as_ms()), Some(60_020));
    assert!(t.exists("r1"));
    pin!("enter_creates", t);
}

#[test]
fn enter_joins_an_existing_room_and_ignores_its_name_and_config() {
    let mut t = three_users();
    t.run(10, |r| r.create("s1", "r1", None));
    let enter = renamed(
        t.r.enter("s2", "r1", room_config(600, &[("topic", "other")])),
        "Another name",
    );
    let outs = t.at(20, enter);
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 connecting/active_enter",
            "s2 r1 connected/success",
            "s1 r1 joined bob",
            "s2 reply ok"
        ]
    );
    // The reply names the room as it was created; the config's attributes are not applied.
    assert_eq!(reply_room(&outs), ("r1".into(), "Room r1".into()));
    assert_eq!(t.engine().room_attributes(RoomId::new("r1")).unwrap(), []);
    // Nor is its destroy delay: the room keeps the creator's delay 0 and goes at once.
    t.run(30, |r| r.leave("s1", "r1"));
    let outs = t.run(40, |r| r.leave("s2", "r1"));
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 disconnected/success",
            "destroyed r1 empty",
            "s2 reply ok"
        ]
    );
    assert!(!t.exists("r1"));
    pin!("enter_joins_existing", t);
}

#[test]
fn room_created_is_emitted_once_per_room_that_comes_into_existence() {
    let mut t = three_users();
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.enter("s2", "r2", None));
    t.run(30, |r| r.enter("s3", "r2", None));
    t.run(40, |r| r.join("s3", "r1"));
    let (code, _) = t.refused(50, |r| r.create("s2", "r1", None));
    assert_eq!(code, ErrorCode::RoomAlreadyExists);
    t.run(60, |r| r.switch("s1", "r1", "r3", true, None));
    assert_eq!(created_count(&t, "r1"), 1);
    assert_eq!(created_count(&t, "r2"), 1);
    assert_eq!(created_count(&t, "r3"), 1);
    // Once r3 is destroyed, entering it again brings a new room into existence.
    t.run(70, |r| r.leave("s1", "r3"));
    assert!(!t.exists("r3"));
    t.run(80, |r| r.enter("s1", "r3", None));
    assert_eq!(created_count(&t, "r3"), 2);
    pin!("room_created_once", t);
}

#[test]
fn create_join_enter_of_a_room_already_joined_is_user_already_in_room() {
    let mut t = three_users();
    t.run(10, |r| r.create("s1", "r1", None));
    // The relation check comes before the registry: not room_already_exists.
    let (code, outs) = t.refused(20, |r| r.create("s1", "r1", None));
    assert_eq!(code, ErrorCode::UserAlreadyInRoom);
    assert_eq!(lines(&outs), ["s1 reply user_already_in_room"]);
    let (code, outs) = t.refused(30, |r| r.join("s1", "r1"));
    assert_eq!(code, ErrorCode::UserAlreadyInRoom);
    assert_eq!(lines(&outs), ["s1 reply user_already_in_room"]);
    let (code, outs) = t.refused(40, |r| r.enter("s1", "r1", None));
    assert_eq!(code, ErrorCode::UserAlreadyInRoom);
    assert_eq!(lines(&outs), ["s1 reply user_already_in_room"]);
    assert_eq!(t.members("r1").unwrap(), ["alice"]);
    pin!("user_already_in_room", t);
}

#[test]
fn a_session_in_five_rooms_cannot_join_a_sixth() {
    let mut t = three_users();
    for (i, room) in ["r1", "r2", "r3", "r4", "r5"].iter().enumerate() {
        t.run(10 + i as u64, |r| r.create("s1", room, None));
    }
    t.run(20, |r| r.create("s2", "r6", None));
    let (code, outs) = t.refused(30, |r| r.join("s1", "r6"));
    assert_eq!(code, ErrorCode::JoinedRoomLimit);
    assert_eq!(lines(&outs), ["s1 reply joined_room_limit"]);
    let (code, outs) = t.refused(31, |r| r.create("s1", "r7", None));
    assert_eq!(code, ErrorCode::JoinedRoomLimit);
    assert_eq!(lines(&outs), ["s1 reply joined_room_limit"]);
    let (code, outs) = t.refused(32, |r| r.enter("s1", "r7", None));
    assert_eq!(code, ErrorCode::JoinedRoomLimit);
    assert_eq!(lines(&outs), ["s1 reply joined_room_limit"]);
    assert!(!t.exists("r7"));
    // One leave makes room for one more.
    t.run(40, |r| r.leave("s1", "r5"));
    let outs = t.run(50, |r| r.join("s1", "r6"));
    assert_eq!(error_of(&outs), None);
    assert_eq!(t.rooms("s1").unwrap(), ["r1", "r2", "r3", "r4", "r6"]);
    pin!("joined_room_limit", t);
}

#[test]
fn the_joined_room_limit_is_configurable() {
    let mut t = three_users_with(Config {
        max_rooms_per_session: 1,
        ..Config::default()
    });
    t.run(10, |r| r.create("s1", "r1", None));
    let (code, _) = t.refused(20, |r| r.create("s1", "r2", None));
    assert_eq!(code, ErrorCode::JoinedRoomLimit);
}

#[test]
fn join_or_enter_of_a_full_room_fails_inside_the_flow() {
    let mut t = three_users_with(Config {
        max_members_per_room: 2,
        ..Config::default()
    });
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.join("s2", "r1"));
    let (code, outs) = t.refused(30, |r| r.join("s3", "r1"));
    assert_eq!(code, ErrorCode::RoomFull);
    assert_eq!(
        lines(&outs),
        [
            "s3 r1 connecting/active_enter",
            "s3 r1 disconnected/enter_failed",
            "s3 reply room_full"
        ]
    );
    let (code, outs) = t.refused(40, |r| r.enter("s3", "r1", None));
    assert_eq!(code, ErrorCode::RoomFull);
    assert_eq!(
        lines(&outs),
        [
            "s3 r1 connecting/active_enter",
            "s3 r1 disconnected/enter_failed",
            "s3 reply room_full"
        ]
    );
    assert_eq!(t.members("r1").unwrap(), ["alice", "bob"]);
    // A seat frees up when someone leaves.
    t.run(50, |r| r.leave("s2", "r1"));
    assert_eq!(error_of(&t.run(60, |r| r.join("s3", "r1"))), None);
    pin!("room_full", t);
}

#[test]
fn creating_past_the_server_room_limit_fails_inside_the_flow() {
    let mut t = three_users_with(Config {
        max_rooms: 2,
        ..Config::default()
    });
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.create("s2", "r2", None));
    let (code, outs) = t.refused(30, |r| r.create("s3", "r3", None));
    assert_eq!(code, ErrorCode::ServerRoomLimit);
    assert_eq!(
        lines(&outs),
        [
            "s3 r3 connecting/active_create",
            "s3 r3 disconnected/create_failed",
            "s3 reply server_room_limit"
        ]
    );
    let (code, outs) = t.refused(40, |r| r.enter("s3", "r3", None));
    assert_eq!(code, ErrorCode::ServerRoomLimit);
    assert_eq!(
        lines(&outs),
        [
            "s3 r3 connecting/active_enter",
            "s3 r3 disconnected/enter_failed",
            "s3 reply server_room_limit"
        ]
    );
    // Entering an existing room creates nothing, so the limit does not apply.
    assert_eq!(error_of(&t.run(50, |r| r.enter("s3", "r1", None))), None);
    assert_eq!(t.engine().room_count(), 2);
    pin!("server_room_limit", t);
}

#[test]
fn creating_an_existing_room_fails_inside_the_flow_and_tells_nobody_else() {
    let mut t = three_users();
    t.run(10, |r| r.create("s1", "r1", None));
    let (code, outs) = t.refused(20, |r| r.create("s2", "r1", None));
    assert_eq!(code, ErrorCode::RoomAlreadyExists);
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 connecting/active_create",
            "s2 r1 disconnected/create_failed",
            "s2 reply room_already_exists"
        ]
    );
    assert_eq!(t.members("r1").unwrap(), ["alice"]);
    pin!("room_already_exists", t);
}

#[test]
fn joining_a_missing_room_fails_inside_the_flow() {
    let mut t = three_users();
    let (code, outs) = t.refused(10, |r| r.join("s1", "nowhere"));
    assert_eq!(code, ErrorCode::RoomNotExist);
    assert_eq!(
        lines(&outs),
        [
            "s1 nowhere connecting/active_enter",
            "s1 nowhere disconnected/enter_failed",
            "s1 reply room_not_exist"
        ]
    );
    assert!(!t.exists("nowhere"));
    pin!("room_not_exist", t);
}

#[test]
fn request_check_errors_give_the_error_reply_only() {
    let mut t = three_users();
    t.run(10, |r| r.create("s1", "r1", None));
    let long_name = "n".repeat(65);
    let cases: Vec<(Input, ErrorCode)> = vec![
        (t.r.create("s2", "", None), ErrorCode::InvalidRoomId),
        (t.r.create("s2", "a b", None), ErrorCode::InvalidRoomId),
        (t.r.join("s2", "r/1"), ErrorCode::InvalidRoomId),
        (t.r.enter("s2", "r,1", None), ErrorCode::InvalidRoomId),
        (
            renamed(t.r.create("s2", "r2", None), &long_name),
            ErrorCode::InvalidRoomName,
        ),
        (
            renamed(t.r.enter("s2", "r1", None), &long_name),
            ErrorCode::InvalidRoomName,
        ),
        (
            t.r.create("s2", "r2", delay_s(10_801)),
            ErrorCode::InvalidConfig,
        ),
        (
            t.r.enter("s2", "r1", delay_s(10_801)),
            ErrorCode::InvalidConfig,
        ),
        (t.r.join("nobody", "r1"), ErrorCode::NotLoggedIn),
        (t.r.create("nobody", "r2", None), ErrorCode::NotLoggedIn),
        (t.r.enter("nobody", "r1", None), ErrorCode::NotLoggedIn),
    ];
    for (i, (input, want)) in cases.into_iter().enumerate() {
        let caller = input.session().unwrap().as_str().to_owned();
        let (code, outs) = t.refused(20 + i as u64, |_| input);
        assert_eq!(code, want, "case {i}");
        assert_eq!(
            lines(&outs),
            [format!("{caller} reply {}", wire(&want))],
            "case {i}"
        );
    }
    assert_eq!(t.engine().room_count(), 1);
    pin!("request_check_errors", t);
}

#[test]
fn ids_and_names_at_their_limits_are_accepted() {
    let mut t = three_users();
    let id = "a".repeat(32);
    // 64 bytes of UTF-8 (32 two-byte characters): the limit is in bytes.
    let name = "é".repeat(32);
    let outs = t.run(10, |r| renamed(r.create("s1", &id, None), &name));
    assert_eq!(error_of(&outs), None);
    assert_eq!(reply_room(&outs), (id.clone(), name));
    let punctuation = "!#$%&()+-:;<=.>?@[]^_{}|~";
    let outs = t.run(20, |r| r.enter("s2", punctuation, None));
    assert_eq!(error_of(&outs), None);
    let outs = t.run(30, |r| renamed(r.create("s3", "empty-name", None), ""));
    assert_eq!(reply_room(&outs), ("empty-name".into(), String::new()));
    // 33 bytes of UTF-8 in the name limit's units: one byte over.
    let (code, _) = t.refused(40, |r| {
        renamed(r.create("s3", "r9", None), &format!("{}a", "é".repeat(32)))
    });
    assert_eq!(code, ErrorCode::InvalidRoomName);
}

/// Not pinned: an id longer than the inline capacity is kept as its 32-byte prefix, so the
/// recorded input would show a valid-looking id (see the report on id serialization).
#[test]
fn overlong_room_ids_are_invalid() {
    let mut t = three_users();
    let long_id = "x".repeat(33);
    let (code, outs) = t.refused(10, |r| r.join("s1", &long_id));
    assert_eq!(code, ErrorCode::InvalidRoomId);
    assert_eq!(lines(&outs), ["s1 reply invalid_room_id"]);
    let (code, _) = t.refused(20, |r| r.create("s1", &"y".repeat(1000), None));
    assert_eq!(code, ErrorCode::InvalidRoomId);
}

/// Every join into a named room answers with the room's name, and the answer shares the
/// text the room keeps: a steady join allocates nothing for it.
#[test]
fn join_replies_share_the_room_name_instead_of_copying_it() {
    let mut t = three_users();
    let created = t.run(10, |r| r.create("s1", "r1", None));
    let joined = t.run(20, |r| r.join("s2", "r1"));
    let entered = t.run(30, |r| r.enter("s3", "r1", None));
    let names: Vec<roomcore::RoomName> = [&created, &joined, &entered]
        .iter()
        .map(|outs| match ok_of(outs) {
            Some(ReplyOk::Room { room, .. }) => room.name,
            other => panic!("expected a room reply, got {other:?}"),
        })
        .collect();
    assert_eq!(names[0], "Room r1");
    for name in &names[1..] {
        assert_eq!(name, &names[0]);
        assert_eq!(
            name.as_ptr(),
            names[0].as_ptr(),
            "the same text, not a copy"
        );
    }
}
