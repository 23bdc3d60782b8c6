"""What the Python clients make bench runs report when they finish, in the form it reads."""

import json
import sys
import time


def peak_rss():
    """The process's VmHWM in bytes: the kernel's high-water mark of its resident memory."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def report(records, start):
    """Prints {"records", "seconds", "peak_rss"}, start being the client's time.monotonic() at start."""
    json.dump({"records": records, "seconds": time.monotonic() - start, "peak_rss": peak_rss()}, sys.stdout)
    print()
