//! Runs of recipients by handle ([`Outputs::with_handles`]): the engine names each recipient
//! by its slot, and [`Engine::session_id`] turns it back into the id until the next step,
//! also for a session closed in that step whose slot a login in the same step took.

use roomcore::trace::{Record, TraceReader};
use roomcore::{
    Config, Engine, Millis, Output, Outputs, Recipient, SessionHandle, SessionId, Stamped, To,
};
use roomcore_testkit::gen::{self, Groups};
use roomcore_testkit::script::{link_lost, Requests};
use std::path::Path;

/// One output per recipient, each run's handles resolved through the engine: what a
/// `Vec<Stamped>` sink receives, if every handle still names its session.
fn resolved(engine: &Engine, out: &Outputs) -> Vec<Stamped> {
    let mut all = Vec::new();
    for s in out {
        let Some(To::Sessions(run)) = s.output.to() else {
            all.push(s.clone());
            continue;
        };
        for &h in out.handles(run) {
            let id = engine
                .session_id(h)
                .expect("a handle from this step resolves");
            all.push(Stamped {
                at: s.at,
                output: s.output.addressed(To::Session(id)),
            });
        }
    }
    all
}

/// Plays `text`'s inputs through three engines (a `Vec` sink, a buffer of ids, a buffer of
/// handles) and checks after every step that the three say the same; returns how many runs
/// the handles buffer named.
fn three_forms_agree(text: &str) -> usize {
    let mut runs = 0;
    let mut engines: Option<[Engine; 3]> = None;
    let (mut vec_out, mut ids, mut handles) = (
        Vec::<Stamped>::new(),
        Outputs::new(),
        Outputs::with_handles(),
    );
    for record in TraceReader::new(text.as_bytes()) {
        let (at, input) = match record.expect("a valid trace").1 {
            Record::Config(c) => {
                let e = || Engine::new((*c).clone()).expect("a valid config");
                engines = Some([e(), e(), e()]);
                continue;
            }
            Record::Input { at, input } => (at, input),
            Record::Output(_) | Record::Note(_) => continue,
        };
        let [a, b, c] = engines.get_or_insert_with(|| {
            let e = || Engine::new(Config::default()).expect("the default config");
            [e(), e(), e()]
        });
        vec_out.clear();
        ids.clear();
        handles.clear();
        a.handle_input(at, &input, &mut vec_out);
        b.handle_input(at, &input, &mut ids);
        c.handle_input(at, &input, &mut handles);
        assert_eq!(ids.expanded().collect::<Vec<_>>(), vec_out, "{input:?}");
        assert_eq!(resolved(c, &handles), vec_out, "{input:?}");
        runs += handles
            .iter()
            .filter(|s| matches!(s.output.to(), Some(To::Sessions(_))))
            .count();
    }
    runs
}

#[test]
fn every_vector_and_generated_trace_resolves_the_same_from_handles() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut runs = 0;
    for entry in std::fs::read_dir(dir).expect("tests/vectors exists") {
        let path = entry.expect("a readable entry").path();
        if path.extension().is_some_and(|x| x == "jsonl") {
            let text = std::fs::read_to_string(&path).expect("a readable vector");
            runs += three_forms_agree(&text);
        }
    }
    for seed in 0..24 {
        let text = gen::trace(seed, 400, &Groups::all()).expect("a trace");
        runs += three_forms_agree(&text);
    }
    assert!(runs >= 40, "only {runs} runs");
}

/// u1 (session o1), u2 (s2) and u3 (s3) in r1; s3's link is lost and its grace runs out at
/// 90 s. At 100 s u1 logs in again as n1 (one device per user): first s3's grace timer fires
/// and s3's departure goes to the run [o1, s2]; then o1 is closed and n1 takes its slot, all
/// in one step.
fn closed_then_reused_in_one_step(out: &mut Outputs) -> Engine {
    let mut engine = Engine::new(Config::default()).expect("the default config");
    let mut sc = Requests::default();
    let mut scratch = Outputs::new();
    let setup = [
        sc.login("o1", "u1"),
        sc.create("o1", "r1", None),
        sc.login("s2", "u2"),
        sc.join("s2", "r1"),
        sc.login("s3", "u3"),
        sc.join("s3", "r1"),
        link_lost("s3"),
    ];
    for input in &setup {
        engine.handle_input(Millis(0), input, &mut scratch);
    }
    let o1 = engine.session_handle("o1".into()).expect("o1 is logged in");
    engine.handle_input(Millis(100_000), &sc.login("n1", "u1"), out);
    assert_eq!(
        engine.session_handle("n1".into()),
        Some(o1),
        "the new login took o1's slot (else this test shows nothing)"
    );
    engine
}

/// The departure of s3, told to the run [o1, s2].
fn timeout_run(out: &Outputs) -> roomcore::Recipients {
    let left = out
        .iter()
        .find(|s| matches!(s.output, Output::MembersLeft { .. }))
        .expect("s3's departure");
    let Recipient::Sessions(run) = left.output.recipient() else {
        panic!("a run: {left:?}");
    };
    run
}

#[test]
fn a_session_closed_in_the_step_still_resolves_after_a_login_takes_its_slot() {
    let mut ids = Outputs::new();
    closed_then_reused_in_one_step(&mut ids);
    let told: Vec<SessionId> = ids.run(timeout_run(&ids)).to_vec();
    assert_eq!(told, [SessionId::new("o1"), SessionId::new("s2")]);

    let mut handles = Outputs::with_handles();
    let engine = closed_then_reused_in_one_step(&mut handles);
    let run = handles.handles(timeout_run(&handles));
    let told: Vec<Option<SessionId>> = run.iter().map(|&h| engine.session_id(h)).collect();
    assert_eq!(told, [Some("o1".into()), Some("s2".into())]);
    assert_ne!(Some(run[0]), engine.session_handle("n1".into()));
    assert_eq!(
        run[1],
        engine.session_handle("s2".into()).expect("s2 is in")
    );
}

#[test]
fn a_closed_sessions_handle_is_forgotten_at_the_next_step() {
    let mut handles = Outputs::with_handles();
    let mut engine = closed_then_reused_in_one_step(&mut handles);
    let closed = handles.handles(timeout_run(&handles))[0];
    handles.clear();
    engine.handle_timeout(Millis(100_001), &mut handles);
    assert_eq!(engine.session_id(closed), None);
}

/// s1 and s2 in r1, s3 logged in outside it, into a buffer of handles.
fn two_in_r1_and_s3_outside() -> (Engine, Requests, Outputs) {
    let mut engine = Engine::new(Config::default()).expect("the default config");
    let mut sc = Requests::default();
    let mut out = Outputs::with_handles();
    for input in [
        sc.login("s1", "u1"),
        sc.create("s1", "r1", None),
        sc.login("s2", "u2"),
        sc.join("s2", "r1"),
        sc.login("s3", "u3"),
    ] {
        engine.handle_input(Millis(0), &input, &mut out);
    }
    (engine, sc, out)
}

#[test]
fn a_session_keeps_its_handle_from_login_to_close() {
    let (mut engine, mut sc, mut out) = two_in_r1_and_s3_outside();
    let h: Vec<SessionHandle> = ["s1", "s2"]
        .map(|s| engine.session_handle(s.into()).expect("logged in"))
        .to_vec();
    // Several steps into one buffer: each run keeps its own place.
    out.clear();
    engine.handle_input(Millis(1), &sc.join("s3", "r1"), &mut out);
    engine.handle_input(Millis(2), &sc.message("s1", "r1", "hi"), &mut out);
    let runs: Vec<Vec<SessionHandle>> = out
        .iter()
        .filter_map(|s| match s.output.to() {
            Some(To::Sessions(run)) => Some(out.handles(run).to_vec()),
            _ => None,
        })
        .collect();
    let s3 = engine.session_handle("s3".into()).expect("logged in");
    assert_eq!(runs, [h.clone(), vec![h[1], s3]]);
    engine.handle_input(Millis(3), &sc.logout("s2"), &mut out);
    assert_eq!(engine.session_handle("s2".into()), None);
    // The handle it had names nothing now: only a run of the closing step names it still.
    assert_eq!(engine.session_id(h[1]), None, "its slot is free");
    assert_eq!(engine.session_id(h[0]), Some("s1".into()));
    engine.handle_input(Millis(4), &sc.login("s4", "u4"), &mut out);
    assert_eq!(
        engine.session_handle("s4".into()),
        Some(h[1]),
        "a later login takes it"
    );
}

#[test]
fn a_buffer_of_handles_writes_no_run() {
    let (mut engine, mut sc, mut out) = two_in_r1_and_s3_outside();
    assert!(serde_json::to_string(&out).is_ok(), "no run yet");
    engine.handle_input(Millis(0), &sc.join("s3", "r1"), &mut out);
    let err = serde_json::to_string(&out).expect_err("a run of handles");
    assert!(err.to_string().contains("with_handles"), "{err}");
    assert!(out.keeps_handles() && !Outputs::new().keeps_handles());
}

#[test]
#[should_panic(expected = "holds handles")]
fn a_buffer_of_handles_has_no_ids() {
    let mut out = Outputs::with_handles();
    closed_then_reused_in_one_step(&mut out);
    let _ = out.run(timeout_run(&out));
}

#[test]
#[should_panic(expected = "holds ids")]
fn a_buffer_of_ids_has_no_handles() {
    let mut out = Outputs::new();
    closed_then_reused_in_one_step(&mut out);
    let _ = out.handles(timeout_run(&out));
}
