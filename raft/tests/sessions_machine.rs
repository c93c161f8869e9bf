//! The replicated session table on a bare machine (no Raft): which node holds which session,
//! resume tokens, node incarnations and fencing, and where each output is delivered.

use roomcore::{Input, Output, Outputs, Recipient, RoomId, RoomInfo, SessionId, UserId};
use roomcore_raft::route::deliveries;
use roomcore_raft::{
    Command, Holder, Limits, Proposal, RequestKey, Response, RoomMachine, SessionOp,
    SessionRefusal, TokenHash,
};

fn machine(config: roomcore::Config) -> RoomMachine {
    RoomMachine::new(config, Limits::default()).expect("valid config")
}

fn apply(
    m: &mut RoomMachine,
    now_ms: u64,
    request: Option<RequestKey>,
    command: Command,
) -> Response {
    m.apply(&Proposal {
        request,
        now_ms,
        command,
    })
}

fn op(m: &mut RoomMachine, now_ms: u64, op: SessionOp) -> Response {
    apply(m, now_ms, None, Command::Session { op })
}

fn input(m: &mut RoomMachine, now_ms: u64, input: Input) -> Response {
    apply(m, now_ms, None, Command::Input { input })
}

fn holder(node: u64, incarnation: u64) -> Holder {
    Holder { node, incarnation }
}

fn login(session: &str, request: u64) -> Input {
    Input::Login {
        session: SessionId::new(session),
        request,
        user: UserId::new(session),
    }
}

fn enter(session: &str, room: &str) -> Input {
    Input::EnterRoom {
        session: SessionId::new(session),
        request: 9,
        room: RoomInfo {
            id: RoomId::new(room),
            name: roomcore::RoomName::EMPTY,
        },
        config: None,
    }
}

fn connect(m: &mut RoomMachine, h: Holder, session: &str, token: &[u8]) -> Response {
    op(
        m,
        10,
        SessionOp::Connect {
            holder: h,
            token_hash: TokenHash::of(token),
            grants: None,
            input: login(session, 1),
        },
    )
}

fn session(s: &str) -> SessionId {
    SessionId::new(s)
}

#[test]
fn connect_needs_an_announced_holder_and_a_successful_login() {
    let mut m = machine(roomcore::Config::default());
    let h1 = holder(1, 100);
    assert_eq!(
        connect(&mut m, h1, "a", b"t"),
        Response::SessionRefused {
            reason: SessionRefusal::StaleHolder
        }
    );
    assert!(matches!(
        op(&mut m, 5, SessionOp::NodeUp { holder: h1 }),
        Response::Session { .. }
    ));
    let r = connect(&mut m, h1, "a", b"t");
    let Response::Session { handoffs, .. } = &r else {
        panic!("{r:?}")
    };
    assert_eq!(handoffs.len(), 1);
    assert_eq!(m.sessions().holder(session("a")), Some(h1));
    assert!(m.sessions().has_token(session("a")));
    // A login the engine refuses records nothing.
    let bad = op(
        &mut m,
        11,
        SessionOp::Connect {
            holder: h1,
            token_hash: TokenHash::of(b"x"),
            grants: None,
            input: login("", 1),
        },
    );
    assert!(matches!(&bad, Response::Session { handoffs, .. } if handoffs.is_empty()));
    // Only a login may connect.
    let not_login = op(
        &mut m,
        12,
        SessionOp::Connect {
            holder: h1,
            token_hash: TokenHash::of(b"x"),
            grants: None,
            input: enter("a", "r"),
        },
    );
    assert_eq!(
        not_login,
        Response::SessionRefused {
            reason: SessionRefusal::NotALogin
        }
    );
}

#[test]
fn resume_takes_the_session_to_the_new_node_only_with_its_token() {
    let mut m = machine(roomcore::Config::default());
    let (h1, h2) = (holder(1, 100), holder(2, 200));
    op(&mut m, 1, SessionOp::NodeUp { holder: h1 });
    op(&mut m, 1, SessionOp::NodeUp { holder: h2 });
    connect(&mut m, h1, "a", b"secret");
    input(&mut m, 20, enter("a", "r"));
    let wrong = op(
        &mut m,
        30,
        SessionOp::Resume {
            holder: h2,
            session: session("a"),
            token_hash: TokenHash::of(b"guess"),
            next_token_hash: None,
        },
    );
    assert_eq!(
        wrong,
        Response::SessionRefused {
            reason: SessionRefusal::BadToken
        }
    );
    assert_eq!(m.sessions().holder(session("a")), Some(h1));
    let moved = op(
        &mut m,
        31,
        SessionOp::Resume {
            holder: h2,
            session: session("a"),
            token_hash: TokenHash::of(b"secret"),
            next_token_hash: None,
        },
    );
    let Response::Session { handoffs, .. } = moved else {
        panic!("{moved:?}")
    };
    assert_eq!(handoffs[0].from, Some(h1));
    assert_eq!(handoffs[0].to, Some(h2));
    // The old node's late disconnect changes nothing: the session lives on node 2 now.
    let late = op(
        &mut m,
        32,
        SessionOp::Disconnect {
            holder: h1,
            session: session("a"),
        },
    );
    assert_eq!(
        late,
        Response::Session {
            outputs: Outputs::new(),
            handoffs: vec![]
        }
    );
    assert!(!m.engine().is_link_lost(session("a")));
    // Node 2's disconnect loses the link: the grace runs.
    op(
        &mut m,
        33,
        SessionOp::Disconnect {
            holder: h2,
            session: session("a"),
        },
    );
    assert!(m.engine().is_link_lost(session("a")));
    assert_eq!(m.sessions().holder(session("a")), None);
}

#[test]
fn a_restarted_or_silent_node_loses_its_sessions_links_and_a_fenced_one_stays_fenced() {
    let mut m = machine(roomcore::Config::default());
    let (old, new) = (holder(1, 100), holder(1, 101));
    op(&mut m, 1, SessionOp::NodeUp { holder: old });
    connect(&mut m, old, "a", b"t");
    input(&mut m, 2, enter("a", "r"));
    // A new process of node 1: sessions of the old one lose their link.
    op(&mut m, 3, SessionOp::NodeUp { holder: new });
    assert!(m.engine().is_link_lost(session("a")));
    assert_eq!(m.sessions().held_by(1), Vec::<SessionId>::new());
    // The old incarnation can no longer connect.
    assert_eq!(
        connect(&mut m, old, "b", b"t"),
        Response::SessionRefused {
            reason: SessionRefusal::StaleHolder
        }
    );
    // A node-down for the old incarnation is a no-op now; for the live one it fences it.
    connect(&mut m, new, "b", b"t");
    input(&mut m, 4, enter("b", "r"));
    let stale = op(&mut m, 5, SessionOp::NodeDown { holder: old });
    assert_eq!(
        stale,
        Response::Session {
            outputs: Outputs::new(),
            handoffs: vec![]
        }
    );
    assert!(!m.engine().is_link_lost(session("b")));
    op(&mut m, 6, SessionOp::NodeDown { holder: new });
    assert!(m.engine().is_link_lost(session("b")));
    assert_eq!(m.sessions().node(1), Some((101, true)));
    assert_eq!(
        op(&mut m, 7, SessionOp::NodeUp { holder: new }),
        Response::SessionRefused {
            reason: SessionRefusal::StaleHolder
        }
    );
    assert_eq!(m.sessions().node(1), Some((101, true)), "still fenced");
    assert!(matches!(
        op(
            &mut m,
            8,
            SessionOp::NodeUp {
                holder: holder(1, 102)
            }
        ),
        Response::Session { .. }
    ));
}

#[test]
fn a_closed_session_is_forgotten_and_its_last_outputs_reach_its_node() {
    let mut m = machine(roomcore::Config::default());
    let h1 = holder(1, 100);
    op(&mut m, 1, SessionOp::NodeUp { holder: h1 });
    connect(&mut m, h1, "a", b"t");
    let out = input(
        &mut m,
        2,
        Input::Logout {
            session: session("a"),
            request: 3,
        },
    );
    assert!(!m.sessions().has_token(session("a")));
    assert_eq!(m.sessions().holder(session("a")), None);
    let routed = deliveries(&m, out.outputs());
    assert!(!routed.is_empty());
    assert!(routed
        .iter()
        .all(|d| d.session == session("a") && d.holder == Some(h1)));
    assert!(out
        .outputs()
        .iter()
        .any(|s| matches!(s.output, Output::SessionClosed { .. })));
    // The snapshot does not carry the transient record, and replicas stay byte-equal.
    let bytes = m.to_bytes();
    let back = RoomMachine::from_bytes(&bytes).expect("restores");
    assert_eq!(back.to_bytes(), bytes);
}

#[test]
fn a_large_rooms_delta_goes_to_every_live_member_with_its_holder() {
    let config = roomcore::Config {
        member_notify_threshold: 1,
        ..roomcore::Config::default()
    };
    let mut m = machine(config);
    let (h1, h2) = (holder(1, 100), holder(2, 200));
    op(&mut m, 1, SessionOp::NodeUp { holder: h1 });
    op(&mut m, 1, SessionOp::NodeUp { holder: h2 });
    connect(&mut m, h1, "a", b"t");
    connect(&mut m, h2, "b", b"t");
    connect(&mut m, h1, "c", b"t");
    let mut all = Vec::new();
    for (t, s) in [(10, "a"), (11, "b"), (12, "c")] {
        all.push(input(&mut m, t, enter(s, "r")));
    }
    all.push(apply(&mut m, 5_000, None, Command::Tick));
    let mut seen = 0;
    for r in &all {
        for d in deliveries(&m, r.outputs()) {
            if matches!(
                r.outputs().as_slice()[d.output].output,
                Output::RoomMembersChanged { .. }
            ) {
                seen += 1;
                let expect = if d.session == session("b") { h2 } else { h1 };
                assert_eq!(d.holder, Some(expect));
            }
        }
    }
    assert!(
        seen >= 2,
        "the coalesced delta reached the members ({seen})"
    );
}

#[test]
fn a_member_event_for_several_sessions_is_one_output_delivered_to_each_with_its_holder() {
    let mut m = machine(roomcore::Config::default());
    let (h1, h2) = (holder(1, 100), holder(2, 200));
    op(&mut m, 1, SessionOp::NodeUp { holder: h1 });
    op(&mut m, 1, SessionOp::NodeUp { holder: h2 });
    for (s, h) in [("a", h1), ("b", h2), ("c", h1), ("d", h2)] {
        connect(&mut m, h, s, b"t");
        input(&mut m, 11, enter(s, "r"));
    }
    let sent = input(
        &mut m,
        12,
        Input::SendRoomMessage {
            session: session("a"),
            request: 10,
            room_id: RoomId::new("r"),
            payload: "hi".into(),
        },
    );
    let outputs = sent.outputs();
    // The message once for b, c and d, then the reply.
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs.expanded_len(), 4);
    let routed: Vec<(usize, SessionId, Option<Holder>)> = deliveries(&m, outputs)
        .into_iter()
        .map(|d| (d.output, d.session, d.holder))
        .collect();
    assert_eq!(
        routed,
        [
            (0, session("b"), Some(h2)),
            (0, session("c"), Some(h1)),
            (0, session("d"), Some(h2)),
            (1, session("a"), Some(h1)),
        ]
    );
    // Delivered per recipient, they are exactly the outputs a trace lists.
    let expanded: Vec<(SessionId, String)> = outputs
        .expanded()
        .map(|s| {
            (
                s.output.session().expect("to one session"),
                s.output.name().to_owned(),
            )
        })
        .collect();
    let by_delivery: Vec<(SessionId, String)> = routed
        .iter()
        .map(|(i, s, _)| (*s, outputs.as_slice()[*i].output.name().to_owned()))
        .collect();
    assert_eq!(expanded, by_delivery);
}

#[test]
fn token_hashes_travel_as_hex() {
    let h = TokenHash::of(b"abc");
    let json = serde_json::to_string(&h).expect("serializes");
    assert_eq!(
        json,
        "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""
    );
    assert_eq!(serde_json::from_str::<TokenHash>(&json).expect("parses"), h);
    assert!(serde_json::from_str::<TokenHash>("\"zz\"").is_err());
}

#[test]
fn a_resume_can_rotate_the_token_so_the_old_one_works_once() {
    let mut m = machine(roomcore::Config::default());
    let (h1, h2) = (holder(1, 100), holder(2, 200));
    op(&mut m, 1, SessionOp::NodeUp { holder: h1 });
    op(&mut m, 1, SessionOp::NodeUp { holder: h2 });
    connect(&mut m, h1, "a", b"first");
    let resume = |token: &[u8], next: &[u8]| SessionOp::Resume {
        holder: h2,
        session: session("a"),
        token_hash: TokenHash::of(token),
        next_token_hash: Some(TokenHash::of(next)),
    };
    let moved = op(&mut m, 2, resume(b"first", b"second"));
    assert!(matches!(moved, Response::Session { .. }), "{moved:?}");
    assert_eq!(
        op(&mut m, 3, resume(b"first", b"third")),
        Response::SessionRefused {
            reason: SessionRefusal::BadToken
        },
        "the replaced token is refused"
    );
    assert!(matches!(
        op(&mut m, 4, resume(b"second", b"third")),
        Response::Session { .. }
    ));
}

#[test]
fn room_grants_are_recorded_bounded_and_forgotten_with_the_session() {
    let mut m = machine(roomcore::Config::default());
    let h1 = holder(1, 100);
    op(&mut m, 1, SessionOp::NodeUp { holder: h1 });
    let with = |grants: Vec<String>, s: &str| SessionOp::Connect {
        holder: h1,
        token_hash: TokenHash::of(b"t"),
        grants: Some(grants),
        input: login(s, 1),
    };
    let r = op(&mut m, 2, with(vec!["lobby".into(), "team-*".into()], "a"));
    assert!(matches!(r, Response::Session { .. }), "{r:?}");
    assert_eq!(
        m.sessions().grants(session("a")),
        Some(&["lobby".to_owned(), "team-*".to_owned()][..])
    );
    connect(&mut m, h1, "b", b"t");
    assert_eq!(m.sessions().grants(session("b")), None, "any room");
    // Too many, or too long together: refused before the engine sees the login.
    let many = vec!["r".to_owned(); roomcore_raft::sessions::MAX_GRANTS + 1];
    let long = vec!["r".repeat(roomcore_raft::sessions::MAX_GRANT_BYTES + 1)];
    for grants in [many, long] {
        assert_eq!(
            op(&mut m, 3, with(grants, "c")),
            Response::SessionRefused {
                reason: SessionRefusal::GrantsTooLarge
            }
        );
    }
    assert!(m.engine().session_user(session("c")).is_none());
    // Unheld sessions are listed (their link is lost); a logout forgets the grants.
    op(
        &mut m,
        4,
        SessionOp::Disconnect {
            holder: h1,
            session: session("a"),
        },
    );
    assert_eq!(m.sessions().unheld(), vec![session("a")]);
    input(
        &mut m,
        5,
        Input::Logout {
            session: session("a"),
            request: 2,
        },
    );
    assert_eq!(m.sessions().grants(session("a")), None);
    assert!(m.sessions().unheld().is_empty());
}

#[test]
fn replies_over_the_size_bound_are_remembered_without_their_body() {
    let key = RequestKey { client: 7, seq: 1 };
    let login_a = || Command::Input {
        input: login("a", 1),
    };
    for (max_reply_bytes, remembered) in [(usize::MAX, true), (4_096, true), (8, false)] {
        let limits = Limits {
            max_reply_bytes,
            ..Limits::default()
        };
        let mut m = RoomMachine::new(roomcore::Config::default(), limits).expect("valid");
        assert!(matches!(
            apply(&mut m, 1, Some(key), login_a()),
            Response::Applied { .. }
        ));
        let Response::Duplicate { reply } = apply(&mut m, 2, Some(key), login_a()) else {
            panic!("not a duplicate")
        };
        assert_eq!(reply.is_some(), remembered, "bound {max_reply_bytes}");
    }
}

/// Where each output goes, one entry per recipient, computed directly from the outputs and
/// the machine: the per-recipient list the compact deliveries were once stored as.
fn per_recipient(m: &RoomMachine, outputs: &Outputs) -> Vec<(usize, SessionId, Option<Holder>)> {
    let mut out = Vec::new();
    for (i, s) in outputs.iter().enumerate() {
        let sessions: Vec<SessionId> = match s.output.recipient() {
            Recipient::Session(session) => vec![session],
            Recipient::Sessions(run) => outputs.run(run).to_vec(),
            Recipient::Room(room_id) => m.engine().room_recipients(room_id).unwrap_or_default(),
            Recipient::Service => Vec::new(),
        };
        for session in sessions {
            out.push((i, session, m.sessions().delivery_holder(session)));
        }
    }
    out
}

/// What the compared deliveries covered.
#[derive(Default)]
struct Covered {
    deliveries: usize,
    unheld: usize,
    runs: usize,
    room_deltas: usize,
    service: usize,
}

/// Compares the two forms for the entry just applied (the holders are the machine's now).
fn compare(m: &RoomMachine, r: &Response, covered: &mut Covered) {
    let outputs = r.outputs();
    let compact: Vec<(usize, SessionId, Option<Holder>)> = deliveries(m, outputs)
        .into_iter()
        .map(|d| (d.output, d.session, d.holder))
        .collect();
    assert_eq!(compact, per_recipient(m, outputs));
    covered.deliveries += compact.len();
    covered.unheld += compact.iter().filter(|d| d.2.is_none()).count();
    for s in outputs.iter() {
        match s.output.recipient() {
            Recipient::Sessions(_) => covered.runs += 1,
            Recipient::Room(_) => covered.room_deltas += 1,
            Recipient::Service => covered.service += 1,
            Recipient::Session(_) => {}
        }
    }
}

#[test]
fn the_compact_deliveries_expand_to_the_per_recipient_list() {
    // Rooms above three members coalesce their joins and leaves.
    let config = roomcore::Config {
        member_notify_threshold: 3,
        ..roomcore::Config::default()
    };
    let mut m = machine(config);
    let mut c = Covered::default();
    let (h1, h2) = (holder(1, 100), holder(2, 200));
    for h in [h1, h2] {
        let r = op(&mut m, 1, SessionOp::NodeUp { holder: h });
        compare(&m, &r, &mut c);
    }
    for (s, h) in [("a", h1), ("b", h2), ("c", h1), ("d", h2), ("e", h1)] {
        let r = connect(&mut m, h, s, b"t");
        compare(&m, &r, &mut c);
    }
    // Held by no process: logged in through a plain input.
    let mut inputs = vec![(11, login("f", 1))];
    for s in ["a", "b", "f"] {
        inputs.push((12, enter(s, "small")));
    }
    for s in ["a", "b", "c", "d", "e", "f"] {
        inputs.push((13, enter(s, "big")));
    }
    let say = |s: &str, room: &str| Input::SendRoomMessage {
        session: session(s),
        request: 20,
        room_id: RoomId::new(room),
        payload: "hi".into(),
    };
    inputs.push((14, say("a", "small")));
    inputs.push((15, say("c", "big")));
    let logout = Input::Logout {
        session: session("b"),
        request: 21,
    };
    inputs.push((5_001, logout));
    let list = Input::ListRooms {
        request: 22,
        next: String::new(),
        count: 10,
    };
    inputs.push((5_002, list));
    for (now_ms, i) in inputs {
        let r = input(&mut m, now_ms, i);
        compare(&m, &r, &mut c);
    }
    let r = apply(&mut m, 10_000, None, Command::Tick);
    compare(&m, &r, &mut c);
    assert!(c.deliveries > 30, "{} deliveries", c.deliveries);
    assert!(c.unheld > 0 && c.runs > 0 && c.room_deltas > 0 && c.service > 0);
}
