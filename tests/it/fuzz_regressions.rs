//! Replays fuzz inputs in `cargo test`, through the same bodies and the same decoding
//! (`Arbitrary::arbitrary_take_rest`) the fuzz targets use: every crash file committed under
//! tests/fuzz_regressions/<target>/, the inputs kept in fuzz/corpus/<target>/, and the seeds
//! ci/fuzz.sh builds from the published traces (tests/vectors, the demo, the golden
//! snapshots) when fuzzing starts.
//! `engine_vs_model` inputs are replayed with every harness check on (the fuzzer runs a
//! lighter set for speed).

use arbitrary::{Arbitrary, Unstructured};
use roomcore_testkit::fuzz::{trace_reader, EngineVsModel};
use roomcore_testkit::seeds::{self, Seed};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The seeds ci/fuzz.sh gives the fuzzers (it runs `fuzz-seeds` on the same paths).
fn generated_seeds() -> Vec<Seed> {
    let traces = ["tests/vectors", "src/demo.jsonl", "tests/it/snapshots"].map(|p| root().join(p));
    seeds::from_paths(&traces).expect("every published trace makes seeds")
}

fn engine_vs_model(name: &str, bytes: &[u8]) {
    let Ok(input) = EngineVsModel::arbitrary_take_rest(Unstructured::new(bytes)) else {
        return;
    };
    if let Err(e) = input.run(false) {
        panic!("{name}: {e}\ninput: {input:?}");
    }
}

/// Crash files (none committed yet: the fuzzers have found nothing so far), the kept corpus
/// and the generated seeds.
#[test]
fn engine_vs_model_inputs_pass() {
    let kept = files("fuzz/corpus/engine_vs_model");
    assert!(!kept.is_empty(), "fuzz/corpus/engine_vs_model is missing");
    for path in kept
        .into_iter()
        .chain(files("tests/fuzz_regressions/engine_vs_model"))
    {
        let bytes = std::fs::read(&path).expect("readable");
        engine_vs_model(&path.display().to_string(), &bytes);
    }
    let seeds = generated_seeds();
    assert!(seeds.len() > 100, "only {} seeds", seeds.len());
    for s in &seeds {
        engine_vs_model(&s.name, &s.commands);
    }
}

#[test]
fn trace_reader_inputs_pass() {
    for path in files("fuzz/corpus/trace_reader")
        .into_iter()
        .chain(files("tests/fuzz_regressions/trace_reader"))
    {
        trace_reader(&std::fs::read(&path).expect("readable"));
    }
    for s in generated_seeds() {
        trace_reader(s.trace.as_bytes());
    }
}

/// Each translated seed keeps its trace's scenario: one command per input (ticks become the
/// waits before the next one).
#[test]
fn engine_vs_model_seeds_keep_every_input() {
    use roomcore::trace::{Record, TraceReader};
    use roomcore::Input;
    use roomcore_testkit::cmd::Cmd;
    for s in generated_seeds() {
        let inputs = TraceReader::new(s.trace.as_bytes())
            .filter(|r| matches!(r, Ok((_, Record::Input { input, .. })) if *input != Input::Tick))
            .count();
        let decoded =
            EngineVsModel::arbitrary_take_rest(Unstructured::new(&s.commands)).expect("decodes");
        let commands = decoded
            .cmds
            .iter()
            .filter(|c| !matches!(c, Cmd::Wait(_)))
            .count();
        assert_eq!(commands, inputs, "{}", s.name);
    }
}
