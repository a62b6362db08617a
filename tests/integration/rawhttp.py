"""HTTP/1.1 over raw sockets, for tests of what a server does with broken or slow clients."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """What came back before the server closed: the status line, the headers (names in
    lower case, `date` left out since it differs between servers), the body."""

    status_line: str
    headers: dict[str, str]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line.split()[1])


def connect(port: int, *, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket, *, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes; AssertionError past the deadline."""
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"the server kept the connection open for {timeout}s")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        except TimeoutError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name.lower() != "date":
            headers[name.lower()] = value.strip()
    return Answer(status_line, headers, body)


def exchange(port: int, request: bytes, *, timeout: float = 10.0) -> Answer:
    """Send `request` on a new connection, then read the answer until the server closes."""
    with connect(port, timeout=timeout) as sock:
        sock.sendall(request)
        return parse(read_until_closed(sock, timeout=timeout))


def get(path: str, *extra_headers: bytes, close: bool = True) -> bytes:
    lines = [f"GET {path} HTTP/1.1".encode(), b"Host: test", *extra_headers]
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"
