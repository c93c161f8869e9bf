//! The trace reader's one-pass input parser and the hand-written output writer against serde,
//! over every line of every vector, every snapshot and seeded generated traces: `parse_line`
//! gives exactly what `parse_line_with_serde` gives (record, or problem and its wording), and
//! every output is written byte for byte as serde_json writes it — alone, and from a compact
//! `Outputs` buffer whose member events go to several sessions.

use roomcore::trace::{
    parse_line, parse_line_with_serde, write_output, write_outputs, OutputWriter, Player, Record,
};
use roomcore::Stamped;
use roomcore_testkit::gen::{trace, Groups};
use std::path::{Path, PathBuf};

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the directory exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

/// Every vector and snapshot, as (name, text).
fn goldens() -> Vec<(String, String)> {
    let mut all: Vec<PathBuf> = files("tests/vectors", "jsonl");
    all.extend(files("tests/it/snapshots", "snap"));
    assert!(all.len() > 150, "only {} goldens", all.len());
    all.into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable golden");
            (p.display().to_string(), text)
        })
        .collect()
}

/// Seeded traces from the model test's generator, every feature group on.
fn generated() -> Vec<(String, String)> {
    (0..24)
        .map(|seed| {
            let text = trace(seed, 400, &Groups::all()).expect("a generated trace");
            (format!("generated seed {seed}"), text)
        })
        .collect()
}

/// Both parsers on every line; returns how many lines were inputs.
fn compare_parsers(name: &str, text: &str) -> usize {
    let mut inputs = 0;
    for (i, line) in text.lines().enumerate() {
        let fast = parse_line(line);
        assert_eq!(
            fast,
            parse_line_with_serde(line),
            "{name} line {}: {line}",
            i + 1
        );
        inputs += usize::from(matches!(fast, Ok(Record::Input { .. })));
    }
    inputs
}

#[test]
fn every_golden_and_generated_line_parses_as_serde_parses_it() {
    let mut inputs = 0;
    for (name, text) in goldens().iter().chain(&generated()) {
        inputs += compare_parsers(name, text);
    }
    assert!(inputs > 10_000, "only {inputs} input lines compared");
}

/// serde_json's trace line for one output.
fn serde_line(s: &Stamped) -> String {
    serde_json::to_string(s).expect("an output for one session serializes") + "\n"
}

/// Plays `text`, writing each step's compact outputs with [`OutputWriter`] and with
/// [`write_outputs`], and each expanded output with serde_json and [`write_output`]: all four
/// must be the same bytes. Returns the number of output lines.
fn compare_writers(name: &str, text: &str) -> usize {
    let mut player = Player::new(text.as_bytes());
    let (mut buffered, mut direct, mut single, mut reference) = (
        OutputWriter::new(Vec::new()),
        Vec::new(),
        Vec::new(),
        String::new(),
    );
    loop {
        match player.next_outputs() {
            Ok(Some(outputs)) => {
                buffered.write_outputs(outputs).expect("writes to memory");
                write_outputs(&mut direct, outputs).expect("writes to memory");
                for s in outputs.expanded() {
                    reference.push_str(&serde_line(&s));
                    write_output(&mut single, &s).expect("writes to memory");
                }
            }
            Ok(None) => break,
            // A vector that is meant to be invalid stops here, as `replay` does.
            Err(_) => break,
        }
    }
    buffered.flush().expect("writes to memory");
    let buffered = std::mem::take(buffered.get_mut());
    for (what, got) in [
        ("OutputWriter", buffered),
        ("write_outputs", direct),
        ("write_output", single),
    ] {
        let got = String::from_utf8(got).expect("UTF-8 lines");
        if got != reference {
            let (g, r): (Vec<_>, Vec<_>) = (got.lines().collect(), reference.lines().collect());
            let at = g
                .iter()
                .zip(&r)
                .position(|(a, b)| a != b)
                .unwrap_or(g.len().min(r.len()));
            panic!(
                "{name}: {what} differs from serde_json at output {at}:\n  got  {:?}\n  want {:?}",
                g.get(at),
                r.get(at)
            );
        }
    }
    reference.lines().count()
}

#[test]
fn every_output_of_every_golden_and_generated_trace_is_written_as_serde_writes_it() {
    let mut lines = 0;
    for (name, text) in goldens().iter().chain(&generated()) {
        lines += compare_writers(name, text);
    }
    assert!(lines > 10_000, "only {lines} output lines compared");
}

#[test]
fn every_expected_output_line_of_every_golden_is_written_back_as_serde_writes_it() {
    let mut compared = 0;
    for (name, text) in goldens() {
        for line in text.lines() {
            if let Ok(Record::Output(s)) = parse_line(line) {
                let mut buf = Vec::new();
                write_output(&mut buf, &s).expect("writes to memory");
                assert_eq!(
                    String::from_utf8(buf).expect("UTF-8"),
                    serde_line(&s),
                    "{name}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 1_000, "only {compared} output lines compared");
}
