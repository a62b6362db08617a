"""The request parser's callbacks for one client connection of the data plane's protocol
(gateway/http/protocol.py): the head's fields as they are parsed, the head's byte count
for the limits, and where a complete head goes (spliced, or uvicorn's ASGI cycle).

Why apart from the protocol: the protocol derives from uvicorn's HttpToolsProtocol, a
Python class, so it cannot be compiled to an extension type; this helper it owns can
(wire.pxd, built by setup.py when Cython is there), so what httptools calls for every
field of every request, and the head a spliced request needs, run as C. So do the two
things the protocol does for every request: take the client's bytes (`data_received`,
which uvloop's transport calls for each read) and end an answer (`response_complete`);
what either rarely needs (a 400, an upgrade, a pipelined request, a keep-alive timer to
arm) stays the protocol's. Uncompiled it does the same in Python.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import unquote

import httptools

from gateway.http.exchange import ClientSide, Exchange, make_exchange
from gateway.http.splice import Headers, RequestHead, make_head

if TYPE_CHECKING:
    from gateway.http.protocol import GuardedHttpTools

_METHODS = {
    name.encode("ascii"): name
    for name in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
}
# The fields the protocol and the exchange act on, noted as the head is parsed.
_NOTED = frozenset({b"expect", b"connection", b"content-length", b"transfer-encoding"})
# The request line's fixed parts, " HTTP/1.1\r\n", and the head's closing CRLF.
_REQUEST_LINE_EXTRA = 13


def expects_continue(noted: dict[bytes, bytes]) -> bool:
    expect = noted.get(b"expect")
    return expect is not None and expect.lower() == b"100-continue"


class RequestWire(ClientSide):
    """httptools' callback target for `protocol`'s connection (it reads the protocol's
    splicer, cycle and parser, and hands it what is not spliced), and the client's side
    of the connection's spliced exchanges."""

    def __init__(self, protocol: GuardedHttpTools) -> None:
        self._protocol = protocol
        # What stays the same for the connection, read off the protocol once.
        self.loop = protocol.loop
        self._max_header_bytes = protocol.limits.max_header_bytes
        self._splicer = protocol.splicer
        self._counters = protocol.counters
        self._root_path = protocol.root_path
        self.server_state = protocol.server_state
        self._pipeline = protocol.pipeline
        self._client: tuple[str, int] | None = None
        self._scheme = "http"
        # The connection's parser, calling this wire; the protocol's `parser` too.
        self.parser = httptools.HttpRequestParser(self)
        # As uvicorn sets its own (a pipelined request after a close is answered).
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        # The current head: its target, its fields (names lower-case) and, of those in
        # _NOTED, the first value of each (None for none).
        self.url = b""
        self.headers: Headers = []
        self.noted: dict[bytes, bytes] | None = None
        # When the current head began (the accept, for a connection's first request);
        # None from its end until the next request's first byte.
        self.head_started: float | None = None
        self.head_bytes = 0  # received for the current head, in chunks that did not complete it
        self.chunk_bytes = 0  # the chunk being parsed
        # When the connection's last answer ended, while no next request has begun: the
        # keep-alive timeout counts from it (the protocol's timer reads it).
        self.idle_since: float | None = None
        # A spliced request whose answer is not complete yet, and one whose body is read.
        self.exchange: Exchange | None = None
        self.body_to: Exchange | None = None

    def connected(self, transport: asyncio.Transport) -> None:
        """The protocol's connection_made has run (its client and scheme are known)."""
        self.transport = transport
        self.flow = self._protocol.flow  # uvicorn makes it with the connection
        self._client = self._protocol.client
        self._scheme = self._protocol.scheme or "http"

    # --- the protocol's, for every request --------------------------------------------

    def data_received(self, data: bytes) -> None:
        """The client's next bytes: uvicorn's data_received, its keep-alive reset in line."""
        size = len(data)
        self.idle_since = None
        self.chunk_bytes = size
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._protocol.bad_request()
        except httptools.HttpParserUpgrade:
            self._protocol.upgrade_requested()
        self.fed(size)

    def response_complete(self) -> None:
        """uvicorn's on_response_complete, but one keep-alive timer per connection, armed
        only when none is (the protocol's `_check_keep_alive` re-arms it from `idle_since`)."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        flow = self.flow
        if flow.read_paused:  # a call fewer per answer when not (nearly always)
            flow.resume_reading()
        protocol = self._protocol
        if self._pipeline:
            self.idle_since = None
            protocol.next_pipelined()
            return
        self.idle_since = now = self.loop.time()
        if protocol.timeout_keep_alive_task is None:
            protocol.arm_keep_alive(now)

    def exchange_done(self, exchange: Exchange) -> None:
        """The spliced request's answer is complete (`Exchange` calls it): the wire's
        exchange ends, then what uvicorn's cycle ends with."""
        if self.exchange is exchange:
            self.exchange = None
        self.response_complete()

    # --- httptools callbacks ----------------------------------------------------------

    def on_message_begin(self) -> None:
        # uvicorn's, but the scope is made in the protocol's cycle: a spliced request needs none.
        self.url = b""
        self.headers = []
        self.noted = None
        if self.head_started is None:
            self.head_started = self.loop.time()
        self.head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        self.headers.append((name, value))
        if name in _NOTED:  # one set look-up for the fields most requests do not have
            self._note(name, value)

    def _note(self, name: bytes, value: bytes) -> None:
        noted = self.noted
        if noted is None:
            noted = self.noted = {}
        noted.setdefault(name, value)

    def on_headers_complete(self) -> None:
        self.head_started = None
        protocol = self._protocol
        limit = self._max_header_bytes
        # The exact size is summed only when this chunk could hold an oversized head.
        if self.head_bytes + self.chunk_bytes > limit and self.head_size() > limit:
            self._handed()
            protocol.refuse_request("header_too_large")
        elif protocol.over_cap:
            self._handed()
            protocol.refuse_request("too_many_connections")
        else:
            self._dispatch()

    def on_body(self, body: bytes) -> None:
        exchange = self.body_to
        if exchange is None:
            self._protocol.on_body(body)
        else:
            exchange.request_body(body)

    def on_message_complete(self) -> None:
        exchange = self.body_to
        if exchange is None:
            self._protocol.on_message_complete()
        else:
            self.body_to = None
            exchange.request_end()

    # --- the protocol's -------------------------------------------------------------------

    def fed(self, size: int) -> None:
        """The end of one read of `size` bytes of the client's."""
        if self.exchange is not None:
            self.exchange.client_fed()
        if self.head_started is not None and not self.transport.is_closing():
            # The chunk ended inside a head: count it (with any earlier request it held).
            self.head_bytes += size
            if self.head_bytes > self._max_header_bytes:
                self._protocol.refuse_head("header_too_large", answer=True)

    def head_size(self) -> int:
        method = self.parser.get_method()
        fields = 0
        for name, value in self.headers:  # a loop, not sum(...): Cython's cpdef has no closures
            fields += len(name) + len(value) + 4
        return len(method) + 1 + len(self.url) + _REQUEST_LINE_EXTRA + fields

    # --- where a request goes ----------------------------------------------------------

    def _handed(self) -> None:
        """The head goes to uvicorn's cycle, which reads it off the protocol."""
        protocol = self._protocol
        protocol.url = self.url
        protocol.headers = self.headers

    def _dispatch(self) -> None:
        protocol = self._protocol
        splicer = self._splicer
        cycle = protocol.cycle
        noted = self.noted
        if (
            splicer is not None
            and (cycle is None or cycle.response_complete)
            and not self.parser.should_upgrade()
        ):
            head = self._request_head(noted)
            splice = splicer.splice(head)
            if splice is not None:
                self._counters.spliced += 1
                expect = noted is not None and expects_continue(noted)
                exchange = make_exchange(self, head, splice, splicer, expect)
                # As uvicorn's cycle: later requests queue behind it, a shutdown waits for it.
                protocol.cycle = exchange  # type: ignore[assignment]
                self.exchange = self.body_to = exchange
                exchange.start()
                return
        self._handed()
        protocol.start_cycle()

    def _request_head(self, noted: dict[bytes, bytes] | None) -> RequestHead:
        """The head as uvicorn's scope would give it."""
        parser = self.parser
        keep_alive = parser.should_keep_alive()
        if keep_alive and (noted is None or b"connection" not in noted):
            # HTTP/1.0 keeps a connection only when Connection asks it to: this is 1.1.
            # (Asking the parser for its version costs a microsecond, the most of any
            # step here.)
            http_version = "1.1"
        else:
            http_version = parser.get_http_version()
            keep_alive = keep_alive and http_version != "1.0"
        url = self.url
        if url.startswith(b"/") and b"#" not in url:
            # Origin form, as nearly every request's: split here rather than by
            # httptools.parse_url (which gives the same), a microsecond less.
            raw_path, _, query = url.partition(b"?")
        else:
            parsed = httptools.parse_url(url)
            raw_path, query = parsed.path, parsed.query or b""
        path = raw_path.decode("ascii")
        if "%" in path:
            path = unquote(path)
        root = self._root_path
        if root:
            path, raw_path = root + path, root.encode("ascii") + raw_path
        method = parser.get_method()
        # GET, most requests' method, without hashing the parser's new bytes for a look-up.
        name = "GET" if method == b"GET" else _METHODS.get(method) or method.decode("ascii")
        head = make_head(
            name,
            path,
            raw_path,
            query,
            self.headers,
            self._client,
            self._scheme,
            http_version,
            keep_alive,
        )
        if noted is not None:
            # llhttp has checked them: at most one length, and never beside chunked.
            length = noted.get(b"content-length")
            head.content_length = None if length is None else int(length)
            head.chunked = b"transfer-encoding" in noted
        return head
