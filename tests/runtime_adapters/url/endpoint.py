"""A url function's endpoint for tests: a small HTTP/1.1 server run as its own process,
`python endpoint.py PORT NAME`.

- `GET /healthz` answers 200, or the status `POST /_control?health=N` set.
- Any other path answers its name and what it saw as JSON (method, path, query,
  headers, body), after `?sleep_ms=N`; with the status `POST /_control?status=N` set.
  With `?drop`, it closes the connection instead of answering.
- `GET /_control` answers how many requests each path got (control ones aside), so a
  test can tell which endpoint served what.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NAME = sys.argv[2] if len(sys.argv) > 2 else "endpoint"
_lock = threading.Lock()
_counts: Counter[str] = Counter()
_modes = {"health": 200, "status": 200}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def _answer(self, status: int, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if parts.path == "/_control":
            with _lock:
                for key in ("health", "status"):
                    if key in query:
                        _modes[key] = int(query[key][0])
                self._answer(200, {"counts": dict(_counts), **_modes})
            return
        with _lock:
            _counts[parts.path] += 1
            health, status = _modes["health"], _modes["status"]
        if parts.path == "/healthz":
            self._answer(health, {"name": NAME})
            return
        if "sleep_ms" in query:
            time.sleep(int(query["sleep_ms"][0]) / 1000)
        if "drop" in query:
            self.close_connection = True  # read it, then hang up without an answer
            return
        seen = {
            "name": NAME,
            "method": self.command,
            "path": parts.path,
            "query": parts.query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode(errors="replace"),
        }
        self._answer(status, seen)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
