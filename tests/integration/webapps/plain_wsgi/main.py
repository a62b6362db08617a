"""A WSGI app with no framework: what it sees, as the spec's own keys."""

import base64
import json


def app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    seen = {key: value for key, value in environ.items() if key.startswith("HTTP_")}
    for key in ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "wsgi.url_scheme"):
        seen[key] = environ[key]
    # PEP 3333: these "may be empty or absent" (wsgiref: empty; gaia: absent).
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        seen[key] = environ.get(key) or ""
    seen["body"] = base64.b64encode(body).decode()
    data = json.dumps(seen, sort_keys=True).encode()
    start_response(
        "202 Accepted",
        [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
    )
    # Several chunks and no Content-Length: the server frames the body itself.
    return iter([data[:10], b"", data[10:]])
