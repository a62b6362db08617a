"""Web apps written against the bare ASGI and WSGI specs (no framework), for the
python runtime's `interface: asgi | wsgi` tests."""

import json

STARTED = []


async def asgi_echo(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["greeting"] = "hi from startup"
                STARTED.append(1)
                await send({"type": "lifespan.startup.complete"})
            else:
                print("lifespan shutdown ran", flush=True)
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = {
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode("latin-1"),
        "root_path": scope["root_path"],
        "query_string": scope["query_string"].decode("latin-1"),
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
        "body": body.decode("latin-1"),
        "state": scope["state"].get("greeting"),
        "startups": len(STARTED),
        "request_id": scope["gaia.context"].request_id,
        "fixed": [scope[key] for key in ("http_version", "scheme", "client", "server")],
    }
    await send(
        {
            "type": "http.response.start",
            "status": 207,
            "headers": [
                (b"content-type", b"application/json"),
                (b"set-cookie", b"a=1"),
                (b"set-cookie", b"b=2"),
            ],
        }
    )
    data = json.dumps(answer).encode()
    await send({"type": "http.response.body", "body": data[:5], "more_body": True})
    await send({"type": "http.response.body", "body": data[5:]})


async def asgi_no_lifespan(scope, receive, send):
    if scope["type"] != "http":
        raise ValueError("only http")  # Django's ASGI handler says the same
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def asgi_failing_startup(scope, receive, send):
    message = await receive()
    assert message["type"] == "lifespan.startup"
    await send({"type": "lifespan.startup.failed", "message": "the database is not there"})


async def asgi_raising_startup(scope, receive, send):
    await receive()
    raise ConnectionError("cannot reach the cache")


async def asgi_no_response(scope, receive, send):
    if scope["type"] == "http":
        return


WSGI_KEYS = (
    "wsgi.version",
    "wsgi.url_scheme",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
    "wsgi.input_terminated",
)


def wsgi_echo(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    print("to wsgi.errors", file=environ["wsgi.errors"])
    keys = sorted(k for k in environ if k.isupper())
    answer = {key: environ[key] for key in keys}
    answer["body"] = body.decode("latin-1")
    answer["wsgi"] = {key: environ[key] for key in WSGI_KEYS}
    answer["request_id"] = environ["gaia.context"].request_id
    start_response(
        "201 Created",
        [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
    )
    return [json.dumps(answer).encode()]


NOT_CALLABLE = {"routes": []}


class Nested:
    app = staticmethod(wsgi_echo)


from wsgiref.validate import validator  # noqa: E402

# PEP 3333's checks around the app: a bad environ or start_response fails the call.
validated_wsgi_echo = validator(wsgi_echo)
