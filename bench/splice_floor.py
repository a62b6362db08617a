"""Whether 0.7x nginx is within reach of a Python data plane on this machine at all: the
bare Python splice (bench/bare_splice.py, no gaia work) beside nginx, each with one and
with two processes, before the same old API, in one run.

    python -m bench.splice_floor [--duration 5] [--repeat 3] [--no-gaia]

Targets, all proxying `GET /hello` to one old API process (tests/legacy/oldapi.py on
uvicorn with httptools and uvloop): nginx with 1 worker and with 2 (the reverse-proxy
block of tests/legacy/proxy/nginx.py), the bare splice with 1 process and with 2
(SO_REUSEPORT), and, unless `--no-gaia`, `gaia up` with `legacy.upstream` only (one
process, as shipped). wrk at 32 connections alternates over them, `--repeat` times after
a warm-up; medians.

Per target: requests/s; CPU µs per request of the proxy, of the old API behind it and
of wrk (the three share the machine's cores), the cores the three kept busy together,
and the cores the whole machine was busy (from /proc/stat: others' work too). Then the
ratios bare / nginx, and what the 0.7x target leaves for a proxy's per-request work: with
the cores busy, requests/s is about the cores the three get / (CPU per request of
proxy + old API + wrk); so at the cores nginx's three got, 0.7x nginx's requests/s
allows their sum to grow by 1/0.7, the proxy's CPU per request to
nginx's / 0.7 + (old API + wrk) x (1/0.7 - 1), and a proxy of N processes no more than
N whole cores. That budget is printed beside what the bare splice and gaia spend.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    Processes,
    WrkResult,
    free_port,
    markdown_table,
    progress,
    run_script,
    run_wrk,
    start_gateway,
    wait_serving,
    wrk_command,
)
from bench.hot_path import median_result, warm_up
from bench.legacy_proxy import (
    PATH,
    RATIO_TARGET,
    checked_runs,
    runs_parser,
    start_old_api,
    where,
)
from bench.side_by_side import Target
from tests.legacy.proxy.nginx import nginx_argv, write_config

WARMUP_S = 2
TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proxy:
    target: Target
    processes: int


@dataclass(frozen=True)
class Round:
    """One wrk run against one proxy: requests/s and where the CPU went, per request."""

    wrk: WrkResult
    proxy_us: float
    old_api_us: float
    wrk_us: float
    busy_cores: float

    @property
    def cores(self) -> float:
        """The cores the proxy, the old API and wrk were busy together."""
        return (self.proxy_us + self.old_api_us + self.wrk_us) * self.wrk.rps / 1e6


@dataclass(frozen=True)
class Figures:
    rps: float
    proxy_us: float
    old_api_us: float
    wrk_us: float
    cores: float
    busy_cores: float
    errors: int

    @classmethod
    def of(cls, rounds: Sequence[Round]) -> Figures:
        return cls(
            rps=median_result([r.wrk for r in rounds]).rps,
            proxy_us=statistics.median(r.proxy_us for r in rounds),
            old_api_us=statistics.median(r.old_api_us for r in rounds),
            wrk_us=statistics.median(r.wrk_us for r in rounds),
            cores=statistics.median(r.cores for r in rounds),
            busy_cores=statistics.median(r.busy_cores for r in rounds),
            errors=sum(r.wrk.errors for r in rounds),
        )


def busy_ticks() -> tuple[int, int]:
    """The machine's (busy, all) CPU ticks since boot, over every core."""
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def children_cpu_s() -> float:
    """CPU seconds of this process's finished children: after a run_wrk, wrk's."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(proxy: Proxy, old_api: Target, *, duration_s: int) -> Round:
    proxy_before, old_before = proxy.target.cpu_ticks(), old_api.cpu_ticks()
    machine_before, wrk_before = busy_ticks(), children_cpu_s()
    result = run_wrk(proxy.target.url, connections=32, duration_s=duration_s)
    machine_after = busy_ticks()
    requests = max(result.requests, 1)
    busy = machine_after[0] - machine_before[0]
    cores = os.cpu_count() or 1
    return Round(
        wrk=result,
        proxy_us=(proxy.target.cpu_ticks() - proxy_before) * TICK_US / requests,
        old_api_us=(old_api.cpu_ticks() - old_before) * TICK_US / requests,
        wrk_us=(children_cpu_s() - wrk_before) * 1e6 / requests,
        busy_cores=cores * busy / max(machine_after[1] - machine_before[1], 1),
    )


def start_proxies(
    procs: Processes, workdir: Path, *, with_gaia: bool
) -> tuple[Target, dict[str, Proxy]]:
    upstream_port, old_api = start_old_api(procs, workdir)
    proxies: dict[str, Proxy] = {}
    for workers in (1, 2):
        port = free_port()
        prefix = workdir / f"nginx-{workers}"
        config = write_config(prefix, port=port, upstream_port=upstream_port, workers=workers)
        nginx = procs.spawn(f"nginx x{workers}", nginx_argv(prefix, config),
                            log=workdir / f"nginx-{workers}.log", env=os.environ)  # fmt: skip
        url = f"http://127.0.0.1:{port}{PATH}"
        wait_serving(nginx, url)
        proxies[f"nginx x{workers}"] = Proxy(Target(url, (nginx.pid,)), workers)
    for processes in (1, 2):
        port = free_port()
        argv = [sys.executable, "-m", "bench.bare_splice", str(port), str(upstream_port)]
        bare = procs.spawn(f"bare x{processes}", [*argv, "--processes", str(processes)],
                           log=workdir / f"bare-{processes}.log", env=os.environ)  # fmt: skip
        url = f"http://127.0.0.1:{port}{PATH}"
        wait_serving(bare, url)
        proxies[f"bare x{processes}"] = Proxy(Target(url, (bare.pid,)), processes)
    if with_gaia:
        gaia_yaml = workdir / "gaia.yaml"
        gaia_yaml.write_text(
            f"functions: {{}}\nlegacy:\n  upstream: http://127.0.0.1:{upstream_port}\n"
        )
        gateway = start_gateway(
            procs, workdir / "home", log=workdir / "gateway.log", ready_path=PATH, config=gaia_yaml
        )
        proxies["gaia x1"] = Proxy(Target(gateway.url(PATH), (gateway.proc.pid,)), 1)
    return old_api, proxies


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> str:
    load_before = os.getloadavg()[0]
    progress(f"load average (1 min) before: {load_before:.2f}; starting the servers")
    old_api, proxies = start_proxies(procs, workdir, with_gaia=args.gaia)
    warm_up({name: proxy.target.url for name, proxy in proxies.items()}, WARMUP_S)
    rounds: dict[str, list[Round]] = {name: [] for name in proxies}
    progress(f"32 connections, {args.duration}s x {args.repeat}, alternating")
    for round_no in range(1, args.repeat + 1):
        for name, proxy in proxies.items():
            measured = measure(proxy, old_api, duration_s=args.duration)
            progress(f"  run {round_no}/{args.repeat} {name:<8} {measured.wrk.describe()}"
                     f"  CPU µs/request proxy {measured.proxy_us:.0f} old API"
                     f" {measured.old_api_us:.0f} wrk {measured.wrk_us:.0f}; cores"
                     f" {measured.cores:.2f} of {measured.busy_cores:.2f} busy")  # fmt: skip
            rounds[name].append(measured)
    figures = {name: Figures.of(found) for name, found in rounds.items()}
    notes = [
        *where(load_before, os.getloadavg()[0]),
        f"Load: `{shlex.join(wrk_command('URL', 32, args.duration))}`, alternating over the"
        f" targets, {args.repeat} run(s) each after a {WARMUP_S}s warm-up; medians;"
        f" {sum(f.errors for f in figures.values())} errors.",
    ]
    return "\n\n".join(
        [
            table(figures),
            ratios(figures),
            budgets(figures, {name: proxy.processes for name, proxy in proxies.items()}),
            "\n".join(f"- {n}" for n in notes),
        ]
    )


def table(figures: dict[str, Figures]) -> str:
    rows = [
        (
            name,
            f"{f.rps:,.0f}",
            f"{f.proxy_us:.0f}",
            f"{f.old_api_us:.0f}",
            f"{f.wrk_us:.0f}",
            f"{f.proxy_us + f.old_api_us + f.wrk_us:.0f}",
            f"{f.cores:.2f}",
            f"{f.busy_cores:.2f}",
        )
        for name, f in figures.items()
    ]
    return markdown_table(
        (
            "proxy",
            "req/s, 32 conn.",
            "CPU µs/req: proxy",
            "old API",
            "wrk",
            "sum",
            "cores: the three",
            "machine busy",
        ),
        ("---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"),
        rows,
    )


def ratios(figures: dict[str, Figures]) -> str:
    pairs = [("bare x1", "nginx x1"), ("bare x2", "nginx x2"), ("bare x2", "nginx x1")]
    if "gaia x1" in figures:
        pairs += [("gaia x1", "nginx x1"), ("gaia x1", "bare x1")]
    rows = [
        (
            f"{a} / {b}",
            f"{figures[a].rps / figures[b].rps:.2f}x",
            f"≥ {RATIO_TARGET}x" if b.startswith("nginx") else "-",
            ("yes" if figures[a].rps / figures[b].rps >= RATIO_TARGET else "no")
            if b.startswith("nginx")
            else "-",
        )
        for a, b in pairs
    ]
    return markdown_table(
        ("requests/s", "ratio", "target", "reached?"), ("---", "---:", "---", "---"), rows
    )


def budget_us(nginx: Figures, processes: int) -> float:
    """A proxy's CPU per request that still serves 0.7x `nginx`'s requests/s, if the old
    API and wrk cost what they did behind nginx and the three get the cores they got
    then: their CPU per request may grow by 1/0.7, all of the growth the proxy's; and a
    proxy of `processes` processes has at most as many whole cores."""
    target = RATIO_TARGET * nginx.rps
    others = nginx.old_api_us + nginx.wrk_us
    shared = (nginx.proxy_us + others) / RATIO_TARGET - others
    return min(shared, processes * 1e6 / target)


def budgets(figures: dict[str, Figures], processes: dict[str, int]) -> str:
    """The proxy's CPU budget per request at 0.7x each nginx, beside what each spends."""
    rows = []
    for nginx in ("nginx x1", "nginx x2"):
        for name in [n for n in figures if not n.startswith("nginx")]:
            if processes[name] != int(nginx[-1]):
                continue
            budget = budget_us(figures[nginx], processes[name])
            spent = figures[name].proxy_us
            rows.append(
                (
                    f"{name} at 0.7x {nginx} ({RATIO_TARGET * figures[nginx].rps:,.0f} req/s)",
                    f"{budget:.0f}",
                    f"{spent:.0f}",
                    f"{budget - spent:+.0f}",
                )
            )
    header = ("proxy CPU per request", "budget µs", "spends µs", "headroom µs")
    return markdown_table(header, ("---", "---:", "---:", "---:"), rows)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = runs_parser(
        "bench.splice_floor",
        "the bare Python splice beside nginx, 1 and 2 processes each.",
        duration_s=5,
    )
    parser.add_argument("--no-gaia", dest="gaia", action="store_false", help="leave gaia out")
    return checked_runs(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script("bench.splice_floor", lambda procs, workdir: run(args, procs, workdir))


if __name__ == "__main__":
    sys.exit(main())
