"""A broken implementation for conform's self-tests: roomcore, but one config limit is
ignored (left at its default). Usage: ignore_limit.py ROOMCORE_BINARY CONFIG_FIELD
(reads a trace on stdin)."""
import json
import subprocess
import sys

roomcore, ignored = sys.argv[1], sys.argv[2]
trace = []
for line in sys.stdin:
    record = json.loads(line) if line.strip() else {}
    if "config" in record:
        record["config"].pop(ignored, None)
        line = json.dumps(record) + "\n"
    trace.append(line)
out = subprocess.run([roomcore, "replay", "-"], input="".join(trace), capture_output=True,
                     text=True, check=True).stdout
sys.stdout.write(out)
