"""NATS benchmark: gaia's NATS triggers beside bare nats-py loops on the same server.

    python -m bench.nats [--messages 20000] [--concurrency 16] [--duration 5] [--repeat 3]

One nats-server (Debian's, JetStream on, its store in a temporary directory, a free
port) and one `gaia up -f gaia.yaml` serve every run. The gateway serves two Python
functions: `noop` (`def handler(event, context): return None`) and `ok` (`return
"ok"`), default pool and concurrency, without triggers: each gaia run adds its trigger
through the admin API (`POST /v1/apply`, what `gaia apply -f` sends) and removes it
afterwards, so the gateway idles while the bare side runs, and the start of the
trigger can be seen. Two scenarios:

JetStream, messages/s. Each run gets a fresh stream (file storage) holding `--messages`
small JSON messages, published before anything consumes them; then one durable pull
consumer with explicit acks reads the whole stream and acknowledges every message:

- bare: nats-py (on uvloop, as the gateway runs) in a subprocess of its own; creates the
  durable consumer (`js.pull_subscribe`), then loops `sub.fetch(100)` (a typical batch)
  and `msg.ack()` for each message after a no-op, and flushes the connection after the
  last ack. It stamps both ends itself: just before creating the consumer, and after
  that flush.
- gaia: the trigger `{servers, subject, jetstream: {stream, max_ack_pending: 64}}` on
  `noop`, applied once the stream is full; every message goes through the trigger (a
  task per message, fetches of up to the free slots), the invoker and a warm worker,
  and is acked after the function returned. The bench polls `GET
  /v1/triggers/noop/nats/0` every 20 ms (less often in the middle of a long run, when
  the rate so far puts the end far off: a poll costs the gateway about a millisecond of
  CPU); the run goes from the first poll showing status `running` (connected and the
  stream found, just before the trigger creates its consumer) to the first poll showing
  `processed` = N. Both ends are seen up to one poll late. Afterwards (not timed) the
  bench checks on the server that the consumer has nothing pending and nothing awaiting
  an ack: the trigger's own pending/ack_pending figures refresh only once a second.

Messages/s = N / elapsed.

Request-reply, round trips/s. A requester process (nats-py on uvloop, one connection)
runs `--concurrency` coroutines, each sending `nc.request(subject, b"ping")` and
awaiting the answer in a loop, for a one-second warm-up and then `--duration` seconds;
round trips/s = answers in that window / its length, with p50 and p99 of the round
trips. It then does the same with one requester (unless `--concurrency` is 1). The
responder:

- bare: a nats-py process subscribed to the subject with a queue group, answering each
  request with `nc.publish(msg.reply, b"ok")`;
- gaia: a core NATS trigger `{servers, subject}` on `ok`: the event goes to the
  function and its return value comes back as the reply (with gaia's headers).

Runs alternate, bare then gaia, in each scenario, `--repeat` times; the table gives
medians and gaia's ratio to bare. Target (from the issue): ≥ 0.3x for messages/s and
for round trips/s. Every process it starts is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    POLL_S,
    START_TIMEOUT_S,
    BenchError,
    Gateway,
    Processes,
    apply_functions,
    bundle,
    command_line,
    free_port,
    machine,
    markdown_table,
    percentile,
    progress,
    run_script,
    sandbox,
    start_gateway,
    start_server,
    tail,
    trigger_state,
    verdict,
    wait_until,
)

NOOP_FN, OK_FN = "noop", "ok"
SOURCES = {
    NOOP_FN: "def handler(event, context):\n    return None\n",
    OK_FN: 'def handler(event, context):\n    return "ok"\n',
}
JS_TRIGGER_ID, RR_TRIGGER_ID = f"{NOOP_FN}/nats/0", f"{OK_FN}/nats/0"
FETCH_BATCH = 100  # the bare consumer's fetch size
MAX_ACK_PENDING = 64  # the gaia trigger's (its default)
BARE_QUEUE = "bench-bare"
REQUEST = b"ping"
ANSWER = b"ok"
WARMUP_S = 1.0  # requests before each measured request-reply window
REQUEST_TIMEOUT_S = 5.0
FIRST_ANSWER_TIMEOUT_S = 30.0  # the responder's subscription reaching the server
RUNNING_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 15.0
MAX_PAUSE_S = 0.5  # between two polls of the trigger's state while far from done
TARGET = 0.3

# The helpers run in interpreters of their own: `python -c HELPER_COMMAND ROLE ARGS...`.
HELPER_COMMAND = (
    "import sys; from bench.nats import helper_main; sys.exit(helper_main(sys.argv[1:]))"
)


# --- the server -----------------------------------------------------------------------


def nats_server_binary() -> str:
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not Path(binary).is_file():
        raise BenchError("nats-server is not installed (Debian: apt-get install nats-server)")
    return binary


def server_version() -> str:
    done = subprocess.run(
        [nats_server_binary(), "--version"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "nats-server (unknown version)"


def start_nats(procs: Processes, workdir: Path) -> str:
    """nats-server with JetStream, its store under `workdir`, on a free port; answers its
    URL once it is ready."""
    port = free_port()
    store = workdir / "jetstream"
    store.mkdir()
    argv = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
    start_server(
        procs,
        "nats-server",
        argv,
        log=workdir / "nats-server.log",
        ready_text="Server is ready",
        env=os.environ,
    )
    return f"nats://127.0.0.1:{port}"


# --- streams (in the bench's own process, between runs) --------------------------------


def payload(n: int) -> bytes:
    return json.dumps({"n": n, "customer": n % 1000, "amount": n % 97}).encode()


async def _fill_stream(server: str, stream: str, subject: str, count: int) -> None:
    import nats

    nc = await nats.connect(server, name="bench producer")
    try:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[subject])
        for n in range(count):
            await nc.publish(subject, payload(n))  # core publishes; counted below
        await nc.flush()
        deadline = time.monotonic() + 60.0
        while True:
            stored = (await js.stream_info(stream)).state.messages
            if stored == count:
                return
            if stored > count or time.monotonic() > deadline:
                raise BenchError(f"stream {stream} holds {stored} messages, not {count}")
            await asyncio.sleep(POLL_S)
    finally:
        await nc.close()


def fill_stream(server: str, stream: str, subject: str, count: int) -> float:
    """Create `stream` on `subject` and store `count` messages in it; answers the seconds
    it took."""
    started = time.perf_counter()
    asyncio.run(_fill_stream(server, stream, subject, count))
    return time.perf_counter() - started


async def _consumer_settled(server: str, stream: str, durable: str) -> tuple[int, int]:
    """Wait until the consumer has nothing pending and nothing awaiting an ack (acks are
    sent without waiting for the server); answers the last (pending, ack pending)."""
    import nats

    nc = await nats.connect(server, name="bench check")
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            info = await js.consumer_info(stream, durable)
            pending, ack_pending = info.num_pending or 0, info.num_ack_pending or 0
            if (pending == 0 and ack_pending == 0) or time.monotonic() > deadline:
                return pending, ack_pending
            await asyncio.sleep(POLL_S)
    finally:
        await nc.close()


def check_consumer(server: str, stream: str, durable: str) -> None:
    pending, ack_pending = asyncio.run(_consumer_settled(server, stream, durable))
    if pending or ack_pending:
        raise BenchError(
            f"consumer {durable} on {stream}: {pending} pending, {ack_pending} awaiting an "
            f"ack {SETTLE_TIMEOUT_S:.0f}s after the run"
        )


async def _delete_stream(server: str, stream: str) -> None:
    import nats

    nc = await nats.connect(server, name="bench cleanup")
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def delete_stream(server: str, stream: str) -> None:
    """Free the server's store; a failure only leaves the stream behind."""
    try:
        asyncio.run(_delete_stream(server, stream))
    except Exception as exc:
        progress(f"  (could not delete stream {stream}: {exc or type(exc).__name__})")


# --- the helpers (run in subprocesses: see HELPER_COMMAND) -----------------------------


async def _bare_consume(
    server: str, stream: str, subject: str, durable: str, count: int
) -> dict[str, Any]:
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    nc = await nats.connect(server, name="bench bare consumer")
    try:
        js = nc.jetstream()
        started = time.time()
        sub = await js.pull_subscribe(
            subject,
            durable=durable,
            stream=stream,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT),
        )
        seen = fetches = 0
        while seen < count:
            try:
                msgs = await sub.fetch(FETCH_BATCH, timeout=1.0)
            except TimeoutError:  # nats.errors.TimeoutError is one
                continue
            fetches += 1
            for msg in msgs:
                _noop(msg)
                await msg.ack()
            seen += len(msgs)
        await nc.flush()
        done = time.time()
        info = await sub.consumer_info()
    finally:
        await nc.close()
    return {
        "started": started,
        "done": done,
        "messages": seen,
        "fetches": fetches,
        "pending": info.num_pending,
        "ack_pending": info.num_ack_pending,
    }


def _noop(msg: object) -> None:
    return None


async def _respond(server: str, subject: str, ready: str) -> None:
    import nats
    from nats.aio.msg import Msg

    nc = await nats.connect(server, name="bench bare responder")

    async def answer(msg: Msg) -> None:
        await nc.publish(msg.reply, ANSWER)

    await nc.subscribe(subject, queue=BARE_QUEUE, cb=answer)
    await nc.flush()
    await asyncio.to_thread(Path(ready).write_text, "ready\n")
    await asyncio.Event().wait()  # until SIGTERM


async def _request(
    server: str, subject: str, concurrency: int, duration_s: float
) -> dict[str, Any]:
    import nats
    from nats.errors import NoRespondersError

    nc = await nats.connect(server, name="bench requester")
    try:
        # The responder's subscription may still be on its way to the server.
        first_by = time.monotonic() + FIRST_ANSWER_TIMEOUT_S
        while True:
            try:
                await nc.request(subject, REQUEST, timeout=REQUEST_TIMEOUT_S)
                break
            except (NoRespondersError, TimeoutError):
                if time.monotonic() > first_by:
                    raise
                await asyncio.sleep(POLL_S)

        latencies: list[float] = []
        errors = wrong = 0

        async def requester(until: float, record: bool) -> None:
            nonlocal errors, wrong
            while (sent := time.perf_counter()) < until:
                try:
                    reply = await nc.request(subject, REQUEST, timeout=REQUEST_TIMEOUT_S)
                except (NoRespondersError, TimeoutError):
                    errors += record
                    continue
                if record:
                    latencies.append(time.perf_counter() - sent)
                    wrong += reply.data != ANSWER

        warm_until = time.perf_counter() + WARMUP_S
        await asyncio.gather(*(requester(warm_until, False) for _ in range(concurrency)))
        started = time.perf_counter()
        until = started + duration_s
        await asyncio.gather(*(requester(until, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        await nc.close()
    return {
        "seconds": elapsed,
        "answers": len(latencies),
        "errors": errors,
        "wrong": wrong,
        "p50_ms": percentile(latencies, 50) * 1000 if latencies else 0.0,
        "p99_ms": percentile(latencies, 99) * 1000 if latencies else 0.0,
    }


def helper_main(argv: Sequence[str]) -> int:
    """`consume SERVER STREAM SUBJECT DURABLE COUNT OUT`, `respond SERVER SUBJECT READY`
    or `request SERVER SUBJECT CONCURRENCY SECONDS OUT`."""
    import uvloop

    match list(argv):
        case ["consume", server, stream, subject, durable, count, out]:
            result = uvloop.run(_bare_consume(server, stream, subject, durable, int(count)))
            Path(out).write_text(json.dumps(result))
        case ["respond", server, subject, ready]:
            uvloop.run(_respond(server, subject, ready))
        case ["request", server, subject, concurrency, seconds, out]:
            result = uvloop.run(_request(server, subject, int(concurrency), float(seconds)))
            Path(out).write_text(json.dumps(result))
        case _:
            print(f"usage: {helper_main.__doc__}", file=sys.stderr)
            return 2
    return 0


def helper_argv(*args: str) -> list[str]:
    return [sys.executable, "-c", HELPER_COMMAND, *args]


def run_helper(
    procs: Processes, workdir: Path, name: str, args: list[str], timeout_s: float
) -> Any:
    """Run a helper that writes its result as JSON to the file named last in `args`."""
    out = Path(args[-1])
    log = workdir / f"{name.replace(' ', '-')}.log"
    proc = procs.spawn(name, helper_argv(*args), log=log, env=os.environ)
    try:
        code = proc.popen.wait(timeout=timeout_s)
    except Exception as exc:  # TimeoutExpired; the process is stopped below either way
        raise BenchError(f"the {name} did not finish within {timeout_s:.0f}s: {exc}") from exc
    finally:
        procs.stop(proc)
    if code != 0 or not out.is_file():
        raise BenchError(f"the {name} failed (exit {code}); last lines of {log}:\n{tail(log)}")
    return json.loads(out.read_text())


# --- the gateway -----------------------------------------------------------------------


@dataclass
class Gaia:
    gateway: Gateway
    bundles: dict[str, str]

    def apply(self, fn: str | None = None, trigger: dict[str, Any] | None = None) -> None:
        """Both functions, with `trigger` as `fn`'s only trigger (or no triggers at all)."""
        functions: dict[str, Any] = {}
        for name in SOURCES:
            function: dict[str, Any] = {"runtime": "python", "code": f"./{name}"}
            if name == fn and trigger is not None:
                function["triggers"] = [{"nats": trigger}]
            functions[name] = function
        apply_functions(self.gateway, functions, self.bundles)

    def state(self, trigger_id: str) -> dict[str, Any] | None:
        return trigger_state(self.gateway, trigger_id)

    def wait_running(self, trigger_id: str) -> float:
        """Poll until the trigger is connected; answers the time of that poll."""
        polls = 0
        early: int | None = None  # what it had processed by the first poll, if running then

        def running() -> float | None:
            nonlocal polls, early
            state = self.state(trigger_id)
            polls += 1
            if state is not None and state["status"] == "failed":
                raise BenchError(f"{trigger_id} failed: {state['error']}")
            if state is None or state["status"] != "running":
                return None
            if polls == 1:
                early = state["processed"]
            return time.time()

        started = wait_until(running, timeout_s=RUNNING_TIMEOUT_S, what=f"{trigger_id} running")
        if early:
            progress(
                f"  warning: {trigger_id} had processed {early} messages by the first poll;"
                " the start is late"
            )
        return started


def start_gaia(procs: Processes, workdir: Path) -> Gaia:
    project = workdir / "project"
    lines = ["functions:"]
    for name, source in SOURCES.items():
        code = project / name
        code.mkdir(parents=True)
        (code / "main.py").write_text(source)
        lines += [f"  {name}:", "    runtime: python", f"    code: ./{name}"]
    config = project / "gaia.yaml"
    config.write_text("\n".join(lines) + "\n")
    gateway = start_gateway(
        procs, workdir / "home", log=workdir / "gateway.log", ready_path=None, config=config
    )
    return Gaia(gateway, {name: bundle(project / name) for name in SOURCES})


# --- JetStream runs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    seconds: float
    detail: str  # for the progress line


def run_timeout_s(count: int) -> float:
    return 60.0 + count / 100  # 100 messages/s would be far below anything worth reporting


def js_bare(
    procs: Processes, workdir: Path, server: str, stream: str, subject: str, count: int
) -> Sample:
    out = workdir / f"{stream}.json"
    args = ["consume", server, stream, subject, f"bench-bare-{stream}", str(count), str(out)]
    result = run_helper(procs, workdir, "bare consumer", args, run_timeout_s(count))
    if result["messages"] != count:
        raise BenchError(f"the bare consumer read {result['messages']} messages, not {count}")
    if result["pending"] or result["ack_pending"]:
        progress(
            f"  warning: after the bare run {result['pending']} pending, "
            f"{result['ack_pending']} awaiting an ack"
        )
    return Sample(result["done"] - result["started"], f"{result['fetches']} fetches")


def js_gaia(gaia: Gaia, server: str, stream: str, subject: str, count: int) -> Sample:
    trigger = {
        "servers": server,
        "subject": subject,
        "jetstream": {"stream": stream, "max_ack_pending": MAX_ACK_PENDING},
    }
    gaia.apply(NOOP_FN, trigger)
    try:
        started = gaia.wait_running(JS_TRIGGER_ID)
        finished, last = wait_processed(gaia, count, started)
    finally:
        gaia.apply()  # stops the trigger: the gateway idles between runs
    check_consumer(server, stream, last["durable"])
    extra = [
        f"{last[key]} {key}" for key in ("retried", "redelivered", "dead_lettered") if last[key]
    ]
    return Sample(finished - started, ", ".join(extra) or "nothing retried")


def wait_processed(gaia: Gaia, count: int, started: float) -> tuple[float, dict[str, Any]]:
    """Poll until `count` messages are processed: every POLL_S near the end, less often
    while the rate so far says the end is far."""
    deadline = time.monotonic() + run_timeout_s(count)
    while True:
        state = gaia.state(JS_TRIGGER_ID)
        now = time.time()
        if state is None:
            raise BenchError(f"{JS_TRIGGER_ID} has no state: it is not running")
        if state["status"] == "failed":
            raise BenchError(f"{JS_TRIGGER_ID} failed: {state['error']}")
        processed = state["processed"]
        if processed >= count:
            return now, state
        if time.monotonic() > deadline:
            raise BenchError(
                f"not all {count} messages were processed within {run_timeout_s(count):.0f}s;"
                f" last state: {json.dumps(state)}"
            )
        pause = POLL_S
        if processed:
            left_s = (count - processed) * (now - started) / processed
            pause = max(POLL_S, min(MAX_PAUSE_S, left_s / 2))
        time.sleep(pause)


# --- request-reply runs -----------------------------------------------------------------


@dataclass(frozen=True)
class RoundTrips:
    rate: float  # answers per second
    p50_ms: float
    p99_ms: float

    def describe(self) -> str:
        return (
            f"{self.rate:>9,.0f} round trips/s  p50 {self.p50_ms:.3f} ms  p99 {self.p99_ms:.3f} ms"
        )


def request_load(
    procs: Processes,
    workdir: Path,
    server: str,
    subject: str,
    concurrency: int,
    duration_s: float,
) -> RoundTrips:
    out = workdir / f"requests-{uuid.uuid4().hex[:8]}.json"
    args = ["request", server, subject, str(concurrency), str(duration_s), str(out)]
    timeout_s = FIRST_ANSWER_TIMEOUT_S + WARMUP_S + duration_s + 2 * REQUEST_TIMEOUT_S + 30
    result = run_helper(procs, workdir, "requester", args, timeout_s)
    if result["errors"] or result["wrong"]:
        raise BenchError(
            f"{result['errors']} requests got no answer and {result['wrong']} a wrong one"
        )
    return RoundTrips(result["answers"] / result["seconds"], result["p50_ms"], result["p99_ms"])


def rr_bare(
    procs: Processes,
    workdir: Path,
    server: str,
    subject: str,
    loads: Sequence[int],
    duration_s: float,
) -> dict[int, RoundTrips]:
    ready = workdir / f"responder-{uuid.uuid4().hex[:8]}.ready"
    log = workdir / "bare-responder.log"
    responder = procs.spawn(
        "bare responder",
        helper_argv("respond", server, subject, str(ready)),
        log=log,
        env=os.environ,
    )
    try:

        def subscribed() -> bool | None:
            responder.check_alive()
            return True if ready.exists() else None

        wait_until(subscribed, timeout_s=START_TIMEOUT_S, what="the bare responder")
        return {c: request_load(procs, workdir, server, subject, c, duration_s) for c in loads}
    finally:
        procs.stop(responder)


def rr_gaia(
    procs: Processes,
    workdir: Path,
    gaia: Gaia,
    server: str,
    subject: str,
    loads: Sequence[int],
    duration_s: float,
) -> dict[int, RoundTrips]:
    gaia.apply(OK_FN, {"servers": server, "subject": subject})
    try:
        gaia.wait_running(RR_TRIGGER_ID)
        return {c: request_load(procs, workdir, server, subject, c, duration_s) for c in loads}
    finally:
        gaia.apply()


# --- the whole run ----------------------------------------------------------------------


BARE, GAIA = "bare", "gaia"


@dataclass
class Results:
    js: dict[str, list[float]]  # side -> messages/s of each run
    rr: dict[int, dict[str, list[RoundTrips]]]  # requesters -> side -> each run
    fill_s: list[float]
    wall_s: float = 0.0
    version: str = ""


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> Results:
    began = time.monotonic()
    count = args.messages
    loads = [args.concurrency] + ([1] if args.concurrency != 1 else [])
    progress(f"starting nats-server and the gateway (logs in {workdir})")
    server = start_nats(procs, workdir)
    gaia = start_gaia(procs, workdir)
    progress(f"  nats-server on {server}; gaia serving {NOOP_FN} and {OK_FN}")
    results = Results(
        js={BARE: [], GAIA: []},
        rr={c: {BARE: [], GAIA: []} for c in loads},
        fill_s=[],
        version=server_version(),
    )
    js_steps: list[tuple[str, Callable[[str, str], Sample]]] = [
        (BARE, lambda stream, subject: js_bare(procs, workdir, server, stream, subject, count)),
        (GAIA, lambda stream, subject: js_gaia(gaia, server, stream, subject, count)),
    ]
    rr_steps: list[tuple[str, Callable[[str], dict[int, RoundTrips]]]] = [
        (BARE, lambda subject: rr_bare(procs, workdir, server, subject, loads, args.duration)),
        (
            GAIA,
            lambda subject: rr_gaia(procs, workdir, gaia, server, subject, loads, args.duration),
        ),
    ]
    for round_no in range(1, args.repeat + 1):
        tag = f"{round_no}_{uuid.uuid4().hex[:8]}"
        for side, measure_js in js_steps:
            stream, subject = f"BENCH_{side.upper()}_{tag}", f"bench.js.{side}.{tag}"
            filled = fill_stream(server, stream, subject, count)
            results.fill_s.append(filled)
            sample = measure_js(stream, subject)
            rate = count / sample.seconds
            results.js[side].append(rate)
            progress(
                f"  run {round_no}/{args.repeat} JetStream {side:<5} {rate:>9,.0f} msgs/s "
                f"({sample.seconds:.2f} s; {sample.detail}; stored in {filled:.1f} s)"
            )
            delete_stream(server, stream)
        for side, measure_rr in rr_steps:
            by_load = measure_rr(f"bench.rr.{side}.{tag}")
            for c, trips in by_load.items():
                results.rr[c][side].append(trips)
                progress(
                    f"  run {round_no}/{args.repeat} request-reply {side:<5} c={c:<3} "
                    f"{trips.describe()}"
                )
    results.wall_s = time.monotonic() - began
    return results


# --- report -----------------------------------------------------------------------------


Row = tuple[str, str, str, str, str, str]


def median_of(trips: Sequence[RoundTrips], metric: str) -> float:
    return float(statistics.median(getattr(t, metric) for t in trips))


def ratio_row(name: str, bare: float, gaia: float, target: float | None) -> Row:
    ratio = gaia / bare if bare else 0.0
    goal = f"≥ {target}x" if target is not None else "-"
    met = "-" if target is None else verdict(ratio >= target)
    return (name, f"{bare:,.0f}", f"{gaia:,.0f}", f"{ratio:.2f}x", goal, met)


def table_rows(results: Results, concurrency: int) -> list[Row]:
    js = results.js
    rows = [
        ratio_row(
            "JetStream messages/s",
            statistics.median(js[BARE]),
            statistics.median(js[GAIA]),
            TARGET,
        )
    ]
    for c, sides in results.rr.items():
        who = f"{c} requester{'s' if c != 1 else ''}"
        rows.append(
            ratio_row(
                f"request-reply round trips/s, {who}",
                median_of(sides[BARE], "rate"),
                median_of(sides[GAIA], "rate"),
                TARGET if c == concurrency else None,
            )
        )
        for pct in ("p50", "p99"):
            bare = median_of(sides[BARE], f"{pct}_ms")
            gaia = median_of(sides[GAIA], f"{pct}_ms")
            rows.append(
                (
                    f"request-reply {pct} latency, {who} (ms)",
                    f"{bare:.3f}",
                    f"{gaia:.3f}",
                    f"{gaia - bare:+.3f} ms",
                    "-",
                    "-",
                )
            )
    return rows


def report(results: Results, args: argparse.Namespace) -> str:
    table = markdown_table(
        ("scenario", "bare nats-py", "gaia", "ratio / diff", "target", "met?"),
        ("---", "---:", "---:", "---:", "---", "---"),
        table_rows(results, args.concurrency),
    )
    js_each = "; ".join(
        f"{side}: {', '.join(f'{rate:,.0f}' for rate in rates)}"
        for side, rates in results.js.items()
    )
    rr_each = "; ".join(
        f"{side} c={c}: {', '.join(f'{t.rate:,.0f}' for t in trips)}"
        for c, sides in results.rr.items()
        for side, trips in sides.items()
    )
    loads = " and 1" if args.concurrency != 1 else ""
    notes = [
        f"Command: `{command_line()}`",
        f"Machine: {machine()}; worker sandbox: {sandbox()}; {results.version}, JetStream "
        "file storage in a temporary directory.",
        f"JetStream: each run a fresh stream holding {args.messages:,} JSON messages of about "
        "45 bytes, stored before the consumer exists; timed from the durable pull consumer's "
        "creation to the last ack; messages/s = messages / that time. Bare: nats-py on "
        f"uvloop in its own process, `fetch({FETCH_BATCH})` and `ack()` each message. gaia: "
        f"`gaia up -f gaia.yaml` with `def handler(event, context): return None` (default "
        f"pool), the trigger `jetstream: {{stream, max_ack_pending: {MAX_ACK_PENDING}}}` "
        "applied per run once the stream is full, its state polled through the admin API "
        "(every 20 ms near both ends of a run) until processed = N; then the consumer "
        "checked on the server: nothing pending or awaiting an ack.",
        f"Request-reply: one nats-py requester process (uvloop, one connection), "
        f"{args.concurrency}{loads} concurrent `request()` loop(s), {WARMUP_S:.0f} s warm-up, "
        f"then {args.duration:g} s measured; latency = one round trip as the requester sees "
        f"it. Bare: a nats-py queue subscriber answering `{ANSWER.decode()}` with "
        '`publish(msg.reply, ...)`. gaia: a core NATS trigger on a function returning "ok".',
        f"{args.repeat} alternating round(s) (bare, then gaia, per scenario); medians. Each "
        f"run: JetStream messages/s {js_each}; round trips/s {rr_each}.",
        f"Wall time {results.wall_s:.0f} s, of which storing messages {sum(results.fill_s):.0f} s.",
    ]
    return table + "\n\n" + "\n".join(f"- {note}" for note in notes)


# --- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.nats",
        description="messages/s through gaia's JetStream trigger to a no-op function beside "
        "a bare nats-py fetch-and-ack loop, and request-reply round trips/s through a core "
        "NATS trigger beside a bare nats-py responder, on the same nats-server.",
    )
    parser.add_argument("--messages", type=int, default=20_000, help="messages per JetStream run")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="concurrent requesters (and 1 besides)"
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per request-reply run")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.concurrency < 1 or args.repeat < 1 or args.duration <= 0:
        parser.error("--messages, --concurrency, --repeat and --duration must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script(
        "bench.nats",
        lambda procs, workdir: report(run(args, procs, workdir), args),
        needs_wrk=False,
    )


if __name__ == "__main__":
    sys.exit(main())
