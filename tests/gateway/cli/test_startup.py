"""The CLI starts without the gateway's server side: every `gaia` command pays for what it
imports before it does anything, and the admin app alone cost about a second of CPU."""

import subprocess
import sys

SERVER_SIDE = ("starlette", "uvicorn", "aiohttp", "gateway.admin.app", "gateway.server")


def test_the_cli_does_not_import_the_server_side() -> None:
    probe = (
        "import sys, gateway.cli.main; "
        f"print(','.join(m for m in {SERVER_SIDE!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
