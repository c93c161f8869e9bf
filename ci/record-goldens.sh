#!/usr/bin/env bash
# Re-records every golden transcript after an intended behaviour change, in one command:
#
# - each published vector (tests/vectors/*.jsonl) through `roomcore record`: its notes, config
#   and inputs are kept as written, its output lines replaced by what the engine now does;
# - every insta snapshot of the integration tests (tests/it/snapshots: transcripts as traces;
#   tests/it/render: rendered text), by deleting them and running the tests with
#   INSTA_UPDATE=always, so a snapshot no test pins any more is gone too.
#
# Then every golden must pass `roomcore check --strict` and the tests must pass as recorded.
# Nothing is committed: read `git diff` (every changed line is a changed behaviour) and the
# list of changed files printed at the end before committing.
set -euo pipefail
cd "$(dirname "$0")/.."

printf '\n=== vectors (roomcore record) ===\n'
cargo build --quiet --bin roomcore
for v in tests/vectors/*.jsonl; do
    target/debug/roomcore record "$v" > "$v.recorded"
    mv "$v.recorded" "$v"
done

printf '\n=== snapshots (INSTA_UPDATE=always) ===\n'
rm -f tests/it/snapshots/*.snap tests/it/render/*.snap
# CI=true would stop insta from writing; the assertions pass while recording, the run
# after checks them (the test that reads every snapshot waits for that run).
env -u CI INSTA_UPDATE=always INSTA_FORCE_PASS=1 cargo test --quiet --test it -- \
    --skip snapshots_are_vectors::

printf '\n=== every golden runs through the checker, and the tests pass ===\n'
target/debug/roomcore check --strict tests/vectors tests/it/snapshots | tail -n 1
INSTA_UPDATE=no cargo test --quiet --test it

printf '\n=== goldens changed (review before committing) ===\n'
git status --short tests/vectors tests/it/snapshots tests/it/render
