//! Replays fuzz inputs in `cargo test`, through the same bodies and the same decoding
//! (`Arbitrary::arbitrary_take_rest`) the fuzz targets use: every crash file committed under
//! tests/fuzz_regressions/<target>/, and the committed seed corpus fuzz/corpus/<target>/.
//! `engine_vs_model` inputs are replayed with every harness check on (the fuzzer runs a
//! lighter set for speed).

use arbitrary::{Arbitrary, Unstructured};
use roomcore::fuzz::{trace_reader, EngineVsModel};
use std::path::{Path, PathBuf};

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn replay_engine_vs_model(dir: &str) -> usize {
    let inputs = files(dir);
    for path in &inputs {
        let bytes = std::fs::read(path).expect("readable");
        let Ok(input) = EngineVsModel::arbitrary_take_rest(Unstructured::new(&bytes)) else {
            continue;
        };
        if let Err(e) = input.run(false) {
            panic!("{}: {e}\ninput: {input:?}", path.display());
        }
    }
    inputs.len()
}

fn replay_trace_reader(dir: &str) -> usize {
    let inputs = files(dir);
    for path in &inputs {
        let bytes = std::fs::read(path).expect("readable");
        trace_reader(&bytes);
    }
    inputs.len()
}

/// Crash files (none committed yet: the fuzzers have found nothing so far) and the seeds.
#[test]
fn engine_vs_model_inputs_pass() {
    let n = replay_engine_vs_model("tests/fuzz_regressions/engine_vs_model")
        + replay_engine_vs_model("fuzz/corpus/engine_vs_model");
    assert!(n > 0, "no inputs found: seed corpus missing");
}

#[test]
fn trace_reader_inputs_pass() {
    let n = replay_trace_reader("tests/fuzz_regressions/trace_reader")
        + replay_trace_reader("fuzz/corpus/trace_reader");
    assert!(n > 0, "no inputs found: seed corpus missing");
}
