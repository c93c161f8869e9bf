//! The one-pass input reader and the hand-written output writer on hand-made lines and
//! outputs, and on lines a property test mutates: the reader gives up or agrees with serde,
//! and takes the common lines itself; the writer writes what serde_json writes. (Every line of
//! every vector, snapshot and generated trace: `tests/it/trace_fast_paths.rs`.)

use super::encode;
use super::fast_input::{any_order_line, canonical_line, input_line, shape_of};
use super::{parse_line, parse_line_with_serde};
use crate::ids::{RoomId, RoomSid, SessionId, UserId};
use crate::input::{Input, InputKind, RoomInfo};
use crate::output::{
    CloseReason, DestroyCause, ErrorBody, ExitReason, LeaveReason, Member, MemberLeft, Outcome,
    Output, ReplyOk, RoomEvent, RoomState, Stamped, To,
};
use crate::time::Millis;
use crate::trace::Record;
use crate::ErrorCode;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Both readers agree on `line`; returns whether the one-pass reader took it.
fn agree(line: &str) -> bool {
    assert_eq!(parse_line(line), parse_line_with_serde(line), "{line}");
    input_line(line).is_some()
}

/// Lines the one-pass reader takes itself (and reads as serde does).
const TAKEN: &[&str] = &[
    r#"{"at":0,"in":{"type":"login","session":"s1","request":1,"user":"alice"}}"#,
    r#"{"at":9,"in":{"type":"logout","session":"s1","request":12}}"#,
    r#"{"at":5,"in":{"type":"link_lost","session":"s1"}}"#,
    r#"{"at":6,"in":{"type":"link_restored","session":"s1"}}"#,
    r#"{"at":1,"in":{"type":"create_room","session":"s1","request":2,"room":{"id":"r1","name":"Room 1"},"config":{"destroy_delay_s":90,"attributes":{"topic":"rust"}}}}"#,
    r#"{"at":2,"in":{"type":"join_room","session":"s2","request":2,"room_id":"r1"}}"#,
    r#"{"at":2,"in":{"type":"enter_room","session":"s3","request":2,"room":{"id":"r1","name":"Room 1"}}}"#,
    r#"{"at":3,"in":{"type":"switch_room","session":"s3","request":3,"from":"r1","to":{"id":"r2","name":"Room 2"},"create_if_missing":true,"config":{"destroy_delay_s":30}}}"#,
    r#"{"at":4,"in":{"type":"leave_room","session":"s2","request":3,"room_id":"r1"}}"#,
    r#"{"at":4,"in":{"type":"leave_all_rooms","session":"s3","request":4}}"#,
    r#"{"at":3,"in":{"type":"query_members","session":"s1","request":6,"room_id":"r1","next":"","count":100}}"#,
    r#"{"at":3,"in":{"type":"send_room_message","session":"s1","request":9,"room_id":"r1","payload":"hello"}}"#,
    r#"{"at":60,"in":{"type":"query_room_attributes","session":"s2","request":9,"room_id":"r1"}}"#,
    r#"{"at":60,"in":{"type":"query_room_online_count","session":"s2","request":10,"room_id":"r1"}}"#,
    r#"{"at":9,"in":{"type":"tick"}}"#,
    // Any key order, JSON whitespace anywhere between tokens, defaults.
    "{\"in\":{\"room_id\":\"r1\",\"request\":2,\"session\":\"s2\",\"type\":\"join_room\"},\"at\":2}",
    " {\t\"at\" : 2 ,\r\n\"in\":{ \"type\":\"tick\" } } ",
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":{"name":"n","id":"r"},"config":null}}"#,
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":{"id":"r"}}}"#,
    r#"{"at":1,"in":{"type":"switch_room","session":"s","request":1,"from":"a","to":{"id":"b"}}}"#,
    r#"{"at":1,"in":{"type":"query_members","session":"s","request":1,"room_id":"r","count":4294967295}}"#,
    r#"{"at":18446744073709551615,"in":{"type":"logout","session":"s","request":18446744073709551615}}"#,
    // Ids of any length and alphabet, names and payloads of any UTF-8.
    r#"{"at":1,"in":{"type":"login","session":"","request":0,"user":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}"#,
    r#"{"at":1,"in":{"type":"join_room","session":"s","request":1,"room_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaé"}}"#,
    r#"{"at":1,"in":{"type":"send_room_message","session":"s","request":1,"room_id":"r","payload":"héllo 😀 /'"}}"#,
    // A config is read by serde, in any form serde reads (a struct from an array too).
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":{"id":"r"},"config":[5]}}"#,
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":{"id":"r","name":"ü"},"config":{"destroy_delay_s":5,"attributes":{"a\"b":"\u0041"},"max_members":3}}}"#,
];

/// Lines it leaves to serde: serde reads some of them, and refuses the others.
const LEFT: &[&str] = &[
    // Escapes anywhere, in keys too.
    r#"{"at":1,"in":{"type":"login","session":"s\u0031","request":1,"user":"a"}}"#,
    r#"{"at":1,"in":{"t\u0079pe":"tick"}}"#,
    r#"{"at":1,"in":{"type":"send_room_message","session":"s","request":1,"room_id":"r","payload":"a\nb"}}"#,
    r#"{"a\u0074":1,"in":{"type":"tick"}}"#,
    "{\"at\":1,\"in\":{\"type\":\"send_room_message\",\"session\":\"s\",\"request\":1,\"room_id\":\"r\",\"payload\":\"a\tb\"}}",
    // Numbers in other forms, or out of range.
    r#"{"at":1,"in":{"type":"logout","session":"s","request":-0}}"#,
    r#"{"at":1,"in":{"type":"logout","session":"s","request":01}}"#,
    r#"{"at":1,"in":{"type":"logout","session":"s","request":1.0}}"#,
    r#"{"at":1,"in":{"type":"logout","session":"s","request":1e2}}"#,
    r#"{"at":1,"in":{"type":"logout","session":"s","request":-1}}"#,
    r#"{"at":1,"in":{"type":"logout","session":"s","request":18446744073709551616}}"#,
    r#"{"at":-1,"in":{"type":"tick"}}"#,
    r#"{"at":1,"in":{"type":"query_members","session":"s","request":1,"room_id":"r","count":4294967296}}"#,
    r#"{"at":1,"in":{"type":"logout","session":"s","request":"1"}}"#,
    r#"{"at":1,"in":{"type":"logout","session":"s","request":null}}"#,
    // Missing, unknown, duplicate and misplaced fields.
    r#"{"at":1,"in":{"type":"logout","session":"s"}}"#,
    r#"{"at":1,"in":{"type":"logout","session":"s","request":1,"x":1}}"#,
    r#"{"at":1,"in":{"type":"logout","session":"s","request":1,"request":2}}"#,
    r#"{"at":1,"in":{"type":"logout","type":"logout","session":"s","request":1}}"#,
    r#"{"at":1,"in":{"type":"tick","session":"s"}}"#,
    r#"{"at":1,"in":{"type":"join_room","session":"s","request":1,"room_id":"r","config":null}}"#,
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":{"id":"r","x":1}}}"#,
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":{"id":"r","id":"q"}}}"#,
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":{"name":"n"}}}"#,
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":{"id":"r","name":null}}}"#,
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":["r","n"]}}"#,
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":{"id":"r"},"config":{"x":1}}}"#,
    r#"{"at":1,"in":{"type":"enter_room","session":"s","request":1,"room":{"id":"r"},"config":{"destroy_delay_s":5,"destroy_delay_s":6}}}"#,
    r#"{"at":1,"in":{"type":"switch_room","session":"s","request":1,"from":"a","to":{"id":"b"},"create_if_missing":1}}"#,
    r#"{"at":1,"in":{"type":"switch_room","session":"s","request":1,"from":"a","to":{"id":"b"},"create_if_missing":truex}}"#,
    r#"{"at":1,"in":{"type":"query_members","session":"s","request":1,"room_id":"r"}}"#,
    r#"{"at":1,"in":{"type":"login","session":"s","request":1,"user":"a"},"at":2}"#,
    r#"{"at":1,"in":{"type":"tick"},"in":{"type":"tick"}}"#,
    r#"{"at":1,"in":{"type":"tick"},"note":"n"}"#,
    r#"{"at":1,"in":{"type":"tick"},"out":{"type":"tick"}}"#,
    r#"{"in":{"type":"tick"}}"#,
    r#"{"at":1}"#,
    r#"{}"#,
    // Types and kinds it does not read, or that do not exist.
    r#"{"at":1,"in":{"type":"remove_users","request":8,"room_id":"r1","users":["bob"]}}"#,
    r#"{"at":1,"in":{"type":"set_room_attributes","session":"s1","request":7,"room_id":"r1","attributes":{"k":"v"}}}"#,
    r#"{"at":1,"in":{"type":"nope"}}"#,
    r#"{"at":1,"in":{"type":1}}"#,
    r#"{"at":1,"in":{}}"#,
    r#"{"at":1,"in":[]}"#,
    r#"{"at":1,"in":null}"#,
    r#"{"note":"hello"}"#,
    r#"{"config":{}}"#,
    // Not JSON, or not quite.
    r#"{"at":1,"in":{"type":"tick"}"#,
    r#"{"at":1,"in":{"type":"tick"}}}"#,
    r#"{"at":1,"in":{"type":"tick"}} x"#,
    r#"{"at":1,"in":{"type":"tick",}}"#,
    "\u{a0}{\"at\":1,\"in\":{\"type\":\"tick\"}}",
    "{\"at\":1,\"in\":{\"type\":\"tick\"}}\u{a0}",
    "",
    "[]",
    "x",
];

#[test]
fn the_one_pass_reader_takes_the_common_lines_and_reads_them_as_serde_does() {
    for line in TAKEN {
        assert!(parse_line_with_serde(line).is_ok(), "{line}");
        assert!(agree(line), "the one-pass reader left {line}");
    }
}

#[test]
fn lines_in_declaration_order_are_read_by_expecting_each_key_and_agree_with_any_order() {
    // The first fifteen are written as `write_input` writes (the examples of the format).
    for line in &TAKEN[..15] {
        assert!(canonical_line(line).is_some(), "{line}");
    }
    for line in TAKEN {
        assert_eq!(any_order_line(line), input_line(line), "{line}");
        assert!(any_order_line(line).is_some(), "{line}");
    }
    for line in LEFT {
        assert_eq!(canonical_line(line), None, "{line}");
    }
    // Out of order: the expected keys do not come, and the line is read in any order.
    let shuffled = TAKEN[15];
    assert_eq!(canonical_line(shuffled), None);
    assert!(any_order_line(shuffled).is_some());
}

#[test]
fn the_one_pass_reader_leaves_every_other_line_to_serde() {
    for line in LEFT {
        assert!(!agree(line), "the one-pass reader took {line}");
    }
}

/// A value of the field named `key`, of the type serde reads there.
fn sample_value(key: &str) -> &'static str {
    match key {
        "request" => "7",
        "count" => "3",
        "create_if_missing" => "true",
        "room" => r#"{"id":"r1","name":"Room 1"}"#,
        "to" => r#"{"id":"r2"}"#,
        "config" => r#"{"destroy_delay_s":5}"#,
        _ => r#""v""#,
    }
}

/// A line of type `name` with `fields` (from the reader's shape of the type), in that order.
fn sample_line(name: &str, fields: &[&str]) -> String {
    let body: String = fields
        .iter()
        .map(|key| format!(r#","{key}":{}"#, sample_value(key)))
        .collect();
    format!(r#"{{"at":1,"in":{{"type":"{name}"{body}}}}}"#)
}

/// What serde reads from `line`, as an input.
fn serde_input(line: &str) -> Option<Input> {
    match parse_line_with_serde(line) {
        Ok(Record::Input { input, .. }) => Some(input),
        _ => None,
    }
}

#[test]
fn every_kind_the_one_pass_reader_claims_is_read_as_serde_reads_it() {
    let taken_kinds: Vec<InputKind> = TAKEN
        .iter()
        .filter_map(|line| serde_input(line))
        .map(|input| input.kind())
        .collect();
    let mut claimed = 0;
    for kind in InputKind::ALL {
        let name = kind.name();
        let Some(fields) = shape_of(kind) else {
            // Left to serde: no line of that type is taken, whatever it holds.
            let line = sample_line(name, &[]);
            assert_eq!(input_line(&line), None, "{line}");
            assert!(!taken_kinds.contains(&kind), "{kind:?} is in TAKEN");
            continue;
        };
        claimed += 1;
        assert!(taken_kinds.contains(&kind), "no hand-made line of {kind:?}");
        // Every field of the shape: serde reads the line as that kind, the reader takes it.
        let full = sample_line(name, &fields);
        let input = serde_input(&full).unwrap_or_else(|| panic!("serde refuses {full}"));
        assert_eq!(input.kind(), kind, "{full}");
        assert!(agree(&full), "the one-pass reader left {full}");
        // As serde writes it (every field it has): read by expecting each key in turn.
        let mut written = Vec::new();
        super::write_input(&mut written, Millis(1), &input).expect("writes to a Vec");
        let written = String::from_utf8(written).expect("UTF-8");
        let written = written.trim_end();
        assert_eq!(canonical_line(written), input_line(&full), "{written}");
        // Each field left out: the two readers still agree (serde defaults or refuses).
        for skip in 0..fields.len() {
            let mut some = fields.clone();
            some.remove(skip);
            agree(&sample_line(name, &some));
        }
        // Any other key: serde refuses the line, so the shape misses no field of the kind.
        for key in KEYS.iter().filter(|k| **k != "type" && !fields.contains(k)) {
            let mut more = fields.clone();
            more.push(key);
            let line = sample_line(name, &more);
            assert!(serde_input(&line).is_none(), "serde reads {line}");
            agree(&line);
        }
    }
    assert_eq!(
        claimed,
        taken_kinds
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
}

/// Pieces a mutated line is built from: JSON values of many kinds and forms.
const VALUES: &[&str] = &[
    "0",
    "-0",
    "01",
    "1.0",
    "1e2",
    "-1",
    "7",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "true",
    "false",
    "null",
    "\"\"",
    "\"s1\"",
    "\"a\\\"b\"",
    "\"\\u0041\"",
    "\"é\"",
    "\"\t\"",
    "[]",
    "{}",
    "[\"r\"]",
    "{\"id\":\"r\"}",
    "{\"id\":\"r\",\"name\":\"n\"}",
    "{\"id\":\"r\",\"name\":null}",
    "{\"destroy_delay_s\":5}",
    "{\"x\":1}",
    "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
    "truex",
    "\"tick\"",
    "\"enter_room\"",
];

const KEYS: &[&str] = &[
    "type",
    "session",
    "request",
    "user",
    "room",
    "config",
    "room_id",
    "from",
    "to",
    "create_if_missing",
    "next",
    "count",
    "payload",
    "id",
    "name",
    "x",
    "t\\u0079pe",
];

const SPACES: &[&str] = &["", "", "", " ", "\t", "\r\n", "\u{a0}"];

/// A line from one of [`TAKEN`], its `in` fields shuffled, some replaced by other keys or
/// values, some dropped or repeated, with whitespace between tokens.
fn mutated_line() -> impl Strategy<Value = String> {
    let edit = (
        0..8usize,
        prop::sample::select(KEYS),
        prop::sample::select(VALUES),
    );
    (
        prop::sample::select(TAKEN),
        prop::collection::vec(edit, 0..4),
        prop::collection::vec(prop::sample::select(SPACES), 32),
        any::<bool>(),
    )
        .prop_map(|(line, edits, spaces, in_first)| {
            let Ok(serde_json::Value::Object(line)) = serde_json::from_str(line) else {
                unreachable!("the taken lines are objects")
            };
            let mut fields: Vec<(String, String)> = match &line["in"] {
                serde_json::Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| (format!("\"{k}\""), v.to_string()))
                    .collect(),
                _ => unreachable!("the taken lines have an `in` object"),
            };
            for (i, (what, key, value)) in edits.into_iter().enumerate() {
                let at = i % (fields.len() + 1);
                match what {
                    0 if !fields.is_empty() => {
                        fields.remove(at % fields.len());
                    }
                    1 if !fields.is_empty() => {
                        let copy = fields[at % fields.len()].clone();
                        fields.push(copy);
                    }
                    2 | 3 if !fields.is_empty() => {
                        let n = fields.len();
                        fields[at % n].1 = value.to_owned();
                    }
                    4 => fields.insert(at, (format!("\"{key}\""), value.to_owned())),
                    _ => {
                        let n = fields.len().max(1);
                        fields.rotate_left(at % n);
                    }
                }
            }
            let mut sp = spaces.into_iter().cycle();
            let mut s = |text: &str| format!("{}{text}", sp.next().unwrap_or(""));
            let body: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}{}{}", s(k), s(":"), s(v)))
                .collect();
            let input = format!("{}{}{}", s("{"), body.join(&s(",")), s("}"));
            let at = format!("{}{}{}", s("\"at\""), s(":"), s(&line["at"].to_string()));
            let pair = format!("{}{}{}", s("\"in\""), s(":"), input);
            let (first, second) = if in_first { (pair, at) } else { (at, pair) };
            format!("{}{first}{}{second}{}", s("{"), s(","), s("}"))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn mutated_lines_read_as_serde_reads_them(line in mutated_line()) {
        prop_assert_eq!(parse_line(&line), parse_line_with_serde(&line), "{}", line);
    }
}

fn written(s: &Stamped) -> String {
    let mut buf = Vec::new();
    let cut = encode::line(&mut buf, s);
    assert_eq!(cut, None, "one session");
    String::from_utf8(buf).expect("UTF-8")
}

fn check(output: Output) {
    let s = Stamped {
        at: Millis(u64::MAX),
        output,
    };
    let want = serde_json::to_string(&s).expect("serializes") + "\n";
    assert_eq!(written(&s), want);
}

/// Strings that need escaping, or not.
const TEXTS: &[&str] = &[
    "",
    "s1",
    "a\"b",
    "back\\slash",
    "tab\there",
    "\u{1}\u{1f}",
    "é😀",
    "\u{7f}",
];

#[test]
fn outputs_with_odd_strings_and_extreme_numbers_are_written_as_serde_writes_them() {
    for &text in TEXTS {
        let session = SessionId::new(text);
        let id = RoomId::new(text);
        let user = UserId::new(text);
        let members: crate::output::Members = [Member { user_id: user }; 2].into_iter().collect();
        let room = RoomInfo {
            id,
            name: text.into(),
        };
        let attributes: BTreeMap<String, String> = [(text.to_owned(), text.to_owned())].into();
        let bodies = [
            ReplyOk::LoggedIn { user_id: user },
            ReplyOk::Room {
                room: room.clone(),
                sid: Some(RoomSid(u64::MAX)),
                member_count: Some(u32::MAX),
                attributes: Some(attributes.clone()),
            },
            ReplyOk::Room {
                room,
                sid: None,
                member_count: None,
                attributes: None,
            },
            ReplyOk::RoomId { room_id: id },
            ReplyOk::Members {
                members: vec![Member { user_id: user }; 3],
                next: text.into(),
            },
            ReplyOk::Members {
                members: vec![],
                next: String::new(),
            },
            ReplyOk::MessageSent { seq: u64::MAX },
            ReplyOk::Empty {},
            ReplyOk::LeftAll {
                room_ids: vec![id, id],
            },
            ReplyOk::RoomAttributes {
                attributes: attributes.clone(),
            },
        ];
        for body in bodies {
            check(Output::Reply {
                session,
                request: u64::MAX,
                outcome: Outcome::Ok(body.clone()),
            });
            check(Output::AdminReply {
                request: 0,
                outcome: Outcome::Ok(body),
            });
        }
        let error = ErrorBody {
            code: ErrorCode::RoomNotExist,
            message: text.into(),
        };
        check(Output::Reply {
            session,
            request: 1,
            outcome: Outcome::Error(error),
        });
        let to = To::Session(session);
        check(Output::MembersJoined {
            to,
            room_id: id,
            members: members.clone(),
        });
        check(Output::MembersLeft {
            to,
            room_id: id,
            members,
            reason: LeaveReason::Banned,
        });
        check(Output::RoomMessage {
            to,
            room_id: id,
            from: user,
            seq: 0,
            payload: text.into(),
        });
        check(Output::RoomAttributesUpdated {
            to,
            room_id: id,
            set: attributes,
            deleted: vec![text.into()],
        });
        check(Output::SessionClosed {
            session,
            reason: CloseReason::KickedOutByOtherDevice,
        });
        check(Output::RoomCreated {
            room_id: id,
            sid: None,
            event_id: None,
        });
        check(Output::RoomDestroyed {
            room_id: id,
            sid: Some(RoomSid(1)),
            cause: DestroyCause::Dismissed,
            event_id: Some(u64::MAX),
        });
        check(Output::MemberJoined {
            room_id: id,
            sid: RoomSid(7),
            user_id: user,
            session_id: session,
            event_id: 0,
        });
        check(Output::MemberLeft {
            room_id: id,
            sid: RoomSid(7),
            user_id: user,
            session_id: session,
            reason: ExitReason::Moved,
            event_id: 3,
        });
        check(Output::RoomMembersChanged {
            room_id: id,
            joined: vec![Member { user_id: user }],
            left: vec![MemberLeft {
                user_id: user,
                reason: LeaveReason::Timeout,
            }],
        });
    }
}

#[test]
fn the_enum_names_are_serde_names() {
    use super::encode::{event_name, leave_reason_name, state_name};
    let name = |json: String| json.trim_matches('"').to_owned();
    for state in [
        RoomState::Disconnected,
        RoomState::Connecting,
        RoomState::Connected,
    ] {
        assert_eq!(
            state_name(state),
            name(serde_json::to_string(&state).unwrap())
        );
    }
    let events = [
        RoomEvent::Success,
        RoomEvent::NetworkInterrupted,
        RoomEvent::NetworkDisconnected,
        RoomEvent::RoomNotExist,
        RoomEvent::ActiveCreate,
        RoomEvent::CreateFailed,
        RoomEvent::ActiveEnter,
        RoomEvent::EnterFailed,
        RoomEvent::KickedOut,
        RoomEvent::ConnectTimeout,
        RoomEvent::KickedOutByOtherDevice,
        RoomEvent::ActiveSwitch,
        RoomEvent::SwitchFailed,
    ];
    for event in events {
        assert_eq!(
            event_name(event),
            name(serde_json::to_string(&event).unwrap())
        );
        check(Output::RoomStateChanged {
            session: SessionId::new("s"),
            room_id: RoomId::new("r"),
            state: RoomState::Connected,
            event,
        });
    }
    let reasons = [
        LeaveReason::Left,
        LeaveReason::Kicked,
        LeaveReason::Timeout,
        LeaveReason::OtherDevice,
        LeaveReason::Banned,
    ];
    for reason in reasons {
        assert_eq!(
            leave_reason_name(reason),
            name(serde_json::to_string(&reason).unwrap())
        );
    }
}
