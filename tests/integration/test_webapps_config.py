"""A web app's config errors through real gateways: each names the file, the key and its
line, whether the file says so (`interface: asgi` with a handler that is not module:app)
or only a worker can tell (the app object is not callable), and changes nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.integration.harness import GAIA, Gaia, GaiaFactory, free_port, write_function

NOT_CALLABLE = "app = {'routes': []}\n"
ASGI_APP = """
async def app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"served"})
"""


def _file(tmp_path: Path, handler: str) -> Path:
    config = tmp_path / "gaia.yaml"
    config.write_text(
        "functions:\n"
        "  web:\n"
        "    code: ./web\n"
        "    interface: asgi\n"
        f"    handler: {handler}\n"
        "    triggers:\n"
        '      - http: {path: "/web/{rest:path}"}\n'
    )
    return config


def refused_by_up_and_apply(
    gaia: Gaia, tmp_path: Path, source: str, handler: str, message: str
) -> None:
    """With `source` as its code and `handler`, the file makes `gaia up -f` exit with
    `message` at functions.web.handler, line 5, and so does `gaia apply -f` to a running
    gateway, which applies nothing."""
    write_function(tmp_path / "web", source)
    config = _file(tmp_path, handler)
    expected = f"{config}: functions.web.handler: {message} (line 5)"
    ports = ["--port", str(free_port()), "--admin-port", str(free_port())]
    up = subprocess.run(
        [*GAIA, "up", "-f", str(config), *ports],
        env=gaia.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert up.returncode != 0 and expected in up.stderr, up.stderr
    gaia.start()
    applied = gaia.cli("apply", "-f", str(config))
    assert applied.returncode == 1 and expected in applied.stderr, applied.stderr
    with gaia.data() as http:
        assert http.get("/web/x").status_code == 404


def test_a_handler_that_is_not_module_app_is_refused_with_its_line(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    message = "expected module:app like main:app for interface asgi, got 'main.handler'"
    refused_by_up_and_apply(gaia_factory(), tmp_path, ASGI_APP, "main.handler", message)


def test_an_app_that_is_not_callable_fails_the_apply_at_its_handler_line(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory()
    message = (
        "nothing published: web's new code did not start: cannot load handler 'main:app':"
        " handler 'main:app' is a dict, not a callable ASGI app"
    )
    refused_by_up_and_apply(gaia, tmp_path, NOT_CALLABLE, "main:app", message)

    # The same file with a callable app applies and serves.
    write_function(tmp_path / "web", ASGI_APP)
    applied = gaia.cli("apply", "-f", str(tmp_path / "gaia.yaml"))
    assert applied.returncode == 0, applied.stderr
    with gaia.data() as http:
        assert http.get("/web/x").text == "served"
