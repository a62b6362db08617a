"""The data plane's splice decisions, kept per config snapshot (gateway/splice_plan.py),
route each request as the invoked path would: alias weights drawn per request, sticky
keys, X-Gaia-Tag, hosts, limits, and a config change from its next request on. The
runtime is the in-memory one lending a slot per request (its lease records where it
went); the splice itself is tests/integration/test_http_splice.py's and
tests/integration/test_webapps_splice.py's."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable

import pytest

from gateway.accesslog import JsonLines
from gateway.config import GaiaFile
from gateway.control import ControlPlane
from gateway.dataplane import DataPlane
from gateway.http.splice import RequestHead, SpliceOutcome
from gateway.invoker import Invoker
from gateway.metrics import Metrics
from httpkit.client import ClientError, HttpClient, Origin
from runtime_adapters.base import RevisionKey, RuntimeAdapterError
from runtime_adapters.lease import HttpLease
from runtime_adapters.memory import MemoryRuntime
from triggers.http.splice import TriggerSplice

Parse = Callable[..., GaiaFile]


class _Lease(HttpLease):
    # A subclass, as every lease is (the compiled trigger splice takes no other), with
    # fields set per instance: a class-level default would hide the base's.
    def __init__(self, key: RevisionKey) -> None:
        self.key = key
        self.released: list[int | None] = []
        self.client = HttpClient(connect_timeout_s=1, read_timeout_s=1)
        self.origin = Origin(host="127.0.0.1", port=9, tls=False)
        self.announces_request = False
        self.timeout_s = 1.0

    def reroute(self, error: ClientError) -> bool:
        return False

    def failure(self, error: ClientError) -> RuntimeAdapterError:
        return RuntimeAdapterError(error.message)

    def release(self, answered: int | None) -> None:
        self.released.append(answered)


class LendingRuntime(MemoryRuntime):
    """Lends a slot on every warm revision while `free`."""

    def __init__(self) -> None:
        super().__init__({"main.handler": lambda invocation, spec: "invoked"})
        self.free = True
        self.leases: list[_Lease] = []

    def lease(self, key: RevisionKey) -> _Lease | None:
        if not self.free or key not in self.pools:
            return None
        self.leases.append(_Lease(key))
        return self.leases[-1]


@pytest.fixture
def runtime() -> LendingRuntime:
    return LendingRuntime()


@pytest.fixture
def log() -> io.BytesIO:
    return io.BytesIO()


@pytest.fixture
def plane(control: ControlPlane, log: io.BytesIO) -> DataPlane:
    return DataPlane(
        control=control,
        invoker=Invoker(control=control, metrics=Metrics()),
        access_log=JsonLines(log),
    )


def _head(
    path: str = "/hello", headers: list[tuple[bytes, bytes]] | None = None, query: bytes = b""
) -> RequestHead:
    return RequestHead("GET", path, path.encode(), query, headers or [], None, "http", "1.1", True)


def _revision(plane: DataPlane, head: RequestHead) -> int | None:
    """The revision the request was spliced to (None: it takes the invoked path); its
    slot is given back with a 200, as a spliced answer does."""
    splice = plane.splice(head)
    if splice is None:
        return None
    assert isinstance(splice, TriggerSplice)
    outcome = SpliceOutcome(200, None, 0.001, None, None)
    splice.finished(outcome)
    plane.spliced(head, outcome)
    lease = splice._lease
    assert isinstance(lease, _Lease)
    return lease.key.revision


async def _apply(
    control: ControlPlane,
    gaia_file: Parse,
    traffic: str,
    *,
    code: str = "v2",
    sticky: str = "",
    path: str = "/hello",
    extra: str = "",
) -> None:
    """One `hello` function: alias `prod` with `traffic` (and `sticky`), a route to it
    at `path`, /pinned to revision 1, and `extra` triggers; `code` makes the revision."""
    sticky_line = f"        sticky: {sticky}\n" if sticky else ""
    config = f"""
functions:
  hello:
    code: ./hello
    aliases:
      prod:
{sticky_line}        traffic: {traffic}
    triggers:
      - http: {{path: {path}, alias: prod}}
      - http: {{path: /pinned, revision: 1}}
{extra}"""
    await control.apply(gaia_file(config, code={"hello": code}))


async def _two_revisions(control: ControlPlane, gaia_file: Parse, traffic: str, **kw: str) -> None:
    await _apply(control, gaia_file, "[{revision: latest, percent: 100}]", code="v1")
    await _apply(control, gaia_file, traffic, **kw)


HALF = "[{revision: 1, percent: 50}, {revision: 2, percent: 50}]"


async def test_a_weighted_alias_is_drawn_per_request_and_logged_per_revision(
    control: ControlPlane, plane: DataPlane, gaia_file: Parse, log: io.BytesIO
) -> None:
    await _two_revisions(control, gaia_file, HALF)
    picked = Counter(_revision(plane, _head()) for _ in range(400))
    assert set(picked) == {1, 2} and min(picked.values()) > 120
    plane._access_log.flush()
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert Counter(line["revision"] for line in lines) == picked
    assert {(line["route"], line["alias"], line["function"]) for line in lines} == {
        ("/hello", "prod", "hello")
    }


async def test_a_sticky_key_keeps_its_revision_and_keys_spread(
    control: ControlPlane, plane: DataPlane, gaia_file: Parse
) -> None:
    await _two_revisions(control, gaia_file, HALF, sticky="header:x-user")
    by_user = {}
    for user in range(60):
        headers = [(b"x-user", f"u{user}".encode())]
        seen = {_revision(plane, _head(headers=headers)) for _ in range(5)}
        assert len(seen) == 1
        by_user[user] = seen.pop()
    assert set(by_user.values()) == {1, 2}


async def test_a_tag_header_picks_its_revision_and_an_unknown_one_is_invoked(
    control: ControlPlane, plane: DataPlane, gaia_file: Parse
) -> None:
    traffic = "[{revision: 2, percent: 100}, {revision: 1, percent: 0, tag: old}]"
    await _two_revisions(control, gaia_file, traffic)
    assert _revision(plane, _head()) == 2
    assert _revision(plane, _head(headers=[(b"x-gaia-tag", b"old")])) == 1
    assert _revision(plane, _head(headers=[(b"x-gaia-tag", b"nope")])) is None  # its 404
    assert _revision(plane, _head()) == 2
    # a pinned revision ignores the tag, as the invoked path does
    assert _revision(plane, _head("/pinned", headers=[(b"x-gaia-tag", b"old")])) == 1


async def test_a_config_change_routes_from_the_next_request_on(
    control: ControlPlane, plane: DataPlane, gaia_file: Parse
) -> None:
    await _two_revisions(control, gaia_file, "[{revision: 1, percent: 100}]")
    assert _revision(plane, _head()) == 1
    await _apply(control, gaia_file, "[{revision: 2, percent: 100}]")
    assert _revision(plane, _head()) == 2
    await _apply(control, gaia_file, "[{revision: 2, percent: 100}]", path="/other")
    assert _revision(plane, _head()) is None  # no route now: the ASGI path's 404
    assert _revision(plane, _head("/other")) == 2


async def test_no_free_slot_and_a_limit_without_room_take_the_invoked_path(
    control: ControlPlane, plane: DataPlane, gaia_file: Parse, runtime: LendingRuntime
) -> None:
    limited = "      - http: {path: /limited, alias: prod, rate_limit: {rps: 0.01, burst: 2}}\n"
    await _two_revisions(control, gaia_file, "[{revision: 2, percent: 100}]", extra=limited)
    runtime.free = False
    assert _revision(plane, _head()) is None
    runtime.free = True
    assert [_revision(plane, _head("/limited")) for _ in range(3)] == [2, 2, None]
    # the refused one's slot went back unanswered; every other with its answer
    assert [lease.released for lease in runtime.leases] == [[200], [200], [None]]


async def test_a_host_route_is_spliced_only_for_its_host(
    control: ControlPlane, plane: DataPlane, gaia_file: Parse
) -> None:
    hosted = "      - http: {path: /h, host: api.test, revision: 1}\n"
    await _apply(control, gaia_file, "[{revision: latest, percent: 100}]", code="v1", extra=hosted)
    assert _revision(plane, _head("/h", headers=[(b"host", b"api.test")])) == 1
    assert _revision(plane, _head("/h", headers=[(b"host", b"other.test")])) is None
    assert _revision(plane, _head("/hello", headers=[(b"host", b"other.test")])) == 1
