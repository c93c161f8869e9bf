//! Network interruption and reconnect: a lost link
//! puts the session's rooms in `connecting`, nobody else is told, the grace timer runs;
//! a restore within the grace reconnects with one net delta per room; at expiry the session
//! leaves its rooms by timeout; events that end a membership reach a lost session at once;
//! commands touching a reconnecting room answer `room_connecting`.
use crate::common::*;

/// Builds one command.
type Make = Box<dyn Fn(&mut Requests) -> Input>;
use roomcore::{Config, RoomId, SessionId, TimerReason};

/// alice (s1), bob (s2) and carol (s3) in r1 (destroy delay 60 s) in that order; alice and
/// bob also in r2.
fn rooms() -> T {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice"), ("s2", "bob"), ("s3", "carol")]);
    t.run(10, |r| r.create("s1", "r1", delay_s(60)));
    t.run(20, |r| r.join("s2", "r1"));
    t.run(30, |r| r.join("s3", "r1"));
    t.run(40, |r| r.create("s2", "r2", delay_s(60)));
    t.run(50, |r| r.join("s1", "r2"));
    t
}

fn lost(t: &T, session: &str) -> bool {
    t.engine().is_link_lost(SessionId::new(session))
}

fn room_states(t: &T, session: &str) -> Vec<String> {
    t.engine()
        .session_rooms(SessionId::new(session))
        .unwrap_or_default()
        .iter()
        .map(|(r, s)| format!("{r} {}", wire(s)))
        .collect()
}

#[test]
fn link_lost_puts_each_room_in_connecting_and_tells_nobody_else() {
    let mut t = rooms();
    let outs = t.at(1_000, link_lost("s1"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 connecting/network_interrupted",
            "s1 r2 connecting/network_interrupted"
        ]
    );
    assert_eq!(room_states(&t, "s1"), ["r1 connecting", "r2 connecting"]);
    assert!(lost(&t, "s1"));
    // Still a member for everyone else.
    assert_eq!(t.members("r1").unwrap(), ["alice", "bob", "carol"]);
    // The grace timer: default 90 s from the loss.
    let (deadline, kind) = t.engine().next_timer().expect("grace timer");
    assert_eq!(deadline.as_ms(), 91_000);
    assert!(
        matches!(kind, TimerReason::ReconnectGrace { session } if session == SessionId::new("s1"))
    );
    pin!("link_lost", t);
}

#[test]
fn a_lost_session_receives_no_member_events() {
    let mut t = rooms();
    t.logins(0, &[("s4", "dave")]);
    t.at(1_000, link_lost("s1"));
    let outs = t.run(2_000, |r| r.join("s4", "r1"));
    assert_eq!(seen_by(&outs, "s1"), Vec::<String>::new());
    assert_eq!(seen_by(&outs, "s2"), ["s2 r1 joined dave"]);
    let outs = t.run(3_000, |r| r.leave("s3", "r1"));
    assert_eq!(seen_by(&outs, "s1"), Vec::<String>::new());
    let outs = t.run(4_000, |r| r.message("s2", "r1", "hi"));
    assert_eq!(seen_by(&outs, "s1"), Vec::<String>::new());
    assert_eq!(seen_by(&outs, "s4"), ["s4 r1 message 1 from bob"]);
    let outs = t.run(5_000, |r| {
        r.set_attrs("s2", "r1", &[("k", "v")], false, false, false)
    });
    assert_eq!(seen_by(&outs, "s1"), Vec::<String>::new());
    let outs = t.run(6_000, |r| {
        r.set_member_attrs("s2", "r1", &[("k", "v")], None)
    });
    assert_eq!(seen_by(&outs, "s1"), Vec::<String>::new());
}

#[test]
fn restore_within_the_grace_reconnects_with_one_net_delta_per_room() {
    let mut t = rooms();
    t.logins(0, &[("s4", "dave"), ("s5", "erin")]);
    t.at(1_000, link_lost("s1"));
    // r1 at the loss: alice, bob, carol. Meanwhile: dave joins; bob leaves; erin joins and
    // leaves again (never seen); carol leaves and comes back (no net change).
    t.run(2_000, |r| r.join("s4", "r1"));
    t.run(3_000, |r| r.leave("s2", "r1"));
    t.run(4_000, |r| r.join("s5", "r1"));
    t.run(5_000, |r| r.leave("s5", "r1"));
    t.run(6_000, |r| r.leave("s3", "r1"));
    t.run(7_000, |r| r.join("s3", "r1"));
    // r2 (alice, bob) does not change.
    let outs = t.at(80_000, link_restored("s1"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 connected/success",
            "s1 r1 joined dave",
            "s1 r1 left bob left",
            "s1 r2 connected/success"
        ]
    );
    assert!(!lost(&t, "s1"));
    assert_eq!(room_states(&t, "s1"), ["r1 connected", "r2 connected"]);
    assert_eq!(t.engine().pending_timers(), 0, "grace timer cancelled");
    // Members events flow again.
    let outs = t.run(81_000, |r| r.leave("s4", "r1"));
    assert_eq!(seen_by(&outs, "s1"), ["s1 r1 left dave left"]);
    // Past the old deadline nothing happens.
    t.advance(200_000);
    assert_eq!(t.rooms("s1").unwrap(), ["r1", "r2"]);
    pin!("restore_delta", t);
}

#[test]
fn the_restore_delta_lists_joins_in_join_order_and_leaves_in_leave_order_whatever_the_reason() {
    let mut t = rooms();
    t.logins(0, &[("s4", "dave"), ("s5", "erin"), ("s6", "frank")]);
    t.at(1_000, link_lost("s1"));
    t.run(2_000, |r| r.join("s5", "r1"));
    t.run(2_100, |r| r.join("s4", "r1"));
    t.run(3_000, |r| r.kick("r1", &["carol"]));
    t.run(3_100, |r| r.leave("s2", "r1"));
    t.run(3_200, |r| r.logout("s5"));
    t.run(3_300, |r| r.join("s6", "r1"));
    let outs = t.at(4_000, link_restored("s1"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 connected/success",
            "s1 r1 joined dave,frank",
            "s1 r1 left carol,bob left",
            "s1 r2 connected/success"
        ]
    );
}

#[test]
fn several_lost_members_of_one_room_each_get_their_own_delta() {
    let mut t = rooms();
    t.logins(0, &[("s4", "dave"), ("s5", "erin")]);
    t.run(60, |r| r.join("s4", "r1"));
    t.at(1_000, link_lost("s1"));
    t.run(2_000, |r| r.leave("s3", "r1"));
    t.at(3_000, link_lost("s2"));
    t.run(4_000, |r| r.leave("s4", "r1"));
    t.run(5_000, |r| r.join("s5", "r1"));
    t.run(5_500, |r| r.join("s3", "r1"));
    // alice lost before carol left: carol left and came back, no change for her; dave left.
    let outs = t.at(6_000, link_restored("s1"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 connected/success",
            "s1 r1 joined erin",
            "s1 r1 left dave left",
            "s1 r2 connected/success"
        ]
    );
    // bob lost after carol left: carol is a new member for him.
    let outs = t.at(7_000, link_restored("s2"));
    assert_eq!(
        lines(&outs),
        [
            "s2 r1 connected/success",
            "s2 r1 joined erin,carol",
            "s2 r1 left dave left",
            "s2 r2 connected/success"
        ]
    );
    pin!("two_lost_members", t);
}

#[test]
fn restoring_twice_or_without_a_loss_is_harmless() {
    let mut t = rooms();
    let before = t.snapshot();
    let outs = t.at(50, link_restored("s1"));
    assert!(outs.is_empty());
    assert_eq!(before, t.snapshot());
    t.at(2_000, link_lost("s1"));
    assert_eq!(t.at(3_000, link_restored("s1")).len(), 2);
    let before = t.snapshot();
    let outs = t.at(3_000, link_restored("s1"));
    assert!(outs.is_empty());
    assert_eq!(before, t.snapshot());
}

#[test]
fn link_events_for_unknown_or_closed_sessions_are_ignored() {
    let mut t = rooms();
    t.run(100, |r| r.logout("s3"));
    let before = t.snapshot();
    for s in ["ghost", "s3"] {
        assert!(t.at(100, link_lost(s)).is_empty());
        assert!(t.at(100, link_restored(s)).is_empty());
    }
    assert_eq!(before, t.snapshot());
}

#[test]
fn grace_expiry_leaves_every_reconnecting_room_by_timeout() {
    let mut t = rooms();
    t.at(1_000, link_lost("s1"));
    t.advance(90_999);
    assert_eq!(t.rooms("s1").unwrap(), ["r1", "r2"]);
    t.advance(91_000);
    let step = t.transcript().last().expect("timer step").clone();
    assert_eq!(step.at, 91_000);
    assert!(step.input.is_none());
    assert_eq!(
        lines(&step.out),
        [
            "s1 r1 disconnected/connect_timeout",
            "s2 r1 left alice timeout",
            "s3 r1 left alice timeout",
            "s1 r2 disconnected/connect_timeout",
            "s2 r2 left alice timeout"
        ]
    );
    // Still logged in, in no room, link no longer lost; a late restore finds nothing.
    assert_eq!(t.rooms("s1").unwrap(), Vec::<String>::new());
    assert!(!lost(&t, "s1"));
    assert!(t.at(95_000, link_restored("s1")).is_empty());
    let outs = t.run(96_000, |r| r.join("s1", "r1"));
    assert_eq!(error_of(&outs), None);
    pin!("grace_expiry", t);
}

#[test]
fn the_grace_is_configurable_and_an_emptied_room_starts_its_destroy_delay() {
    let mut t = T::with(Config {
        reconnect_grace_ms: 5_000,
        ..Config::default()
    });
    t.logins(0, &[("s1", "alice")]);
    t.run(10, |r| r.create("s1", "r1", delay_s(60)));
    t.at(100, link_lost("s1"));
    t.advance(5_100);
    assert_eq!(
        lines(&t.transcript().last().unwrap().out),
        ["s1 r1 disconnected/connect_timeout"]
    );
    // The room waits for its destroy delay, then goes.
    assert!(t.exists("r1"));
    t.advance(65_100);
    assert!(!t.exists("r1"));
    assert_eq!(
        lines(&t.transcript().last().unwrap().out),
        ["destroyed r1 empty"]
    );
}

#[test]
fn a_room_dismissed_during_the_outage_is_reported_at_once() {
    let mut t = rooms();
    t.at(1_000, link_lost("s1"));
    let outs = t.run(2_000, |r| r.dismiss("r2"));
    assert_eq!(
        lines(&outs),
        [
            "s2 r2 disconnected/room_not_exist",
            "s1 r2 disconnected/room_not_exist",
            "destroyed r2 dismissed",
            "admin ok"
        ]
    );
    // r1 still reconnecting: the grace runs on.
    assert!(lost(&t, "s1"));
    // Dismissing the last reconnecting room ends the grace: its timer is cancelled.
    let outs = t.run(3_000, |r| r.dismiss("r1"));
    assert!(lines(&outs).contains(&"s1 r1 disconnected/room_not_exist".to_owned()));
    assert!(!lost(&t, "s1"));
    assert_eq!(t.engine().pending_timers(), 0);
    assert!(t.at(4_000, link_restored("s1")).is_empty());
    pin!("dismiss_during_outage", t);
}

#[test]
fn a_kick_during_the_outage_is_reported_at_once_and_can_end_the_grace() {
    let mut t = rooms();
    t.at(1_000, link_lost("s3"));
    let outs = t.run(2_000, |r| r.kick("r1", &["carol"]));
    assert_eq!(
        lines(&outs),
        [
            "s3 r1 disconnected/kicked_out",
            "s1 r1 left carol kicked",
            "s2 r1 left carol kicked",
            "admin ok"
        ]
    );
    assert!(!lost(&t, "s3"));
    assert_eq!(t.engine().pending_timers(), 0);
}

#[test]
fn commands_touching_a_reconnecting_room_answer_room_connecting() {
    let mut t = rooms();
    t.at(1_000, link_lost("s1"));
    t.run(1_500, |r| r.create("s1", "r3", None));
    let cases: Vec<(&str, Make)> = vec![
        ("join", Box::new(|r| r.join("s1", "r1"))),
        ("create", Box::new(|r| r.create("s1", "r1", None))),
        ("enter", Box::new(|r| r.enter("s1", "r1", None))),
        ("leave", Box::new(|r| r.leave("s1", "r1"))),
        ("leave_all", Box::new(|r| r.leave_all("s1"))),
        (
            "switch from",
            Box::new(|r| r.switch("s1", "r1", "r9", true, None)),
        ),
        (
            "switch to",
            Box::new(|r| r.switch("s1", "r3", "r1", false, None)),
        ),
        ("query", Box::new(|r| r.query("s1", "r1", "", 10))),
        ("message", Box::new(|r| r.message("s1", "r1", "hi"))),
        (
            "set attrs",
            Box::new(|r| r.set_attrs("s1", "r1", &[("k", "v")], false, false, false)),
        ),
        (
            "delete attrs",
            Box::new(|r| r.delete_attrs("s1", "r1", &["k"], false)),
        ),
        (
            "set member attrs",
            Box::new(|r| r.set_member_attrs("s1", "r1", &[("k", "v")], None)),
        ),
        (
            "delete member attrs",
            Box::new(|r| r.delete_member_attrs("s1", "r1", &["k"], None)),
        ),
        (
            "query member attrs",
            Box::new(|r| r.query_member_attrs("s1", "r1", None)),
        ),
    ];
    for (i, (name, make)) in cases.iter().enumerate() {
        let (code, outs) = t.refused(2_000 + i as u64, |r| make(r));
        assert_eq!(code, ErrorCode::RoomConnecting, "{name}");
        assert_eq!(lines(&outs), ["s1 reply room_connecting"], "{name}");
    }
    pin!("room_connecting", t);
}

#[test]
fn rooms_joined_while_the_link_is_lost_are_connected_and_outlive_the_grace() {
    let mut t = rooms();
    t.at(1_000, link_lost("s1"));
    let outs = t.run(2_000, |r| r.create("s1", "r3", None));
    assert_eq!(error_of(&outs), None);
    assert_eq!(
        room_states(&t, "s1"),
        ["r1 connecting", "r2 connecting", "r3 connected"]
    );
    // Other commands of the session work as usual.
    let outs = t.run(2_500, |r| r.message("s1", "r3", "alone"));
    assert_eq!(error_of(&outs), None);
    // The restore does not touch r3.
    let outs = t.at(3_000, link_restored("s1"));
    assert_eq!(
        lines(&outs),
        ["s1 r1 connected/success", "s1 r2 connected/success"]
    );
    // Lost again: the grace ends with r3 gone too, because it was connected at this loss.
    t.at(4_000, link_lost("s1"));
    t.run(5_000, |r| r.create("s1", "r4", None));
    t.advance(94_000);
    assert_eq!(t.rooms("s1").unwrap(), ["r4"]);
    pin!("joined_while_lost", t);
}

#[test]
fn a_second_link_lost_takes_new_rooms_and_keeps_the_first_deadline() {
    let mut t = rooms();
    t.at(1_000, link_lost("s1"));
    t.run(2_000, |r| r.create("s1", "r3", None));
    let outs = t.at(30_000, link_lost("s1"));
    // Only r3 changes; r1 and r2 are reconnecting already.
    assert_eq!(lines(&outs), ["s1 r3 connecting/network_interrupted"]);
    assert_eq!(t.engine().pending_timers(), 1);
    assert_eq!(t.engine().poll_timeout().unwrap().as_ms(), 91_000);
    t.advance(91_000);
    assert_eq!(t.rooms("s1").unwrap(), Vec::<String>::new());
    assert!(
        !t.exists("r3"),
        "r3 emptied with delay 0 is destroyed at once"
    );
}

#[test]
fn a_session_in_no_room_arms_no_grace_timer() {
    let mut t = T::new();
    t.logins(0, &[("s1", "alice")]);
    assert!(t.at(100, link_lost("s1")).is_empty());
    assert_eq!(t.engine().pending_timers(), 0);
    assert!(!lost(&t, "s1"));
}

#[test]
fn restore_cancels_the_grace_and_a_new_loss_gets_a_new_deadline() {
    let mut t = rooms();
    t.at(1_000, link_lost("s1"));
    t.at(2_000, link_restored("s1"));
    t.at(50_000, link_lost("s1"));
    // The first deadline (91 s) passes without effect.
    t.advance(139_999);
    assert_eq!(room_states(&t, "s1"), ["r1 connecting", "r2 connecting"]);
    t.advance(140_000);
    assert_eq!(t.rooms("s1").unwrap(), Vec::<String>::new());
}

#[test]
fn logout_while_lost_cancels_the_grace_and_the_id_can_be_reused_safely() {
    let mut t = rooms();
    t.at(1_000, link_lost("s1"));
    let outs = t.run(2_000, |r| r.logout("s1"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 disconnected/success",
            "s2 r1 left alice left",
            "s3 r1 left alice left",
            "s1 r2 disconnected/success",
            "s2 r2 left alice left",
            "s1 reply ok",
            "s1 closed logout"
        ]
    );
    assert_eq!(t.engine().pending_timers(), 0);
    // The same id logs in again, joins, loses its link later: only the new deadline counts.
    t.run(3_000, |r| r.login("s1", "alice"));
    t.run(4_000, |r| r.join("s1", "r1"));
    t.at(60_000, link_lost("s1"));
    t.advance(149_999);
    assert_eq!(room_states(&t, "s1"), ["r1 connecting"]);
    t.advance(150_000);
    assert_eq!(t.rooms("s1").unwrap(), Vec::<String>::new());
    pin!("logout_while_lost", t);
}

#[test]
fn a_slot_reused_by_another_session_is_not_hit_by_an_old_grace() {
    let mut t = rooms();
    t.at(1_000, link_lost("s3"));
    t.run(2_000, |r| r.logout("s3"));
    // s9 takes the freed session slot.
    t.run(3_000, |r| r.login("s9", "zoe"));
    t.run(4_000, |r| r.join("s9", "r1"));
    t.advance(100_000);
    assert_eq!(t.members("r1").unwrap(), ["alice", "bob", "zoe"]);
}

#[test]
fn the_restore_delta_carries_attribute_changes_but_not_missed_messages() {
    let mut t = rooms();
    t.run(100, |r| {
        r.set_attrs("s1", "r1", &[("a", "1"), ("b", "2")], false, false, false)
    });
    t.run(110, |r| {
        r.set_member_attrs("s2", "r1", &[("mic", "on")], Some(&["bob", "carol"]))
    });
    t.at(1_000, link_lost("s1"));
    t.run(2_000, |r| {
        r.set_attrs("s2", "r1", &[("c", "3")], false, false, false)
    });
    t.run(2_100, |r| {
        r.set_attrs("s2", "r1", &[("a", "9")], true, false, false)
    });
    t.run(2_300, |r| r.delete_attrs("s2", "r1", &["b"], true));
    t.run(2_400, |r| {
        r.delete_member_attrs("s2", "r1", &["mic"], Some(&["carol"]))
    });
    t.run(2_500, |r| r.message("s2", "r1", "missed"));
    let outs = t.at(3_000, link_restored("s1"));
    let mut expected = vec![
        "s1 r1 connected/success".to_owned(),
        "s1 r1 room_attributes_updated".to_owned(),
        "s1 r1 room_member_attributes_updated".to_owned(),
        "s1 r2 connected/success".to_owned(),
    ];
    assert_eq!(lines(&outs), expected);
    match &outs[1] {
        Output::RoomAttributesUpdated { set, deleted, .. } => {
            let set: Vec<(&str, &str)> =
                set.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(set, [("a", "9"), ("c", "3")]);
            assert_eq!(deleted, &["b".to_owned()]);
        }
        o => panic!("{o:?}"),
    }
    match &outs[2] {
        Output::RoomMemberAttributesUpdated { members, .. } => {
            assert_eq!(members.len(), 1);
            assert_eq!(members[0].user_id.as_str(), "carol");
            assert!(members[0].attributes.is_empty());
        }
        o => panic!("{o:?}"),
    }
    // The missed message is not replayed; the next one shows the gap (seq 2).
    let outs = t.run(4_000, |r| r.message("s2", "r1", "next"));
    expected = vec!["s1 r1 message 2 from bob".to_owned()];
    assert_eq!(seen_by(&outs, "s1"), expected);
    pin!("restore_attributes", t);
}

#[test]
fn a_new_login_of_the_same_user_closes_a_lost_session_at_once() {
    let mut t = rooms();
    t.at(1_000, link_lost("s1"));
    let outs = t.run(2_000, |r| r.login("s7", "alice"));
    assert_eq!(
        lines(&outs),
        [
            "s1 r1 disconnected/kicked_out_by_other_device",
            "s2 r1 left alice other_device",
            "s3 r1 left alice other_device",
            "s1 r2 disconnected/kicked_out_by_other_device",
            "s2 r2 left alice other_device",
            "s1 closed kicked_out_by_other_device",
            "s7 reply ok"
        ]
    );
    assert_eq!(t.engine().pending_timers(), 0);
}

/// A room that changed without anyone to tell: the empty-room timer and attribute drop do
/// not disturb reconnect bookkeeping (checked by the invariants after every step).
#[test]
fn reconnect_bookkeeping_survives_room_recreation() {
    let mut t = rooms();
    t.at(1_000, link_lost("s1"));
    t.run(2_000, |r| r.dismiss("r1"));
    t.run(3_000, |r| r.create("s2", "r1", None));
    let outs = t.at(4_000, link_restored("s1"));
    assert_eq!(lines(&outs), ["s1 r2 connected/success"]);
    assert_eq!(t.engine().room_members(RoomId::new("r1")).unwrap().len(), 1);
}

mod interleavings;
