#!/usr/bin/env bash
# Fuzzing fragment for CI: each cargo-fuzz target for FUZZ_SECONDS (default 60) on stable,
# without a sanitizer (-s none: the address sanitizer needs nightly and is ~10x slower; the
# crate forbids unsafe code). The seed corpus is built here from the published traces
# (tests/vectors, the demo, the golden snapshots) by the test kit's `fuzz-seeds`:
# `trace_reader` gets each trace, `engine_vs_model` each trace translated into its command
# alphabet; none of that is stored. `engine_vs_model` also reads the few inputs kept in
# fuzz/corpus/engine_vs_model/ (found by fuzzing, not copies of anything: they reach states
# the translated traces do not). New inputs go to a scratch directory.
# A crash fails the run and leaves its input in fuzz/artifacts/<target>/: minimise it with
# `cargo fuzz tmin -s none <target> <file>`, then commit it under
# tests/fuzz_regressions/<target>/ so `cargo test` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"

if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# The same traces tests/it/fuzz_regressions.rs replays as seeds.
cargo run --quiet -p roomcore-testkit --bin fuzz-seeds -- \
    "$scratch/seeds" tests/vectors src/demo.jsonl tests/it/snapshots

for target in $(cargo fuzz list); do
    printf '\n=== fuzz %s (%ss) ===\n' "$target" "$SECONDS_PER_TARGET"
    mkdir -p "$scratch/new/$target" "fuzz/corpus/$target"
    cargo fuzz run -s none "$target" "$scratch/new/$target" "$scratch/seeds/$target" \
        "fuzz/corpus/$target" -- -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1
done
