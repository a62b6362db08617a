"""An instance for the splice tests, run as its own process: `python upstream_app.py PORT`.

`GET /healthz` answers 200. Any other request answers what it saw as JSON (method, path
as sent, headers, body), shaped by its query: `status=N`, `header=NAME:VALUE` (repeated),
`pad=N` (N more bytes of body), `chunked=1` (no Content-Length: chunked framing),
`sleep_ms=N` (answer that much later), `drip_ms=N` (the body chunked in ten pieces, N ms
apart).
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if parts.path == "/healthz":
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if "sleep_ms" in query:
            time.sleep(int(query["sleep_ms"][0]) / 1000)
        seen = {
            "method": self.command,
            "target": self.path,
            "headers": [[k.lower(), v] for k, v in self.headers.items()],
            "body": body.decode(errors="replace"),
        }
        data = json.dumps(seen).encode() + b"x" * int(query.get("pad", ["0"])[0])
        self.send_response(int(query.get("status", ["200"])[0]))
        self.send_header("content-type", "application/json")
        for header in query.get("header", []):
            name, _, value = header.partition(":")
            self.send_header(name, value)
        drip_s = int(query.get("drip_ms", ["0"])[0]) / 1000
        chunked = query.get("chunked") == ["1"] or drip_s > 0
        if chunked:
            self.send_header("transfer-encoding", "chunked")
        else:
            self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if chunked:
            size = -(-len(data) // 10) if drip_s else 1000
            for at in range(0, len(data), size):
                piece = data[at : at + size]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if drip_s:
                    self.wfile.flush()
                    time.sleep(drip_s)
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
