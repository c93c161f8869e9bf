//! The compact output form ([`Outputs`]): a member event for several sessions is produced
//! once, naming a run of the buffer's recipients, and written out it is byte for byte the
//! per-recipient trace a `Vec<Stamped>` sink gives (every vector and generated trace).

use roomcore::trace::{write_output, write_outputs, AddressedLine, Record, TraceReader};
use roomcore::{Config, Engine, Millis, Output, Outputs, Recipient, Stamped, To};
use roomcore_testkit::gen::{self, Groups};
use roomcore_testkit::script::Requests;
use std::path::Path;

/// Plays `text`'s inputs through two engines, one per sink, and returns both traces of
/// outputs (the `Vec` one written line by line, the compact one by `write_outputs`), and how
/// many outputs named a run.
fn both_forms(text: &str) -> (Vec<u8>, Vec<u8>, usize) {
    let mut runs = 0;
    let (mut per_recipient, mut compact) = (Vec::new(), Vec::new());
    let mut engines: Option<(Engine, Engine)> = None;
    let (mut vec_out, mut outputs) = (Vec::<Stamped>::new(), Outputs::new());
    for record in TraceReader::new(text.as_bytes()) {
        match record.expect("a valid trace").1 {
            Record::Config(c) => {
                let e = || Engine::new((*c).clone()).expect("a valid config");
                engines = Some((e(), e()));
            }
            Record::Input { at, input } => {
                let (a, b) = engines.get_or_insert_with(|| {
                    let e = || Engine::new(Config::default()).expect("the default config");
                    (e(), e())
                });
                vec_out.clear();
                outputs.clear();
                a.handle_input(at, &input, &mut vec_out);
                b.handle_input(at, &input, &mut outputs);
                for s in &vec_out {
                    write_output(&mut per_recipient, s).expect("writing to memory");
                }
                write_outputs(&mut compact, &outputs).expect("writing to memory");
                runs += outputs
                    .iter()
                    .filter(|s| matches!(s.output.to(), Some(To::Sessions(_))))
                    .count();
                let expanded: Vec<Stamped> = outputs.expanded().collect();
                assert_eq!(expanded, vec_out, "at {at:?}: {input:?}");
            }
            Record::Output(_) | Record::Note(_) => {}
        }
    }
    (per_recipient, compact, runs)
}

#[test]
fn every_vector_writes_the_same_bytes_from_the_compact_form() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let (mut played, mut runs) = (0, 0);
    for entry in std::fs::read_dir(dir).expect("tests/vectors exists") {
        let path = entry.expect("a readable entry").path();
        if path.extension().is_none_or(|x| x != "jsonl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable vector");
        let (per_recipient, compact, n) = both_forms(&text);
        assert!(per_recipient == compact, "{}", path.display());
        played += 1;
        runs += n;
    }
    assert!(played >= 30, "only {played} vectors");
    assert!(runs > 0, "no vector fans an event out");
}

#[test]
fn generated_traces_write_the_same_bytes_from_the_compact_form() {
    let mut runs = 0;
    for seed in 0..24 {
        let text = gen::trace(seed, 400, &Groups::all()).expect("a trace");
        let (per_recipient, compact, n) = both_forms(&text);
        assert!(per_recipient == compact, "seed {seed}");
        runs += n;
    }
    assert!(runs >= 40, "only {runs} outputs named a run");
}

/// Three members in a room, and a fourth joins: the three are told once.
fn room_of_three_and_a_joiner() -> (Engine, Outputs) {
    let mut engine = Engine::new(Config::default()).expect("the default config");
    let mut sc = Requests::default();
    let mut out = Outputs::new();
    let mut inputs = vec![sc.login("s1", "u1"), sc.create("s1", "r1", None)];
    for n in 2..=4 {
        inputs.push(sc.login(&format!("s{n}"), &format!("u{n}")));
        inputs.push(sc.join(&format!("s{n}"), "r1"));
    }
    let last = inputs.pop().expect("four joins were scripted");
    for input in &inputs {
        engine.handle_input(Millis(0), input, &mut out);
    }
    out.clear();
    engine.handle_input(Millis(0), &last, &mut out);
    (engine, out)
}

#[test]
fn a_member_event_for_several_sessions_is_one_output_naming_a_run() {
    let (_, out) = room_of_three_and_a_joiner();
    let joined: Vec<&Stamped> = out
        .iter()
        .filter(|s| matches!(s.output, Output::MembersJoined { .. }))
        .collect();
    assert_eq!(joined.len(), 1);
    let Recipient::Sessions(run) = joined[0].output.recipient() else {
        panic!("addressed to a run: {:?}", joined[0]);
    };
    let told: Vec<String> = out.run(run).iter().map(ToString::to_string).collect();
    assert_eq!(
        told,
        ["s1", "s2", "s3"],
        "member order, the joiner left out"
    );
    assert_eq!(out.expanded_len(), out.len() + 2);
    let lines: Vec<String> = out
        .expanded()
        .filter(|s| matches!(s.output, Output::MembersJoined { .. }))
        .map(|s| roomcore::trace::output_line(&s))
        .collect();
    let line = AddressedLine::new(joined[0]);
    let spliced: Vec<String> = out.run(run).iter().map(|&s| line.line_for(s)).collect();
    assert_eq!(lines, spliced);
    assert!(lines[1].contains(r#""session":"s2""#), "{}", lines[1]);
}

#[test]
fn one_recipient_is_addressed_to_its_session_and_nobody_to_nothing() {
    let mut engine = Engine::new(Config::default()).expect("the default config");
    let mut sc = Requests::default();
    let mut out = Outputs::new();
    for input in [
        sc.login("s1", "u1"),
        sc.create("s1", "r1", None),
        sc.login("s2", "u2"),
    ] {
        engine.handle_input(Millis(0), &input, &mut out);
    }
    out.clear();
    engine.handle_input(Millis(0), &sc.join("s2", "r1"), &mut out);
    let to: Vec<To> = out.iter().filter_map(|s| s.output.to()).collect();
    assert_eq!(to, [To::Session("s1".into())]);
    assert_eq!(out.expanded_len(), out.len());
    // Alone in the room, a message reaches nobody: no output at all besides the reply.
    out.clear();
    engine.handle_input(Millis(0), &sc.leave("s1", "r1"), &mut out);
    out.clear();
    engine.handle_input(Millis(0), &sc.message("s2", "r1", "hi"), &mut out);
    let kinds: Vec<&str> = out.iter().map(|s| s.output.name()).collect();
    assert_eq!(kinds, ["reply"]);
}

#[test]
fn a_run_is_not_serialized_and_a_trace_addressee_reads_as_one_session() {
    let (_, out) = room_of_three_and_a_joiner();
    let fanned = out
        .iter()
        .find(|s| matches!(s.output.to(), Some(To::Sessions(_))))
        .expect("the joiner's announcement");
    let err = serde_json::to_string(fanned).expect_err("a run names no single session");
    assert!(err.to_string().contains("expanded"), "{err}");
    let mut sink = Vec::new();
    assert!(write_output(&mut sink, fanned).is_err());
    let line = r#"{"type":"members_joined","session":"s9","room_id":"r1","members":[]}"#;
    let read: Output = serde_json::from_str(line).expect("a trace output");
    assert_eq!(read.to(), Some(To::Session("s9".into())));
    assert_eq!(serde_json::to_string(&read).expect("one session"), line);
}

#[test]
fn clearing_keeps_the_buffer_and_a_cleared_buffer_is_empty() {
    let (mut engine, mut out) = room_of_three_and_a_joiner();
    assert!(!out.is_empty());
    out.clear();
    assert!(out.is_empty() && out.expanded().next().is_none());
    let mut sc = Requests::default();
    engine.handle_input(Millis(1), &sc.message("s4", "r1", "hello"), &mut out);
    let message = out
        .iter()
        .find(|s| matches!(s.output, Output::RoomMessage { .. }))
        .expect("the message, once");
    let run = message.output.to().expect("a member event");
    // The run starts at the cleared buffer's beginning: the old run is gone.
    let told: Vec<String> = out.sessions(&run).iter().map(ToString::to_string).collect();
    assert_eq!(told, ["s1", "s2", "s3"]);
}
