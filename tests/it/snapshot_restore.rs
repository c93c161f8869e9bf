//! Snapshot and restore: serialize the engine mid-run with serde_json,
//! restore it, continue, and get byte-identical outputs and state; a corrupted snapshot is
//! rejected with an error, never a panic.
use crate::common::*;
use roomcore::{Config, Engine, Millis, Stamped};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A run that leaves timers of every kind pending across most split points: destroy delays,
/// reconnect grace, closed-session tombstones, plus kicks, a dismissal, messages and a switch.
fn script() -> Vec<(u64, Input)> {
    let mut r = Requests::default();
    vec![
        (0, r.login("s1", "alice")),
        (0, r.login("s2", "bob")),
        (0, r.login("s3", "carol")),
        (10, r.create("s1", "r1", delay_s(30))),
        (20, r.join("s2", "r1")),
        (30, r.enter("s3", "r2", delay_s(60))),
        (40, r.message("s2", "r1", "hi")),
        (50, link_lost("s2")),
        (60, r.switch("s1", "r1", "r3", true, delay_s(5))),
        (70, r.join("s3", "r1")),
        (1_000, link_restored("s2")),
        (2_000, r.leave("s3", "r2")),
        (3_000, r.kick("r1", &["bob", "zed"])),
        (4_000, r.logout("s2")),
        (5_000, r.leave_all("s3")),
        (6_000, r.join("s2", "r1")),
        (7_000, r.login("s4", "dave")),
        (8_000, link_lost("s4")),
        (9_000, r.enter("s1", "r1", None)),
        (20_000, r.dismiss("r3")),
        (40_000, Input::Tick),
        (70_000, r.join("s3", "r2")),
        (100_000, Input::Tick),
        (700_000, r.join("s2", "r1")),
        (800_000, r.login("s2", "bob")),
    ]
}

/// Runs `steps` on `engine`, then lets time run out; returns every output as a trace line.
fn run(engine: &mut Engine, steps: &[(u64, Input)], out: &mut Vec<String>) {
    let mut buf: Vec<Stamped> = Vec::new();
    for (at, input) in steps {
        light_step(engine, Millis(*at), input, &mut buf).unwrap_or_else(|e| panic!("{e}"));
    }
    out.extend(
        buf.iter()
            .map(|s| serde_json::to_string(s).expect("output serializes")),
    );
}

fn finish(engine: &mut Engine, out: &mut Vec<String>) {
    let mut buf: Vec<Stamped> = Vec::new();
    light_timeout(engine, Millis(10_000_000), &mut buf).unwrap_or_else(|e| panic!("{e}"));
    out.extend(
        buf.iter()
            .map(|s| serde_json::to_string(s).expect("output serializes")),
    );
}

fn state(engine: &Engine) -> String {
    serde_json::to_string(engine).expect("engine serializes")
}

fn uninterrupted() -> (Vec<String>, String) {
    let mut e = Engine::new(Config::default()).expect("default config");
    let mut out = Vec::new();
    run(&mut e, &script(), &mut out);
    finish(&mut e, &mut out);
    (out, state(&e))
}

/// A snapshot taken after the script's first `k` steps.
fn snapshot_after(k: usize) -> String {
    let mut e = Engine::new(Config::default()).expect("default config");
    run(&mut e, &script()[..k], &mut Vec::new());
    state(&e)
}

#[test]
fn restoring_at_every_step_gives_identical_outputs_and_state() {
    let steps = script();
    let (expected, expected_state) = uninterrupted();
    assert!(
        expected.len() > 40,
        "the script exercises enough: {}",
        expected.len()
    );
    for k in 0..=steps.len() {
        let mut e = Engine::new(Config::default()).unwrap();
        let mut out = Vec::new();
        run(&mut e, &steps[..k], &mut out);
        let snap = state(&e);
        let mut restored: Engine = serde_json::from_str(&snap).unwrap();
        assert_eq!(
            state(&restored),
            snap,
            "restore is an exact round trip at step {k}"
        );
        run(&mut restored, &steps[k..], &mut out);
        finish(&mut restored, &mut out);
        assert_eq!(out, expected, "outputs differ when restored after step {k}");
        assert_eq!(
            state(&restored),
            expected_state,
            "state differs after step {k}"
        );
    }
}

#[test]
fn restoring_twice_in_a_row_changes_nothing() {
    let steps = script();
    let (expected, _) = uninterrupted();
    let mut e = Engine::new(Config::default()).unwrap();
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        run(&mut e, std::slice::from_ref(step), &mut out);
        if i % 3 == 0 {
            let once: Engine = serde_json::from_str(&state(&e)).unwrap();
            e = serde_json::from_str(&state(&once)).unwrap();
        }
    }
    finish(&mut e, &mut out);
    assert_eq!(out, expected);
}

#[test]
fn the_script_transcript() {
    // The same script through the checked harness (which also restores before every step).
    let mut t = T::new();
    for (at, input) in script() {
        t.at(at, input);
    }
    t.advance(10_000_000);
    let all: Vec<String> = t.transcript().iter().flat_map(|s| lines(&s.out)).collect();
    assert!(all.contains(&"s1 r3 connecting/active_switch".to_owned()));
    assert!(all.contains(&"s2 closed logout".to_owned()));
    assert!(all.contains(&"destroyed r3 dismissed".to_owned()));
    pin!("script", t);
}

#[test]
fn a_truncated_snapshot_is_an_error() {
    let snap = snapshot_after(12);
    let mut cut = 0;
    while cut < snap.len() {
        if snap.is_char_boundary(cut) {
            let r = serde_json::from_str::<Engine>(&snap[..cut]);
            assert!(r.is_err(), "a snapshot cut at {cut} was accepted");
        }
        cut += 7;
    }
    assert!(serde_json::from_str::<Engine>("").is_err());
    assert!(serde_json::from_str::<Engine>("{}").is_err());
    assert!(serde_json::from_str::<Engine>("null").is_err());
}

/// A corruption applied to a parsed snapshot.
type Edit = Box<dyn FnOnce(&mut Value)>;

/// Parses the snapshot, lets `edit` corrupt it, and returns the restore error.
fn corrupt(k: usize, edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(&snapshot_after(k)).expect("snapshot is JSON");
    edit(&mut v);
    match serde_json::from_value::<Engine>(v) {
        Ok(_) => panic!("a corrupted snapshot was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_ill_typed_snapshot_is_an_error() {
    corrupt(12, |v| v["now"] = Value::from("soon"));
    corrupt(12, |v| v["rooms"] = Value::from(1));
    corrupt(12, |v| v["sessions"]["entries"][0]["id"] = Value::from(7));
    corrupt(12, |v| v["timers"]["pending"] = Value::from("none"));
}

#[test]
fn an_inconsistent_snapshot_is_an_error_naming_the_problem() {
    // After step 12: alice (slot 0) alone in r3; bob and carol in r1; r2 empty, waiting.
    let checks: Vec<(&str, Edit)> = vec![
        (
            "member list and membership disagree",
            Box::new(|v| v["sessions"]["entries"][0]["memberships"] = Value::Array(vec![])),
        ),
        (
            "a room id twice",
            Box::new(|v| {
                let id = v["rooms"]["entries"][0]["id"].clone();
                v["rooms"]["entries"][1]["id"] = id;
            }),
        ),
        (
            "a session id twice",
            Box::new(|v| {
                let id = v["sessions"]["entries"][0]["id"].clone();
                v["sessions"]["entries"][1]["id"] = id;
            }),
        ),
        (
            "timers dropped while rooms wait for them",
            Box::new(|v| v["timers"]["pending"] = Value::Array(vec![])),
        ),
        (
            "a config out of range",
            Box::new(|v| v["config"]["max_rooms"] = Value::from(0)),
        ),
        (
            "more rooms than the limit",
            Box::new(|v| v["config"]["max_rooms"] = Value::from(1)),
        ),
        (
            "a counter that would overflow",
            Box::new(|v| v["next_incarnation"] = Value::from(u64::MAX)),
        ),
        (
            "a room counter that would overflow",
            Box::new(|v| v["rooms"]["entries"][0]["next_join_seq"] = Value::from(u64::MAX)),
        ),
        (
            "a slab count that disagrees with its entries",
            Box::new(|v| v["rooms"]["len"] = Value::from(99)),
        ),
    ];
    for (what, edit) in checks {
        let err = corrupt(12, edit);
        assert!(
            err.contains("inconsistent") || err.contains("out of range"),
            "{what}: {err}"
        );
    }
}

/// Every numeric leaf of the snapshot, as a JSON pointer.
fn number_paths(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::Number(_) => out.push(path),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                number_paths(item, format!("{path}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                number_paths(item, format!("{path}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// Drives a restored engine through more commands and time, to find panics it could hide.
fn exercise(mut e: Engine) {
    let mut r = Requests::default();
    let mut buf = Vec::new();
    let now = e.now().as_ms();
    let inputs = [
        r.join("s1", "r1"),
        r.join("s3", "r2"),
        r.create("s2", "r9", delay_s(1)),
        r.leave_all("s1"),
        r.leave_all("s3"),
        r.message("s2", "r9", "x"),
        link_lost("s2"),
        r.kick("r1", &["alice", "carol"]),
        r.dismiss("r2"),
        r.login("s9", "zoe"),
        r.logout("s2"),
    ];
    for (i, input) in inputs.iter().enumerate() {
        let at = Millis(now.saturating_add(i as u64));
        light_step(&mut e, at, input, &mut buf)
            .unwrap_or_else(|v| panic!("accepted state broke: {v}"));
    }
    light_timeout(&mut e, Millis(u64::MAX), &mut buf)
        .unwrap_or_else(|v| panic!("accepted state broke: {v}"));
}

#[test]
fn no_single_number_changed_in_a_snapshot_makes_restore_or_later_steps_panic() {
    let snap: Value = serde_json::from_str(&snapshot_after(12)).unwrap();
    let mut paths = Vec::new();
    number_paths(&snap, String::new(), &mut paths);
    assert!(paths.len() > 50);
    let mut panics = Vec::new();
    let mut accepted = 0;
    for path in &paths {
        for replacement in [0u64, 1, 2, 7, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
            let mut v = snap.clone();
            *v.pointer_mut(path).unwrap() = Value::from(replacement);
            let result = catch_unwind(AssertUnwindSafe(|| {
                if let Ok(e) = serde_json::from_value::<Engine>(v) {
                    exercise(e);
                    true
                } else {
                    false
                }
            }));
            match result {
                Ok(true) => accepted += 1,
                Ok(false) => {}
                Err(_) => panics.push(format!("{path} = {replacement}")),
            }
        }
    }
    assert!(
        accepted > 0,
        "some harmless changes (names of numbers, times) are accepted"
    );
    assert!(panics.is_empty(), "restores that panicked: {panics:#?}");
}
