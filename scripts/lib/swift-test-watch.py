#!/usr/bin/env python3
"""What a `swift test --verbose` run that overran its time limit was doing.

    swift-test-watch.py LOG PID

Prints the tests (and parameterised test cases) that started and did not end, from LOG, then the
stacks of every thread of PID (through gdb), identical stacks counted once: a hung suite says
where it hangs in CI's output instead of only that it ran out of time.
"""
import collections
import re
import subprocess
import sys

log, pid = sys.argv[1], sys.argv[2]

running = collections.OrderedDict()
started = re.compile(r"^◇ Test (.+?) started\.$")
# "recorded an issue" is not an end: a test that failed an expectation and then hung is the one to see.
ended = re.compile(r"^[✔✘↳⚠︎ ]*Test (.+?) (?:(?:passed|failed) after|skipped)")
for line in open(log, encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if m := started.match(line):
        if m.group(1) != "run":
            running[m.group(1)] = True
    elif m := ended.match(line):
        name = m.group(1)
        name = re.sub(r" with \d+ test cases?$", "", name)
        running.pop(name, None)
print(f"swift-test-watch: {len(running)} tests started and did not end:")
for name in running:
    print("  " + name)

try:
    gdb = subprocess.run(
        ["gdb", "-p", pid, "-batch", "-nx", "-ex", "set pagination off", "-ex", "thread apply all bt 16"],
        capture_output=True, text=True, timeout=300,
    )
except (OSError, subprocess.TimeoutExpired) as error:
    print(f"swift-test-watch: no thread stacks ({error})")
    sys.exit(0)
dump = gdb.stdout
if "Thread " not in dump:
    print("swift-test-watch: gdb printed no thread stacks:")
    print(gdb.stderr[-2000:])
    sys.exit(0)
stacks = collections.Counter()
current = []
for line in dump.splitlines():
    if line.startswith("Thread "):
        if current:
            stacks["\n".join(current)] += 1
        current = []
    elif line.startswith("#"):
        frame = re.sub(r"0x[0-9a-f]+ in ", "", line)
        frame = re.sub(r" \(.*?\) at ", " at ", frame)
        current.append("    " + frame[:200])
if current:
    stacks["\n".join(current)] += 1
print(f"swift-test-watch: {sum(stacks.values())} threads, {len(stacks)} distinct stacks:")
for stack, count in stacks.most_common():
    print(f"  {count} thread(s):")
    print(stack)
