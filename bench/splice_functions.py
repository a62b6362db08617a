"""bench.splice_cost's `function` and `container` states: an HTTP trigger's request
passed straight to a leased instance, without sockets or instance processes.

What runs is the gateway's own: a ControlPlane (in-memory store) that applied a
gaia.yaml with the function, the Invoker (metrics, limits, tracer), the DataPlane as
the protocol's splicer, the access log tapped into the function's log ring as
`gateway up` taps it, the runtime's pool with its lease (`function`: an `interface:
asgi` revision's RevisionPool and WorkerLease; `container`: a ContainerPool and
ContainerLease) and the pool's HTTP client. Only the instance is a stand-in: the
pool's `_start_instance` returns one made as the runtime makes it, marked ready
without a process, and the client's kept connection to it is answered the bytes the
instance would write (the worker's uvicorn server, bench/apps/node_hello's Node.js).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import uvicorn
from uvicorn.server import ServerState

from bench import asgi_app, container
from bench.splice_wire import Fed, Transport
from gateway.accesslog import JsonLines
from gateway.config import parse_config
from gateway.control import ControlPlane
from gateway.dataplane import DataPlane
from gateway.http.limits import HttpCounters, HttpLimits
from gateway.http.protocol import GuardedHttpTools
from gateway.invoker import Invoker
from gateway.logs import FunctionLogs
from gateway.metrics import Metrics
from gateway.store import MemoryStore
from httpkit.client import Connection, HttpClient, Origin
from runtime_adapters.base import RevisionSpec
from runtime_adapters.container.instance import ContainerInstance
from runtime_adapters.container.pool import ContainerPool
from runtime_adapters.container.runtime import ContainerRuntime
from runtime_adapters.container.sandbox import Launch
from runtime_adapters.python.instance import Instance
from runtime_adapters.python.pool import RevisionPool
from runtime_adapters.python.runtime import PythonRuntime

FUNCTION_STATES = ("function", "container")

# What the instance answers `GET /hello`: an ASGI worker's server (http_serve.py sends
# no Date or Server) running bench/apps/asgi_hello; bench/apps/node_hello on Node.js.
ANSWERS = {
    "function": (
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n"
        b"content-type: text/plain; charset=utf-8\r\n\r\nhello"
    ),
    "container": (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n"
        b"Date: Sun, 29 Nov 2026 12:00:00 GMT\r\nConnection: keep-alive\r\n"
        b"Keep-Alive: timeout=5\r\n\r\nhello"
    ),
}

# The gaia.yaml of bench.asgi_app and bench.container: the function they measure.
GAIA_YAML = {"function": asgi_app.GAIA_YAML, "container": container.GAIA_YAML}


class _WorkerPool(RevisionPool):
    async def _start_instance(self) -> Instance:
        instance = Instance(
            ident="1",
            slot=Path("/nonexistent/slot-1"),
            network=False,
            sandbox=None,  # type: ignore[arg-type]
            sink=lambda record: None,
            stop_grace_s=0,
        )
        instance.spec = self.spec
        instance.owner = self
        instance.concurrency = self.spec.concurrency
        instance.http_path = "/nonexistent/slot-1.http"
        instance.state = "ready"
        self._origins[instance] = self.http.origin_of(instance)
        return instance


class _Workers(PythonRuntime):
    async def start(self) -> None:
        return None  # no stem cells: the one instance is a stand-in

    async def _new_pool(self, spec: RevisionSpec) -> RevisionPool:
        return _WorkerPool(spec, spares=self._spares, options=self._options, sink=self._sink)


class _ContainerPool(ContainerPool):
    async def _start_instance(self) -> ContainerInstance:
        spec = self.spec
        launch = Launch(
            command=self._command,
            code_dir=Path(spec.bundle_dir),
            image=None,
            env=spec.env,
            port=9,
            memory_bytes=spec.memory_bytes,
        )
        instance = ContainerInstance(
            ident="1",
            spec=spec,
            launch=launch,
            sink=self._sink,
            stop_grace_s=0,
            deadlines=self.deadlines,
        )
        instance.state = "ready"
        instance.owner = self
        return instance


class _Containers(ContainerRuntime):
    async def _new_pool(self, spec: RevisionSpec) -> ContainerPool:
        return _ContainerPool(spec, image=None, sink=self._sink, queue_limit=None, stop_grace_s=0)


class FunctionSetup(Fed):
    """One function state's gateway and instance, fed requests on demand (build with
    `await FunctionSetup.build(state)`)."""

    def __init__(self, state: str, scratch: tempfile.TemporaryDirectory[str]) -> None:
        self.state = state
        self.answer = ANSWERS[state]
        self._scratch = scratch
        root = Path(scratch.name)
        self.runtimes = {
            "python": _Workers(root / "python", sandbox=False, spares=0),
            "container": _Containers(root / "container", stop_grace_s=0),
        }
        self.control = ControlPlane(
            store=MemoryStore(), bundles_root=root / "bundles", runtimes=self.runtimes
        )
        self.log = io.BytesIO()
        self.access_log = JsonLines(self.log, logs=FunctionLogs())
        data_plane = DataPlane(
            control=self.control,
            invoker=Invoker(control=self.control, metrics=Metrics()),
            access_log=self.access_log,
        )
        protocol_class = GuardedHttpTools.configured(HttpLimits(), HttpCounters(), data_plane)
        uvicorn_config = uvicorn.Config(data_plane, lifespan="off", log_config=None)
        self.protocol = protocol_class(
            config=uvicorn_config, server_state=ServerState(), app_state={}
        )
        self.upstream: Connection

    @classmethod
    async def build(cls, state: str) -> FunctionSetup:
        setup = cls(state, tempfile.TemporaryDirectory(prefix="gaia-splice-"))
        root = Path(setup._scratch.name)
        code = root / "app"
        code.mkdir()
        (code / "main.py").write_text("app = None\n")
        (code / "server.js").write_text("")
        await setup.control.start()
        await setup.control.apply(parse_config(GAIA_YAML[state], file="gaia.yaml", base_dir=root))
        setup.client_side = Transport()
        setup.protocol.connection_made(setup.client_side)  # type: ignore[arg-type]
        setup.upstream = setup._kept_connection()
        return setup

    def _kept_connection(self) -> Connection:
        """The pool client's kept connection to the instance, answering through a
        counting transport."""
        (pool,) = self.runtimes[_runtime_of(self.state)]._pools.values()
        client: HttpClient
        origin: Origin
        if isinstance(pool, _WorkerPool):
            ((_, origin),) = pool._origins.items()
            client = pool.http
        else:
            assert isinstance(pool, _ContainerPool)
            (instance,) = pool.instances()
            client, origin = instance.upstream.http, instance.upstream.origin
        connection = Connection(client, origin)
        connection.connection_made(Transport())  # type: ignore[arg-type]
        client.keep(connection)
        return connection

    async def aclose(self) -> None:
        for runtime in self.runtimes.values():
            await runtime.aclose()
        self._scratch.cleanup()


def _runtime_of(state: str) -> str:
    return "python" if state == "function" else "container"
