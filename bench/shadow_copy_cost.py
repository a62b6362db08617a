"""What one shadow copy costs the gateway's process, in CPU time, on the real server.

    python -m bench.shadow_copy_cost [--requests 400] [--repeat 5] [--profile FILE]

bench.legacy_proxy --shadow's setup (one old API, one `gaia up` whose ledger has `GET
/hello` with a function answering the same text), with `shadow.rate` high enough that
every request is copied and `noise_sample` 0 (no second ask of the old API). One client
sends `--requests` requests one after another on one keep-alive connection, with the
route in state legacy and then in state shadow (each state first in every other round),
and each round waits until its copies are done. The gateway process's CPU time (every
thread's, from /proc/PID/task/*/schedstat, in ns) per request in each state; their
difference is what a copy costs it, since the client path is the same in both states.

`--profile FILE`: py-spy (on PATH) samples the gateway during the shadow rounds and
writes its collapsed stacks to FILE; the report then splits the samples by where the
copy's time goes (the busy-poll for the worker's reply, the invocation, the comparison,
the queue, the capture of the old API's answer, the rest).
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.common import Gateway, Processes, progress, run_script
from bench.legacy_proxy import PATH, STATES, set_state, settled_copies, start_shadowed
from bench.splice_syscalls import run_ns

# shadow.rate: far above what one client sends one request at a time.
COPY_EVERY_REQUEST = 100_000
# Innermost gaia frame -> what part of a copy it is. First match wins, checked from the
# innermost frame outwards.
PARTS = (
    ("busy-poll for the reply", ("busypoll.py",)),
    ("comparison", ("legacy/compare.py", "legacy/noise.py", "legacy/evidence.py")),
    ("invocation", ("gateway/invoker.py", "legacy/functions.py", "runtime_adapters/")),
    ("queue", ("legacy/shadow.py",)),
    ("capture", ("legacy/bodies.py", "legacy/proxy/splice.py")),
)


def one_round(gateway: Gateway, requests: int) -> float:
    """Gateway CPU µs per request for `requests` sequential requests and their copies."""
    before = run_ns(gateway.proc.pid)
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        for _ in range(requests):
            conn.request("GET", PATH)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
    finally:
        conn.close()
    settled_copies(gateway)
    return (run_ns(gateway.proc.pid) - before) / 1000 / requests


def split(collapsed: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in collapsed.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        frames = stack.split(";")
        part = "the rest"
        for frame in reversed(frames):
            found = next((n for n, files in PARTS if any(f in frame for f in files)), None)
            if found is not None:
                part = found
                break
        counts[part] = counts.get(part, 0) + int(number)
    return counts


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> str:
    load_before = os.getloadavg()[0]
    gateway, _, _ = start_shadowed(procs, workdir, COPY_EVERY_REQUEST, noise_sample=0)
    for state in STATES:
        set_state(gateway, state)
        one_round(gateway, 50)  # warm: the function's pool starts on the first copy
    cpu: dict[str, list[float]] = {state: [] for state in STATES}
    spy: subprocess.Popen[bytes] | None = None
    if args.profile:
        spy = subprocess.Popen(
            [shutil.which("py-spy") or "py-spy", "record", "-p", str(gateway.proc.pid),
             "-r", "500", "-f", "raw", "-o", str(args.profile), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        for round_no in range(1, args.repeat + 1):
            for state in STATES if round_no % 2 else STATES[::-1]:
                set_state(gateway, state)
                cpu[state].append(one_round(gateway, args.requests))
                progress(f"round {round_no} {state}: {cpu[state][-1]:.0f} gateway CPU µs/request")
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
    legacy, shadow = (statistics.median(cpu[s]) for s in STATES)
    per_copy = [s - lg for lg, s in zip(cpu["legacy"], cpu["shadow"], strict=True)]
    lines = [
        f"Gateway CPU µs/request, {args.requests} sequential requests x {args.repeat} rounds:"
        f" legacy {legacy:.0f}, shadow {shadow:.0f} (every request copied)",
        f"A copy's gateway CPU: {statistics.median(per_copy):.0f} µs (rounds'"
        f" {', '.join(f'{c:.0f}' for c in per_copy)})",
        f"Load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after",
    ]
    if args.profile:
        counts = split(Path(args.profile))
        total = sum(counts.values()) or 1
        lines.append("py-spy samples of the gateway (both states' rounds), by part:")
        for part, count in sorted(counts.items(), key=lambda item: -item[1]):
            lines.append(f"  {part}: {count} ({100 * count / total:.1f}%)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shadow_copy_cost")
    parser.add_argument("--requests", type=int, default=400, help="sequential requests a round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of each state")
    parser.add_argument("--profile", type=Path, help="py-spy's collapsed stacks to this file")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.repeat < 1:
        parser.error("--requests and --repeat must be at least 1")
    return run_script(
        "bench.shadow_copy_cost", lambda procs, workdir: run(args, procs, workdir), needs_wrk=False
    )


if __name__ == "__main__":
    sys.exit(main())
