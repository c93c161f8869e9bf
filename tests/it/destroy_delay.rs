//! Delayed room destruction (ZIM `roomDestroyDelayTime`): at once by default, at exactly the deadline otherwise, cancelled by
//! a join, never firing late after a cancel, bounded to 3 h, and still a room while it waits.
use crate::common::*;
use roomcore::{Config, Engine, Millis, RoomConfig, RoomId, Stamped};

fn alice_and_bob() -> T {
    alice_and_bob_with(Config::default())
}

fn alice_and_bob_with(config: Config) -> T {
    let mut t = T::with(config);
    t.logins(0, &[("s1", "alice"), ("s2", "bob")]);
    t
}

/// The `(at, lines)` of every timer step (no input) in the transcript.
fn timer_steps(t: &T) -> Vec<(u64, Vec<String>)> {
    t.transcript()
        .iter()
        .filter(|s| s.input.is_none())
        .map(|s| (s.at, lines(&s.out)))
        .collect()
}

#[test]
fn default_delay_zero_destroys_the_emptied_room_at_once() {
    let mut t = alice_and_bob();
    t.run(10, |r| r.create("s1", "r1", None));
    t.run(20, |r| r.create("s2", "r2", delay_s(0)));
    let outs = t.run(30, |r| r.leave("s1", "r1"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 disconnected/success",
            "destroyed r1 empty",
            "s1 reply ok"
        ]
    );
    let outs = t.run(40, |r| r.leave("s2", "r2"));
    assert_eq!(
        lines(&outs),
        [
            "s2 r2 disconnected/success",
            "destroyed r2 empty",
            "s2 reply ok"
        ]
    );
    assert!(!t.exists("r1") && !t.exists("r2"));
    assert_eq!(t.engine().pending_timers(), 0);
    let (code, _) = t.refused(50, |r| r.join("s1", "r1"));
    assert_eq!(code, ErrorCode::RoomNotExist);
    pin!("delay_zero", t);
}

#[test]
fn a_delay_destroys_at_exactly_now_plus_the_delay() {
    let mut t = alice_and_bob();
    t.run(10, |r| r.create("s1", "r1", delay_s(5)));
    let outs = t.run(1_000, |r| r.leave("s1", "r1"));
    assert_eq!(lines(&outs), ["s1 r1 disconnected/success", "s1 reply ok"]);
    assert_eq!(t.engine().poll_timeout(), Some(Millis(6_000)));
    t.advance(5_999);
    assert!(t.exists("r1"), "still there 1 ms before the deadline");
    t.advance(6_000);
    assert!(!t.exists("r1"));
    assert_eq!(
        timer_steps(&t),
        [(6_000, vec!["destroyed r1 empty".to_owned()])]
    );
    // At the deadline the room is gone: a later join gets room_not_exist.
    let (code, _) = t.refused(6_001, |r| r.join("s2", "r1"));
    assert_eq!(code, ErrorCode::RoomNotExist);
    pin!("delay_exact_deadline", t);
}

#[test]
fn timer_outputs_are_stamped_with_their_deadline_before_the_input() {
    // A raw engine, so the stamping of handle_input itself is what is checked.
    let mut e = Engine::new(Config::default()).unwrap();
    let mut r = Requests::default();
    let mut out: Vec<Stamped> = Vec::new();
    for (at, input) in [
        (0, r.login("s1", "alice")),
        (10, r.create("s1", "r1", delay_s(5))),
        (20, r.create("s1", "r2", delay_s(3))),
        (1_000, r.leave("s1", "r1")),
        (1_000, r.leave("s1", "r2")),
    ] {
        light_step(&mut e, Millis(at), &input, &mut out).unwrap_or_else(|v| panic!("{v}"));
    }
    out.clear();
    let join = r.join("s1", "r1");
    light_step(&mut e, Millis(10_000), &join, &mut out).unwrap_or_else(|v| panic!("{v}"));
    let got: Vec<(u64, String)> = out
        .iter()
        .map(|s| (s.at.as_ms(), line(&s.output)))
        .collect();
    assert_eq!(
        got,
        [
            (4_000, "destroyed r2 empty".to_owned()),
            (6_000, "destroyed r1 empty".to_owned()),
            (10_000, "s1 r1 connecting/active_enter".to_owned()),
            (10_000, "s1 r1 disconnected/enter_failed".to_owned()),
            (10_000, "s1 reply room_not_exist".to_owned()),
        ]
    );
}

#[test]
fn a_join_or_enter_before_the_deadline_cancels_the_timer() {
    let mut t = alice_and_bob();
    t.run(10, |r| r.create("s1", "r1", delay_s(5)));
    t.run(20, |r| r.create("s1", "r2", delay_s(5)));
    t.run(1_000, |r| r.leave("s1", "r1"));
    t.run(1_000, |r| r.leave("s1", "r2"));
    assert_eq!(t.engine().pending_timers(), 2);
    // 1 ms before each deadline: bob joins r1, enters r2. The joiner of an empty room is
    // told about nobody.
    let outs = t.run(5_999, |r| r.join("s2", "r1"));
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 connecting/active_enter",
            "s2 r1 connected/success",
            "s2 reply ok"
        ]
    );
    let outs = t.run(5_999, |r| r.enter("s2", "r2", delay_s(0)));
    assert_eq!(
        server_side(&outs),
        Vec::<String>::new(),
        "joined, not re-created"
    );
    assert_eq!(t.engine().pending_timers(), 0);
    t.advance(100_000);
    assert!(t.exists("r1") && t.exists("r2"));
    assert_eq!(timer_steps(&t), Vec::<(u64, Vec<String>)>::new());
    // The room keeps its own delay (5 s, not the enter's 0) for the next time it empties.
    t.run(100_000, |r| r.leave("s2", "r2"));
    assert_eq!(t.engine().poll_timeout(), Some(Millis(105_000)));
    pin!("delay_cancelled_by_join", t);
}

#[test]
fn a_cancelled_timer_never_fires_even_when_the_room_id_is_recreated() {
    let mut t = alice_and_bob();
    t.run(0, |r| r.create("s1", "r1", delay_s(10)));
    t.run(100, |r| r.leave("s1", "r1")); // deadline 10,100
    t.run(200, |r| r.join("s1", "r1")); // cancelled
    t.run(300, |r| r.leave("s1", "r1")); // deadline 10,300
    t.run(400, |r| r.dismiss("r1")); // cancelled, room gone
    assert_eq!(t.engine().pending_timers(), 0);
    t.run(500, |r| r.create("s2", "r1", delay_s(20)));
    // Cross both old deadlines with the new room occupied, then empty.
    t.advance(10_300);
    assert_eq!(t.members("r1").unwrap(), ["bob"]);
    t.run(15_000, |r| r.leave("s2", "r1")); // deadline 35,000
    t.advance(34_999);
    assert!(t.exists("r1"));
    t.advance(40_000);
    assert!(!t.exists("r1"));
    assert_eq!(
        timer_steps(&t),
        [(35_000, vec!["destroyed r1 empty".to_owned()])]
    );
    pin!("delay_cancel_recreate", t);
}

#[test]
fn a_recreated_empty_room_is_not_destroyed_by_the_old_deadline() {
    let mut t = alice_and_bob();
    t.run(0, |r| r.create("s1", "r1", delay_s(10)));
    t.run(100, |r| r.leave("s1", "r1")); // deadline 10,100
    t.run(200, |r| r.dismiss("r1"));
    t.run(300, |r| r.create("s1", "r1", delay_s(60)));
    t.run(400, |r| r.leave("s1", "r1")); // deadline 60,400
    t.advance(60_399);
    assert!(t.exists("r1"));
    t.advance(60_400);
    assert_eq!(
        timer_steps(&t),
        [(60_400, vec!["destroyed r1 empty".to_owned()])]
    );
}

#[test]
fn destroy_delay_is_at_most_three_hours() {
    let mut t = alice_and_bob();
    for make in [
        |r: &mut Requests| r.create("s1", "r1", delay_s(10_801)),
        |r: &mut Requests| r.enter("s1", "r1", delay_s(10_801)),
        |r: &mut Requests| r.create("s1", "r1", delay_s(u64::MAX)),
    ] {
        let (code, outs) = t.refused(10, make);
        assert_eq!(code, ErrorCode::InvalidConfig);
        assert_eq!(lines(&outs), ["s1 reply invalid_config"]);
    }
    t.run(20, |r| r.create("s1", "r1", delay_s(10_800)));
    t.run(1_000, |r| r.leave("s1", "r1"));
    assert_eq!(t.engine().poll_timeout(), Some(Millis(10_801_000)));
    t.advance(10_800_999);
    assert!(t.exists("r1"));
    t.advance(10_801_000);
    assert!(!t.exists("r1"));
    pin!("delay_max", t);
}

#[test]
fn an_empty_room_waiting_still_counts_can_be_joined_and_dismissed() {
    let mut t = alice_and_bob_with(Config {
        max_rooms: 1,
        ..Config::default()
    });
    t.run(10, |r| r.create("s1", "r1", delay_s(60)));
    t.run(20, |r| r.leave("s1", "r1")); // waits until 60,020
    assert_eq!(t.engine().room_count(), 1);
    let (code, _) = t.refused(30, |r| r.create("s2", "r2", None));
    assert_eq!(code, ErrorCode::ServerRoomLimit);
    let (code, _) = t.refused(40, |r| r.enter("s2", "r2", None));
    assert_eq!(code, ErrorCode::ServerRoomLimit);
    // It can be joined (which cancels the timer)...
    let outs = t.run(50, |r| r.join("s2", "r1"));
    assert_eq!(error_of(&outs), None);
    assert_eq!(t.engine().pending_timers(), 0);
    // ...and, empty and waiting again, dismissed: gone at once, its timer cancelled.
    t.run(60, |r| r.leave("s2", "r1")); // waits until 60,060
    let outs = t.run(70, |r| r.dismiss("r1"));
    assert_eq!(lines(&outs), ["destroyed r1 dismissed", "admin ok"]);
    assert_eq!(t.engine().pending_timers(), 0);
    assert_eq!(error_of(&t.run(80, |r| r.create("s2", "r2", None))), None);
    t.advance(100_000);
    assert_eq!(timer_steps(&t), Vec::<(u64, Vec<String>)>::new());
    pin!("delay_waiting_room_counts", t);
}

#[test]
fn attributes_are_dropped_while_empty_unless_kept() {
    let mut t = alice_and_bob();
    let attrs = room_config(60, &[("k", "v")]);
    let kept = Some(RoomConfig {
        keep_attributes_while_empty: true,
        ..attrs.clone().unwrap()
    });
    t.run(10, |r| r.create("s1", "dropped", attrs));
    t.run(20, |r| r.create("s1", "kept", kept));
    t.run(30, |r| r.leave("s1", "dropped"));
    t.run(40, |r| r.leave("s1", "kept"));
    t.run(50, |r| r.join("s2", "dropped"));
    t.run(60, |r| r.join("s2", "kept"));
    let attributes = |t: &T, room: &str| t.engine().room_attributes(RoomId::new(room)).unwrap();
    assert_eq!(attributes(&t, "dropped"), []);
    assert_eq!(attributes(&t, "kept"), [("k".to_owned(), "v".to_owned())]);
}
