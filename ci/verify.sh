#!/usr/bin/env bash
# The bounded verification runs at their CI sizes, in release (debug `cargo test` runs the
# same tests at small sizes): engine vs reference model (10,000 proptest cases), the seeded
# simulation (1,000 seeds x 1,000 steps), and the exhaustive explorations (2 users x 2 rooms,
# 3 sessions x 2 rooms, member attributes, large-room windows). All live in the one
# integration test binary (tests/it/), selected by module. Each prints its seed or figures; a
# failure names the seed to replay (ROOMCORE_SEED=<n>).
set -euo pipefail
cd "$(dirname "$0")/.."

printf '\n=== engine vs model (release) ===\n'
ROOMCORE_MODEL_CASES="${ROOMCORE_MODEL_CASES:-10000}" \
    cargo test --release --test it model_equivalence:: -- --nocapture

printf '\n=== simulation (release) ===\n'
ROOMCORE_SIM_SEEDS="${ROOMCORE_SIM_SEEDS:-1000}" ROOMCORE_SIM_STEPS="${ROOMCORE_SIM_STEPS:-1000}" \
    cargo test --release --test it simulation:: -- --nocapture

printf '\n=== exhaustive exploration (release) ===\n'
cargo test --release --test it explore:: -- --nocapture
