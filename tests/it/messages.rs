//! `send_room_message`: a payload limit, per-room sequence numbers from 1 without gaps,
//! delivery to every other current member (never to one who left, is not in yet, or is
//! reconnecting), the seq in the sender's reply, and an optional per-session token bucket
//! on the injected clock. (The harness also checks every send: next seq, exact recipients.)
use crate::common::*;
use roomcore::{Config, ReplyOk, RoomId};

/// alice (s1) created r1; bob (s2) and carol (s3) joined; dave (s4) is logged in elsewhere.
fn room() -> T {
    let mut t = T::new();
    t.logins(
        0,
        &[
            ("s1", "alice"),
            ("s2", "bob"),
            ("s3", "carol"),
            ("s4", "dave"),
        ],
    );
    t.run(10, |r| r.create("s1", "r1", delay_s(60)));
    t.run(20, |r| r.join("s2", "r1"));
    t.run(30, |r| r.join("s3", "r1"));
    t
}

fn seq_of(outs: &[Output]) -> u64 {
    match ok_of(outs) {
        Some(ReplyOk::MessageSent { seq }) => seq,
        o => panic!("expected a sent message, got {o:?}"),
    }
}

#[test]
fn a_message_reaches_every_other_member_and_the_reply_carries_its_seq() {
    let mut t = room();
    let outs = t.run(100, |r| r.message("s2", "r1", "hello"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 message 1 from bob",
            "s3 r1 message 1 from bob",
            "s2 reply ok"
        ]
    );
    assert_eq!(seq_of(&outs), 1);
    match &outs[0] {
        Output::RoomMessage { payload, from, .. } => {
            assert_eq!(payload, "hello");
            assert_eq!(from.as_str(), "bob");
        }
        o => panic!("{o:?}"),
    }
    let outs = t.run(110, |r| r.message("s1", "r1", "hi bob"));
    assert_eq!(seq_of(&outs), 2);
    assert_eq!(t.engine().room_message_seq(RoomId::new("r1")), Some(2));
    pin!("messages_send", t);
}

#[test]
fn sequences_are_per_room_and_start_at_one() {
    let mut t = room();
    t.run(40, |r| r.create("s4", "r2", None));
    t.run(50, |r| r.join("s1", "r2"));
    for (at, room, expected) in [
        (100, "r1", 1),
        (110, "r1", 2),
        (120, "r2", 1),
        (130, "r1", 3),
        (140, "r2", 2),
    ] {
        let outs = t.run(at, |r| r.message("s1", room, "x"));
        assert_eq!(seq_of(&outs), expected, "{room} at {at}");
    }
    // A room destroyed and created again starts over.
    t.run(200, |r| r.dismiss("r2"));
    t.run(210, |r| r.create("s4", "r2", None));
    let outs = t.run(220, |r| r.message("s4", "r2", "x"));
    assert_eq!(seq_of(&outs), 1);
}

#[test]
fn members_who_left_or_are_not_in_yet_get_nothing() {
    let mut t = room();
    t.run(100, |r| r.message("s1", "r1", "before dave"));
    t.run(110, |r| r.leave("s3", "r1"));
    t.run(120, |r| r.join("s4", "r1"));
    let outs = t.run(130, |r| r.message("s1", "r1", "after"));
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 message 2 from alice",
            "s4 r1 message 2 from alice",
            "s1 reply ok"
        ]
    );
    // Alone in a room: the reply only.
    t.run(140, |r| r.create("s3", "solo", None));
    let outs = t.run(150, |r| r.message("s3", "solo", "echo?"));
    assert_eq!(lines(&outs), ["s3 reply ok"]);
    pin!("messages_recipients", t);
}

#[test]
fn a_reconnecting_member_gets_nothing() {
    let mut t = room();
    t.at(100, link_lost("s3"));
    let outs = t.run(110, |r| r.message("s1", "r1", "x"));
    assert_eq!(lines(&outs), ["s2 r1 message 1 from alice", "s1 reply ok"]);
}

#[test]
fn the_payload_limit_is_32_kib_by_default_and_configurable() {
    let mut t = room();
    let max = "p".repeat(32 * 1024);
    let outs = t.run(100, |r| r.message("s1", "r1", &max));
    assert_eq!(seq_of(&outs), 1);
    let over = "p".repeat(32 * 1024 + 1);
    let (code, outs) = t.refused(110, |r| r.message("s1", "r1", &over));
    assert_eq!(code, ErrorCode::PayloadTooLarge);
    assert_eq!(lines(&outs), ["s1 reply payload_too_large"]);
    // The refused message used no sequence number.
    let outs = t.run(120, |r| r.message("s1", "r1", ""));
    assert_eq!(seq_of(&outs), 2, "an empty payload is a message too");

    let mut t = T::with(Config {
        message_max_bytes: 4,
        ..Config::default()
    });
    t.logins(0, &[("s1", "alice")]);
    t.run(10, |r| r.create("s1", "r1", None));
    let outs = t.run(20, |r| r.message("s1", "r1", "four"));
    assert_eq!(error_of(&outs), None);
    // Bytes, not characters: "é" is two.
    let (code, _) = t.refused(30, |r| r.message("s1", "r1", "éé!"));
    assert_eq!(code, ErrorCode::PayloadTooLarge);
    pin!("messages_payload_limit", t);
}

#[test]
fn errors_before_sending_change_nothing() {
    let mut t = room();
    t.run(40, |r| r.logout("s3"));
    let cases: Vec<(ErrorCode, &str, &str)> = vec![
        (ErrorCode::NotLoggedIn, "ghost", "r1"),
        (ErrorCode::SessionClosed, "s3", "r1"),
        (ErrorCode::InvalidRoomId, "s1", "bad room"),
        (ErrorCode::UserNotInRoom, "s4", "r1"),
        (ErrorCode::UserNotInRoom, "s1", "nowhere"),
    ];
    for (i, (expected, session, room)) in cases.iter().enumerate() {
        let (code, outs) = t.refused(100 + i as u64, |r| r.message(session, room, "x"));
        assert_eq!(code, *expected, "case {i}");
        assert_eq!(outs.len(), 1);
    }
    // Membership answers before the payload limit.
    let big = "p".repeat(40_000);
    let (code, _) = t.refused(200, |r| r.message("s4", "r1", &big));
    assert_eq!(code, ErrorCode::UserNotInRoom);
    assert_eq!(t.engine().room_message_seq(RoomId::new("r1")), Some(0));
}

#[test]
fn there_is_no_rate_limit_by_default() {
    let mut t = room();
    for i in 0..50u64 {
        let outs = t.run(100, |r| r.message("s1", "r1", "spam"));
        assert_eq!(seq_of(&outs), i + 1);
    }
}

#[test]
fn the_rate_limit_is_a_token_bucket_on_the_injected_clock() {
    let mut t = T::with(Config {
        message_rate_per_s: 2,
        message_burst: 3,
        ..Config::default()
    });
    t.logins(0, &[("s1", "alice"), ("s2", "bob")]);
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.join("s2", "r1"));
    // A burst of 3 at once, then refused.
    for _ in 0..3 {
        let outs = t.run(1_000, |r| r.message("s1", "r1", "x"));
        assert_eq!(error_of(&outs), None);
    }
    let (code, outs) = t.refused(1_000, |r| r.message("s1", "r1", "x"));
    assert_eq!(code, ErrorCode::RateLimited);
    assert_eq!(lines(&outs), ["s1 reply rate_limited"]);
    // Two per second: one token after 500 ms, not before.
    let (code, _) = t.refused(1_499, |r| r.message("s1", "r1", "x"));
    assert_eq!(code, ErrorCode::RateLimited);
    let outs = t.run(1_500, |r| r.message("s1", "r1", "x"));
    assert_eq!(seq_of(&outs), 4);
    // Each session has its own bucket.
    let outs = t.run(1_500, |r| r.message("s2", "r1", "y"));
    assert_eq!(seq_of(&outs), 5);
    // A long pause refills up to the burst only.
    for _ in 0..3 {
        let outs = t.run(60_000, |r| r.message("s1", "r1", "x"));
        assert_eq!(error_of(&outs), None);
    }
    let (code, _) = t.refused(60_000, |r| r.message("s1", "r1", "x"));
    assert_eq!(code, ErrorCode::RateLimited);
    pin!("messages_rate_limit", t);
}

#[test]
fn a_rate_limit_with_an_empty_bucket_is_an_invalid_config() {
    let config = Config {
        message_rate_per_s: 1,
        message_burst: 0,
        ..Config::default()
    };
    assert!(roomcore::Engine::new(config).is_err());
}
