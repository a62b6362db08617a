"""The gaia process: one lifespan owns startup and shutdown of everything.

`gateway_services` builds the store, runtime and control plane and tears them down in
reverse order; `serve` runs the data plane and admin API listeners inside it and stops
them in bounded steps: stop accepting, drain in-flight requests with a timeout, then
stop the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

from gateway.accesslog import FunctionLogTap, JsonLines, configure_logging
from gateway.admin import AdminRoutes, build_admin_app, ensure_token
from gateway.collector import freeze_startup_objects, tune_for_serving
from gateway.config import ConfigError, error_in_file, load_file
from gateway.control import ControlPlane
from gateway.dataplane import DataPlane
from gateway.dev import DevLoop
from gateway.errors import GaiaError
from gateway.http.limits import HttpCounters, ensure_fd_limit
from gateway.http.protocol import GuardedHttpTools
from gateway.invoker import Invoker
from gateway.listener_logs import as_listener
from gateway.logs import FunctionLogs, stamped
from gateway.metrics import Metrics
from gateway.otel import TracingUnavailable, exporter_from_env
from gateway.settings import Settings
from gateway.store import open_store
from gateway.subscriptions import Subscriptions
from gateway.tracing import Tracer
from gateway.ui.counters import CollectorCounters
from gateway.ui.dashboard import Dashboard
from legacy.layer import LegacyLayer
from runtime_adapters import registry as runtime_kinds
from runtime_adapters.base import LogSink
from runtime_adapters.kind import RuntimeContext

log = logging.getLogger("gaia.server")


class StartupError(Exception):
    """The gateway cannot start; the message says why and what to do."""


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    control: ControlPlane
    invoker: Invoker
    metrics: Metrics
    subscriptions: Subscriptions
    token: str
    started_at: float
    # Where requests no HTTP trigger takes go once a `legacy:` section is applied.
    legacy: LegacyLayer
    dashboard: Dashboard


def find_examples() -> Path | None:
    """`examples/gaia.yaml` in the working directory, else beside the source tree."""
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        candidate = base / "examples" / "gaia.yaml"
        if candidate.is_file():
            return candidate
    return None


@contextlib.asynccontextmanager
async def gateway_services(
    settings: Settings, *, log_sink: LogSink | None = None
) -> AsyncIterator[Services]:
    """`log_sink` takes every line instances write (default: JSON lines on stderr)."""
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    token = ensure_token(home)
    try:
        tracer = Tracer(exporter_from_env(os.environ))
    except TracingUnavailable as exc:
        raise StartupError(str(exc)) from exc
    try:
        store = open_store(settings.store_url, home=home)
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
    started = {
        kind.name: kind.start(
            RuntimeContext(state_dir=home / "run", spares=settings.spares, log_sink=log_sink)
        )
        for kind in runtime_kinds.kinds()
    }
    control = ControlPlane(
        store=store,
        bundles_root=home / "bundles",
        runtimes=started,
        keep_revisions=settings.keep_revisions,
    )
    metrics = Metrics()
    metrics.add_pool_source(lambda: [pool for r in started.values() for pool in r.status()])
    invoker = Invoker(control=control, metrics=metrics, tracer=tracer)
    subscriptions = Subscriptions(
        invoker=invoker, drain_timeout_s=settings.drain_timeout_s, replica=settings.replica_name
    )
    control.add_listener(subscriptions.sync)
    metrics.add_trigger_source(subscriptions.states)
    legacy = LegacyLayer(
        control=control,
        invoker=invoker,
        body_limit=settings.body_limit,
        drain_timeout_s=settings.drain_timeout_s,
    )
    # Reads the counters the data plane keeps anyway, on its own clock.
    dashboard = Dashboard(
        control=control, subscriptions=subscriptions, counters=CollectorCounters(metrics)
    )
    try:
        # Stem cells boot now, so even the first revision to warm starts in milliseconds.
        for runtime in started.values():
            await runtime.start()
        await control.start()
        await _apply_initial(settings, control)
        await subscriptions.sync(control.state)
        await legacy.start()
        dashboard.start()
        yield Services(
            settings=settings,
            control=control,
            invoker=invoker,
            metrics=metrics,
            subscriptions=subscriptions,
            token=token,
            started_at=time.time(),
            legacy=legacy,
            dashboard=dashboard,
        )
    finally:
        await dashboard.aclose()
        await legacy.aclose()
        # Triggers drain first: their in-flight events still need the workers.
        await subscriptions.aclose()
        for runtime in started.values():
            await runtime.aclose()
        store.close()
        tracer.shutdown()  # sends the spans still batched


async def _apply_initial(settings: Settings, control: ControlPlane) -> None:
    path = settings.config_file
    if path is None and not control.state.functions:
        path = find_examples()
        if path is not None:
            log.info("GAIA_HOME %s is empty: serving the examples in %s", settings.home, path)
    if path is None:
        return
    try:
        plans = await control.apply(load_file(path, check_code=True))
    except ConfigError as exc:
        raise StartupError(str(exc)) from exc
    except GaiaError as exc:
        raise StartupError(str(error_in_file(path, exc.field, exc.message))) from exc
    for plan in plans:
        log.info("applied %s@%d (%s)", plan.function, plan.revision, plan.digest[:12])


def _listen(host: str, port: int, what: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(
            f"cannot listen for the {what} on {host}:{port}: {exc.strerror}; "
            f"choose another port with --{'admin-' if what == 'admin API' else ''}port"
        ) from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _server(
    app: ASGIApp,
    settings: Settings,
    *,
    proxy_headers: bool,
    http: type[asyncio.Protocol] | Literal["httptools"] = "httptools",
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        proxy_headers=proxy_headers,
        lifespan="off",
        access_log=False,
        log_config=None,
        http=http,
        loop="none",
        server_header=False,
        timeout_graceful_shutdown=max(1, round(settings.drain_timeout_s)),
    )
    return uvicorn.Server(config)


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ensure_fd_limit(settings.max_connections)
    data_sock = _listen(settings.host, settings.port, "data plane")
    admin_sock = _listen(settings.admin_host, settings.admin_port, "admin API")
    function_logs = FunctionLogs()
    function_logs.bind(loop)
    access_log = JsonLines(tap=function_logs.publish)
    log_tap = FunctionLogTap(function_logs)
    logging.getLogger().addHandler(log_tap)
    async with gateway_services(settings, log_sink=stamped(access_log.write)) as services:
        data_app = DataPlane(
            control=services.control,
            invoker=services.invoker,
            access_log=access_log,
            body_limit=settings.body_limit,
        )
        services.legacy.serve_through(data_app.use_fallback)
        admin_app = build_admin_app(
            AdminRoutes(
                control=services.control,
                invoker=services.invoker,
                metrics=services.metrics,
                subscriptions=services.subscriptions,
                logs=function_logs,
                data_plane_url=settings.data_plane_url,
                started_at=services.started_at,
                dashboard=services.dashboard,
            ),
            token=services.token,
        )
        services.metrics.add_log_followers(function_logs.followers)
        http_counters = HttpCounters()
        services.metrics.add_http_counters(http_counters)
        guarded = GuardedHttpTools.configured(settings.http_limits, http_counters)
        data_server = _server(data_app, settings, proxy_headers=False, http=guarded)
        http_counters.connections = data_server.server_state.connections
        servers = [
            ("data_plane", data_server, data_sock),
            ("admin", _server(admin_app, settings, proxy_headers=False), admin_sock),
        ]
        # Server.serve() would install uvicorn's own signal handlers for each listener;
        # _serve() is the same startup, main loop and shutdown without them, so this one
        # lifespan decides when both stop.
        tasks = [
            asyncio.create_task(as_listener(name, server._serve(sockets=[sock])))
            for name, server, sock in servers
        ]
        while not all(server.started for _, server, _ in servers):
            if any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.01)
        if all(server.started for _, server, _ in servers):
            freeze_startup_objects()
            log.info(
                "gaia is serving: data plane %s, admin API http://%s:%d",
                settings.data_plane_url,
                settings.admin_host,
                settings.admin_port,
            )
            print(
                f"gaia ready: data plane {settings.data_plane_url}, "
                f"admin API http://{settings.admin_host}:{settings.admin_port}",
                file=sys.stderr,
                flush=True,
            )
            if settings.watch and settings.config_file is not None:
                dev_loop = DevLoop(
                    control=services.control, config_file=settings.config_file, echo=_echo
                )
                tasks.append(asyncio.create_task(dev_loop.run(stop)))
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            stop.set()
        log.info("shutting down: draining in-flight requests")
        services.dashboard.feed.close()  # its open streams would hold the admin listener
        for _, server, _ in servers:
            server.should_exit = True
        await asyncio.gather(*tasks)
    # After the workers stopped: their last lines too.
    access_log.flush()
    logging.getLogger().removeHandler(log_tap)


def _echo(line: str) -> None:
    print(line, flush=True)


def run(settings: Settings) -> int:
    import uvloop

    configure_logging()
    tune_for_serving()
    try:
        uvloop.run(serve(settings))
    except StartupError as exc:
        print(f"gaia: {exc}", file=sys.stderr)
        return 1
    return 0
