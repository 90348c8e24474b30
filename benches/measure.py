#!/usr/bin/env python3
"""Runs a command with its stdout to a file and prints `WALL_SECONDS PEAK_RSS_KB` of that one
process (os.wait4), so benches/compare-nca.sh needs no GNU time.

    python3 benches/measure.py OUT_FILE COMMAND [ARG...]
"""
import os
import subprocess
import sys
import time

out_file, cmd = sys.argv[1], sys.argv[2:]
with open(out_file, "wb") as out:
    start = time.monotonic()
    child = subprocess.Popen(cmd, stdout=out)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - start
code = os.waitstatus_to_exitcode(status)
if code != 0:
    sys.exit(f"{' '.join(cmd)} exited with {code}")
print(f"{wall:.2f} {usage.ru_maxrss}")
