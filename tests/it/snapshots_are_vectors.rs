//! Every golden transcript is a vector: each insta snapshot under tests/ and cli/tests/
//! (except rendered text, kept apart under `render/`) is a conformance trace that the checker runs, front
//! matter and all, and whose every output (error messages included) the engine reproduces.

use roomcore::check::{check, skip_front_matter, CheckOptions};
use std::path::{Path, PathBuf};

/// Every `.snap` file under `dir`, recursively, in name order.
fn snapshots(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable directory")
        .map(|e| e.expect("readable entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            snapshots(&p, found);
        } else if p.extension().is_some_and(|x| x == "snap") {
            found.push(p);
        }
    }
}

fn is_rendered_text(path: &Path) -> bool {
    path.parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "render")
}

#[test]
fn every_snapshot_runs_through_the_checker_and_passes() {
    let mut all = Vec::new();
    for dir in ["tests", "cli/tests"] {
        snapshots(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut all);
    }
    let traces: Vec<&PathBuf> = all.iter().filter(|p| !is_rendered_text(p)).collect();
    assert!(traces.len() >= 100, "only {} snapshots", traces.len());
    assert_eq!(all.len() - traces.len(), 2, "rendered text snapshots");
    let strict = CheckOptions {
        compare_messages: true,
        opaque_cursors: false,
    };
    let mut failures = Vec::new();
    for path in traces {
        let file = std::fs::File::open(path).expect("readable snapshot");
        let reader = skip_front_matter(std::io::BufReader::new(file)).expect("readable");
        match check(reader, strict) {
            Ok(r) if r.passed() && r.inputs > 0 => {}
            Ok(r) => failures.push(format!("{}: {r:?}", path.display())),
            Err(e) => failures.push(format!("{}: not a trace: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
