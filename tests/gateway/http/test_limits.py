"""HTTP limits: their checks, the refusals' bytes (read back by h11 as a client would),
the open-file limit, and the settings that carry them."""

from __future__ import annotations

import json
import re
import resource
from collections.abc import Iterator
from pathlib import Path

import h11
import pytest

from gateway.http.limits import HttpLimits, ensure_fd_limit, refusals
from gateway.settings import settings_from_env


def read_as_client(raw: bytes) -> tuple[h11.Response, bytes]:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.receive_data(raw)
    client.receive_data(b"")
    response = client.next_event()
    assert isinstance(response, h11.Response)
    body = b""
    while isinstance(event := client.next_event(), h11.Data):
        body += event.data
    assert isinstance(event, h11.EndOfMessage)
    return response, body


@pytest.mark.parametrize(
    ("reason", "status", "phrase"),
    [
        ("header_timeout", 408, b"Request Timeout"),
        ("header_too_large", 431, b"Request Header Fields Too Large"),
        ("too_many_connections", 503, b"Service Unavailable"),
    ],
)
def test_refusals_are_well_formed_json_responses_that_close(
    reason: str, status: int, phrase: bytes
) -> None:
    limits = HttpLimits(header_timeout_s=2.5, max_header_bytes=8192, max_connections=7)
    refused = refusals(limits)[reason]  # type: ignore[index]
    response, body = read_as_client(refused.raw([(b"date", b"Sun, 29 Nov 2026 07:00:00 GMT")]))
    assert (response.status_code, response.reason) == (status, phrase)
    headers = dict(response.headers)
    assert headers[b"connection"] == b"close"
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"date"] == b"Sun, 29 Nov 2026 07:00:00 GMT"
    assert (b"retry-after" in headers) == (status == 503)
    document = json.loads(body)
    assert document["error"] == reason
    assert document["request_id"] is None
    assert {"header_timeout": "2.5s", "header_too_large": "8192", "too_many_connections": "7"}[
        reason
    ] in document["message"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"header_timeout_s": 0}, "header timeout: expected more than 0s, got 0"),
        ({"max_header_bytes": 1023}, "max header size: expected at least 1Ki (1024), got 1023"),
        ({"max_connections": 0}, "max connections: expected at least 1, got 0"),
        ({"keep_alive_s": 0}, "keep-alive timeout: expected more than 0s, got 0"),
    ],
)
def test_limits_out_of_range_are_refused(fields: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        HttpLimits(**fields)  # type: ignore[arg-type]


def test_settings_take_flags_over_environment_over_defaults(tmp_path: Path) -> None:
    default = settings_from_env({"GAIA_HOME": str(tmp_path)})
    assert default.http_limits == HttpLimits(
        header_timeout_s=10.0, max_header_bytes=32 * 1024, max_connections=4096, keep_alive_s=5.0
    )
    env = {
        "GAIA_HOME": str(tmp_path),
        "GAIA_HEADER_TIMEOUT": "1500ms",
        "GAIA_MAX_HEADER_SIZE": "16Ki",
        "GAIA_MAX_CONNECTIONS": "100",
        "GAIA_KEEP_ALIVE_TIMEOUT": "75s",
    }
    assert settings_from_env(env).http_limits == HttpLimits(
        header_timeout_s=1.5, max_header_bytes=16384, max_connections=100, keep_alive_s=75.0
    )
    assert settings_from_env(env, max_connections=5).max_connections == 5


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GAIA_HEADER_TIMEOUT", "soon", "GAIA_HEADER_TIMEOUT='soon': expected a duration like"),
        ("GAIA_MAX_HEADER_SIZE", "big", "GAIA_MAX_HEADER_SIZE='big': expected a size like"),
        ("GAIA_MAX_CONNECTIONS", "many", "GAIA_MAX_CONNECTIONS='many': expected a whole number"),
        ("GAIA_MAX_CONNECTIONS", "0", "max connections: expected at least 1, got 0"),
        ("GAIA_KEEP_ALIVE_TIMEOUT", "long", "GAIA_KEEP_ALIVE_TIMEOUT='long': expected a duration"),
    ],
)
def test_bad_environment_values_are_named(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        settings_from_env({"GAIA_HOME": str(tmp_path), name: value})


@pytest.fixture
def fd_limit() -> Iterator[tuple[int, int]]:
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield saved
    resource.setrlimit(resource.RLIMIT_NOFILE, saved)


def test_the_open_file_limit_is_raised_for_the_connection_cap(fd_limit: tuple[int, int]) -> None:
    _, top = fd_limit  # Linux caps open files (fs.nr_open): never RLIM_INFINITY
    hard = top
    if top < 1300:
        pytest.fail(f"this test needs a hard open-file limit of 1300 or more, not {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    cap = top - 1024 - 100  # fits: the limit becomes the cap plus room for the rest
    ensure_fd_limit(cap)
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (cap + 1024, hard)
    ensure_fd_limit(10)  # never lowered
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == cap + 1024
    ensure_fd_limit(top)  # does not fit: as far as the hard limit allows
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == top
