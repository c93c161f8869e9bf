"""An implementation whose error messages are its own, for conform's self-tests: roomcore,
but every error `message` reworded (messages are compared only with --strict).
Usage: reword_errors.py ROOMCORE_BINARY (reads a trace on stdin)."""
import json
import subprocess
import sys

out = subprocess.run([sys.argv[1], "replay", "-"], stdin=sys.stdin, capture_output=True,
                     text=True, check=True).stdout
for line in out.splitlines():
    record = json.loads(line)
    if "error" in record["out"]:
        record["out"]["error"]["message"] = "something went wrong"
        line = json.dumps(record)
    print(line)
