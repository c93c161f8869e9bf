//! Large rooms (issue 7): above `member_notify_threshold` members, joins and leaves are
//! coalesced into one `room_members_changed` per room per `member_batch_interval_ms`,
//! flushed by a timer, carrying the final outcome of every user the window touched; below
//! it every change is an exact per-member event. A threshold of 3 and a window of 1 s keep
//! the transcripts readable.
use crate::common::*;
use roomcore::{Config, Engine};

const WINDOW_MS: u64 = 1000;

fn config() -> Config {
    Config {
        member_notify_threshold: 3,
        member_batch_interval_ms: WINDOW_MS,
        ..Config::default()
    }
}

/// Sessions s1..s{n} for users u1..u{n}, all logged in at 0.
fn with_users(n: usize) -> T {
    let mut t = T::with(config());
    let pairs: Vec<(String, String)> = (1..=n)
        .map(|i| (format!("s{i}"), format!("u{i}")))
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(s, u)| (s.as_str(), u.as_str()))
        .collect();
    t.logins(0, &refs);
    t
}

/// A room r1 created by s1 with s2..s{n} joined one by one (at 10, 20, ...), delay 60 s.
fn room_of(t: &mut T, n: usize) {
    t.run(10, |r| r.create("s1", "r1", delay_s(60)));
    for i in 2..=n {
        let s = format!("s{i}");
        t.run(10 * i as u64, |r| r.join(&s, "r1"));
    }
}

/// The member event lines of `outs` (per-member events and room deltas).
fn member_events(outs: &[Output]) -> Vec<String> {
    outs.iter()
        .filter(|o| {
            matches!(
                o,
                Output::MembersJoined { .. }
                    | Output::MembersLeft { .. }
                    | Output::RoomMembersChanged { .. }
            )
        })
        .map(line)
        .collect()
}

/// The outputs of the timer steps that fired at `at`.
fn fired_at(t: &T, at: u64) -> Vec<String> {
    t.transcript()
        .iter()
        .filter(|s| s.input.is_none() && s.at == at)
        .flat_map(|s| lines(&s.out))
        .collect()
}

#[test]
fn at_the_threshold_every_change_is_an_exact_event() {
    let mut t = with_users(3);
    room_of(&mut t, 2);
    let outs = t.run(30, |r| r.join("s3", "r1"));
    assert_eq!(member_events(&outs), ["s1 r1 joined u3", "s2 r1 joined u3"]);
    assert_eq!(t.engine().pending_timers(), 0, "no window at the threshold");
    pin!("exact_at_threshold", t);
}

#[test]
fn above_the_threshold_joins_wait_for_the_window_and_go_out_as_one_delta() {
    let mut t = with_users(6);
    room_of(&mut t, 3);
    // The 4th member takes the room over the threshold: nobody is told one by one.
    let outs = t.run(100, |r| r.join("s4", "r1"));
    assert_eq!(member_events(&outs), Vec::<String>::new());
    assert_eq!(
        states(&outs),
        ["s4 r1 Connecting/ActiveEnter", "s4 r1 Connected/Success"],
        "the joiner itself is answered at once"
    );
    let outs = t.run(500, |r| r.join("s5", "r1"));
    assert_eq!(member_events(&outs), Vec::<String>::new());
    t.advance(1099);
    assert_eq!(
        fired_at(&t, 1100),
        Vec::<String>::new(),
        "not before the window ends"
    );
    t.advance(1100);
    assert_eq!(fired_at(&t, 1100), ["room r1 changed +[u4,u5] -[]"]);
    assert_eq!(t.engine().pending_timers(), 0, "the window closed");
    // The next change opens the next window, 1 s after it.
    t.run(1500, |r| r.join("s6", "r1"));
    t.advance(2500);
    assert_eq!(fired_at(&t, 2500), ["room r1 changed +[u6] -[]"]);
    pin!("one_delta_per_window", t);
}

#[test]
fn the_delta_lists_the_final_outcome_of_every_touched_user() {
    let mut t = with_users(6);
    room_of(&mut t, 5);
    // u4's join (at 40) took the room over the threshold and opened the window; u5 (at 50)
    // joined in it too.
    t.run(100, |r| r.join("s6", "r1")); // joins ...
    t.run(200, |r| r.leave("s6", "r1")); // ... and leaves: in `left`
    t.run(300, |r| r.leave("s2", "r1")); // leaves ...
    t.run(400, |r| r.join("s2", "r1")); // ... and comes back: in `joined`
    t.run(500, |r| r.leave("s3", "r1")); // a real leave
    let kick = t.run(600, |r| r.kick("r1", &["u1"]));
    assert_eq!(member_events(&kick), Vec::<String>::new());
    t.advance(1040);
    assert_eq!(
        fired_at(&t, 1040),
        ["room r1 changed +[u4,u5,u2] -[u6(left),u3(left),u1(kicked)]"]
    );
    assert_eq!(
        t.members("r1").expect("room"),
        ["u4", "u5", "u2"],
        "members in join order"
    );
    pin!("final_outcomes", t);
}

#[test]
fn a_user_who_joined_and_left_within_the_window_is_told_as_left() {
    let mut t = with_users(5);
    room_of(&mut t, 4);
    // The 4th join opened the window at 40 and is in it; u4 leaves again. A member who read
    // the list in between (a query after u4 joined) must still learn that u4 is gone.
    let query = t.run(50, |r| r.query("s1", "r1", "", 10));
    assert!(
        format!("{query:?}").contains("u4"),
        "the list read mid-window has u4"
    );
    t.run(100, |r| r.leave("s4", "r1"));
    t.advance(1040);
    assert_eq!(fired_at(&t, 1040), ["room r1 changed +[] -[u4(left)]"]);
    assert_eq!(t.engine().pending_timers(), 0);
    // Back at the threshold with no window open: exact events again.
    let outs = t.run(1100, |r| r.leave("s3", "r1"));
    assert_eq!(
        member_events(&outs),
        ["s1 r1 left u3 left", "s2 r1 left u3 left"]
    );
    pin!("joined_and_left_within_window", t);
}

#[test]
fn nothing_is_sent_when_no_member_is_live() {
    let mut t = with_users(4);
    room_of(&mut t, 4); // window opened at 40 with u4's join
    for (i, s) in ["s1", "s2", "s3", "s4"].iter().enumerate() {
        t.at(100 + i as u64, link_lost(s));
    }
    t.advance(1040);
    assert_eq!(fired_at(&t, 1040), Vec::<String>::new());
    assert_eq!(t.engine().pending_timers(), 4, "only the four grace timers");
    // s1 was never told of u4: its restore delta says so.
    let outs = t.at(2000, link_restored("s1"));
    assert_eq!(lines(&outs), ["s1 r1 connected/success", "s1 r1 joined u4"]);
}

#[test]
fn a_full_window_closes_early_before_the_change_that_would_overflow_it() {
    // At most 4 members, so a window holds at most 4 touched users.
    let config = Config {
        member_notify_threshold: 1,
        member_batch_interval_ms: WINDOW_MS,
        max_members_per_room: 4,
        ..Config::default()
    };
    let mut t = T::with(config);
    let pairs: Vec<(String, String)> = (1..=6)
        .map(|i| (format!("s{i}"), format!("u{i}")))
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(s, u)| (s.as_str(), u.as_str()))
        .collect();
    t.logins(0, &refs);
    t.run(10, |r| r.create("s1", "r1", delay_s(60)));
    t.run(20, |r| r.join("s2", "r1")); // 2 > 1: the window opens; touched: u2
    t.run(30, |r| r.join("s3", "r1")); // u3
    t.run(40, |r| r.leave("s3", "r1")); // u3 again
    t.run(50, |r| r.join("s4", "r1")); // u4
    t.run(60, |r| r.join("s5", "r1")); // u5: 4 touched, the window is full
                                       // The next change closes it first (its delta goes out now), then opens the next one.
    let outs = t.run(70, |r| r.leave("s2", "r1"));
    assert_eq!(
        member_events(&outs),
        ["room r1 changed +[u2,u4,u5] -[u3(left)]"]
    );
    t.advance(1070);
    assert_eq!(fired_at(&t, 1070), ["room r1 changed +[] -[u2(left)]"]);
    pin!("full_window_closes_early", t);
}

#[test]
fn an_open_window_takes_every_change_even_below_the_threshold() {
    let mut t = with_users(4);
    room_of(&mut t, 4); // window opened at 40
    let outs = t.run(100, |r| r.leave("s4", "r1"));
    let outs2 = t.run(200, |r| r.leave("s3", "r1")); // now 2 members, still batched
    assert_eq!(member_events(&outs), Vec::<String>::new());
    assert_eq!(member_events(&outs2), Vec::<String>::new());
    t.advance(1040);
    assert_eq!(
        fired_at(&t, 1040),
        ["room r1 changed +[] -[u4(left),u3(left)]"]
    );
    let outs = t.run(1100, |r| r.join("s3", "r1"));
    assert_eq!(member_events(&outs), ["s1 r1 joined u3", "s2 r1 joined u3"]);
    pin!("window_keeps_order", t);
}

#[test]
fn a_room_that_empties_drops_its_window_without_output() {
    let mut t = with_users(4);
    room_of(&mut t, 4);
    for (i, s) in ["s1", "s2", "s3", "s4"].iter().enumerate() {
        t.run(100 + i as u64, |r| r.leave(s, "r1"));
    }
    assert_eq!(
        t.engine().pending_timers(),
        1,
        "only the destroy timer is left"
    );
    t.advance(1040);
    assert_eq!(fired_at(&t, 1040), Vec::<String>::new());
    pin!("empty_room_drops_window", t);
}

#[test]
fn a_dismissed_room_drops_its_window() {
    let mut t = with_users(4);
    room_of(&mut t, 4);
    let outs = t.run(100, |r| r.dismiss("r1"));
    assert_eq!(member_events(&outs), Vec::<String>::new());
    assert_eq!(t.engine().pending_timers(), 0);
    assert!(!t.exists("r1"));
}

#[test]
fn a_link_lost_in_the_window_gets_the_window_in_its_restore_delta() {
    let mut t = with_users(6);
    room_of(&mut t, 4); // window opened at 40 with u4's join
    t.run(100, |r| r.leave("s2", "r1"));
    t.at(200, link_lost("s1"));
    t.run(300, |r| r.join("s5", "r1"));
    t.advance(1040);
    // s1 is reconnecting: the room delta goes to the live members only...
    assert_eq!(fired_at(&t, 1040), ["room r1 changed +[u4,u5] -[u2(left)]"]);
    let recipients: Vec<String> = t
        .engine()
        .room_recipients(roomcore::RoomId::new("r1"))
        .expect("room")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(recipients, ["s3", "s4", "s5"]);
    // ... and s1 learns the whole window (u4 joined before its loss, but it was never told).
    let outs = t.at(1500, link_restored("s1"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 connected/success",
            "s1 r1 joined u4,u5",
            "s1 r1 left u2 left"
        ]
    );
    pin!("restore_covers_window", t);
}

#[test]
fn a_grace_expiry_in_a_large_room_is_batched_as_timeout() {
    let mut t = with_users(5);
    room_of(&mut t, 5);
    t.advance(1050); // the first window (u4, u5) goes out
    t.at(2000, link_lost("s3"));
    t.advance(2000 + Config::default().reconnect_grace_ms);
    t.advance(3000 + Config::default().reconnect_grace_ms);
    let flushed: Vec<String> = t
        .transcript()
        .iter()
        .filter(|s| s.input.is_none())
        .flat_map(|s| lines(&s.out))
        .filter(|l| l.starts_with("room "))
        .collect();
    assert_eq!(
        flushed,
        [
            "room r1 changed +[u4,u5] -[]",
            "room r1 changed +[] -[u3(timeout)]"
        ]
    );
}

#[test]
fn the_window_survives_a_snapshot_and_restore() {
    let mut t = with_users(5);
    room_of(&mut t, 5);
    let json = serde_json::to_string(t.engine()).expect("serializes");
    let mut restored: Engine = serde_json::from_str(&json).expect("restores");
    let mut out = Vec::new();
    light_timeout(&mut restored, roomcore::Millis(1040), &mut out)
        .unwrap_or_else(|v| panic!("{v}"));
    let lines: Vec<String> = out.iter().map(|s| line(&s.output)).collect();
    assert_eq!(lines, ["room r1 changed +[u4,u5] -[]"]);
}

#[test]
fn a_window_outside_its_bounds_is_a_config_error() {
    for bad in [0, 60_001] {
        let c = Config {
            member_batch_interval_ms: bad,
            ..Config::default()
        };
        assert!(Engine::new(c).is_err(), "{bad} ms accepted");
    }
    let c = Config {
        member_batch_interval_ms: 60_000,
        ..Config::default()
    };
    assert!(Engine::new(c).is_ok());
}
