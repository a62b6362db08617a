"""Handlers the python runtime tests run in real workers (one module, many handlers)."""

import os
import resource
import sys
import threading
import time

# Differs per worker process: tells tests which instance served a call (pids do not,
# since every sandboxed worker is pid 2 in its own namespace).
WORKER = os.urandom(8).hex()


def hello(event, context):
    return {"message": "hello", "worker": WORKER}


def echo(event, context):
    return {
        "method": event.method,
        "path": event.path,
        "params": event.params,
        "query": event.query,
        "query_string": event.query_string,
        "content_type": event.headers.get("Content-Type"),
        "multi": event.headers["X-Multi"],
        "has_host": "HOST" in event.headers,
        "json": event.json() if event.body else None,
    }


def cloud(event, context):
    return {"id": event["id"], "type": event.type, "data": event.data, "trigger": context.trigger}


def context_info(event, context):
    return {
        "function": context.function,
        "revision": context.revision,
        "alias": context.alias,
        "request_id": context.request_id,
        "trigger": context.trigger,
        "remaining_ms": context.remaining_ms(),
        "greeting": os.environ.get("GREETING"),
    }


RETURNS = {
    "str": "hi",
    "bytes": b"\x00\x01",
    "dict": {"a": 1},
    "list": [1, 2],
    "none": None,
    "response": {"status": 201, "headers": {"X-Thing": "yes"}, "body": {"created": True}},
    "text_response": {"status": 404, "body": "nope"},
    "status_only": {"status": 202},
    "not_a_response": {"status": 201, "extra": 1},
    "unsupported": object(),
}


def returns(event, context):
    return RETURNS[event.query["kind"]]


def boom(event, context):
    raise ValueError("boom")


def chatty(event, context):
    print("to stdout")
    print("to stderr", file=sys.stderr)
    context.logger.info("a log line")
    return "ok"


def sleep(event, context):
    time.sleep(float(event.query.get("s", "0.2")))
    return {"worker": WORKER}


async def async_sleep(event, context):
    import asyncio

    await asyncio.sleep(float(event.query.get("s", "0.2")))
    print("async says hi")
    return {"worker": WORKER, "async": True, "loop": type(asyncio.get_running_loop()).__module__}


def hog(event, context):
    mib = int(event.query.get("mib", "1024"))  # default 1 GiB, beyond the tests' limit
    data = bytearray(mib << 20)
    return {"allocated_mib": len(data) >> 20, "worker": WORKER}


def exit3(event, context):
    os._exit(3)


def threads(event, context):
    results = []
    workers = [
        threading.Thread(target=lambda: results.append(sum(range(10_000)))) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"threads": len(results)}


def snoop(event, context):
    """What the sandbox lets a function see."""
    try:
        with open("/code/probe", "w") as probe:
            probe.write("x")
        code_write = "allowed"
    except OSError as exc:
        code_write = type(exc).__name__
    try:
        with open("/etc/shadow") as shadow:
            shadow_text = shadow.read()
    except OSError:
        shadow_text = None
    with open("/proc/net/dev") as dev:
        interfaces = [line.split(":")[0].strip() for line in dev.read().splitlines()[2:]]
    return {
        "exists": {path: os.path.exists(path) for path in event.json()["paths"]},
        "code_write": code_write,
        "env": dict(os.environ),
        "pids": sorted(int(pid) for pid in os.listdir("/proc") if pid.isdigit()),
        "interfaces": interfaces,
        "cwd": os.getcwd(),
        "root": sorted(os.listdir("/")),
        "shadow": shadow_text,
        "limits": {
            name: resource.getrlimit(getattr(resource, name))
            for name in ("RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_NPROC", "RLIMIT_AS")
        },
    }


def fd_output(event, context):
    os.write(1, b"straight to fd 1\n")
    return "ok"


def ordered(event, context):
    if event.data == "raise":
        raise ValueError("item failed")
    if event.data == "500":
        return {"status": 500, "body": "no"}
    return {"data": event.data, "request_id": context.request_id}


async def ordered_async(event, context):
    return ordered(event, context)


def wakeups(event, context):
    """How often this worker's threads went to sleep so far, all of them (voluntary context
    switches: each one a wake-up later; preemptions by a busy machine are not counted)."""
    total = 0
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/status") as status:
            total += sum(
                int(line.split(":")[1]) for line in status if line.startswith("voluntary_ctxt")
            )
    return {"wakeups": total}
