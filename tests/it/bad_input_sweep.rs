//! A sweep of bad inputs: for every input type, every field made invalid in every way its
//! type allows (empty, overlong and bad-charset ids; names one byte too long; out-of-range
//! configs; page sizes 0 and 101; malformed and foreign cursors; empty and oversized lists;
//! oversized payloads and attributes; unknown, closed and reconnecting callers). Each must
//! answer its typed error, change nothing, tell only the caller, and not panic. The checking
//! harness verifies "state unchanged, outputs only to the caller" on every refused step; the
//! sweep checks the code.

use roomcore::{Config, ErrorCode, Input, Output, RoomConfig, RoomId, RoomInfo, SessionId, UserId};
use roomcore_testkit::{checks::snapshot, Harness};
use std::collections::BTreeMap;

use ErrorCode::*;

fn sid(s: &str) -> SessionId {
    SessionId::new(s)
}
fn rid(s: &str) -> RoomId {
    RoomId::new(s)
}
fn uid(s: &str) -> UserId {
    UserId::new(s)
}
fn info(id: &str, name: &str) -> RoomInfo {
    RoomInfo {
        id: rid(id),
        name: name.to_owned(),
    }
}
fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Ids the type can hold that are not valid: empty, one byte over 32 (stored overlong),
/// characters outside the alphabet, and a non-ASCII one.
fn bad_ids() -> Vec<String> {
    vec![
        String::new(),
        "x".repeat(33),
        "a b".to_owned(),
        "a,b".to_owned(),
        "é".to_owned(),
        "a/b".to_owned(),
    ]
}

const AT: u64 = 1000;

/// The state every case starts from, at time 1000:
/// - s1 (alice) and s2 (bob) in r1; alice owns attribute `k` of r1;
/// - s3 (carol) has logged out (its id answers `session_closed`);
/// - s4 (dave) is in r2 and its link is lost (r2 answers `room_connecting` for it);
/// - the paging cursor of r1 after one member is returned (when the config let bob in).
fn base(config: Config) -> (Harness, Option<String>) {
    let mut h = Harness::new(config).expect("valid config");
    let mut n = 0;
    let mut req = || {
        n += 1;
        n
    };
    let steps = vec![
        Input::Login {
            session: sid("s1"),
            request: req(),
            user: uid("alice"),
        },
        Input::Login {
            session: sid("s2"),
            request: req(),
            user: uid("bob"),
        },
        Input::Login {
            session: sid("s3"),
            request: req(),
            user: uid("carol"),
        },
        Input::Login {
            session: sid("s4"),
            request: req(),
            user: uid("dave"),
        },
        Input::CreateRoom {
            session: sid("s1"),
            request: req(),
            room: info("r1", "one"),
            config: Some(RoomConfig {
                destroy_delay_s: 60,
                ..RoomConfig::default()
            }),
        },
        Input::JoinRoom {
            session: sid("s2"),
            request: req(),
            room_id: rid("r1"),
        },
        Input::SetRoomAttributes {
            session: sid("s1"),
            request: req(),
            room_id: rid("r1"),
            attributes: map(&[("k", "v")]),
            is_force: false,
            is_update_owner: false,
            is_delete_after_owner_left: false,
        },
        Input::EnterRoom {
            session: sid("s4"),
            request: req(),
            room: info("r2", "two"),
            config: None,
        },
        Input::Logout {
            session: sid("s3"),
            request: req(),
        },
        Input::LinkLost { session: sid("s4") },
    ];
    for i in steps {
        h.step(AT, i).expect("setup passes its checks");
    }
    let out = h
        .step(
            AT,
            Input::QueryMembers {
                session: sid("s1"),
                request: req(),
                room_id: rid("r1"),
                next: String::new(),
                count: 1,
            },
        )
        .expect("query passes");
    // Absent when a restrictive config kept bob out of r1.
    let cursor = out.iter().find_map(|o| match o {
        Output::Reply {
            outcome: roomcore::Outcome::Ok(roomcore::ReplyOk::Members { next, .. }),
            ..
        } if !next.is_empty() => Some(next.clone()),
        _ => None,
    });
    h.transcript.clear();
    (h, cursor)
}

/// Applies `input` to a copy of `h`: it must be refused with `code`, change nothing, and
/// (the harness checks) tell only the caller.
fn refused(h: &Harness, input: Input, code: ErrorCode) {
    let mut h = h.clone();
    let before = snapshot(&h.engine).expect("serializes");
    let what = format!("{input:?}");
    let out = h
        .step(AT, input)
        .unwrap_or_else(|e| panic!("{what}: check failed: {e}"));
    let got = out.iter().find_map(|o| match o {
        Output::Reply { outcome, .. } | Output::AdminReply { outcome, .. } => outcome.error_code(),
        _ => None,
    });
    assert_eq!(got, Some(code), "{what}: outputs {out:?}");
    assert_eq!(
        snapshot(&h.engine).expect("serializes"),
        before,
        "{what} changed the state"
    );
}

/// The kind of an input. Exhaustive on purpose: a new input type fails to compile here
/// until the sweep covers it.
fn kind(i: &Input) -> &'static str {
    match i {
        Input::Login { .. } => "login",
        Input::Logout { .. } => "logout",
        Input::LinkLost { .. } => "link_lost",
        Input::LinkRestored { .. } => "link_restored",
        Input::CreateRoom { .. } => "create_room",
        Input::JoinRoom { .. } => "join_room",
        Input::EnterRoom { .. } => "enter_room",
        Input::SwitchRoom { .. } => "switch_room",
        Input::LeaveRoom { .. } => "leave_room",
        Input::LeaveAllRooms { .. } => "leave_all_rooms",
        Input::QueryMembers { .. } => "query_members",
        Input::SetRoomAttributes { .. } => "set_room_attributes",
        Input::DeleteRoomAttributes { .. } => "delete_room_attributes",
        Input::SendRoomMessage { .. } => "send_room_message",
        Input::SetRoomMembersAttributes { .. } => "set_room_members_attributes",
        Input::DeleteRoomMembersAttributes { .. } => "delete_room_members_attributes",
        Input::QueryRoomMembersAttributes { .. } => "query_room_members_attributes",
        Input::RemoveUsers { .. } => "remove_users",
        Input::DismissRoom { .. } => "dismiss_room",
        Input::Tick => "tick",
    }
}

/// One otherwise valid instance of every session command (login aside), by `session`,
/// about room r1.
fn session_commands(session: SessionId) -> Vec<Input> {
    let request = 900;
    let room_id = rid("r1");
    vec![
        Input::Logout { session, request },
        Input::CreateRoom {
            session,
            request,
            room: info("r9", "nine"),
            config: None,
        },
        Input::JoinRoom {
            session,
            request,
            room_id,
        },
        Input::EnterRoom {
            session,
            request,
            room: info("r9", "nine"),
            config: None,
        },
        Input::SwitchRoom {
            session,
            request,
            from: room_id,
            to: info("r9", "nine"),
            create_if_missing: true,
            config: None,
        },
        Input::LeaveRoom {
            session,
            request,
            room_id,
        },
        Input::LeaveAllRooms { session, request },
        Input::QueryMembers {
            session,
            request,
            room_id,
            next: String::new(),
            count: 10,
        },
        Input::SetRoomAttributes {
            session,
            request,
            room_id,
            attributes: map(&[("x", "y")]),
            is_force: true,
            is_update_owner: false,
            is_delete_after_owner_left: false,
        },
        Input::DeleteRoomAttributes {
            session,
            request,
            room_id,
            keys: vec!["k".to_owned()],
            is_force: true,
        },
        Input::SendRoomMessage {
            session,
            request,
            room_id,
            payload: "hi".to_owned(),
        },
        Input::SetRoomMembersAttributes {
            session,
            request,
            room_id,
            attributes: map(&[("a", "b")]),
            user_ids: None,
        },
        Input::DeleteRoomMembersAttributes {
            session,
            request,
            room_id,
            keys: vec!["a".to_owned()],
            user_ids: None,
        },
        Input::QueryRoomMembersAttributes {
            session,
            request,
            room_id,
            user_ids: None,
        },
    ]
}

#[test]
fn unknown_closed_and_malformed_callers() {
    let (h, _) = base(Config::default());
    let mut kinds = std::collections::BTreeSet::new();
    for cmd in session_commands(sid("s1")) {
        kinds.insert(kind(&cmd));
    }
    assert_eq!(kinds.len(), 14, "every session command but login");
    let mut callers: Vec<(SessionId, ErrorCode)> =
        vec![(sid("s9"), NotLoggedIn), (sid("s3"), SessionClosed)];
    for bad in bad_ids() {
        callers.push((sid(&bad), NotLoggedIn));
    }
    for (caller, code) in callers {
        for cmd in session_commands(caller) {
            refused(&h, cmd, code);
        }
    }
}

#[test]
fn login() {
    let (h, _) = base(Config::default());
    let login = |s: &str, u: &str| Input::Login {
        session: sid(s),
        request: 1,
        user: uid(u),
    };
    for bad in bad_ids() {
        refused(&h, login(&bad, "zed"), InvalidArgument);
        refused(&h, login("s9", &bad), InvalidUserId);
    }
    refused(&h, login("s1", "zed"), AlreadyLoggedIn);
    // The session is checked before the arguments.
    refused(&h, login("s1", ""), AlreadyLoggedIn);
    let (small, _) = base(Config {
        user_id_max_bytes: 3,
        ..Config::default()
    });
    refused(&small, login("s9", "abcd"), InvalidUserId);
    let (full, _) = base(Config {
        max_sessions: 2,
        ..Config::default()
    });
    refused(&full, login("s9", "zed"), SessionLimit);
}

#[test]
fn link_events_of_unknown_or_closed_sessions_do_nothing() {
    let (h, _) = base(Config::default());
    let mut ids: Vec<String> = bad_ids();
    ids.extend(["s9".to_owned(), "s3".to_owned()]);
    for s in ids {
        for input in [
            Input::LinkLost { session: sid(&s) },
            Input::LinkRestored { session: sid(&s) },
        ] {
            let mut h = h.clone();
            let before = snapshot(&h.engine).expect("serializes");
            let what = format!("{input:?}");
            let out = h.step(AT, input).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(out.is_empty(), "{what}: {out:?}");
            assert_eq!(
                snapshot(&h.engine).expect("serializes"),
                before,
                "{what} changed the state"
            );
        }
    }
}

fn room_config(delay: u64, attributes: BTreeMap<String, String>) -> Option<RoomConfig> {
    Some(RoomConfig {
        destroy_delay_s: delay,
        attributes,
        ..RoomConfig::default()
    })
}

/// Room configs that break a limit: the delay, and each attribute limit.
fn bad_room_configs() -> Vec<Option<RoomConfig>> {
    let many: BTreeMap<String, String> =
        (0..21).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let big: BTreeMap<String, String> = (0..6)
        .map(|i| (format!("k{i}"), "v".repeat(1000)))
        .collect();
    vec![
        room_config(10_801, BTreeMap::new()),
        room_config(u64::MAX, BTreeMap::new()),
        room_config(0, many),
        room_config(0, map(&[(&"k".repeat(17), "v")])),
        room_config(0, map(&[("k", &"v".repeat(1025))])),
        room_config(0, big),
        room_config(0, map(&[("", "v")])),
    ]
}

#[test]
fn create_and_enter() {
    let (h, _) = base(Config::default());
    let s = sid("s1");
    let create = |room: RoomInfo, config| Input::CreateRoom {
        session: s,
        request: 1,
        room,
        config,
    };
    let enter = |room: RoomInfo, config| Input::EnterRoom {
        session: s,
        request: 1,
        room,
        config,
    };
    for make in [
        &create as &dyn Fn(RoomInfo, Option<RoomConfig>) -> Input,
        &enter,
    ] {
        for bad in bad_ids() {
            refused(&h, make(info(&bad, "n"), None), InvalidRoomId);
        }
        refused(&h, make(info("r9", &"n".repeat(65)), None), InvalidRoomName);
        // 33 two-byte characters: 66 bytes, over the 64-byte limit.
        refused(&h, make(info("r9", &"é".repeat(33)), None), InvalidRoomName);
        for config in bad_room_configs() {
            refused(&h, make(info("r9", "n"), config), InvalidConfig);
        }
        refused(&h, make(info("r1", "n"), None), UserAlreadyInRoom);
    }
    refused(&h, create(info("r2", "n"), None), RoomAlreadyExists);
    let (small, _) = base(Config {
        room_id_max_bytes: 2,
        ..Config::default()
    });
    refused(&small, create(info("r99", "n"), None), InvalidRoomId);
    let (limited, _) = base(Config {
        max_rooms_per_session: 1,
        ..Config::default()
    });
    refused(&limited, create(info("r9", "n"), None), JoinedRoomLimit);
    refused(&limited, enter(info("r2", "n"), None), JoinedRoomLimit);
    let (full, _) = base(Config {
        max_rooms: 2,
        ..Config::default()
    });
    refused(&full, create(info("r9", "n"), None), ServerRoomLimit);
    refused(&full, enter(info("r9", "n"), None), ServerRoomLimit);
    let (crowded, _) = base(Config {
        max_members_per_room: 1,
        ..Config::default()
    });
    refused(&crowded, enter(info("r2", "n"), None), RoomFull);
}

#[test]
fn join() {
    let (h, _) = base(Config::default());
    let join = |s: &str, r: &str| Input::JoinRoom {
        session: sid(s),
        request: 1,
        room_id: rid(r),
    };
    for bad in bad_ids() {
        refused(&h, join("s1", &bad), InvalidRoomId);
    }
    refused(&h, join("s1", "r9"), RoomNotExist);
    refused(&h, join("s1", "r1"), UserAlreadyInRoom);
    refused(&h, join("s4", "r2"), RoomConnecting);
    let (crowded, _) = base(Config {
        max_members_per_room: 2,
        ..Config::default()
    });
    refused(&crowded, join("s4", "r1"), RoomFull);
}

#[test]
fn switch() {
    let (h, _) = base(Config::default());
    let switch = |s: &str, from: &str, to: RoomInfo, cim: bool, config| Input::SwitchRoom {
        session: sid(s),
        request: 1,
        from: rid(from),
        to,
        create_if_missing: cim,
        config,
    };
    for bad in bad_ids() {
        refused(
            &h,
            switch("s1", &bad, info("r2", "n"), false, None),
            InvalidRoomId,
        );
        refused(
            &h,
            switch("s1", "r1", info(&bad, "n"), true, None),
            InvalidRoomId,
        );
    }
    refused(
        &h,
        switch("s1", "r1", info("r9", &"n".repeat(65)), true, None),
        InvalidRoomName,
    );
    for config in bad_room_configs() {
        refused(
            &h,
            switch("s1", "r1", info("r9", "n"), true, config),
            InvalidConfig,
        );
    }
    refused(
        &h,
        switch("s1", "r2", info("r9", "n"), true, None),
        UserNotInRoom,
    );
    refused(
        &h,
        switch("s1", "r1", info("r1", "n"), true, None),
        UserAlreadyInRoom,
    );
    refused(
        &h,
        switch("s1", "r1", info("r9", "n"), false, None),
        RoomNotExist,
    );
    refused(
        &h,
        switch("s4", "r2", info("r1", "n"), false, None),
        RoomConnecting,
    );
    let (full, _) = base(Config {
        max_rooms: 2,
        ..Config::default()
    });
    refused(
        &full,
        switch("s1", "r1", info("r9", "n"), true, None),
        ServerRoomLimit,
    );
    let (crowded, _) = base(Config {
        max_members_per_room: 1,
        ..Config::default()
    });
    refused(
        &crowded,
        switch("s1", "r1", info("r2", "n"), false, None),
        RoomFull,
    );
}

#[test]
fn leave_and_leave_all() {
    let (h, _) = base(Config::default());
    let leave = |s: &str, r: &str| Input::LeaveRoom {
        session: sid(s),
        request: 1,
        room_id: rid(r),
    };
    for bad in bad_ids() {
        refused(&h, leave("s1", &bad), InvalidRoomId);
    }
    refused(&h, leave("s1", "r2"), UserNotInRoom);
    refused(&h, leave("s1", "r9"), UserNotInRoom);
    refused(&h, leave("s4", "r2"), RoomConnecting);
    refused(
        &h,
        Input::LeaveAllRooms {
            session: sid("s4"),
            request: 1,
        },
        RoomConnecting,
    );
}

#[test]
fn query_members() {
    let (h, cursor) = base(Config::default());
    let query = |s: &str, r: &str, next: &str, count: u32| Input::QueryMembers {
        session: sid(s),
        request: 1,
        room_id: rid(r),
        next: next.to_owned(),
        count,
    };
    for bad in bad_ids() {
        refused(&h, query("s1", &bad, "", 10), InvalidRoomId);
    }
    for count in [0, 101, u32::MAX] {
        refused(&h, query("s1", "r1", "", count), InvalidArgument);
    }
    for next in [
        "zz",
        "1",
        ".",
        "1.2.3",
        "g.1",
        "-1.1",
        "ffffffffffffffffffff.1",
        " 1.1",
    ] {
        refused(&h, query("s1", "r1", next, 10), InvalidArgument);
    }
    refused(&h, query("s1", "r2", "", 10), UserNotInRoom);
    refused(&h, query("s4", "r2", "", 10), RoomConnecting);
    // r1's cursor, from the query in `base`, is foreign to r2.
    let (h2, _) = base(Config::default());
    let mut h2 = h2;
    h2.step(
        AT,
        Input::JoinRoom {
            session: sid("s1"),
            request: 2,
            room_id: rid("r2"),
        },
    )
    .expect("join");
    let cursor = cursor.expect("two members in r1, a page of one: a cursor");
    refused(&h2, query("s1", "r2", &cursor, 10), InvalidArgument);
}

#[test]
fn room_attributes() {
    let (h, _) = base(Config::default());
    let set = |s: &str, r: &str, a: BTreeMap<String, String>| Input::SetRoomAttributes {
        session: sid(s),
        request: 1,
        room_id: rid(r),
        attributes: a,
        is_force: false,
        is_update_owner: false,
        is_delete_after_owner_left: false,
    };
    let delete = |s: &str, r: &str, keys: &[&str]| Input::DeleteRoomAttributes {
        session: sid(s),
        request: 1,
        room_id: rid(r),
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        is_force: false,
    };
    for bad in bad_ids() {
        refused(&h, set("s1", &bad, map(&[("a", "b")])), InvalidRoomId);
        refused(&h, delete("s1", &bad, &["k"]), InvalidRoomId);
    }
    refused(&h, set("s1", "r1", BTreeMap::new()), InvalidArgument);
    refused(&h, set("s1", "r1", map(&[("", "v")])), InvalidArgument);
    refused(&h, delete("s1", "r1", &[]), InvalidArgument);
    refused(&h, delete("s1", "r1", &[""]), InvalidArgument);
    refused(
        &h,
        set("s1", "r1", map(&[(&"k".repeat(17), "v")])),
        AttributeLimit,
    );
    refused(
        &h,
        set("s1", "r1", map(&[("a", &"v".repeat(1025))])),
        AttributeLimit,
    );
    let many: BTreeMap<String, String> =
        (0..20).map(|i| (format!("n{i}"), "v".to_owned())).collect();
    refused(&h, set("s1", "r1", many), AttributeLimit);
    let big: BTreeMap<String, String> = (0..6)
        .map(|i| (format!("n{i}"), "v".repeat(1000)))
        .collect();
    refused(&h, set("s1", "r1", big), AttributeLimit);
    refused(&h, set("s2", "r1", map(&[("k", "w")])), AttributeNotOwner);
    refused(&h, delete("s2", "r1", &["k"]), AttributeNotOwner);
    refused(&h, set("s1", "r2", map(&[("a", "b")])), UserNotInRoom);
    refused(&h, delete("s1", "r2", &["a"]), UserNotInRoom);
    refused(&h, set("s4", "r2", map(&[("a", "b")])), RoomConnecting);
    refused(&h, delete("s4", "r2", &["a"]), RoomConnecting);
}

#[test]
fn room_messages() {
    let (h, _) = base(Config::default());
    let send = |s: &str, r: &str, payload: String| Input::SendRoomMessage {
        session: sid(s),
        request: 1,
        room_id: rid(r),
        payload,
    };
    for bad in bad_ids() {
        refused(&h, send("s1", &bad, "hi".to_owned()), InvalidRoomId);
    }
    refused(
        &h,
        send("s1", "r1", "p".repeat(32 * 1024 + 1)),
        PayloadTooLarge,
    );
    refused(&h, send("s1", "r2", "hi".to_owned()), UserNotInRoom);
    refused(&h, send("s4", "r2", "hi".to_owned()), RoomConnecting);
    let (mut limited, _) = base(Config {
        message_rate_per_s: 1,
        message_burst: 1,
        ..Config::default()
    });
    limited
        .step(AT, send("s1", "r1", "one".to_owned()))
        .expect("first message passes");
    refused(&limited, send("s1", "r1", "two".to_owned()), RateLimited);
}

#[test]
fn member_attributes() {
    let (h, _) = base(Config::default());
    let set = |s: &str, r: &str, a: BTreeMap<String, String>, users: Option<Vec<UserId>>| {
        Input::SetRoomMembersAttributes {
            session: sid(s),
            request: 1,
            room_id: rid(r),
            attributes: a,
            user_ids: users,
        }
    };
    let delete =
        |s: &str, keys: &[&str], users: Option<Vec<UserId>>| Input::DeleteRoomMembersAttributes {
            session: sid(s),
            request: 1,
            room_id: rid("r1"),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            user_ids: users,
        };
    let query = |s: &str, r: &str, users: Option<Vec<UserId>>| Input::QueryRoomMembersAttributes {
        session: sid(s),
        request: 1,
        room_id: rid(r),
        user_ids: users,
    };
    for bad in bad_ids() {
        refused(&h, set("s1", &bad, map(&[("a", "b")]), None), InvalidRoomId);
        refused(&h, query("s1", &bad, None), InvalidRoomId);
        refused(
            &h,
            set("s1", "r1", map(&[("a", "b")]), Some(vec![uid(&bad)])),
            InvalidUserId,
        );
        refused(&h, query("s1", "r1", Some(vec![uid(&bad)])), InvalidUserId);
    }
    refused(&h, set("s1", "r1", BTreeMap::new(), None), InvalidArgument);
    refused(
        &h,
        set("s1", "r1", map(&[("", "b")]), None),
        InvalidArgument,
    );
    refused(
        &h,
        set("s1", "r1", map(&[("a", "b")]), Some(Vec::new())),
        InvalidArgument,
    );
    let too_many: Vec<UserId> = (0..101).map(|i| uid(&format!("u{i}"))).collect();
    refused(
        &h,
        set("s1", "r1", map(&[("a", "b")]), Some(too_many.clone())),
        InvalidArgument,
    );
    refused(&h, query("s1", "r1", Some(too_many)), InvalidArgument);
    refused(&h, delete("s1", &[], None), InvalidArgument);
    refused(&h, delete("s1", &[""], None), InvalidArgument);
    refused(
        &h,
        set("s1", "r1", map(&[(&"k".repeat(9), "b")]), None),
        AttributeLimit,
    );
    refused(
        &h,
        set("s1", "r1", map(&[("a", &"v".repeat(65))]), None),
        AttributeLimit,
    );
    refused(&h, set("s1", "r2", map(&[("a", "b")]), None), UserNotInRoom);
    refused(&h, query("s4", "r2", None), RoomConnecting);
}

#[test]
fn admin_commands() {
    let (h, _) = base(Config::default());
    let kick = |r: &str, users: Vec<UserId>| Input::RemoveUsers {
        request: 1,
        room_id: rid(r),
        users,
    };
    let dismiss = |r: &str| Input::DismissRoom {
        request: 1,
        room_id: rid(r),
    };
    for bad in bad_ids() {
        refused(&h, kick(&bad, vec![uid("bob")]), InvalidRoomId);
        refused(&h, kick("r1", vec![uid("bob"), uid(&bad)]), InvalidUserId);
        refused(&h, dismiss(&bad), InvalidRoomId);
    }
    refused(&h, kick("r1", Vec::new()), InvalidArgument);
    refused(
        &h,
        kick("r1", (0..51).map(|i| uid(&format!("u{i}"))).collect()),
        InvalidArgument,
    );
    refused(&h, kick("r9", vec![uid("bob")]), RoomNotExist);
    refused(&h, dismiss("r9"), RoomNotExist);
}

#[test]
fn time_never_goes_backwards_and_tick_never_fails() {
    let (mut h, _) = base(Config::default());
    let before = snapshot(&h.engine).expect("serializes");
    // A tick at an earlier time is clamped: nothing changes, nothing is said.
    let out = h.step(0, Input::Tick).expect("a tick passes its checks");
    assert!(out.is_empty());
    assert_eq!(snapshot(&h.engine).expect("serializes"), before);
    assert_eq!(kind(&Input::Tick), "tick");
}
