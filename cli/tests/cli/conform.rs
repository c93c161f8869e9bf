//! `roomcore conform` against roomcore itself (passes), against deliberately broken
//! implementations (small Python scripts around `roomcore replay -` in `cli/tests/adapters/`:
//! it fails, and the shrunk trace is a handful of inputs that still diverges), and against
//! commands that crash, hang or print garbage (exit 2).

use crate::{repo, run, run_in, temp_path, vector_path, Run, BIN};
use std::sync::OnceLock;

/// The Python 3 interpreter itself (not a launcher script in front of it), started without
/// the site packages: the adapters use only the standard library, and start faster.
fn python() -> String {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let out = std::process::Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .expect("python3 is installed (the broken adapters are Python scripts)");
            let exe = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if exe.is_empty() {
                "python3".to_owned()
            } else {
                exe
            }
        })
        .clone()
}

/// A shell command running adapter `script` around this build's `roomcore`.
fn adapter(script: &str, args: &[&str]) -> String {
    let path = repo().join("cli/tests/adapters").join(script);
    let mut cmd = format!("'{}' -S '{}' '{BIN}'", python(), path.display());
    for a in args {
        cmd.push_str(&format!(" '{a}'"));
    }
    cmd
}

fn replay() -> String {
    format!("'{BIN}' replay -")
}

fn conform(imp: &str, extra: &[&str]) -> Run {
    let mut args = vec!["conform", "--impl", imp];
    args.extend_from_slice(extra);
    // A hang guard only, far above what a run takes even on a loaded machine.
    if !extra.contains(&"--timeout-ms") {
        args.extend_from_slice(&["--timeout-ms", "120000"]);
    }
    run(&args, b"")
}

/// A broken adapter's failure: the trace count and the shrunk size it reports.
struct Found {
    /// Traces that passed before the one that diverged.
    passed_before: u64,
    /// Inputs of the diverging trace, and of the shrunk one.
    from: usize,
    to: usize,
    /// The shrunk vector's text.
    vector: String,
}

/// Runs `imp` on seeded traces only; expects it found and shrunk, the vector written.
fn find(imp: &str, extra: &[&str]) -> (Run, Found) {
    let out = temp_path("jsonl");
    let out_s = out.to_string_lossy().into_owned();
    let mut args = vec!["--out", &out_s];
    args.extend_from_slice(extra);
    let r = conform(imp, &args);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let vector = std::fs::read_to_string(&out).expect("the shrunk vector is written");
    let _ = std::fs::remove_file(&out);
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains(" passing traces; shrunk from "))
        .unwrap_or_else(|| panic!("no summary in {}", r.stdout));
    let number = |after: &str| -> u64 {
        let rest = &line[line.find(after).expect("summary wording") + after.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().expect("a number")
    };
    let found = Found {
        passed_before: number(" after "),
        from: usize::try_from(number("shrunk from ")).expect("small"),
        to: usize::try_from(number(" to ")).expect("small"),
        vector,
    };
    eprintln!("{imp}: {line}");
    (r, found)
}

/// The shrunk vector is a valid vector of roomcore's own outputs, holds `found.to` inputs,
/// and the implementation still diverges on it alone.
fn assert_shrunk_vector_reproduces(imp: &str, found: &Found) {
    let path = temp_path("jsonl");
    std::fs::write(&path, &found.vector).expect("written");
    let p = path.to_string_lossy().into_owned();
    let inputs = found
        .vector
        .lines()
        .filter(|l| l.contains("\"in\":"))
        .count();
    assert_eq!(inputs, found.to, "{}", found.vector);
    let check = run(&["check", "--strict", &p], b"");
    assert_eq!(check.code, 0, "roomcore check: {}", check.stdout);
    let own = conform(&replay(), &[&p, "--seeds", "0"]);
    assert_eq!(own.code, 0, "{}{}", own.stdout, own.stderr);
    let again_out = temp_path("jsonl");
    let again = conform(
        imp,
        &[&p, "--seeds", "0", "--out", &again_out.to_string_lossy()],
    );
    let _ = std::fs::remove_file(&again_out);
    let _ = std::fs::remove_file(&path);
    assert_eq!(again.code, 1, "{}{}", again.stdout, again.stderr);
}

/// A handful: the bound the shrinker must meet on every broken adapter.
const MAX_SHRUNK_INPUTS: usize = 8;

fn seeds_only() -> Vec<&'static str> {
    vec!["--no-vectors", "--seeds", "300", "--steps", "60"]
}

// ---- passing ------------------------------------------------------------------------------

#[test]
fn roomcore_conforms_to_itself_on_the_vectors_and_seeded_traces() {
    let vectors = repo().join("tests/vectors");
    let r = conform(&replay(), &[&vectors.to_string_lossy(), "--seeds", "40"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let count = std::fs::read_dir(&vectors)
        .expect("vectors")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        })
        .count();
    assert!(count > 50);
    assert!(
        r.stdout.contains(&format!(
            "conform: passed: {count} vectors and 40 seeded traces"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("seeded traces: 40/40 passed"),
        "progress: {}",
        r.stderr
    );
}

#[test]
fn the_vectors_default_to_tests_vectors_of_the_working_directory() {
    let r = run_in(
        &repo(),
        &["conform", "--impl", &replay(), "--seeds", "0"],
        b"",
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(" vectors and 0 seeded traces"),
        "{}",
        r.stdout
    );
    let elsewhere = run(&["conform", "--impl", &replay()], b"");
    assert_eq!(elsewhere.code, 2);
    assert!(
        elsewhere.stderr.contains("no tests/vectors here"),
        "{}",
        elsewhere.stderr
    );
}

#[test]
fn an_implementation_with_its_own_cursors_is_passed_them_back() {
    let imp = adapter("own_cursors.py", &[]);
    let paging = vector_path("query_members_paging.jsonl");
    let r = conform(&imp, &[&paging, "--seeds", "0"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Seeded traces pass cursors back too (for the same room, another room, garbage).
    let r = conform(
        &imp,
        &["--no-vectors", "--seeds", "30", "--features", "core"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn error_messages_count_only_with_strict() {
    let imp = adapter("reword_errors.py", &[]);
    let vector = vector_path("join_room_not_exist.jsonl");
    assert_eq!(conform(&imp, &[&vector, "--seeds", "0"]).code, 0);
    let out = temp_path("jsonl");
    let r = conform(
        &imp,
        &[
            &vector,
            "--seeds",
            "0",
            "--strict",
            "--out",
            &out.to_string_lossy(),
        ],
    );
    let _ = std::fs::remove_file(&out);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("out.error.message"), "{}", r.stdout);
}

// ---- broken adapters: found, shrunk ---------------------------------------------------------

#[test]
fn a_lost_output_type_is_found_and_shrunk() {
    let imp = adapter("drop_output.py", &["room_destroyed"]);
    let (r, found) = find(&imp, &seeds_only());
    assert!(r.stdout.contains("FAIL    seed "), "{}", r.stdout);
    assert!(
        r.stdout.contains("`room_destroyed` missing"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("server: missing output after the input on line"),
        "{}",
        r.stdout
    );
    assert!(
        found.to <= MAX_SHRUNK_INPUTS,
        "{} inputs:\n{}",
        found.to,
        found.vector
    );
    assert!(found.from == 60 && found.passed_before < 300);
    assert_shrunk_vector_reproduces(&imp, &found);
}

#[test]
fn a_lost_output_type_is_found_by_the_vectors_first() {
    let imp = adapter("drop_output.py", &["members_left"]);
    let vectors = repo().join("tests/vectors");
    let (r, found) = find(&imp, &[&vectors.to_string_lossy()]);
    assert!(r.stdout.contains("FAIL    vector "), "{}", r.stdout);
    assert!(found.to <= found.from && found.to <= MAX_SHRUNK_INPUTS);
}

#[test]
fn a_switch_in_the_wrong_order_is_found_and_shrunk() {
    let imp = adapter("swap_switch.py", &[]);
    let (r, found) = find(&imp, &seeds_only());
    assert!(
        r.stdout
            .contains("`room_state_changed` differs in room_id, state"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("- out.state: expected \"connected\", actual \"disconnected\""),
        "{}",
        r.stdout
    );
    assert!(
        found.to <= MAX_SHRUNK_INPUTS,
        "{} inputs:\n{}",
        found.to,
        found.vector
    );
    assert!(
        found.vector.contains("\"type\":\"switch_room\""),
        "{}",
        found.vector
    );
    assert_shrunk_vector_reproduces(&imp, &found);
}

#[test]
fn an_ignored_limit_is_found_and_shrunk() {
    let imp = adapter("ignore_limit.py", &["max_members_per_room"]);
    let (_, found) = find(&imp, &seeds_only());
    assert!(
        found.to <= MAX_SHRUNK_INPUTS,
        "{} inputs:\n{}",
        found.to,
        found.vector
    );
    // The shrinker keeps the config field the divergence needs and resets the others.
    assert!(
        found.vector.contains("\"max_members_per_room\":2"),
        "{}",
        found.vector
    );
    assert!(
        !found.vector.contains("\"max_kick_users\""),
        "{}",
        found.vector
    );
    assert_shrunk_vector_reproduces(&imp, &found);
}

// ---- implementations that cannot be compared: exit 2 ----------------------------------------

fn assert_broken(imp: &str, extra: &[&str], wanted: &[&str]) {
    let out = temp_path("jsonl");
    let mut args = vec!["--no-vectors", "--seeds", "1", "--out"];
    let out_s = out.to_string_lossy().into_owned();
    args.push(&out_s);
    args.extend_from_slice(extra);
    let r = conform(imp, &args);
    assert_eq!(r.code, 2, "{imp}: {}{}", r.stdout, r.stderr);
    for w in wanted {
        assert!(r.stderr.contains(w), "{imp}: wanted {w:?} in {}", r.stderr);
    }
    // The trace it was given is kept, to reproduce by hand.
    let kept = std::fs::read_to_string(&out).expect("the trace is kept");
    assert!(kept.contains("\"in\":"), "{kept}");
    let _ = std::fs::remove_file(&out);
}

#[test]
fn a_crash_is_exit_2_with_its_status_and_standard_error() {
    assert_broken(
        "echo 'adapter exploded' >&2; exit 3",
        &[],
        &[
            "seed 0: the implementation failed",
            "exit status: 3",
            "adapter exploded",
        ],
    );
    assert_broken("no-such-command-for-roomcore", &[], &["exit status: 127"]);
}

#[test]
fn garbage_is_exit_2_naming_the_line() {
    assert_broken(
        "echo '{\"at\":0,\"out\":{\"type\":\"room_created\",\"room_id\":\"r1\"}}'; echo hello",
        &[],
        &[
            "not an output line",
            "line 2 of its output",
            "not JSON",
            "hello",
        ],
    );
    assert_broken("echo '{\"at\":\"soon\",\"out\":{}}'", &[], &["no `at`"]);
}

#[test]
fn a_hang_is_killed_at_the_timeout_and_exit_2() {
    // The limit only guards the run: the command would sleep far longer.
    assert_broken(
        "sleep 600",
        &["--timeout-ms", "1000"],
        &["did not finish within 1000 ms"],
    );
    // Exited, but left something running with its output open: killed with its group.
    assert_broken(
        "sleep 600 & exit 0",
        &["--timeout-ms", "1000"],
        &["did not finish within 1000 ms"],
    );
}

#[test]
fn the_service_group_conforms_and_unknown_groups_are_refused() {
    let r = conform(
        &replay(),
        &[
            "--no-vectors",
            "--seeds",
            "20",
            "--features",
            "core,service",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = conform(&replay(), &["--no-vectors", "--features", "core,telepathy"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown feature group `telepathy`"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_vector_that_is_not_a_trace_is_exit_2() {
    let bad = temp_path("jsonl");
    std::fs::write(&bad, "{\"at\":0,\"in\":{\"type\":\"teleport\"}}\n").expect("written");
    let r = conform(&replay(), &[&bad.to_string_lossy(), "--seeds", "0"]);
    let _ = std::fs::remove_file(&bad);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("line 1: `in`: unknown type `teleport`"),
        "{}",
        r.stderr
    );
}
