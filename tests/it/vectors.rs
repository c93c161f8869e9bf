//! The published conformance vectors (tests/vectors/*.jsonl): every one passes the library
//! checker (error messages included), obeys the invariants step by step, and together they
//! cover every error code, room event and reason the engine has. Also tests
//! the checker itself on altered vectors.

use roomcore::check::{check, CheckOptions, Report};
use roomcore::trace::{Record, TraceReader};
use roomcore::Recipient;
use roomcore::{Config, Input, Output, SessionId};
use roomcore_testkit::Harness;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const STRICT: CheckOptions = CheckOptions {
    compare_messages: true,
    opaque_cursors: false,
};

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn vectors() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .expect("tests/vectors exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    v
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("readable vector")
}

fn records(text: &str) -> Vec<Record> {
    TraceReader::new(text.as_bytes())
        .map(|r| r.expect("valid trace").1)
        .collect()
}

fn check_text(text: &str, options: CheckOptions) -> Report {
    check(text.as_bytes(), options).expect("valid trace")
}

#[test]
fn there_are_at_least_30_vectors_each_with_a_note() {
    let all = vectors();
    assert!(all.len() >= 30, "only {} vectors", all.len());
    for path in &all {
        let first = records(&read(path)).into_iter().next();
        assert!(
            matches!(first, Some(Record::Note(_))),
            "{} must open with a note saying what it shows",
            path.display()
        );
    }
}

#[test]
fn the_index_lists_every_vector_once_and_nothing_else() {
    let readme = read(&vector_dir().join("README.md"));
    let indexed: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once("` |").map(|(name, _)| name))
        .collect();
    let mut files: Vec<String> = vectors()
        .iter()
        .map(|p| {
            let stem = p.file_stem().expect("a vector is a named file");
            stem.to_string_lossy().into_owned()
        })
        .collect();
    files.sort();
    let mut sorted = indexed.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), indexed.len(), "a vector is indexed twice");
    assert_eq!(
        sorted, files,
        "tests/vectors/README.md must index every vector"
    );
}

#[test]
fn every_vector_passes_the_checker() {
    let mut failures = Vec::new();
    for path in vectors() {
        let report = check_text(&read(&path), STRICT);
        assert!(report.inputs > 0, "{} has no inputs", path.display());
        if !report.passed() {
            let d: Vec<String> = report.divergences.iter().map(ToString::to_string).collect();
            failures.push(format!("{}:\n{}", path.display(), d.join("")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Plays a vector's inputs through the checking harness (invariants, refusals change nothing,
/// recipients, snapshot/restore after every step).
fn harness_run(text: &str) -> Result<(), String> {
    let mut harness: Option<Harness> = None;
    for record in records(text) {
        match record {
            Record::Config(c) => harness = Some(Harness::new(*c)?),
            Record::Input { at, input } => {
                let h = match harness.as_mut() {
                    Some(h) => h,
                    None => harness.insert(Harness::new(Config::default())?),
                };
                h.step(at.as_ms(), input)?;
            }
            Record::Output(_) | Record::Note(_) => {}
        }
    }
    Ok(())
}

#[test]
fn every_vector_obeys_the_invariants_at_every_step() {
    for path in vectors() {
        if let Err(e) = harness_run(&read(&path)) {
            panic!("{}: {e}", path.display());
        }
    }
}

/// Everything the vectors show, by name.
#[derive(Default)]
struct Coverage {
    inputs: BTreeSet<String>,
    outputs: BTreeSet<String>,
    codes: BTreeSet<String>,
    events: BTreeSet<String>,
    reasons: BTreeSet<String>,
}

fn json_str(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_owned)
}

impl Coverage {
    fn add_output(&mut self, out: &Output) {
        let v = serde_json::to_value(out).expect("serializable");
        self.outputs.extend(json_str(&v, "type"));
        if let Some(e) = v.get("error") {
            self.codes.extend(json_str(e, "code"));
        }
        self.events.extend(json_str(&v, "event"));
        for key in ["reason", "cause"] {
            if let Some(r) = json_str(&v, key) {
                self.reasons.insert(format!(
                    "{}.{key}={r}",
                    json_str(&v, "type").unwrap_or_default()
                ));
            }
        }
    }

    fn add_input(&mut self, input: &Input) {
        let v = serde_json::to_value(input).expect("serializable");
        self.inputs.extend(json_str(&v, "type"));
    }
}

fn coverage() -> Coverage {
    let mut c = Coverage::default();
    for path in vectors() {
        for record in records(&read(&path)) {
            match record {
                Record::Input { input, .. } => c.add_input(&input),
                Record::Output(s) => c.add_output(&s.output),
                Record::Config(_) | Record::Note(_) => {}
            }
        }
    }
    c
}

fn missing(have: &BTreeSet<String>, want: &[&str]) -> Vec<String> {
    want.iter()
        .filter(|w| !have.contains(**w))
        .map(|w| (*w).to_owned())
        .collect()
}

#[test]
fn vectors_cover_every_error_code_of_design_section_3_and_6() {
    let want = [
        "room_not_exist",
        "room_already_exists",
        "room_full",
        "server_room_limit",
        "joined_room_limit",
        "user_already_in_room",
        "user_not_in_room",
        "room_connecting",
        "invalid_room_id",
        "invalid_room_name",
        "invalid_user_id",
        "invalid_config",
        "invalid_argument",
        "not_logged_in",
        "session_closed",
        "already_logged_in",
        "attribute_limit",
        "attribute_not_owner",
        "payload_too_large",
        "rate_limited",
    ];
    assert_eq!(missing(&coverage().codes, &want), Vec::<String>::new());
}

#[test]
fn vectors_cover_every_input_type_output_type_event_and_reason() {
    let c = coverage();
    let inputs = [
        "login",
        "logout",
        "link_lost",
        "link_restored",
        "create_room",
        "join_room",
        "enter_room",
        "switch_room",
        "leave_room",
        "leave_all_rooms",
        "query_members",
        "remove_users",
        "dismiss_room",
        "tick",
        "set_room_attributes",
        "delete_room_attributes",
        "send_room_message",
    ];
    assert_eq!(missing(&c.inputs, &inputs), Vec::<String>::new());
    let outputs = [
        "reply",
        "admin_reply",
        "room_state_changed",
        "members_joined",
        "members_left",
        "room_created",
        "room_destroyed",
        "session_closed",
        "room_attributes_updated",
        "room_message",
    ];
    assert_eq!(missing(&c.outputs, &outputs), Vec::<String>::new());
    // `network_disconnected` is in ZIM's enum but no flow emits it (see the state machine table).
    let events = [
        "success",
        "network_interrupted",
        "room_not_exist",
        "active_create",
        "create_failed",
        "active_enter",
        "enter_failed",
        "kicked_out",
        "connect_timeout",
        "kicked_out_by_other_device",
        "active_switch",
        "switch_failed",
    ];
    assert_eq!(missing(&c.events, &events), Vec::<String>::new());
    let reasons = [
        "members_left.reason=left",
        "members_left.reason=kicked",
        "members_left.reason=timeout",
        "members_left.reason=other_device",
        "room_destroyed.cause=empty",
        "room_destroyed.cause=dismissed",
        "session_closed.reason=logout",
        "session_closed.reason=kicked_out_by_other_device",
    ];
    assert_eq!(missing(&c.reasons, &reasons), Vec::<String>::new());
}

#[test]
fn the_demo_vector_has_the_builtin_demos_inputs() {
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/demo.jsonl"))
            .expect("src/demo.jsonl");
    let vector = read(&vector_dir().join("demo_switch_room_flow.jsonl"));
    let without_outputs: Vec<Record> = records(&vector)
        .into_iter()
        .filter(|r| !matches!(r, Record::Output(_)))
        .collect();
    assert_eq!(without_outputs, records(&demo));
}

// ---- the checker itself ------------------------------------------------------------------

fn switch_vector() -> String {
    read(&vector_dir().join("switch_room_existing.jsonl"))
}

fn session(s: &str) -> Recipient {
    Recipient::Session(SessionId::new(s))
}

/// The line number (1-based) of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    let i = text
        .lines()
        .position(|l| l.contains(needle))
        .expect("needle present");
    i as u64 + 1
}

#[test]
fn checker_reports_the_first_difference_of_the_session_concerned() {
    let good = switch_vector();
    let target = r#""session":"s1","room_id":"r1","state":"disconnected","event":"success""#;
    let bad = good.replacen(
        target,
        r#""session":"s1","room_id":"r1","state":"disconnected","event":"switch_failed""#,
        1,
    );
    assert_ne!(good, bad);
    let report = check_text(&bad, STRICT);
    assert_eq!(report.divergences.len(), 1, "{report:?}");
    let d = &report.divergences[0];
    assert_eq!(d.recipient, session("s1"));
    assert_eq!(d.input_line, line_of(&bad, r#""type":"switch_room""#));
    assert_eq!(
        d.expected.as_ref().map(|e| e.0),
        Some(line_of(&bad, "switch_failed"))
    );
    assert!(d
        .actual
        .as_deref()
        .is_some_and(|a| a.contains(r#""event":"success""#)));
    assert_eq!(
        d.differences,
        ["out.event: expected \"switch_failed\", actual \"success\""]
    );
}

#[test]
fn checker_reports_missing_and_extra_outputs_per_recipient() {
    let good = switch_vector();
    // Give carol's members_joined to bob instead: carol gets one output more than expected,
    // bob one less, and bob's first expected output is now the wrong one.
    let carol = good
        .lines()
        .find(|l| l.contains(r#""type":"members_joined","session":"s3""#))
        .expect("carol is told");
    let for_bob = carol.replace(r#""session":"s3""#, r#""session":"s2""#);
    let bad = good.replace(carol, &for_bob);
    let report = check_text(&bad, STRICT);
    assert_eq!(report.divergences.len(), 2, "{report:?}");
    let bob = report
        .divergences
        .iter()
        .find(|d| d.recipient == session("s2"))
        .expect("bob");
    assert!(bob
        .expected
        .as_ref()
        .is_some_and(|e| e.1.contains("members_joined")));
    assert!(bob
        .actual
        .as_deref()
        .is_some_and(|a| a.contains("members_left")));
    assert_eq!((bob.missing, bob.extra), (2, 1));
    let carol = report
        .divergences
        .iter()
        .find(|d| d.recipient == session("s3"))
        .expect("carol");
    assert!(carol.expected.is_none(), "nothing expected for carol");
    assert!(carol
        .actual
        .as_deref()
        .is_some_and(|a| a.contains("members_joined")));
    assert_eq!((carol.missing, carol.extra), (0, 1));
}

#[test]
fn checker_compares_server_outputs_in_order() {
    let good = read(&vector_dir().join("timers_fire_in_deadline_order.jsonl"));
    let r1 = good
        .lines()
        .find(|l| l.contains(r#""room_destroyed","room_id":"r1""#))
        .expect("r1");
    let r2 = good
        .lines()
        .find(|l| l.contains(r#""room_destroyed","room_id":"r2""#))
        .expect("r2");
    let swapped = good.replace(r1, "@@").replace(r2, r1).replace("@@", r2);
    let report = check_text(&swapped, STRICT);
    assert_eq!(report.divergences.len(), 1);
    assert_eq!(report.divergences[0].recipient, Recipient::Service);
}

#[test]
fn checker_ignores_error_messages_unless_strict() {
    let good = read(&vector_dir().join("join_room_not_exist.jsonl"));
    let bad = good.replace("room does not exist", "no such room");
    assert_ne!(good, bad);
    assert!(check_text(&bad, CheckOptions::default()).passed());
    let strict = check_text(&bad, STRICT);
    assert_eq!(strict.divergences.len(), 1);
    assert_eq!(
        strict.divergences[0].differences,
        ["out.error.message: expected \"no such room\", actual \"room does not exist\""]
    );
}

#[test]
fn checker_wants_each_output_after_the_input_that_caused_it() {
    // Move the reply of the first login below the second login: same lines, wrong step.
    let text = "{\"at\":0,\"in\":{\"type\":\"login\",\"session\":\"s1\",\"request\":1,\"user\":\"alice\"}}\n\
                {\"at\":0,\"in\":{\"type\":\"login\",\"session\":\"s2\",\"request\":2,\"user\":\"bob\"}}\n\
                {\"at\":0,\"out\":{\"type\":\"reply\",\"session\":\"s1\",\"request\":1,\"ok\":{\"user_id\":\"alice\"}}}\n\
                {\"at\":0,\"out\":{\"type\":\"reply\",\"session\":\"s2\",\"request\":2,\"ok\":{\"user_id\":\"bob\"}}}\n";
    let report = check_text(text, STRICT);
    assert_eq!(report.divergences.len(), 1);
    let d = &report.divergences[0];
    assert_eq!((d.recipient, d.input_line), (session("s1"), 1));
    assert!(
        d.expected.is_none() && d.actual.is_some(),
        "an extra reply after line 1"
    );
}

#[test]
fn mangled_vector_lines_never_panic() {
    // Every vector line with one byte replaced or removed, at every position of a sample of
    // lines: the reader answers an error or a record, never a panic.
    let replacements: &[&[u8]] = &[
        b"",
        b"\"",
        b"}",
        b"0",
        b"-",
        b"\xff",
        b"\\",
        b"9999999999999999999999",
    ];
    for path in vectors().iter().step_by(7) {
        let text = read(path);
        for line in text.lines().take(12) {
            let bytes = line.as_bytes();
            for i in 0..bytes.len() {
                for r in replacements {
                    let mut m = bytes[..i].to_vec();
                    m.extend_from_slice(r);
                    m.extend_from_slice(&bytes[i + 1..]);
                    m.push(b'\n');
                    let mut player = roomcore::trace::Player::new(&m[..]);
                    while let Ok(Some(_)) = player.next_step() {}
                }
            }
        }
    }
}
