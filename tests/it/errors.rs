//! Every error code of the room lifecycle core, each with an explicit "state unchanged" check
//! (the serialized engine before and after, besides the harness's own check), and the documented
//! check order: session, then arguments, then the caller's relation to the
//! rooms named, then its limits, then the room registry.
use crate::common::*;
use roomcore::Config;

/// alice (s1) in r1; bob (s2) logged in, in no room.
fn world() -> T {
    world_with(Config::default())
}

fn world_with(config: Config) -> T {
    let mut t = T::with(config);
    t.logins(0, &[("s1", "alice"), ("s2", "bob")]);
    t.run(10, |r| r.create("s1", "r1", None));
    t
}

/// Applies a refused command and returns its code (state unchanged is checked inside).
fn code(t: &mut T, at: u64, make: impl FnOnce(&mut Requests) -> Input) -> ErrorCode {
    t.refused(at, make).0
}

fn long_name() -> String {
    "n".repeat(65)
}

// ---- one test per code -------------------------------------------------------------------

#[test]
fn room_not_exist() {
    let mut t = world();
    assert_eq!(
        code(&mut t, 100, |r| r.join("s2", "r9")),
        ErrorCode::RoomNotExist
    );
    assert_eq!(
        code(&mut t, 110, |r| r.dismiss("r9")),
        ErrorCode::RoomNotExist
    );
    assert_eq!(
        code(&mut t, 120, |r| r.kick("r9", &["alice"])),
        ErrorCode::RoomNotExist
    );
    pin!("room_not_exist", t);
}

#[test]
fn room_already_exists() {
    let mut t = world();
    assert_eq!(
        code(&mut t, 100, |r| r.create("s2", "r1", None)),
        ErrorCode::RoomAlreadyExists
    );
    pin!("room_already_exists", t);
}

#[test]
fn room_full() {
    let mut t = world_with(Config {
        max_members_per_room: 1,
        ..Config::default()
    });
    assert_eq!(
        code(&mut t, 100, |r| r.join("s2", "r1")),
        ErrorCode::RoomFull
    );
    assert_eq!(
        code(&mut t, 110, |r| r.enter("s2", "r1", None)),
        ErrorCode::RoomFull
    );
    pin!("room_full", t);
}

#[test]
fn server_room_limit() {
    let mut t = world_with(Config {
        max_rooms: 1,
        ..Config::default()
    });
    assert_eq!(
        code(&mut t, 100, |r| r.create("s2", "r2", None)),
        ErrorCode::ServerRoomLimit
    );
    assert_eq!(
        code(&mut t, 110, |r| r.enter("s2", "r2", None)),
        ErrorCode::ServerRoomLimit
    );
    assert_eq!(
        code(&mut t, 120, |r| r.switch("s1", "r1", "r2", true, None)),
        ErrorCode::ServerRoomLimit
    );
    pin!("server_room_limit", t);
}

#[test]
fn joined_room_limit() {
    let mut t = world_with(Config {
        max_rooms_per_session: 1,
        ..Config::default()
    });
    t.run(20, |r| r.create("s2", "r2", None));
    assert_eq!(
        code(&mut t, 100, |r| r.create("s1", "r3", None)),
        ErrorCode::JoinedRoomLimit
    );
    assert_eq!(
        code(&mut t, 110, |r| r.join("s1", "r2")),
        ErrorCode::JoinedRoomLimit
    );
    assert_eq!(
        code(&mut t, 120, |r| r.enter("s1", "r2", None)),
        ErrorCode::JoinedRoomLimit
    );
    pin!("joined_room_limit", t);
}

#[test]
fn user_already_in_room() {
    let mut t = world();
    assert_eq!(
        code(&mut t, 100, |r| r.join("s1", "r1")),
        ErrorCode::UserAlreadyInRoom
    );
    assert_eq!(
        code(&mut t, 110, |r| r.switch("s1", "r1", "r1", false, None)),
        ErrorCode::UserAlreadyInRoom
    );
    pin!("user_already_in_room", t);
}

#[test]
fn user_not_in_room() {
    let mut t = world();
    assert_eq!(
        code(&mut t, 100, |r| r.leave("s2", "r1")),
        ErrorCode::UserNotInRoom
    );
    assert_eq!(
        code(&mut t, 110, |r| r.switch("s2", "r1", "r2", true, None)),
        ErrorCode::UserNotInRoom
    );
    assert_eq!(
        code(&mut t, 120, |r| r.query("s2", "r1", "", 10)),
        ErrorCode::UserNotInRoom
    );
    pin!("user_not_in_room", t);
}

#[test]
fn room_connecting() {
    let mut t = world();
    t.at(50, link_lost("s1"));
    assert_eq!(
        code(&mut t, 100, |r| r.leave("s1", "r1")),
        ErrorCode::RoomConnecting
    );
    assert_eq!(
        code(&mut t, 110, |r| r.join("s1", "r1")),
        ErrorCode::RoomConnecting
    );
    pin!("room_connecting", t);
}

#[test]
fn invalid_room_id() {
    let mut t = world();
    for (at, id) in [(100, ""), (110, "r 1"), (120, "r/1"), (130, "房间")] {
        assert_eq!(
            code(&mut t, at, |r| r.join("s2", id)),
            ErrorCode::InvalidRoomId,
            "{id:?}"
        );
    }
    pin!("invalid_room_id", t);
}

#[test]
fn invalid_room_name() {
    let mut t = world();
    let name = long_name();
    assert_eq!(
        code(&mut t, 100, |r| renamed(r.create("s2", "r2", None), &name)),
        ErrorCode::InvalidRoomName
    );
    pin!("invalid_room_name", t);
}

#[test]
fn invalid_user_id() {
    let mut t = world();
    assert_eq!(
        code(&mut t, 100, |r| r.login("s3", "bad user")),
        ErrorCode::InvalidUserId
    );
    assert_eq!(
        code(&mut t, 110, |r| r.login("s3", "")),
        ErrorCode::InvalidUserId
    );
    assert_eq!(
        code(&mut t, 130, |r| r.kick("r1", &["bad user"])),
        ErrorCode::InvalidUserId
    );
    pin!("invalid_user_id", t);
    // After the pin: an overlong id is recorded as its 32-byte prefix (see ids.rs), which
    // would make the pinned input look valid.
    assert_eq!(
        code(&mut t, 140, |r| r.login("s3", &"u".repeat(33))),
        ErrorCode::InvalidUserId
    );
}

#[test]
fn invalid_config() {
    let mut t = world();
    assert_eq!(
        code(&mut t, 100, |r| r.create("s2", "r2", delay_s(10_801))),
        ErrorCode::InvalidConfig
    );
    let big = "v".repeat(1025);
    assert_eq!(
        code(&mut t, 110, |r| r.create(
            "s2",
            "r2",
            room_config(0, &[("k", &big)])
        )),
        ErrorCode::InvalidConfig
    );
    pin!("invalid_config", t);
}

#[test]
fn invalid_argument() {
    let mut t = world();
    assert_eq!(
        code(&mut t, 100, |r| r.login("", "carol")),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut t, 110, |r| r.login("s 3", "carol")),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut t, 120, |r| r.query("s1", "r1", "", 0)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut t, 130, |r| r.query("s1", "r1", "", 101)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut t, 140, |r| r.query("s1", "r1", "not a cursor", 10)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut t, 150, |r| r.kick("r1", &[])),
        ErrorCode::InvalidArgument
    );
    pin!("invalid_argument", t);
}

#[test]
fn not_logged_in() {
    let mut t = world();
    assert_eq!(
        code(&mut t, 100, |r| r.join("ghost", "r1")),
        ErrorCode::NotLoggedIn
    );
    assert_eq!(
        code(&mut t, 110, |r| r.logout("ghost")),
        ErrorCode::NotLoggedIn
    );
    pin!("not_logged_in", t);
}

#[test]
fn session_closed() {
    let mut t = world();
    t.run(50, |r| r.logout("s2"));
    assert_eq!(
        code(&mut t, 100, |r| r.join("s2", "r1")),
        ErrorCode::SessionClosed
    );
    assert_eq!(
        code(&mut t, 110, |r| r.logout("s2")),
        ErrorCode::SessionClosed
    );
    pin!("session_closed", t);
}

#[test]
fn already_logged_in() {
    let mut t = world();
    assert_eq!(
        code(&mut t, 100, |r| r.login("s1", "alice")),
        ErrorCode::AlreadyLoggedIn
    );
    assert_eq!(
        code(&mut t, 110, |r| r.login("s1", "carol")),
        ErrorCode::AlreadyLoggedIn
    );
    pin!("already_logged_in", t);
}

#[test]
fn session_limit() {
    let mut t = world_with(Config {
        max_sessions: 2,
        ..Config::default()
    });
    assert_eq!(
        code(&mut t, 100, |r| r.login("s3", "carol")),
        ErrorCode::SessionLimit
    );
    // Single-device policy: alice's new login replaces her old session, so it fits.
    let outs = t.run(110, |r| r.login("s3", "alice"));
    assert_eq!(error_of(&outs), None);
    assert_eq!(t.engine().session_count(), 2);
    pin!("session_limit", t);
}

// ---- check order -------------------------------------------------------------------------

#[test]
fn the_session_is_checked_before_the_arguments() {
    let mut t = world();
    t.run(50, |r| r.logout("s2"));
    let name = long_name();
    for session in ["ghost", "s2"] {
        let want = if session == "s2" {
            ErrorCode::SessionClosed
        } else {
            ErrorCode::NotLoggedIn
        };
        let bad_id = |r: &mut Requests| r.create(session, "bad id", delay_s(10_801));
        assert_eq!(code(&mut t, 100, bad_id), want);
        let bad_name = |r: &mut Requests| renamed(r.create(session, "r2", delay_s(10_801)), &name);
        assert_eq!(code(&mut t, 100, bad_name), want);
        let bad_switch = |r: &mut Requests| r.switch(session, "", "", true, delay_s(10_801));
        assert_eq!(code(&mut t, 100, bad_switch), want);
    }
    pin!("order_session_first", t);
}

#[test]
fn the_arguments_are_checked_before_the_relation() {
    let mut t = world();
    let name = long_name();
    // alice is in r1: a malformed create/enter of r1 is about the arguments, not the relation.
    assert_eq!(
        code(&mut t, 100, |r| renamed(r.create("s1", "r1", None), &name)),
        ErrorCode::InvalidRoomName
    );
    assert_eq!(
        code(&mut t, 110, |r| r.enter("s1", "r1", delay_s(10_801))),
        ErrorCode::InvalidConfig
    );
    // bob is not in r1: a switch to a malformed target is about the arguments.
    assert_eq!(
        code(&mut t, 120, |r| r.switch("s2", "r1", "bad id", false, None)),
        ErrorCode::InvalidRoomId
    );
    assert_eq!(
        code(&mut t, 130, |r| r.switch(
            "s1",
            "r1",
            "r1",
            false,
            delay_s(10_801)
        )),
        ErrorCode::InvalidConfig
    );
    pin!("order_arguments_before_relation", t);
}

#[test]
fn the_relation_is_checked_before_the_limits() {
    let mut t = world_with(Config {
        max_rooms_per_session: 1,
        ..Config::default()
    });
    // alice is at her limit of one room.
    assert_eq!(
        code(&mut t, 100, |r| r.join("s1", "r1")),
        ErrorCode::UserAlreadyInRoom
    );
    assert_eq!(
        code(&mut t, 110, |r| r.create("s1", "r1", None)),
        ErrorCode::UserAlreadyInRoom
    );
    // Within the relation checks the source comes first.
    assert_eq!(
        code(&mut t, 120, |r| r.switch("s1", "r9", "r1", false, None)),
        ErrorCode::UserNotInRoom
    );
    pin!("order_relation_before_limits", t);
}

#[test]
fn the_limits_are_checked_before_the_registry() {
    let mut t = world_with(Config {
        max_rooms_per_session: 1,
        max_rooms: 2,
        max_members_per_room: 1,
        ..Config::default()
    });
    t.run(20, |r| r.create("s2", "r2", None));
    // alice is at her room limit, the server at its room limit, r2 is full.
    for (at, make) in [
        (
            100,
            (|r: &mut Requests| r.join("s1", "r9")) as fn(&mut Requests) -> Input,
        ),
        (110, |r: &mut Requests| r.create("s1", "r2", None)),
        (120, |r: &mut Requests| r.create("s1", "r3", None)),
        (130, |r: &mut Requests| r.join("s1", "r2")),
    ] {
        let (c, outs) = t.refused(at, make);
        assert_eq!(c, ErrorCode::JoinedRoomLimit);
        assert_eq!(
            lines(&outs),
            ["s1 reply joined_room_limit"],
            "no flow started"
        );
    }
    pin!("order_limits_before_registry", t);
}

#[test]
fn within_the_registry_existence_comes_before_the_server_room_limit() {
    let mut t = world_with(Config {
        max_rooms: 2,
        max_members_per_room: 1,
        ..Config::default()
    });
    t.run(20, |r| r.create("s2", "r2", None));
    t.logins(30, &[("s3", "carol")]);
    // Server at its room limit: an existing id is room_already_exists...
    assert_eq!(
        code(&mut t, 100, |r| r.create("s3", "r1", None)),
        ErrorCode::RoomAlreadyExists
    );
    // ...a missing one that would not be created is room_not_exist...
    assert_eq!(
        code(&mut t, 110, |r| r.join("s3", "r9")),
        ErrorCode::RoomNotExist
    );
    assert_eq!(
        code(&mut t, 120, |r| r.switch("s2", "r2", "r9", false, None)),
        ErrorCode::RoomNotExist
    );
    // ...and an existing full room is room_full even for an enter that could create.
    assert_eq!(
        code(&mut t, 130, |r| r.enter("s3", "r1", None)),
        ErrorCode::RoomFull
    );
    pin!("order_registry", t);
}

#[test]
fn within_the_arguments_id_then_name_then_config() {
    // Decision (the product brief does not order the argument checks among themselves).
    let mut t = world();
    let name = long_name();
    assert_eq!(
        code(&mut t, 100, |r| renamed(
            r.create("s2", "bad id", delay_s(10_801)),
            &name
        )),
        ErrorCode::InvalidRoomId
    );
    assert_eq!(
        code(&mut t, 110, |r| renamed(
            r.create("s2", "r2", delay_s(10_801)),
            &name
        )),
        ErrorCode::InvalidRoomName
    );
    pin!("order_within_arguments", t);
}

#[test]
fn login_checks_the_session_id_then_the_user_then_the_limit() {
    let mut t = world_with(Config {
        max_sessions: 2,
        ..Config::default()
    });
    // The session id in use comes first, even with a malformed user.
    assert_eq!(
        code(&mut t, 100, |r| r.login("s1", "bad user")),
        ErrorCode::AlreadyLoggedIn
    );
    // Then the arguments: a malformed session id, then a malformed user...
    assert_eq!(
        code(&mut t, 110, |r| r.login("bad id", "bad user")),
        ErrorCode::InvalidArgument
    );
    // ...before the session limit.
    assert_eq!(
        code(&mut t, 120, |r| r.login("s3", "bad user")),
        ErrorCode::InvalidUserId
    );
    assert_eq!(
        code(&mut t, 130, |r| r.login("s3", "carol")),
        ErrorCode::SessionLimit
    );
    pin!("order_login", t);
}

#[test]
fn admin_checks_the_arguments_before_the_registry() {
    let mut t = world();
    assert_eq!(
        code(&mut t, 100, |r| r.kick("bad id", &[])),
        ErrorCode::InvalidRoomId
    );
    assert_eq!(
        code(&mut t, 110, |r| r.kick("r9", &[])),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(&mut t, 120, |r| r.kick("r9", &["bad user"])),
        ErrorCode::InvalidUserId
    );
    assert_eq!(
        code(&mut t, 130, |r| r.dismiss("bad id")),
        ErrorCode::InvalidRoomId
    );
    pin!("order_admin", t);
}
