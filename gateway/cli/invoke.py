"""`gaia invoke`: the function's answer on stdout, what served it on stderr.

The body stays alone on stdout so that `gaia invoke hello | jq .` works; the revision,
status and round-trip time go to stderr as one line (`-v` adds the response headers, as
`curl -v` prints them there). An error the gateway answered itself (no such function,
the function raised, timed out...) is a `gaia: ...` line like every other command's.
"""

from __future__ import annotations

import sys
import time
from http import HTTPStatus
from typing import IO, Any

import click
import httpx

from gateway.cli.client import AdminClient
from gateway.cli.errors import CliError
from gateway.cli.render import OUTPUT, emit_json
from gateway.errors import ADMIN_ERROR_CODES
from routing.errors import InvalidSpec
from routing.names import parse_target

_ERROR_KEYS = frozenset({"error", "message", "request_id", "field", "errors"})


@click.command()
@click.argument("target", metavar="FUNCTION[:ALIAS|@REVISION]")
@click.option("-d", "--data", help="request body")
@click.option("--data-file", type=click.File("rb"), help="request body from a file (- for stdin)")
@click.option("--tag", help="route to the alias's revision with this tag")
@click.option("-v", "--verbose", is_flag=True, help="also print the response headers (stderr)")
@OUTPUT
def invoke(
    target: str,
    data: str | None,
    data_file: IO[bytes] | None,
    tag: str | None,
    verbose: bool,
    output: str,
) -> None:
    """Invoke a function: its answer on stdout; revision, status and time on stderr."""
    try:
        parsed = parse_target(target, path="target")
    except InvalidSpec as exc:
        raise CliError(exc.message) from None
    params: dict[str, str] = {}
    if parsed.revision is not None:
        params["revision"] = str(parsed.revision)
    elif parsed.alias:
        params["alias"] = parsed.alias
    if tag:
        params["tag"] = tag
    body = data_file.read() if data_file is not None else (data or "").encode()
    started = time.perf_counter()
    response = AdminClient().request(
        "POST", f"/v1/functions/{parsed.function}/invoke", content=body, params=params
    )
    duration_ms = (time.perf_counter() - started) * 1000
    error = gateway_error(response)
    if output == "json":
        emit_json(answer_view(response, duration_ms, error))
    elif error is not None:
        raise CliError(_error_line(error, response))
    else:
        click.echo(summary(response, duration_ms), err=True)
        if verbose:
            for name, value in response.headers.items():
                click.echo(f"< {name}: {value}", err=True)
        sys.stdout.buffer.write(response.content)
        if response.content and not response.content.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")
    if response.status_code >= 400:
        sys.exit(1)


def gateway_error(response: httpx.Response) -> dict[str, Any] | None:
    """The admin API's own error body, or None when the function itself answered."""
    if response.status_code < 400 or "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if (
        isinstance(body, dict)
        and body.get("error") in ADMIN_ERROR_CODES
        and "message" in body
        and body.keys() <= _ERROR_KEYS
    ):
        return body
    return None


def summary(response: httpx.Response, duration_ms: float) -> str:
    """`hello@2  200 OK  12.3 ms  request admin-…`."""
    revision = response.headers.get("x-gaia-revision", "-")
    return "  ".join(
        [
            revision,
            _status_text(response.status_code),
            f"{duration_ms:.1f} ms",
            f"request {response.headers.get('x-request-id', '-')}",
        ]
    )


def answer_view(
    response: httpx.Response, duration_ms: float, error: dict[str, Any] | None
) -> dict[str, object]:
    return {
        "status": response.status_code,
        "revision": response.headers.get("x-gaia-revision"),
        "request_id": response.headers.get("x-request-id"),
        "duration_ms": round(duration_ms, 3),
        "headers": dict(response.headers),
        "body": response.content.decode("utf-8", "replace"),
        "error": error,
    }


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _error_line(error: dict[str, Any], response: httpx.Response) -> str:
    revision = response.headers.get("x-gaia-revision")
    where = f"{revision}: " if revision else ""
    return (
        f"{where}{error['message']} ({_status_text(response.status_code)}, {error['error']},"
        f" request {error.get('request_id') or response.headers.get('x-request-id')})"
    )
