//! Replay, check, render, record, the demo, and bad input (every kind is exit code 2 with
//! a message naming the line, and applies nothing of the bad line).

use crate::{repo, run, temp_file, vector, vector_path};
use std::path::PathBuf;

/// The `out` lines of a vector, as replay prints them.
fn out_lines(text: &str) -> String {
    text.lines()
        .filter(|l| l.starts_with("{\"at\"") && l.contains("\"out\":"))
        .map(|l| format!("{l}\n"))
        .collect()
}

const LOGIN: &str = r#"{"at":0,"in":{"type":"login","session":"s1","request":1,"user":"alice"}}"#;
const LOGIN_REPLY: &str =
    r#"{"at":0,"out":{"type":"reply","session":"s1","request":1,"ok":{"user_id":"alice"}}}"#;

// ---- replay --------------------------------------------------------------------------------

#[test]
fn replay_prints_exactly_the_outputs_every_vector_expects() {
    let dir = repo().join("tests/vectors");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("vectors")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path).expect("vector");
        let r = run(&["replay", &path.to_string_lossy()], b"");
        assert_eq!(r.code, 0, "{}: {}", path.display(), r.stderr);
        assert_eq!(r.stdout, out_lines(&text), "{}", path.display());
    }
}

#[test]
fn replay_reads_standard_input() {
    let r = run(&["replay", "-"], format!("{LOGIN}\n").as_bytes());
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, format!("{LOGIN_REPLY}\n").as_str())
    );
}

/// The outputs of the lines before a bad one stay printed (the writer's buffer is handed
/// over when replay stops), with or without a dialect.
#[test]
fn replay_keeps_the_outputs_printed_before_a_bad_line() {
    let trace = format!("{LOGIN}\n{{\"at\":1,\"in\":{{\"type\":\"nope\"}}}}\n");
    let r = run(&["replay", "-"], trace.as_bytes());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, format!("{LOGIN_REPLY}\n"));
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    let r = run(&["replay", "--dialect", "zim", "-"], trace.as_bytes());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
}

#[test]
fn replay_accepts_crlf_a_bom_blank_lines_and_no_final_newline() {
    let input = format!("\u{feff}{{\"note\":\"x\"}}\r\n\r\n{LOGIN}");
    let r = run(&["replay", "-"], input.as_bytes());
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, format!("{LOGIN_REPLY}\n").as_str()),
        "{}",
        r.stderr
    );
}

#[test]
fn replay_fires_due_timers_stamped_with_their_deadline_before_the_input() {
    let trace = "{\"at\":0,\"in\":{\"type\":\"login\",\"session\":\"s1\",\"request\":1,\"user\":\"a\"}}\n\
        {\"at\":0,\"in\":{\"type\":\"create_room\",\"session\":\"s1\",\"request\":2,\"room\":{\"id\":\"r1\"},\"config\":{\"destroy_delay_s\":1}}}\n\
        {\"at\":0,\"in\":{\"type\":\"leave_room\",\"session\":\"s1\",\"request\":3,\"room_id\":\"r1\"}}\n\
        {\"at\":5000,\"in\":{\"type\":\"logout\",\"session\":\"s1\",\"request\":4}}\n";
    let r = run(&["replay", "-"], trace.as_bytes());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tail: Vec<&str> = r.stdout.lines().rev().take(3).collect();
    assert_eq!(
        tail,
        [
            r#"{"at":5000,"out":{"type":"session_closed","session":"s1","reason":"logout"}}"#,
            r#"{"at":5000,"out":{"type":"reply","session":"s1","request":4,"ok":{}}}"#,
            r#"{"at":1000,"out":{"type":"room_destroyed","room_id":"r1","sid":"R1","cause":"empty"}}"#,
        ]
    );
}

#[test]
fn replay_with_a_dialect_adds_the_vendor_callbacks() {
    let path = vector_path("switch_room_missing_fails.jsonl");
    let r = run(&["replay", &path, "--dialect", "zim"], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(
        r#""zim":[{"callback":"onRoomStateChanged","session":"s1","roomID":"r9","state":0,"event":12}]"#
    ));
    assert!(r
        .stdout
        .contains(r#""zim":[{"callback":"onRoomSwitched","session":"s1","errorCode":6000322}]"#));
    let r = run(
        &[
            "replay",
            &vector_path("leave_room_ok.jsonl"),
            "--dialect",
            "trtc",
        ],
        b"",
    );
    assert!(r
        .stdout
        .contains(r#""trtc":[{"callback":"onExitRoom","session":"s2","reason":0}]"#));
    assert!(r.stdout.contains(
        r#"{"callback":"onRemoteUserLeaveRoom","session":"s1","userId":"bob","reason":0}"#
    ));
    let r = run(
        &[
            "replay",
            &vector_path("leave_room_ok.jsonl"),
            "--dialect",
            "bytedance",
        ],
        b"",
    );
    assert!(r.stdout.contains(
        r#""bytedance":[{"callback":"success","session":"s2","errMsg":"exitRtcRoom:ok"}]"#
    ));
    let r = run(
        &[
            "replay",
            &vector_path("dismiss_room.jsonl"),
            "--dialect",
            "livekit",
        ],
        b"",
    );
    assert!(r
        .stdout
        .contains(r#""livekit":[{"callback":"Disconnected","session":"s1","reason":5}]"#));
    // Server-side events map to the vendor's webhooks.
    assert!(r.stdout.contains(
        r#""out":{"type":"room_destroyed","room_id":"r1","sid":"R1","cause":"dismissed"},"livekit":[{"callback":"room_finished","room":"r1","roomSid":"R1"}]"#
    ));
    // Outputs with no vendor counterpart keep their canonical line and an empty list.
    assert!(r.stdout.contains(r#""livekit":[]"#));
}

// ---- bad input -----------------------------------------------------------------------------

/// Replays `trace`; expects exit 2, a message naming `line` and containing `problem`, and
/// stdout holding exactly the outputs of the lines before it.
fn assert_rejected(trace: &[u8], line: u64, problem: &str, stdout: &str) {
    for source in ["-", "file"] {
        let r = if source == "-" {
            run(&["replay", "-"], trace)
        } else {
            let path = temp_file(trace);
            let r = run(&["replay", &path.to_string_lossy()], b"");
            let _ = std::fs::remove_file(path);
            r
        };
        assert_eq!(r.code, 2, "{source}: exit code; stderr: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("line {line}: ")),
            "{source}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(problem),
            "{source}: wanted {problem:?} in {}",
            r.stderr
        );
        assert_eq!(r.stdout, stdout, "{source}: stdout");
    }
}

fn after_login(bad: &str) -> Vec<u8> {
    format!("{LOGIN}\n{bad}\n").into_bytes()
}

#[test]
fn malformed_json_is_rejected() {
    let bad = r#"{"at":5,"in":{"type":"logout","session":"s1","request":2}"#;
    assert_rejected(
        &after_login(bad),
        2,
        "malformed JSON",
        &format!("{LOGIN_REPLY}\n"),
    );
    assert_rejected(b"not json\n", 1, "malformed JSON at column 2", "");
    assert_rejected(b"[1,2]\n", 1, "must be a JSON object", "");
}

#[test]
fn unknown_type_is_rejected() {
    let bad = r#"{"at":5,"in":{"type":"teleport","session":"s1","request":2}}"#;
    assert_rejected(
        &after_login(bad),
        2,
        "unknown type `teleport`",
        &format!("{LOGIN_REPLY}\n"),
    );
}

#[test]
fn missing_field_is_rejected() {
    let bad = r#"{"at":5,"in":{"type":"join_room","session":"s1","request":2}}"#;
    assert_rejected(
        &after_login(bad),
        2,
        "missing field `room_id`",
        &format!("{LOGIN_REPLY}\n"),
    );
    assert_rejected(br#"{"in":{"type":"tick"}}"#, 1, "missing field `at`", "");
}

#[test]
fn mistyped_field_is_rejected_and_named() {
    let bad = r#"{"at":5,"in":{"type":"join_room","session":"s1","request":"two","room_id":"r1"}}"#;
    let want = "`in.request`: invalid type: string \"two\", expected u64";
    assert_rejected(&after_login(bad), 2, want, &format!("{LOGIN_REPLY}\n"));
    assert_rejected(
        br#"{"at":-1,"in":{"type":"tick"}}"#,
        1,
        "`at`: invalid value",
        "",
    );
    assert_rejected(
        br#"{"at":"5","in":{"type":"tick"}}"#,
        1,
        "`at`: invalid type",
        "",
    );
}

#[test]
fn at_going_backwards_is_rejected() {
    let bad = r#"{"at":3,"in":{"type":"tick"}}"#;
    let trace = format!("{}\n{bad}\n", LOGIN.replace("\"at\":0", "\"at\":7"));
    let reply = LOGIN_REPLY.replace("\"at\":0", "\"at\":7");
    assert_rejected(
        trace.as_bytes(),
        2,
        "`at` went backwards: 3 after 7",
        &format!("{reply}\n"),
    );
}

#[test]
fn a_line_over_one_mebibyte_is_rejected() {
    let note = format!("{{\"note\":\"{}\"}}", "x".repeat(1 << 20));
    assert_rejected(
        &after_login(&note),
        2,
        "longer than 1048576 bytes",
        &format!("{LOGIN_REPLY}\n"),
    );
    // Exactly at the limit is fine.
    let fits = format!("{{\"note\":\"{}\"}}", "x".repeat((1 << 20) - 11));
    assert_eq!(fits.len(), 1 << 20);
    let r = run(&["replay", "-"], &after_login(&fits));
    assert_eq!(
        (r.code, r.stdout),
        (0, format!("{LOGIN_REPLY}\n")),
        "{}",
        r.stderr
    );
}

#[test]
fn a_non_utf8_byte_is_rejected() {
    let mut trace = after_login("");
    trace.extend_from_slice(
        b"{\"at\":5,\"in\":{\"type\":\"logout\",\"session\":\"s\xff1\",\"request\":2}}\n",
    );
    assert_rejected(
        &trace,
        3,
        "not valid UTF-8 (bad byte at offset 42)",
        &format!("{LOGIN_REPLY}\n"),
    );
}

#[test]
fn structural_mistakes_are_rejected() {
    let reply = format!("{LOGIN_REPLY}\n");
    assert_rejected(
        &after_login(r#"{"config":{}}"#),
        2,
        "`config` line must come before",
        &reply,
    );
    assert_rejected(
        LOGIN_REPLY.as_bytes(),
        1,
        "`out` line must follow an input",
        "",
    );
    assert_rejected(
        &after_login(r#"{"at":5,"in":{"type":"tick"},"extra":1}"#),
        2,
        "unknown field `extra`",
        &reply,
    );
    assert_rejected(
        &after_login(r#"{"at":5,"in":{"type":"tick","session":"s1"}}"#),
        2,
        "unknown field `session`",
        &reply,
    );
    assert_rejected(
        &after_login(r#"{"at":5}"#),
        2,
        "`at` needs an `in` or an `out`",
        &reply,
    );
    assert_rejected(
        &after_login(r#"{"config":{"max_roomz":1}}"#),
        2,
        "unknown field `max_roomz`",
        &reply,
    );
    assert_rejected(br#"{"config":{"max_rooms":0}}"#, 1, "invalid config", "");
    let noncanonical = r#"{"at":0,"out":{"type":"room_created","room_id":"r1","extra":true}}"#;
    assert_rejected(
        &after_login(noncanonical),
        2,
        "not a canonical output: out.extra",
        &reply,
    );
}

#[test]
fn a_bad_line_applies_nothing() {
    // Alice is in r1 and r2; a switch missing its target must not do the leave half.
    let trace = "{\"at\":0,\"in\":{\"type\":\"login\",\"session\":\"s1\",\"request\":1,\"user\":\"alice\"}}\n\
        {\"at\":1,\"in\":{\"type\":\"create_room\",\"session\":\"s1\",\"request\":2,\"room\":{\"id\":\"r1\"}}}\n\
        {\"at\":2,\"in\":{\"type\":\"switch_room\",\"session\":\"s1\",\"request\":3,\"from\":\"r1\"}}\n";
    let good = run(
        &["replay", "-"],
        trace
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    );
    assert_eq!(good.code, 0);
    assert_rejected(trace.as_bytes(), 3, "missing field `to`", &good.stdout);
}

#[test]
fn ids_that_are_invalid_still_parse_and_the_engine_answers() {
    let long = "r".repeat(40);
    let trace = format!(
        "{LOGIN}\n{{\"at\":1,\"in\":{{\"type\":\"join_room\",\"session\":\"s1\",\"request\":2,\"room_id\":\"{long}\"}}}}\n"
    );
    let r = run(&["replay", "-"], trace.as_bytes());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(r#""code":"invalid_room_id""#),
        "{}",
        r.stdout
    );
}

#[test]
fn a_missing_file_and_bad_usage_exit_2() {
    let r = run(&["replay", "/nonexistent/trace.jsonl"], b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot open"), "{}", r.stderr);
    assert_eq!(run(&["replay", "-", "--dialect", "skype"], b"").code, 2);
    assert_eq!(run(&["frobnicate"], b"").code, 2);
    assert_eq!(run(&["check"], b"").code, 2);
}

// ---- check ---------------------------------------------------------------------------------

#[test]
fn check_passes_the_published_vectors() {
    let dir = repo().join("tests/vectors");
    let r = run(&["check", "--strict", &dir.to_string_lossy()], b"");
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains(" passed, 0 failed, 0 invalid"),
        "{}",
        r.stdout
    );
}

#[test]
fn check_reports_a_failing_vector_with_a_diff_and_exits_1() {
    let good = std::fs::read_to_string(vector("switch_room_existing.jsonl")).expect("vector");
    let bad = good.replacen(r#""event":"active_switch""#, r#""event":"active_enter""#, 1);
    let path = temp_file(bad.as_bytes());
    let p = path.to_string_lossy().into_owned();
    let r = run(&["check", &vector_path("login_ok.jsonl"), &p], b"");
    let _ = std::fs::remove_file(&path);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ok      "), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("FAIL    {p}")), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("session s1: differs after the input on line 23"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("expected (line 24): "), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("- out.event: expected \"active_enter\", actual \"active_switch\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("1 passed, 1 failed, 0 invalid"),
        "{}",
        r.stdout
    );
}

#[test]
fn check_reports_a_room_delta_divergence_under_the_room() {
    let good =
        std::fs::read_to_string(vector("large_room_members_coalesced.jsonl")).expect("vector");
    let bad = good.replacen(r#""reason":"left"}]"#, r#""reason":"kicked"}]"#, 1);
    assert_ne!(good, bad, "the vector has a room delta with a left member");
    let path = temp_file(bad.as_bytes());
    let p = path.to_string_lossy().into_owned();
    let r = run(&["check", &p], b"");
    let _ = std::fs::remove_file(&path);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("room r1: differs after the input on line"),
        "{}",
        r.stdout
    );
}

#[test]
fn check_reports_an_invalid_vector_and_exits_2() {
    let path =
        temp_file(format!("{LOGIN}\n{{\"at\":0,\"out\":{{\"type\":\"nope\"}}}}\n").as_bytes());
    let p = path.to_string_lossy().into_owned();
    let r = run(&["check", &p], b"");
    let _ = std::fs::remove_file(&path);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout
            .contains(&format!("INVALID {p}: line 2: `out`: unknown type `nope`")),
        "{}",
        r.stdout
    );
}

// ---- record, render, demo, gen-trace -------------------------------------------------------

#[test]
fn record_of_a_vector_gives_the_vector_back() {
    let path = vector_path("link_lost_and_restored.jsonl");
    let r = run(&["record", &path], b"");
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout, std::fs::read_to_string(&path).expect("vector"));
}

/// Pins rendered text under `render/`: `snapshots/` holds only traces, so that
/// `roomcore check tests/it/snapshots` runs every golden transcript.
fn pin_render(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "render" }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn render_text_is_a_table_with_timers_before_the_input() {
    let r = run(
        &["render", &vector_path("demo_switch_room_flow.jsonl")],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    pin_render("render_demo_text", &r.stdout);
}

#[test]
fn render_mermaid_is_a_sequence_diagram() {
    let r = run(
        &[
            "render",
            &vector_path("demo_switch_room_flow.jsonl"),
            "--format",
            "mermaid",
        ],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    pin_render("render_demo_mermaid", &r.stdout);
}

#[test]
fn render_with_a_dialect_shows_vendor_callbacks() {
    let path = vector_path("remove_users_kicks.jsonl");
    let r = run(&["render", &path, "--dialect", "trtc"], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("s2         < onExitRoom(reason=1)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("onRemoteUserLeaveRoom(userId=\"bob\", reason=2); onRemoteUserLeaveRoom(userId=\"carol\", reason=2)"), "{}", r.stdout);
    assert!(
        r.stdout.contains("(trtc: none) admin_reply #8"),
        "{}",
        r.stdout
    );
    let r = run(
        &[
            "render",
            &path,
            "--format",
            "mermaid",
            "--dialect",
            "livekit",
        ],
        b"",
    );
    assert!(
        r.stdout.contains("server-->>p2: Disconnected(reason=4)"),
        "{}",
        r.stdout
    );
}

#[test]
fn no_arguments_plays_the_demo() {
    let r = run(&[], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let demo = repo().join("src/demo.jsonl");
    let rendered = run(&["render", &demo.to_string_lossy()], b"");
    assert!(r.stdout.starts_with("roomcore demo: "), "{}", r.stdout);
    assert!(
        r.stdout.ends_with(&rendered.stdout),
        "the demo is the text render of src/demo.jsonl"
    );
}

#[test]
fn gen_trace_is_deterministic_and_replays() {
    let a = run(&["gen-trace", "3000"], b"");
    let b = run(&["gen-trace", "3000"], b"");
    assert_eq!(a.code, 0);
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stdout.lines().count(), 3000);
    let r = run(&["replay", "-"], a.stdout.as_bytes());
    assert_eq!(r.code, 0, "{}", r.stderr);
    for kind in [
        "room_state_changed",
        "members_joined",
        "members_left",
        "room_message",
        "room_destroyed",
    ] {
        assert!(r.stdout.contains(kind), "the workload produces {kind}");
    }
}

/// The measured workload through the fast paths: every `gen-trace` line reads as serde reads
/// it, and `replay` prints byte for byte what serde_json writes for each output played.
#[test]
fn gen_trace_replays_as_serde_reads_and_writes_it() {
    use roomcore::trace::{parse_line, parse_line_with_serde, Player};
    let trace = run(&["gen-trace", "20000"], b"");
    assert_eq!(trace.code, 0);
    for line in trace.stdout.lines() {
        assert_eq!(parse_line(line), parse_line_with_serde(line), "{line}");
    }
    let mut want = String::new();
    let mut player = Player::new(trace.stdout.as_bytes());
    while let Some(step) = player.next_step().expect("a valid trace") {
        for s in step.outputs {
            want.push_str(&serde_json::to_string(s).expect("serializes"));
            want.push('\n');
        }
    }
    let r = run(&["replay", "-"], trace.stdout.as_bytes());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(want.lines().count() > 50_000, "a large replay");
    assert!(r.stdout == want, "replay differs from serde_json's lines");
}
