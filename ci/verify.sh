#!/usr/bin/env bash
# The bounded verification runs at their CI sizes, in release (debug `cargo test` runs the
# same tests at small sizes): engine vs reference model (10,000 proptest cases), the seeded
# simulation (1,000 seeds x 1,000 steps), and the exhaustive explorations (2 users x 2 rooms,
# 3 sessions x 2 rooms, member attributes, large-room windows). All live in the one
# integration test binary (tests/it/), selected by module. Then `roomcore conform` of
# roomcore's own replay against the vectors and 1,000 seeded traces (the tool's
# conform-to-itself check at a size the debug tests do not reach). Each prints its seed or figures; a
# failure names the seed to replay (ROOMCORE_SEED=<n>).
set -euo pipefail
cd "$(dirname "$0")/.."

printf '\n=== engine vs model (release) ===\n'
ROOMCORE_MODEL_CASES="${ROOMCORE_MODEL_CASES:-10000}" \
    cargo test --release -p roomcore --test it model_equivalence:: -- --nocapture

printf '\n=== simulation (release) ===\n'
ROOMCORE_SIM_SEEDS="${ROOMCORE_SIM_SEEDS:-1000}" ROOMCORE_SIM_STEPS="${ROOMCORE_SIM_STEPS:-1000}" \
    cargo test --release -p roomcore --test it simulation:: -- --nocapture

printf '\n=== exhaustive exploration (release) ===\n'
cargo test --release -p roomcore --test it explore:: -- --nocapture

printf '\n=== roomcore conform: roomcore replay against itself (release) ===\n'
cargo build --release --quiet -p roomcore-cli
bin="${CARGO_TARGET_DIR:-target}/release/roomcore"
"$bin" conform --impl "$bin replay -" tests/vectors --seeds "${ROOMCORE_CONFORM_SEEDS:-1000}" --steps 100
