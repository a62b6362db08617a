"""Process settings: flags first, then GAIA_* environment variables, then defaults."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from configkit.units import parse_duration, parse_size
from gateway.home import home_from_env
from gateway.http.limits import HttpLimits

DEFAULT_ADMIN_URL = "http://127.0.0.1:8081"
# Kept at the end of a shutdown for stopping the workers (each gets 2s after SIGTERM).
WORKER_STOP_S = 3.0
MIN_SHUTDOWN_S = WORKER_STOP_S + 1.0


@dataclass(frozen=True, kw_only=True)
class Settings:
    home: Path
    store_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    admin_host: str = "127.0.0.1"
    admin_port: int = 8081
    body_limit: int = 10 * 1024 * 1024
    # Stem-cell workers kept started ahead of need, so a cold revision starts in ms.
    spares: int = 1
    config_file: Path | None = None
    # `gaia dev`: publish a revision on every save of a function's code.
    watch: bool = False
    # Apply `config_file` even when the store last applied it at start-up.
    reapply: bool = False
    # Unreferenced revisions kept per function; older ones are deleted with their bundles.
    keep_revisions: int = 10
    # A trigger stopped by a config change gets this long to finish its in-flight events.
    drain_timeout_s: float = 10.0
    # SIGTERM to exit, at most: Kubernetes' default terminationGracePeriodSeconds.
    shutdown_timeout_s: float = 30.0
    # This gateway's name where replicas share records (cron run history): GAIA_REPLICA,
    # else host:admin port, which tells apart replicas on one machine too.
    replica: str | None = None
    # The data plane's HTTP server: see gateway/http/limits.py for the defaults.
    header_timeout_s: float = HttpLimits.header_timeout_s
    max_header_bytes: int = HttpLimits.max_header_bytes
    max_connections: int = HttpLimits.max_connections
    keep_alive_s: float = HttpLimits.keep_alive_s

    def __post_init__(self) -> None:
        self.http_limits  # noqa: B018 -- HttpLimits checks the values: a bad one stops `up` here
        if self.shutdown_timeout_s < MIN_SHUTDOWN_S:
            raise ValueError(
                f"shutdown timeout: expected at least {MIN_SHUTDOWN_S:g}s (the last"
                f" {WORKER_STOP_S:g}s stop the workers), got {self.shutdown_timeout_s:g}s"
            )

    @property
    def drain_s(self) -> float:
        """What in-flight requests and events get at shutdown: all of the shutdown
        timeout but the time kept for stopping the workers."""
        return self.shutdown_timeout_s - WORKER_STOP_S

    @property
    def http_limits(self) -> HttpLimits:
        return HttpLimits(
            header_timeout_s=self.header_timeout_s,
            max_header_bytes=self.max_header_bytes,
            max_connections=self.max_connections,
            keep_alive_s=self.keep_alive_s,
        )

    @property
    def replica_name(self) -> str:
        return self.replica or f"{socket.gethostname()}:{self.admin_port}"

    @property
    def data_plane_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {
        "home": home_from_env(env),
        "store_url": env.get("GAIA_STORE") or None,
        "replica": env.get("GAIA_REPLICA") or None,
    }
    for name, key, parse in _PARSED_ENV:
        if name in env:
            try:
                values[key] = parse(env[name])
            except ValueError as exc:
                raise ValueError(f"{name}={env[name]!r}: {exc}") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)  # type: ignore[arg-type]


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("expected a whole number") from None


_PARSED_ENV: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("GAIA_SPARES", "spares", _whole_number),
    ("GAIA_KEEP_REVISIONS", "keep_revisions", _whole_number),
    ("GAIA_HEADER_TIMEOUT", "header_timeout_s", parse_duration),
    ("GAIA_MAX_HEADER_SIZE", "max_header_bytes", parse_size),
    ("GAIA_MAX_CONNECTIONS", "max_connections", _whole_number),
    ("GAIA_KEEP_ALIVE_TIMEOUT", "keep_alive_s", parse_duration),
    ("GAIA_SHUTDOWN_TIMEOUT", "shutdown_timeout_s", parse_duration),
)
