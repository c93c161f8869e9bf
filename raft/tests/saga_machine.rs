//! The cross-shard switch on two bare state machines (no Raft): what each session sees
//! equals what one engine's own `switch_room` shows it, and every step is idempotent.

use roomcore::{
    Engine, ErrorCode, Input, Millis, Outcome, Output, Outputs, ReplyOk, RoomId, RoomInfo,
    SessionId, Stamped, UserId,
};
use roomcore_raft::{
    Command, EnterResult, Limits, Placement, Proposal, RequestKey, Response, RoomMachine, ShardMap,
    SwitchPlan,
};

fn map() -> ShardMap {
    ShardMap {
        version: 1,
        placement: Placement::Ranges {
            ranges: vec![(String::new(), 0), ("m".into(), 1)],
        },
    }
}

fn machine(shard: u32) -> RoomMachine {
    let mut m = RoomMachine::new(roomcore::Config::default(), Limits::default()).expect("config");
    let r = m.apply(&proposal(
        0,
        None,
        Command::SetShardMap { shard, map: map() },
    ));
    assert_eq!(
        r,
        Response::Applied {
            outputs: Outputs::new()
        }
    );
    m
}

fn proposal(now_ms: u64, request: Option<RequestKey>, command: Command) -> Proposal {
    Proposal {
        request,
        now_ms,
        command,
    }
}

fn login(session: &str, user: &str) -> Input {
    Input::Login {
        session: SessionId::new(session),
        request: 1,
        user: UserId::new(user),
    }
}

fn enter(session: &str, room: &str) -> Input {
    Input::EnterRoom {
        session: SessionId::new(session),
        request: 2,
        room: RoomInfo {
            id: RoomId::new(room),
            name: roomcore::RoomName::EMPTY,
        },
        config: None,
    }
}

fn feed(m: &mut RoomMachine, now: u64, inputs: &[Input]) {
    for input in inputs {
        let r = m.apply(&proposal(
            now,
            None,
            Command::Input {
                input: input.clone(),
            },
        ));
        assert!(matches!(r, Response::Applied { .. }), "{r:?}");
    }
}

fn plan(from: &str, to: &str, create_if_missing: bool) -> SwitchPlan {
    SwitchPlan {
        session: SessionId::new("s1"),
        request: 7,
        from: RoomId::new(from),
        to: RoomInfo {
            id: RoomId::new(to),
            name: roomcore::RoomName::EMPTY,
        },
        create_if_missing,
        config: None,
    }
}

/// One output per recipient, as a `Vec<Stamped>` sink (and a trace) lists them.
fn expand(outputs: &Outputs) -> Vec<Stamped> {
    outputs.expanded().collect()
}

/// Outputs addressed to `session`, in order, room sids blanked: each shard numbers its own
/// rooms, so a sid is unique within a shard, not across the cluster (see the README).
fn seen_by(outputs: &[Stamped], session: &str) -> Vec<Stamped> {
    without_sids(outputs)
        .into_iter()
        .filter(|s| s.output.session().is_some_and(|x| x.as_str() == session))
        .collect()
}

fn without_sids(outputs: &[Stamped]) -> Vec<Stamped> {
    outputs
        .iter()
        .cloned()
        .map(|mut s| {
            match &mut s.output {
                Output::RoomCreated { sid, .. } | Output::RoomDestroyed { sid, .. } => *sid = None,
                Output::Reply {
                    outcome: Outcome::Ok(ReplyOk::Room { sid, .. }),
                    ..
                } => *sid = None,
                _ => {}
            }
            s
        })
        .collect()
}

/// alice (s1) and bob (s2) in "apple" (shard 0); carol (s3) in "zoo" (shard 1).
fn setup() -> (Engine, RoomMachine, RoomMachine) {
    let mut reference = Engine::new(roomcore::Config::default()).expect("config");
    let mut sink = Vec::new();
    let all = [
        login("s1", "alice"),
        login("s2", "bob"),
        login("s3", "carol"),
        enter("s1", "apple"),
        enter("s2", "apple"),
        enter("s3", "zoo"),
    ];
    for input in &all {
        reference.handle_input(Millis(10), input, &mut sink);
    }
    let mut a = machine(0);
    let mut b = machine(1);
    feed(
        &mut a,
        10,
        &[
            login("s1", "alice"),
            login("s2", "bob"),
            enter("s1", "apple"),
            enter("s2", "apple"),
        ],
    );
    feed(&mut b, 10, &[login("s3", "carol"), enter("s3", "zoo")]);
    (reference, a, b)
}

/// Runs the three steps at `now`; returns (the outputs in the order they happen, B's result).
fn saga(
    a: &mut RoomMachine,
    b: &mut RoomMachine,
    now: u64,
    p: &SwitchPlan,
) -> (Vec<Stamped>, EnterResult) {
    let switch = RequestKey { client: 1, seq: 1 };
    let begun = a.apply(&proposal(
        now,
        Some(switch),
        Command::SwitchBegin {
            switch,
            plan: p.clone(),
        },
    ));
    assert_eq!(
        begun,
        Response::Applied {
            outputs: Outputs::new()
        },
        "accepted silently"
    );
    let entry = a.outbox().pop().expect("an outbox entry");
    let cmd = Command::SwitchEnter {
        switch,
        plan: entry.plan.clone(),
        user: entry.user,
    };
    let Response::Entered {
        result,
        outputs: entered,
    } = b.apply(&proposal(now, None, cmd))
    else {
        panic!("step 2 answers Entered");
    };
    let finish = Command::SwitchFinish {
        switch,
        session: p.session,
        result: result.clone(),
    };
    let finished = a.apply(&proposal(now, None, finish));
    let mut all = expand(&entered);
    all.extend(finished.outputs().expanded());
    assert!(a.outbox().is_empty());
    (all, result)
}

fn reference_switch(e: &mut Engine, now: u64, p: &SwitchPlan) -> Vec<Stamped> {
    let input = Input::SwitchRoom {
        session: p.session,
        request: p.request,
        from: p.from,
        to: p.to.clone(),
        create_if_missing: p.create_if_missing,
        config: p.config.clone(),
    };
    let mut out = Vec::new();
    e.handle_input(Millis(now), &input, &mut out);
    out
}

#[test]
fn every_session_sees_what_one_engine_would_show() {
    for (to, create) in [("zoo", false), ("new", true), ("nowhere", false)] {
        let (mut reference, mut a, mut b) = setup();
        let p = plan("apple", to, create);
        let expected = reference_switch(&mut reference, 20, &p);
        let (got, result) = saga(&mut a, &mut b, 20, &p);
        for session in ["s1", "s2", "s3"] {
            assert_eq!(
                seen_by(&got, session),
                seen_by(&expected, session),
                "{to}: what {session} sees"
            );
        }
        let failed =
            matches!(result, EnterResult::Failed(ref e) if e.code == ErrorCode::RoomNotExist);
        assert_eq!(failed, to == "nowhere");
        // The caller is where one engine would have put it.
        let rooms = |m: &RoomMachine| {
            m.engine()
                .session_rooms(SessionId::new("s1"))
                .unwrap_or_default()
        };
        let mut sharded: Vec<RoomId> = rooms(&a)
            .into_iter()
            .chain(rooms(&b))
            .map(|r| r.0)
            .collect();
        sharded.sort();
        let mut single: Vec<RoomId> = reference
            .session_rooms(SessionId::new("s1"))
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.0)
            .collect();
        single.sort();
        assert_eq!(sharded, single, "{to}");
    }
}

#[test]
fn refusals_before_step_one_are_the_engines_and_change_nothing() {
    let (mut reference, mut a, _) = setup();
    let rooms_before = a.engine().session_rooms(SessionId::new("s1"));
    for (p, code) in [
        (
            SwitchPlan {
                session: SessionId::new("s9"),
                ..plan("apple", "zoo", false)
            },
            ErrorCode::NotLoggedIn,
        ),
        (plan("avocado", "zoo", false), ErrorCode::UserNotInRoom),
    ] {
        let switch = RequestKey {
            client: 2,
            seq: code as u64,
        };
        let r = a.apply(&proposal(
            20,
            Some(switch),
            Command::SwitchBegin {
                switch,
                plan: p.clone(),
            },
        ));
        let expected = reference_switch(&mut reference, 20, &p);
        assert_eq!(expand(r.outputs()), expected, "{code:?}");
        assert!(
            matches!(&expected[..], [Stamped { output: Output::Reply { outcome: Outcome::Error(e), .. }, .. }] if e.code == code)
        );
        assert!(a.outbox().is_empty());
        assert_eq!(a.engine().session_rooms(SessionId::new("s1")), rooms_before);
    }
}

#[test]
fn a_second_switch_while_one_is_pending_answers_room_connecting() {
    let (_, mut a, _) = setup();
    let one = RequestKey { client: 1, seq: 1 };
    let two = RequestKey { client: 1, seq: 2 };
    a.apply(&proposal(
        20,
        Some(one),
        Command::SwitchBegin {
            switch: one,
            plan: plan("apple", "zoo", false),
        },
    ));
    let r = a.apply(&proposal(
        21,
        Some(two),
        Command::SwitchBegin {
            switch: two,
            plan: plan("apple", "zed", true),
        },
    ));
    assert!(
        matches!(r.outputs().as_slice(), [Stamped { output: Output::Reply { outcome: Outcome::Error(e), .. }, .. }] if e.code == ErrorCode::RoomConnecting)
    );
    assert_eq!(a.outbox().len(), 1);
    assert_eq!(a.outbox()[0].switch, one);
}

#[test]
fn every_step_is_idempotent() {
    let (_, mut a, mut b) = setup();
    let p = plan("apple", "zoo", false);
    let switch = RequestKey { client: 1, seq: 1 };
    let begin = proposal(
        20,
        Some(switch),
        Command::SwitchBegin {
            switch,
            plan: p.clone(),
        },
    );
    a.apply(&begin);
    let after_begin = a.to_bytes();
    assert_eq!(a.apply(&begin), Response::Duplicate { reply: None });
    assert_eq!(a.to_bytes(), after_begin, "a retried begin changes nothing");

    let user = a.outbox()[0].user;
    let enter = proposal(
        21,
        None,
        Command::SwitchEnter {
            switch,
            plan: p.clone(),
            user,
        },
    );
    let first = b.apply(&enter);
    let after_enter = b.to_bytes();
    let Response::Entered {
        result: entered, ..
    } = &first
    else {
        panic!("step 2 answers Entered: {first:?}")
    };
    let entered = entered.clone();
    assert!(matches!(entered, EnterResult::Entered(_)), "{entered:?}");
    let again = b.apply(&proposal(
        25,
        None,
        Command::SwitchEnter {
            switch,
            plan: p.clone(),
            user,
        },
    ));
    assert_eq!(
        again,
        Response::Entered {
            result: entered.clone(),
            outputs: Outputs::new()
        }
    );
    assert!(!first.outputs().is_empty());
    assert_eq!(b.to_bytes(), after_enter, "a retried enter changes nothing");

    let finish = proposal(
        22,
        None,
        Command::SwitchFinish {
            switch,
            session: p.session,
            result: entered,
        },
    );
    a.apply(&finish);
    let after_finish = a.to_bytes();
    assert_eq!(a.apply(&finish), Response::Duplicate { reply: None });
    assert_eq!(
        a.to_bytes(),
        after_finish,
        "a retried finish changes nothing"
    );
    // A very late begin retry after the finish is still a duplicate (the request table).
    assert_eq!(a.apply(&begin), Response::Duplicate { reply: None });
    assert!(a.outbox().is_empty());
}

#[test]
fn both_rooms_on_one_shard_is_the_engines_own_switch() {
    let (mut reference, mut a, _) = setup();
    let p = plan("apple", "avocado", true);
    let expected = reference_switch(&mut reference, 20, &p);
    let switch = RequestKey { client: 1, seq: 1 };
    let r = a.apply(&proposal(
        20,
        Some(switch),
        Command::SwitchBegin { switch, plan: p },
    ));
    assert_eq!(without_sids(&expand(r.outputs())), without_sids(&expected));
    assert!(a.outbox().is_empty());
}

#[test]
fn a_room_on_another_shard_is_refused_with_its_owner() {
    let (_, mut a, _) = setup();
    let before = a.to_bytes();
    let r = a.apply(&proposal(
        20,
        Some(RequestKey { client: 3, seq: 1 }),
        Command::Input {
            input: enter("s1", "zoo"),
        },
    ));
    assert_eq!(
        r,
        Response::WrongShard {
            room: RoomId::new("zoo"),
            owner: 1,
            map_version: 1
        }
    );
    assert_eq!(
        a.to_bytes(),
        before,
        "nothing changed, not even the request table"
    );
    let stale = a.apply(&proposal(
        20,
        None,
        Command::SetShardMap {
            shard: 0,
            map: map(),
        },
    ));
    assert_eq!(stale, Response::StaleMap { current: 1 });
    let newer = ShardMap {
        version: 2,
        placement: Placement::Hash { shards: 1 },
    };
    a.apply(&proposal(
        20,
        None,
        Command::SetShardMap {
            shard: 0,
            map: newer,
        },
    ));
    let r = a.apply(&proposal(
        20,
        Some(RequestKey { client: 3, seq: 1 }),
        Command::Input {
            input: enter("s1", "zoo"),
        },
    ));
    assert!(
        matches!(r, Response::Applied { .. }),
        "the retry after a map change lands: {r:?}"
    );
}
