"""A broken implementation for conform's self-tests: roomcore, but a switch tells the
session it left the source room before it is connected to the target (the two
`room_state_changed` outputs that end a switch come in the wrong order).
Usage: swap_switch.py ROOMCORE_BINARY (reads a trace on stdin)."""
import json
import subprocess
import sys

out = subprocess.run([sys.argv[1], "replay", "-"], stdin=sys.stdin, capture_output=True,
                     text=True, check=True).stdout
lines = out.splitlines()


def state(line):
    o = json.loads(line)["out"]
    if o["type"] != "room_state_changed":
        return None
    return (o["session"], o["state"], o["event"])


i = 0
while i + 1 < len(lines):
    a, b = state(lines[i]), state(lines[i + 1])
    if a and b and a[0] == b[0] and a[1:] == ("connected", "success") \
            and b[1:] == ("disconnected", "success"):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
        i += 2
    else:
        i += 1
for line in lines:
    print(line)
