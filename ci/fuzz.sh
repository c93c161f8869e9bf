#!/usr/bin/env bash
# Fuzzing fragment for CI: each cargo-fuzz target for FUZZ_SECONDS (default 60) on stable,
# without a sanitizer (-s none: the address sanitizer needs nightly and is ~10x slower; the
# crate forbids unsafe code). The committed seed corpus (fuzz/corpus/<target>/) is read; new
# inputs go to a scratch directory so the committed corpus stays small. A crash fails the
# run and leaves its input in fuzz/artifacts/<target>/: minimise it with
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

for target in $(cargo fuzz list); do
    printf '\n=== fuzz %s (%ss) ===\n' "$target" "$SECONDS_PER_TARGET"
    mkdir -p "$scratch/$target" "fuzz/corpus/$target"
    cargo fuzz run -s none "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1
done
