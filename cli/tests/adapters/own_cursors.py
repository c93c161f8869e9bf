"""An implementation with cursors of its own, for conform's self-tests: roomcore, but every
member-query cursor it hands out is roomcore's with "X-" in front, and it understands only
those (a cursor without the prefix reads as garbage). conform must pass it its own cursors.
Usage: own_cursors.py ROOMCORE_BINARY (reads a trace on stdin)."""
import json
import subprocess
import sys

trace = []
for line in sys.stdin:
    record = json.loads(line) if line.strip() else {}
    query = record.get("in", {})
    if query.get("type") == "query_members" and query.get("next"):
        cursor = query["next"]
        query["next"] = cursor[2:] if cursor.startswith("X-") else "not mine"
        line = json.dumps(record) + "\n"
    trace.append(line)
out = subprocess.run([sys.argv[1], "replay", "-"], input="".join(trace),
                     capture_output=True, text=True, check=True).stdout
for line in out.splitlines():
    record = json.loads(line)
    ok = record["out"].get("ok", {})
    if record["out"]["type"] == "reply" and ok.get("next"):
        ok["next"] = "X-" + ok["next"]
        line = json.dumps(record)
    print(line)
