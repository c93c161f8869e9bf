"""A broken implementation for conform's self-tests: roomcore, but every output of one
type is lost. Usage: drop_output.py ROOMCORE_BINARY OUTPUT_TYPE (reads a trace on stdin)."""
import json
import subprocess
import sys

roomcore, dropped = sys.argv[1], sys.argv[2]
out = subprocess.run([roomcore, "replay", "-"], stdin=sys.stdin, capture_output=True,
                     text=True, check=True).stdout
for line in out.splitlines():
    if json.loads(line)["out"]["type"] != dropped:
        print(line)
