#!/usr/bin/env python3
"""Prints a `swift test --verbose` run as it goes, less its per-start lines, and ends with when
the tests that ended last started and ended.

    swift test --verbose ... | swift-test-printer.py

A run that takes minutes longer than usual while every test passes says which case held it (and
whether it ran long or only started late) instead of only how long the whole run took.
"""
import re
import sys
import time

start = time.monotonic()
began = {}
spans = []
started = re.compile(r"^◇ Test (.+?) started\.$")
ended = re.compile(r"^[✔✘] Test (.+?) (?:(?:passed|failed) after|skipped)")
for line in sys.stdin:
    now = time.monotonic() - start
    text = line.rstrip("\n")
    if (m := started.match(text)) and m.group(1) != "run":
        # Two suites may have tests of one name: each end pairs with the earliest open start.
        began.setdefault(m.group(1), []).append(now)
    elif (m := ended.match(text)) and not m.group(1).startswith("run "):
        name = re.sub(r" with \d+ test cases?$", "", m.group(1))
        starts = began.get(name) or [0.0]
        spans.append((starts.pop(0), now, name))
        if not began.get(name):
            began.pop(name, None)
    if text.startswith("◇ ") or text.startswith("✔ Test case passing"):
        continue
    sys.stdout.write(line)
    sys.stdout.flush()

if spans:
    total = time.monotonic() - start
    print(f"swift-test-printer: the tests and test cases that ended last (run: {total:.0f} s), seconds from the start:")
    for began_at, ended_at, name in sorted(spans, key=lambda span: span[1])[-8:]:
        print(f"  {began_at:7.1f} → {ended_at:7.1f}  {name[:160]}")
for name, starts in began.items():
    for began_at in starts:
        print(f"swift-test-printer: started at {began_at:.1f} s and never ended: {name[:160]}")
