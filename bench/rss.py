#!/usr/bin/env python3
"""rss.py PID [interval]: samples /proc/PID/status until the process ends (or a
file $WXBIG/stop-PID appears, WXBIG defaulting to /tmp/wxbig); prints the peaks of VmHWM,
VmRSS, RssAnon and RssFile seen."""
import sys, time, os
pid = sys.argv[1]; dt = float(sys.argv[2]) if len(sys.argv) > 2 else 0.01
peak = {}
while True:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                    kb = int(v.split()[0]); peak[k] = max(peak.get(k, 0), kb)
    except (FileNotFoundError, ProcessLookupError):
        break
    if os.path.exists(os.environ.get("WXBIG", "/tmp/wxbig") + f"/stop-{pid}"):
        break
    time.sleep(dt)
print(" ".join(f"{k}={v/1024:.0f}MB" for k, v in sorted(peak.items())), flush=True)
