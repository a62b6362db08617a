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
import math
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
from gateway.admin.app import build_admin_app
from gateway.admin.auth import ensure_token
from gateway.admin.routes import AdminRoutes
from gateway.cluster import Follower
from gateway.collector import freeze_startup_objects, tune_for_serving
from gateway.config import ConfigError
from gateway.control import ControlPlane
from gateway.dataplane import DataPlane
from gateway.dev import DevLoop
from gateway.http.limits import HttpCounters, HttpLimits, ensure_fd_limit
from gateway.http.protocol import GuardedHttpTools
from gateway.invoker import Invoker
from gateway.lifecycle import Lifecycle, StartingAdmin
from gateway.listener_logs import as_listener
from gateway.logs import FunctionLogs, stamped
from gateway.metrics import Metrics
from gateway.otel import TracingUnavailable, exporter_from_env
from gateway.settings import Settings
from gateway.startup_file import apply_at_start
from gateway.store import StoreUnavailable, open_store
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
    # Keeps this gateway on a shared store's newest version.
    follower: Follower


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
        store = open_store(settings.store_url, home=home, replica=settings.replica_name)
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
    invoker = Invoker(
        control=control, metrics=metrics, replica=settings.replica_name, tracer=tracer
    )
    subscriptions = Subscriptions(
        invoker=invoker,
        drain_timeout_s=settings.drain_timeout_s,
        replica=settings.replica_name,
        shared_redis=store.shared_redis,
    )
    control.add_listener(subscriptions.sync)
    metrics.add_trigger_source(subscriptions.states)
    legacy = LegacyLayer(
        control=control,
        invoker=invoker,
        body_limit=settings.body_limit,
        drain_timeout_s=settings.drain_timeout_s,
    )
    follower = Follower(control)
    # Reads the counters the data plane keeps anyway, on its own clock.
    dashboard = Dashboard(
        control=control, subscriptions=subscriptions, counters=CollectorCounters(metrics)
    )
    try:
        # Stem cells boot now, so even the first revision to warm starts in milliseconds.
        for runtime in started.values():
            await runtime.start()
        try:
            await control.start()
        except StoreUnavailable as exc:
            raise StartupError(f"{exc}: start it, or check GAIA_STORE") from exc
        await _apply_initial(settings, control)
        await subscriptions.sync(control.state)
        await legacy.start()
        dashboard.start()
        # From here on, changes other replicas make reach triggers and the legacy layer
        # through the control plane's listeners, as local ones do.
        follower.start()
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
            follower=follower,
        )
    finally:
        await follower.aclose()
        await dashboard.aclose()
        await legacy.aclose()
        # Triggers drain first: their in-flight events still need the workers.
        await subscriptions.aclose()
        for runtime in started.values():
            await runtime.aclose()
        await invoker.guard.aclose()
        await store.close()
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
        await apply_at_start(control, path, reapply=settings.reapply)
    except ConfigError as exc:
        raise StartupError(str(exc)) from exc


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
    *,
    drain_s: float,
    proxy_headers: bool,
    http: type[asyncio.Protocol] | Literal["httptools"] = "httptools",
    keep_alive_s: float = HttpLimits.keep_alive_s,
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
        timeout_graceful_shutdown=max(1, math.ceil(drain_s)),
        # Typed int, but uvicorn only schedules a timer with it: a fraction works.
        timeout_keep_alive=keep_alive_s,  # type: ignore[arg-type]
    )
    return uvicorn.Server(config)


def _listener(name: str, server: uvicorn.Server, sock: socket.socket) -> asyncio.Task[None]:
    # Server.serve() would install uvicorn's own signal handlers for each listener;
    # _serve() is the same startup, main loop and shutdown without them, so this one
    # lifespan decides when each stops.
    return asyncio.create_task(as_listener(name, server._serve(sockets=[sock])))


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    while not server.started:
        if task.done():
            return False
        await asyncio.sleep(0.01)
    return True


async def _stopped(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await task


async def serve(settings: Settings) -> None:
    """Run until SIGTERM or SIGINT, then shut down within `settings.shutdown_timeout_s`:
    readiness fails at once; the data plane stops accepting and finishes its in-flight
    requests while the triggers stop taking events, finish theirs, commit their offsets
    and release their leases, both within the drain time; then the admin listener and
    the workers stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ensure_fd_limit(settings.max_connections)
    data_sock = _listen(settings.host, settings.port, "data plane")
    admin_sock = _listen(settings.admin_host, settings.admin_port, "admin API")
    function_logs = FunctionLogs()
    function_logs.bind(loop)
    access_log = JsonLines(logs=function_logs)
    log_tap = FunctionLogTap(function_logs)
    logging.getLogger().addHandler(log_tap)
    lifecycle = Lifecycle()
    # The admin listener answers the probes while the state loads and pools warm.
    admin_app = StartingAdmin(lifecycle)
    admin_server = _server(admin_app, drain_s=1.0, proxy_headers=False)
    admin_task = _listener("admin", admin_server, admin_sock)
    try:
        async with gateway_services(settings, log_sink=stamped(access_log.write)) as services:
            await _serve_data_plane(
                settings, services, lifecycle, admin_app, access_log, function_logs, stop,
                data_sock,
            )  # fmt: skip
    finally:
        await _stopped(admin_server, admin_task)
        # After the workers stopped: their last lines too.
        access_log.flush()
        logging.getLogger().removeHandler(log_tap)


async def _serve_data_plane(
    settings: Settings,
    services: Services,
    lifecycle: Lifecycle,
    admin_app: StartingAdmin,
    access_log: JsonLines,
    function_logs: FunctionLogs,
    stop: asyncio.Event,
    data_sock: socket.socket,
) -> None:
    data_app = DataPlane(
        control=services.control,
        invoker=services.invoker,
        access_log=access_log,
        body_limit=settings.body_limit,
    )
    services.legacy.serve_through(data_app.use_fallback)
    admin_app.app = build_admin_app(
        AdminRoutes(
            control=services.control,
            invoker=services.invoker,
            metrics=services.metrics,
            subscriptions=services.subscriptions,
            logs=function_logs,
            data_plane_url=settings.data_plane_url,
            started_at=services.started_at,
            dashboard=services.dashboard,
            store_status=services.follower.status,
            lifecycle=lifecycle,
        ),
        token=services.token,
    )
    services.metrics.add_log_followers(function_logs.followers)
    http_counters = HttpCounters()
    services.metrics.add_http_counters(http_counters)
    guarded = GuardedHttpTools.configured(settings.http_limits, http_counters, data_app)
    drain_s = settings.drain_s
    data_server = _server(
        data_app,
        drain_s=drain_s,
        proxy_headers=False,
        http=guarded,
        keep_alive_s=settings.http_limits.keep_alive_s,
    )
    http_counters.connections = data_server.server_state.connections
    data_task = _listener("data_plane", data_server, data_sock)
    tasks = [data_task]
    if await _started(data_server, data_task):
        freeze_startup_objects()
        lifecycle.serving(services.control)
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
    lifecycle.draining()
    log.info("shutting down: draining in-flight requests and events for up to %gs", drain_s)
    await asyncio.gather(
        _stopped(data_server, data_task),
        services.subscriptions.aclose(timeout_s=drain_s),
        *tasks[1:],
    )
    services.dashboard.feed.close()  # its open streams would hold the admin listener


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
