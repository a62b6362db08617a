"""Delivery benchmark: how fast a save serves, and whether an alias switch drops anything.

    python -m bench.delivery [--edits 20] [--switches 20]

In one run it measures:

1. save-to-serving: `gaia dev` serves a tiny function (`edit`, a handler returning a
   version string, no requirements.txt) through an HTTP trigger on its `default` alias
   (`latest` 100%); `--edits` times a new main.py is written, and the data plane is polled
   (a new connection every 5 ms) until the body is the new version. The time runs from
   just before the write (time.time()) to the first response carrying the new version;
   p50, p99 and max over the edits. Responses other than 200 seen while polling, and what
   `gaia dev` itself printed ("edit@N ... serving X ms after save"), are reported too.
2. zero-downtime alias switch: `gaia up -f` serves `flip@1` on alias `prod` through an
   HTTP trigger; `gaia deploy flip --code ...` publishes `flip@2`. While
   `wrk -t1 -c32` runs against the trigger, `prod` is switched 100% between the two
   `--switches` times, one every 0.25 s, each through the admin API (`PUT
   /v1/functions/flip/aliases/prod`) and awaited, then checked with one direct request.
   wrk's requests, non-2xx responses, socket errors and requests/s are reported, and a
   few direct requests check that the last switch's revision serves.

It prints progress per edit and per switch, then a markdown table, the command line and
the machine. Every process it starts (and every descendant) is stopped on exit, Ctrl-C
included.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    REPO,
    BenchError,
    Gateway,
    Processes,
    Reply,
    WrkResult,
    command_line,
    machine,
    markdown_table,
    parse_wrk,
    percentile,
    progress,
    run_script,
    run_wrk,
    sandbox,
    start_gateway,
    try_get,
    verdict,
    wait_until,
    wrk_command,
)

EDIT_FN, EDIT_PATH = "edit", "/edit"
SWITCH_FN, SWITCH_PATH, SWITCH_ALIAS = "flip", "/flip", "prod"
POLL_INTERVAL_S = 0.005  # between two polls of the data plane after a save
SERVE_TIMEOUT_S = 30.0  # a save not serving by then is a miss
ECHO_TIMEOUT_S = 5.0  # for gaia dev's own "serving" line, once the new version serves
WATCH_SETTLE_S = 0.5  # after "watching ...": the watcher subscribes right after printing
EDIT_PAUSE_S = 0.2  # between one edit serving and the next save
SWITCH_INTERVAL_S = 0.25
WRK_LEAD_S = 1.0  # load before the first switch
WRK_TAIL_S = 2.0  # load after the last switch
WRK_CONNECTIONS = 32
BASELINE_S = 3  # the same load without switches, for comparison
FINAL_CHECKS = 5
CLI_TIMEOUT_S = 120.0
SAVE_P50_GOAL_S, SAVE_P99_GOAL_S = 1.0, 2.0

_SERVING_LINE = re.compile(r"^(\S+)@(\d+) [0-9a-f]+ serving (\d+) ms after save$", re.MULTILINE)


def handler_source(version: str) -> str:
    return f'VERSION = "{version}"\n\n\ndef handler(event, context):\n    return VERSION\n'


def write_function(code_dir: Path, version: str) -> None:
    code_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / "main.py").write_text(handler_source(version))


def revision_of(reply: Reply) -> str:
    return reply.headers.get("x-gaia-revision", "?")


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f} s" if math.isfinite(seconds) else f"> {SERVE_TIMEOUT_S:.0f} s (missed)"


# --- phase 1: save to serving under gaia dev --------------------------------------------


@dataclass(frozen=True)
class Edit:
    index: int
    seconds: float  # save to the first response with the new version; inf when missed
    revision: str  # x-gaia-revision of that response
    failed_polls: int  # responses other than 200, or no response, while polling
    reported_ms: float | None  # what gaia dev printed for this save, when it did


def start_dev(procs: Processes, workdir: Path) -> tuple[Gateway, Path]:
    """`gaia dev -f gaia.yaml` on a fresh GAIA_HOME serving `edit` at version v0."""
    project = workdir / "dev"
    code_dir = project / EDIT_FN
    write_function(code_dir, "v0")
    config = project / "gaia.yaml"
    config.write_text(
        "functions:\n"
        f"  {EDIT_FN}:\n"
        "    runtime: python\n"
        f"    code: ./{EDIT_FN}\n"
        "    handler: main.handler\n"
        "    triggers:\n"
        f"      - http: {{path: {EDIT_PATH}, methods: [GET]}}\n"
    )
    log = workdir / "gaia-dev.log"
    gateway = start_gateway(
        procs, workdir / "dev-home", log=log, ready_path=EDIT_PATH, command="dev", config=config
    )
    wait_until(
        lambda: True if "watching" in log.read_text(errors="replace") else None,
        timeout_s=SERVE_TIMEOUT_S,
        what="gaia dev to watch the code",
    )
    time.sleep(WATCH_SETTLE_S)
    return gateway, code_dir


def reported_ms(gateway: Gateway, revision: str) -> float | None:
    """The save-to-serving time gaia dev printed for `revision` (`edit@3`), if it did."""
    text = gateway.proc.log.read_text(errors="replace")
    for match in _SERVING_LINE.finditer(text):
        if f"{match[1]}@{match[2]}" == revision:
            return float(match[3])
    return None


def measure_edit(gateway: Gateway, code_dir: Path, index: int) -> Edit:
    version = f"v{index}"
    url = gateway.url(EDIT_PATH)
    failed = 0
    saved_at = time.time()
    write_function(code_dir, version)
    deadline = time.monotonic() + SERVE_TIMEOUT_S
    while time.monotonic() < deadline:
        reply = try_get(url)
        now = time.time()
        if reply is None or reply.status != 200:
            failed += 1
            gateway.proc.check_alive()
        elif reply.body.decode(errors="replace") == version:
            revision = revision_of(reply)
            return Edit(index, now - saved_at, revision, failed, wait_reported(gateway, revision))
        time.sleep(POLL_INTERVAL_S)
    return Edit(index, math.inf, "-", failed, None)


def wait_reported(gateway: Gateway, revision: str) -> float | None:
    """gaia dev prints its line once the publish returns: give it a moment."""
    deadline = time.monotonic() + ECHO_TIMEOUT_S
    while time.monotonic() < deadline:
        found = reported_ms(gateway, revision)
        if found is not None:
            return found
        time.sleep(POLL_INTERVAL_S * 4)
    return None


def measure_edits(procs: Processes, workdir: Path, count: int) -> list[Edit]:
    gateway, code_dir = start_dev(procs, workdir)
    first = try_get(gateway.url(EDIT_PATH))
    progress(f"  gaia dev serves {revision_of(first) if first else '?'} (v0); {count} edits")
    edits: list[Edit] = []
    for index in range(1, count + 1):
        edit = measure_edit(gateway, code_dir, index)
        edits.append(edit)
        said = f"{edit.reported_ms:.0f} ms" if edit.reported_ms is not None else "nothing"
        progress(
            f"  edit {index}/{count}: v{index} served by {edit.revision} "
            f"{fmt_s(edit.seconds)} after the save (gaia dev said {said}; "
            f"{edit.failed_polls} failed polls)"
        )
        time.sleep(EDIT_PAUSE_S)
    procs.stop(gateway.proc)
    return edits


# --- phase 2: alias switches under load -------------------------------------------------


@dataclass(frozen=True)
class Switch:
    index: int
    revision: int  # what the switch pointed the alias at
    put_ms: float  # the admin API call, end to end
    served: bool  # one direct request right after it was served by that revision
    under_load: bool  # wrk was still running once the switch was done


@dataclass(frozen=True)
class Switching:
    baseline: WrkResult
    wrk: WrkResult
    command: list[str]
    switches: list[Switch]
    final_revision: int
    final_served: int  # of FINAL_CHECKS direct requests after wrk


def deploy(gateway: Gateway, code_dir: Path) -> int:
    """`python -m gateway deploy flip --code DIR`; the revision it created."""
    argv = [sys.executable, "-m", "gateway", "deploy", SWITCH_FN, "--code", str(code_dir)]
    argv += ["--output", "json"]
    try:
        done = subprocess.run(
            argv,
            cwd=REPO,
            env=gateway.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{shlex.join(argv)} took over {CLI_TIMEOUT_S:.0f}s") from None
    if done.returncode != 0:
        raise BenchError(f"{shlex.join(argv)} failed:\n{done.stdout}{done.stderr}")
    view = json.loads(done.stdout)
    if not view.get("created"):
        raise BenchError(f"{shlex.join(argv)} created no revision: {done.stdout}")
    return int(view["revision"])


def start_switch_gateway(procs: Processes, workdir: Path) -> tuple[Gateway, dict[int, str]]:
    """`gaia up -f gaia.yaml` with `flip@1` (body "a") on alias prod, then `flip@2`
    (body "b") deployed beside it; returns the gateway and revision -> body."""
    project = workdir / "switch"
    write_function(project / "a", "a")
    write_function(project / "b", "b")
    config = project / "gaia.yaml"
    config.write_text(
        "functions:\n"
        f"  {SWITCH_FN}:\n"
        "    runtime: python\n"
        "    code: ./a\n"
        "    handler: main.handler\n"
        "    aliases:\n"
        f"      {SWITCH_ALIAS}:\n"
        "        traffic: [{revision: 1, percent: 100}]\n"
        "    triggers:\n"
        f"      - http: {{path: {SWITCH_PATH}, methods: [GET], alias: {SWITCH_ALIAS}}}\n"
    )
    gateway = start_gateway(
        procs,
        workdir / "up-home",
        log=workdir / "gaia-up.log",
        ready_path=SWITCH_PATH,
        config=config,
    )
    expect_serving(gateway, 1, "a")
    second = deploy(gateway, project / "b")
    progress(f"  {SWITCH_FN}:{SWITCH_ALIAS} serves {SWITCH_FN}@1; deployed {SWITCH_FN}@{second}")
    return gateway, {1: "a", second: "b"}


def serves(reply: Reply | None, revision: int, body: str) -> bool:
    return (
        reply is not None
        and reply.status == 200
        and revision_of(reply) == f"{SWITCH_FN}@{revision}"
        and reply.body.decode(errors="replace") == body
    )


def expect_serving(gateway: Gateway, revision: int, body: str) -> None:
    reply = try_get(gateway.url(SWITCH_PATH))
    if not serves(reply, revision, body):
        got = f"HTTP {reply.status} {revision_of(reply)} {reply.body!r}" if reply else "nothing"
        raise BenchError(f"expected {SWITCH_FN}@{revision} ({body!r}) on {SWITCH_PATH}, got {got}")


def switch_once(gateway: Gateway, revision: int, body: str) -> tuple[float, bool]:
    """Point the alias 100% at `revision` and await it; (milliseconds, served after)."""
    traffic = {"traffic": [{"revision": revision, "percent": 100}]}
    started = time.perf_counter()
    gateway.admin_json("PUT", f"/v1/functions/{SWITCH_FN}/aliases/{SWITCH_ALIAS}", traffic)
    put_ms = (time.perf_counter() - started) * 1000
    return put_ms, serves(try_get(gateway.url(SWITCH_PATH)), revision, body)


def switch_under_load(
    procs: Processes, workdir: Path, gateway: Gateway, bodies: dict[int, str], count: int
) -> Switching:
    revisions = sorted(bodies)  # the alias starts on the first: switch to the second first
    url = gateway.url(SWITCH_PATH)
    # Room for every switch even if each PUT takes as long again as the interval.
    duration_s = math.ceil(WRK_LEAD_S + 2 * count * SWITCH_INTERVAL_S + WRK_TAIL_S)
    baseline = run_wrk(url, connections=WRK_CONNECTIONS, duration_s=BASELINE_S)
    progress(f"  {BASELINE_S}s of the same load without switches: {baseline.describe()}")
    command = wrk_command(url, WRK_CONNECTIONS, duration_s)
    progress(f"  {shlex.join(command)}; {count} switches from t={WRK_LEAD_S:.0f}s")
    wrk = procs.spawn("wrk", command, log=workdir / "wrk.log", env=gateway.env)
    time.sleep(WRK_LEAD_S)
    wrk.check_alive()
    started = time.monotonic()
    switches: list[Switch] = []
    for index in range(1, count + 1):
        revision = revisions[index % 2]
        time.sleep(max(0.0, started + (index - 1) * SWITCH_INTERVAL_S - time.monotonic()))
        put_ms, served = switch_once(gateway, revision, bodies[revision])
        switch = Switch(index, revision, put_ms, served, wrk.popen.poll() is None)
        switches.append(switch)
        progress(
            f"  switch {index}/{count}: {SWITCH_FN}:{SWITCH_ALIAS} -> {SWITCH_FN}@{revision} "
            f"in {put_ms:.1f} ms; next request {'served by it' if served else 'NOT served by it'}"
            f"{'' if switch.under_load else ' (wrk had already finished)'}"
        )
    try:
        wrk.popen.wait(timeout=duration_s + 30)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk still running {duration_s + 30}s after it started") from None
    procs.stop(wrk)
    output = wrk.log.read_text(errors="replace")
    if wrk.popen.returncode != 0:
        raise BenchError(f"{shlex.join(command)} exited {wrk.popen.returncode}:\n{output}")
    result = parse_wrk(output)
    progress(
        f"  wrk: {result.requests:,} requests, {result.non_2xx} non-2xx, "
        f"{result.socket_errors} socket errors, {result.rps:,.0f} req/s"
    )
    final = revisions[count % 2]
    final_served = sum(serves(try_get(url), final, bodies[final]) for _ in range(FINAL_CHECKS))
    progress(f"  after wrk: {final_served}/{FINAL_CHECKS} requests served by {SWITCH_FN}@{final}")
    return Switching(baseline, result, command, switches, final, final_served)


# --- report -----------------------------------------------------------------------------


def edit_rows(edits: Sequence[Edit]) -> list[tuple[str, str, str, str]]:
    times = [e.seconds for e in edits]
    p50, p99 = percentile(times, 50), percentile(times, 99)
    served = sum(math.isfinite(t) for t in times)
    said = [e.reported_ms for e in edits if e.reported_ms is not None]
    said_p50 = f"{statistics.median(said):.0f} ms ({len(said)} lines)" if said else "none printed"
    return [
        (
            f"save-to-serving p50, {len(edits)} edits",
            fmt_s(p50),
            f"≤ {SAVE_P50_GOAL_S:.0f} s",
            verdict(p50 <= SAVE_P50_GOAL_S),
        ),
        (
            f"save-to-serving p99, {len(edits)} edits",
            fmt_s(p99),
            f"≤ {SAVE_P99_GOAL_S:.0f} s",
            verdict(p99 <= SAVE_P99_GOAL_S),
        ),
        ("save-to-serving max", fmt_s(max(times)), "-", "-"),
        (
            f"edits serving within {SERVE_TIMEOUT_S:.0f} s",
            f"{served}/{len(edits)}",
            "all",
            verdict(served == len(edits)),
        ),
        ("failed polls while saving (not 200)", str(sum(e.failed_polls for e in edits)), "-", "-"),
        ("gaia dev's own save-to-serving, p50", said_p50, "-", "-"),
    ]


def switch_rows(run: Switching) -> list[tuple[str, str, str, str]]:
    count = len(run.switches)
    under_load = sum(s.under_load for s in run.switches)
    served = sum(s.served for s in run.switches)
    put_ms = [s.put_ms for s in run.switches]
    wrk = run.wrk
    return [
        (
            f"alias switches during wrk -c{WRK_CONNECTIONS}",
            f"{under_load}/{count}",
            "all",
            verdict(under_load == count),
        ),
        ("requests during the switches (wrk)", f"{wrk.requests:,}", "-", "-"),
        ("non-2xx responses", str(wrk.non_2xx), "0", verdict(wrk.non_2xx == 0)),
        ("socket errors", str(wrk.socket_errors), "0", verdict(wrk.socket_errors == 0)),
        ("requests/s during the switches", f"{wrk.rps:,.0f}", "-", "-"),
        (
            f"requests/s, same load without switches ({BASELINE_S} s)",
            f"{run.baseline.rps:,.0f}",
            "-",
            "-",
        ),
        (
            "switch (admin PUT) p50 / max",
            f"{statistics.median(put_ms):.1f} / {max(put_ms):.1f} ms",
            "-",
            "-",
        ),
        (
            "next request served by the new revision",
            f"{served}/{count} switches",
            "all",
            verdict(served == count),
        ),
        (
            f"{SWITCH_FN}@{run.final_revision} serves after the last switch",
            f"{run.final_served}/{FINAL_CHECKS} requests",
            "all",
            verdict(run.final_served == FINAL_CHECKS),
        ),
    ]


def report(edits: Sequence[Edit], switching: Switching) -> str:
    table = markdown_table(
        ("metric", "value", "target", "met?"),
        ("---", "---:", "---", "---"),
        [*edit_rows(edits), *switch_rows(switching)],
    )
    generic = shlex.join(switching.command).replace(
        switching.command[-1], f"http://127.0.0.1:PORT{SWITCH_PATH}"
    )
    notes = [
        f"Command: `{command_line()}`",
        f"Machine: {machine()}; worker sandbox: {sandbox()}.",
        f"Save-to-serving: `gaia dev` on a one-function project (handler returns a version "
        "string, no requirements.txt, HTTP trigger on `default` = `latest` 100%); from just "
        f"before each write of main.py to the first GET (new connection, every "
        f"{POLL_INTERVAL_S * 1000:.0f} ms) answering the new version; p99 is nearest-rank "
        f"(with fewer than 100 edits, the max).",
        f"Alias switch: `{generic}` against a trigger on `{SWITCH_FN}:{SWITCH_ALIAS}`; "
        f"{len(switching.switches)} switches 100% between two revisions every "
        f"{SWITCH_INTERVAL_S} s, each `PUT /v1/functions/{SWITCH_FN}/aliases/{SWITCH_ALIAS}` "
        f"awaited, then one direct GET; before it, {BASELINE_S} s of the same load without "
        "switches.",
    ]
    return table + "\n\n" + "\n".join(f"- {n}" for n in notes)


# --- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.delivery",
        description="gaia's delivery: save-to-serving under `gaia dev`, and alias switches "
        "under load.",
    )
    parser.add_argument("--edits", type=int, default=20, help="saves to time")
    parser.add_argument("--switches", type=int, default=20, help="alias switches under load")
    args = parser.parse_args(argv)
    if args.edits < 1 or args.switches < 1:
        parser.error("--edits and --switches must be at least 1")
    return args


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> str:
    progress(f"phase: save to serving under gaia dev, {args.edits} edits (logs in {workdir})")
    edits = measure_edits(procs, workdir, args.edits)
    progress(f"phase: {args.switches} alias switches under load")
    gateway, bodies = start_switch_gateway(procs, workdir)
    switching = switch_under_load(procs, workdir, gateway, bodies, args.switches)
    procs.stop(gateway.proc)
    return report(edits, switching)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script("bench.delivery", lambda procs, workdir: run(args, procs, workdir))


if __name__ == "__main__":
    sys.exit(main())
