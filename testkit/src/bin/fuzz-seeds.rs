//! Builds the fuzzers' seed corpus from traces: `fuzz-seeds <out-dir> <trace or dir>...`.
//! Directories are expanded to their `.jsonl` vectors and `.snap` snapshots. Each trace
//! becomes `<out-dir>/trace_reader/<name>` (the trace itself, without a snapshot's front
//! matter) and `<out-dir>/engine_vs_model/<name>` (its translation into the command
//! alphabet, see `roomcore_testkit::seeds`). ci/fuzz.sh runs it before fuzzing.

use roomcore_testkit::seeds::{self, Seed};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some((out, inputs)) = args.split_first() else {
        eprintln!("usage: fuzz-seeds <out-dir> <trace or dir>...");
        return ExitCode::from(2);
    };
    match run(out, inputs) {
        Ok(n) => {
            println!("fuzz-seeds: {n} traces -> {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fuzz-seeds: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(out: &Path, inputs: &[PathBuf]) -> Result<usize, String> {
    let seeds = seeds::from_paths(inputs)?;
    for Seed {
        name,
        trace,
        commands,
    } in &seeds
    {
        write(&out.join("trace_reader").join(name), trace.as_bytes())?;
        write(&out.join("engine_vs_model").join(name), commands)?;
    }
    Ok(seeds.len())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
