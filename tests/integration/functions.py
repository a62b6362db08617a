"""Function sources the integration tests deploy, each small enough to read at a glance."""

HELLO = """
def handler(event, context):
    name = event.params.get("name") or event.query.get("name") or "world"
    return {"message": f"hello, {name}", "revision": context.revision}
"""

VERSIONED = """
VERSION = "{version}"

def handler(event, context):
    return VERSION
"""

ECHO = """
def handler(event, context):
    return {{
        "method": event.method,
        "path": event.path,
        "params": dict(event.params),
        "query": dict(event.query),
        "query_all": event.query_all,
        "content_type": event.headers.get("Content-Type"),
        "cookie": event.headers.get("cookie"),
        "accept": event.headers.get("accept"),
        "body": event.body.decode(),
        "alias": context.alias,
        "request_id": context.request_id,
    }}
""".replace("{{", "{").replace("}}", "}")

BEHAVIOURS = """
import os, signal, sys, time

def handler(event, context):
    action = event.params.get("action", "ok")
    if action == "ok":
        return "ok"
    if action == "raise":
        raise ValueError("secret-detail-in-traceback")
    if action == "print":
        print(f"printed by {context.request_id}")
        return "printed"
    if action == "sleep":
        time.sleep(float(event.query.get("s", "5")))
        return "slept"
    if action == "exit":
        os._exit(3)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "hog":
        blocks = []
        for _ in range(64):
            blocks.append(bytearray(64 * 1024 * 1024))
        return "hogged"
    if action == "status":
        return {"status": 201, "headers": {"x-made": "yes"}, "body": "made"}
    if action == "none":
        return None
    if action == "sandbox":
        gaia_home = event.query.get("home", "")
        return {
            "sees_home": bool(gaia_home) and os.path.exists(gaia_home),
            "env_leak": os.environ.get("GAIA_TEST_SECRET"),
            "pid": os.getpid(),
            "can_write_code": os.access("/code", os.W_OK) if os.path.exists("/code") else None,
        }
    return {"status": 400, "body": f"unknown action {action}"}
"""

KAFKA_ECHO = """
def handler(event, context):
    if event.data == "poison":
        raise ValueError("poison pill")
    return {"id": event.id, "key": event.key, "data": event.data, "revision": context.revision}
"""

NATS_ECHO = """
def handler(event, context):
    if event.data == "poison":
        raise ValueError("poison pill")
    return {"id": event.id, "subject": event.subject, "data": event.data,
            "revision": context.revision}
"""

CRON_TICK = """
import time

def handler(event, context):
    return {"run": event.id, "scheduled": event.time, "started": time.time()}
"""

EVENT_VIEW = """
import base64

def _plain(value):
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value

def handler(event, context):
    return {
        "attributes": {name: value for name, value in event.items() if name != "data"},
        "data": _plain(event["data"]),
        "headers": {name: _plain(value) for name, value in event.headers.items()},
        "key": _plain(getattr(event, "key", None)),
        "offset": getattr(event, "offset", None),
    }
"""

# Entries `{data: N}`: every 97th is poison, failing each attempt.
REDIS_ECHO = """
def handler(event, context):
    if event.data % 97 == 0:
        raise ValueError("poison pill")
    return {"n": event.data, "headers": dict(event.headers), "revision": context.revision}
"""
