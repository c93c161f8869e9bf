#!/usr/bin/env bash
# Builds every bench, then runs each once in criterion's test mode (`-- --test`: one
# iteration, reduced sizes, no timing). It checks that the benches compile and run; it
# asserts nothing about speed. The measured figures live in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo bench --no-run
for bench in churn timers memory; do
    printf '\n=== cargo bench --bench %s -- --test ===\n' "$bench"
    cargo bench --bench "$bench" -- --test
done
