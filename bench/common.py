"""What the benchmarks share: processes (started in their own groups, all stopped on
exit), one-shot HTTP requests, a gateway on free ports, functions and triggers applied
through its admin API, wrk and its output, the machine.

A benchmark runs from the repository root as `python -m bench.NAME`, and `run_script`
runs its body.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0
STOP_GRACE_S = 15.0
SURVIVOR_GRACE_S = 2.0
POLL_S = 0.02

T = TypeVar("T")


class BenchError(Exception):
    """A failure worth a one-line message instead of a traceback."""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- small utilities -------------------------------------------------------------------


def wait_until(condition: Callable[[], T | None], *, timeout_s: float, what: str) -> T:
    """Poll `condition` until it returns a value other than None, within a deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            raise BenchError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(POLL_S)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 20 samples is the largest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    elapsed_ms: float
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(
    url: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
) -> Reply:
    """One request on a new connection; elapsed covers connect to the last body byte."""
    import http.client  # imported late: see the module docstring
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout_s)
    try:
        conn.request(method, target, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    elapsed_ms = (time.perf_counter() - started) * 1000
    received = {name.lower(): value for name, value in response.getheaders()}
    return Reply(response.status, data, elapsed_ms, received)


def try_get(url: str, timeout_s: float = 2.0) -> Reply | None:
    """A GET that answers None instead of raising while a server is still starting."""
    try:
        return http_request(url, timeout_s=timeout_s)
    except OSError:
        return None


# --- /proc ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    comm: str
    state: str
    cpu_ticks: int
    start_ticks: int


def read_stat(pid: int) -> ProcStat | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, utime/stime 14/15, starttime 22.
    return ProcStat(
        pid=pid,
        ppid=int(fields[1]),
        comm=comm,
        state=fields[0],
        cpu_ticks=int(fields[11]) + int(fields[12]),
        start_ticks=int(fields[19]),
    )


def all_stats() -> list[ProcStat]:
    stats = (read_stat(int(entry)) for entry in os.listdir("/proc") if entry.isdigit())
    return [stat for stat in stats if stat is not None]


def descendants(root: int) -> list[ProcStat]:
    children: dict[int, list[ProcStat]] = {}
    for stat in all_stats():
        children.setdefault(stat.ppid, []).append(stat)
    found: list[ProcStat] = []
    frontier = [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.append(child)
            frontier.append(child.pid)
    return found


def family_cpu_ticks(root: int) -> int:
    """CPU ticks used so far by `root` and every process below it (a gateway and its
    sandboxed workers)."""
    family = [root, *(stat.pid for stat in descendants(root))]
    return sum(stat.cpu_ticks for stat in map(read_stat, family) if stat is not None)


# With --pin: the servers measured on one CPU, what loads them (wrk, clients) on the other.
SERVER_CPU, LOAD_CPU = 0, 1

# --- processes ------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise BenchError(
                f"{self.name} exited with code {self.popen.returncode}; "
                f"last lines of its log:\n{tail(self.log)}"
            )


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Processes:
    """Every process this benchmark started; `stop_all` leaves none of them behind."""

    running: list[Proc] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], *, log: Path, env: Mapping[str, str]) -> Proc:
        with log.open("ab") as sink:
            popen = subprocess.Popen(
                argv,
                cwd=REPO,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
                start_new_session=True,  # own process group, out of reach of the tty's ^C
            )
        proc = Proc(name, popen, log)
        self.running.append(proc)
        return proc

    def stop(self, proc: Proc) -> None:
        """SIGTERM the group, SIGKILL after a grace period, then any orphaned descendants
        (sandboxed workers run in sessions of their own)."""
        if proc in self.running:
            self.running.remove(proc)
        family = descendants(proc.pid)
        signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.popen.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)
            proc.popen.wait(timeout=STOP_GRACE_S)
        kill_survivors(family, proc.name)

    def stop_all(self) -> None:
        for proc in reversed(list(self.running)):
            self.stop(proc)


def signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def still_running(stat: ProcStat) -> bool:
    """The same process (pid and start time) exists and is not a zombie."""
    current = read_stat(stat.pid)
    return current is not None and current.start_ticks == stat.start_ticks and current.state != "Z"


def kill_survivors(family: Sequence[ProcStat], name: str) -> None:
    """Give `name`'s recorded descendants a moment to exit, then SIGKILL the rest."""
    deadline = time.monotonic() + SURVIVOR_GRACE_S
    survivors = [stat for stat in family if still_running(stat)]
    while survivors and time.monotonic() < deadline:
        time.sleep(POLL_S)
        survivors = [stat for stat in survivors if still_running(stat)]
    if survivors:
        progress(f"  {len(survivors)} processes outlived the {name}; killing them")
    for stat in survivors:
        with contextlib.suppress(ProcessLookupError):
            os.kill(stat.pid, signal.SIGKILL)


# --- wrk ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int = 0
    non_2xx: int = 0  # "Non-2xx or 3xx responses", printed by wrk only when there are any
    socket_errors: int = 0  # connect + read + write + timeout

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    def describe(self) -> str:
        errors = f", {self.errors} errors" if self.errors else ""
        return (
            f"{self.rps:>9,.0f} req/s  p50 {self.p50_ms:.3f} ms  p99 {self.p99_ms:.3f} ms{errors}"
        )


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_REQUESTS = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def wrk_command(url: str, connections: int, duration_s: int) -> list[str]:
    return ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency", url]


def parse_wrk(output: str) -> WrkResult:
    latencies = {int(m[1]): float(m[2]) * _UNIT_MS[m[3]] for m in _LATENCY.finditer(output)}
    rps = _RPS.search(output)
    requests = _REQUESTS.search(output)
    if rps is None or requests is None or set(latencies) != {50, 99}:
        raise BenchError(f"cannot parse wrk output:\n{output}")
    socket_errors = _SOCKET_ERRORS.search(output)
    non_2xx = _NON_2XX.search(output)
    return WrkResult(
        rps=float(rps[1]),
        p50_ms=latencies[50],
        p99_ms=latencies[99],
        requests=int(requests[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
    )


def run_wrk(url: str, *, connections: int, duration_s: int) -> WrkResult:
    command = wrk_command(url, connections, duration_s)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration_s + 30, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"{shlex.join(command)} failed:\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


# --- the gateway ----------------------------------------------------------------------


@dataclass
class Gateway:
    proc: Proc
    port: int
    admin_port: int
    home: Path

    def url(self, path: str) -> str:
        """A data-plane URL."""
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment under which `python -m gateway ...` (the CLI) talks to it."""
        return {**os.environ, "GAIA_HOME": str(self.home), "GAIA_ADMIN_URL": self.admin_url}

    def admin(self, method: str, path: str, body: object = None) -> Reply:
        token = (self.home / "admin-token").read_text().strip()
        data = b"" if body is None else json.dumps(body).encode()
        return http_request(
            f"{self.admin_url}{path}",
            method=method,
            body=data,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout_s=60.0,
        )

    def admin_json(self, method: str, path: str, body: object = None) -> Any:
        reply = self.admin(method, path, body)
        if reply.status >= 300:
            raise BenchError(f"{method} {path}: HTTP {reply.status}: {reply.body.decode()}")
        return reply.json()


def start_server(
    procs: Processes,
    name: str,
    argv: list[str],
    *,
    log: Path,
    ready_text: str,
    env: Mapping[str, str],
    server_log: Path | None = None,
) -> Proc:
    """Spawn a server (a broker, Redis) and wait for `ready_text` in its log: its output
    in `log`, or `server_log` for a server that writes a log file of its own."""
    proc = procs.spawn(name, argv, log=log, env=env)
    watched = server_log or log

    def ready() -> bool | None:
        proc.check_alive()
        text = watched.read_text(errors="replace") if watched.exists() else ""
        return True if ready_text in text else None

    wait_until(ready, timeout_s=START_TIMEOUT_S, what=f"{name} to be ready")
    return proc


def wait_serving(proc: Proc, url: str) -> None:
    def ready() -> bool | None:
        proc.check_alive()
        reply = try_get(url)
        return True if reply is not None and reply.status == 200 else None

    wait_until(ready, timeout_s=START_TIMEOUT_S, what=f"{proc.name} to answer {url}")


def start_gateway(
    procs: Processes,
    home: Path,
    *,
    log: Path,
    ready_path: str | None,
    command: str = "up",
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    module: str = "gateway",
) -> Gateway:
    """`python -m MODULE COMMAND [-f CONFIG]` (`gateway`, or a wrapper of it) on two free
    ports, with GAIA_HOME=home; returns once the data plane answers `ready_path` with 200
    (when there is one: a gateway without HTTP triggers has none) and the admin API is
    up. `env` adds to the gateway's environment (GAIA_STORE, say)."""
    port, admin_port = free_port(), free_port()
    argv = [sys.executable, "-m", module, command, "--port", str(port)]
    argv += ["--admin-port", str(admin_port)]
    if config is not None:
        argv += ["-f", str(config)]
    # Benchmarks publish many revisions and invoke old ones: retention must not delete them.
    environ = {**os.environ, "GAIA_HOME": str(home), "GAIA_KEEP_REVISIONS": "1000", **(env or {})}
    proc = procs.spawn(f"gateway ({command})", argv, log=log, env=environ)
    gateway = Gateway(proc, port, admin_port, home)
    if ready_path is not None:
        wait_serving(proc, gateway.url(ready_path))
    wait_serving(proc, f"{gateway.admin_url}/healthz")
    return gateway


# --- functions and triggers through the admin API -----------------------------------


def bundle(code_dir: Path) -> str:
    """A code directory as the admin API takes it: a base64 gzip tarball."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(code_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                tar.add(path, arcname=path.relative_to(code_dir).as_posix())
    return base64.b64encode(buffer.getvalue()).decode()


def apply_functions(
    gateway: Gateway, functions: Mapping[str, Any], bundles: Mapping[str, str]
) -> None:
    """`gaia apply` of a gaia.yaml holding `functions` (name -> its YAML mapping), with
    each one's code bundle; a benchmark only changes triggers, so an apply that
    published a new revision is an error."""
    body = {
        "file": "gaia.yaml",
        "document": {"functions": dict(functions)},
        "bundles": dict(bundles),
    }
    plans: dict[str, Any] = gateway.admin_json("POST", "/v1/apply", body)
    if any(plan["created_revision"] for plan in plans["functions"]):
        raise BenchError(f"applying a trigger published a new revision: {plans}")


def trigger_state(gateway: Gateway, trigger_id: str) -> dict[str, Any] | None:
    """`GET /v1/triggers/{trigger_id}`'s live state; None while it is not running."""
    gateway.proc.check_alive()
    reply = gateway.admin("GET", f"/v1/triggers/{trigger_id}")
    if reply.status != 200:
        raise BenchError(f"GET /v1/triggers/{trigger_id}: HTTP {reply.status}: {reply.body!r}")
    state: dict[str, Any] | None = reply.json().get("state")
    return state


# --- report ---------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    """A table's "met?" cell."""
    return "yes" if ok else "**no**"


def markdown_table(
    header: Sequence[str], align: Sequence[str], rows: Iterable[Sequence[str]]
) -> str:
    """`align` holds each column's separator cell: "---" or "---:"."""
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> str:
    return (
        f"nproc {os.cpu_count()}, CPU {cpu_model()}, "
        f"Linux {platform.release()}, Python {platform.python_version()}"
    )


def command_line() -> str:
    """How this script was started, with the interpreter spelled `python`."""
    return shlex.join(["python", *sys.orig_argv[1:]])


def sandbox() -> str:
    return "bubblewrap" if shutil.which("bwrap") else "none (bwrap not on PATH)"


def footer(load_before: float) -> list[str]:
    """The report's last lines: how it ran, where, and how busy the machine was."""
    return [
        f"command: {command_line()}",
        f"machine: {machine()}, sandbox {sandbox()}",
        f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after",
    ]


# --- main -----------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_script(prog: str, body: Callable[[Processes, Path], str], *, needs_wrk: bool = True) -> int:
    """Run `body(procs, workdir)` in a fresh temporary directory, with SIGINT and SIGTERM
    raising KeyboardInterrupt; stop every process in `procs` whatever happens, then print
    the report `body` returned. The exit code: 0, 1 (BenchError), 2 (no wrk when
    `needs_wrk`), 130."""
    if needs_wrk and shutil.which("wrk") is None:
        print(f"{prog}: wrk is not on PATH (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a background job ignores it
        signal.signal(signum, _raise_interrupt)
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="gaia-bench-") as tmp:
        try:
            report = body(procs, Path(tmp))
        except BenchError as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"{prog}: interrupted; stopping everything it started", file=sys.stderr)
            return 130
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            progress("stopping the servers")
            procs.stop_all()
    print(report)
    return 0
