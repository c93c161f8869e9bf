//! A sweep of bad inputs: for every input type, every field made invalid in every way its
//! type allows (empty, overlong and bad-charset ids; names one byte too long; out-of-range
//! configs; page sizes 0 and 101; malformed and foreign cursors; empty and oversized lists;
//! oversized payloads and attributes; unknown, closed and reconnecting callers). Each must
//! answer its typed error, change nothing, tell only the caller, and not panic. The checking
//! harness verifies "state unchanged, outputs only to the caller" on every refused step; the
//! sweep checks the code.

use roomcore::{
    Config, ErrorCode, Input, InputKind, Origin, Output, RoomConfig, RoomId, RoomInfo, SessionId,
    UserId,
};
use roomcore_testkit::{checks::snapshot, Harness};
use std::collections::BTreeMap;

use ErrorCode::*;

mod data;
mod rooms;
mod service;

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
        name: name.into(),
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
        Input::QueryRoomAttributes {
            session,
            request,
            room_id,
        },
        Input::QueryRoomOnlineCount {
            session,
            request,
            room_id,
        },
    ]
}

#[test]
fn unknown_closed_and_malformed_callers() {
    let (h, _) = base(Config::default());
    // Every session command but login: a new one fails here until the sweep covers it.
    let kinds: std::collections::BTreeSet<InputKind> = session_commands(sid("s1"))
        .iter()
        .map(Input::kind)
        .collect();
    let expected: std::collections::BTreeSet<InputKind> = InputKind::ALL
        .into_iter()
        .filter(|k| k.origin() == Origin::Session && *k != InputKind::Login)
        .collect();
    assert_eq!(kinds, expected, "every session command but login");
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
