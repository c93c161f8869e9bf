#!/usr/bin/env bash
# Re-records every golden transcript after an intended behaviour change, in one command:
#
# - each published vector (tests/vectors/*.jsonl) through `roomcore record`: its notes, config
#   and inputs are kept as written, its output lines replaced by what the engine now does;
# - every insta snapshot of the integration tests (tests/it/snapshots: transcripts as traces;
#   cli/tests/cli/render: the command's rendered text), by deleting them and running the
#   tests with INSTA_UPDATE=always, so a snapshot no test pins any more is gone too.
#
# Then every golden must pass `roomcore check --strict`; the files that changed are listed,
# and the tests run once more as recorded (tests that state the old behaviour in their own
# assertions fail there: fix them by hand). Nothing is committed: read `git diff` (every
# changed line is a changed behaviour) before committing.
set -euo pipefail
cd "$(dirname "$0")/.."

printf '\n=== vectors (roomcore record) ===\n'
cargo build --quiet -p roomcore-cli --bin roomcore
for v in tests/vectors/*.jsonl; do
    target/debug/roomcore record "$v" > "$v.recorded"
    mv "$v.recorded" "$v"
done

printf '\n=== snapshots (INSTA_UPDATE=always) ===\n'
rm -f tests/it/snapshots/*.snap cli/tests/cli/render/*.snap
# CI=true would stop insta from writing; the pins pass while recording. A test that fails
# here fails on an assertion of its own (a behaviour it states in code): every snapshot is
# still written, and the run at the end names it again.
recorded=ok
env -u CI INSTA_UPDATE=always INSTA_FORCE_PASS=1 cargo test --quiet -p roomcore --test it -- \
    --skip snapshots_are_vectors:: || recorded=failed
env -u CI INSTA_UPDATE=always INSTA_FORCE_PASS=1 cargo test --quiet -p roomcore-cli --test cli -- \
    tools::render || recorded=failed
[ "$recorded" = ok ] ||
    printf '\n(some tests failed while recording: fix them, the goldens are recorded)\n'

printf '\n=== every golden runs through the checker ===\n'
target/debug/roomcore check --strict tests/vectors tests/it/snapshots | tail -n 1

printf '\n=== goldens changed (review before committing) ===\n'
git status --short tests/vectors tests/it/snapshots cli/tests/cli/render

printf '\n=== the tests, as recorded ===\n'
INSTA_UPDATE=no cargo test --quiet -p roomcore --test it
INSTA_UPDATE=no cargo test --quiet -p roomcore-cli --test cli
