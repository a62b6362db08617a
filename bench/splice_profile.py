"""Where one spliced request's Python goes, by module and by function: bench.splice_cost's
work under cProfile.

    python -m bench.splice_profile [--state function] [--requests 20000] [--top 30]

bench.splice_instructions counts a state's instructions, but Python 3.11 under
callgrind shows only the interpreter's C functions. Here the same setup runs under
cProfile, which names the Python functions: calls per request (exact, the same in
every run) and each one's share of the profiled time (its own time, callees apart;
cProfile's overhead weighs on small functions, so read shares as a ranking, and the
instruction count as the cost).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections import defaultdict
from collections.abc import Sequence

import uvloop

from bench.splice_cost import STATES, setup_for

_WARM_UP = 2000


def _module(filename: str) -> str:
    """`gateway/dataplane.py` for a file of this repository, else the library's path
    from its site-packages (or the interpreter's `~` for built-ins)."""
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    for package in ("gateway", "routing", "runtime_adapters", "httpkit", "legacy", "triggers",
                    "limits", "bench"):  # fmt: skip
        marker = f"/{package}/"
        if marker in filename:
            return package + "/" + filename.split(marker, 1)[1]
    return filename


async def _profiled(state: str, requests: int) -> pstats.Stats:
    setup = await setup_for(state)
    for _ in range(_WARM_UP):
        setup.one()
    profile = cProfile.Profile()
    one = setup.one
    profile.enable()
    for _ in range(requests):
        one()
    profile.disable()
    await setup.aclose()
    return pstats.Stats(profile)


def report(stats: pstats.Stats, requests: int, top: int) -> list[str]:
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(own for (_, _, own, _, _) in entries.values()) or 1.0
    modules: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    rows = []
    for (filename, line, name), (_, calls, own, _, _) in entries.items():
        module = _module(filename)
        modules[module][0] += calls
        modules[module][1] += own
        rows.append((own, calls, f"{module}:{line}({name})"))
    lines = ["| module | calls/request | share of own time |", "| --- | ---: | ---: |"]
    for module, (calls, own) in sorted(modules.items(), key=lambda item: -item[1][1])[:top]:
        lines.append(f"| {module} | {calls / requests:.1f} | {own / total:.1%} |")
    lines += ["", "| function | calls/request | share of own time |", "| --- | ---: | ---: |"]
    for own, calls, where in sorted(rows, reverse=True)[:top]:
        lines.append(f"| {where} | {calls / requests:.2f} | {own / total:.1%} |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.splice_profile",
        description="Where one spliced request's Python goes, by module and function.",
    )
    parser.add_argument("--state", choices=STATES, default="function")
    parser.add_argument("--requests", type=int, default=20000, help="requests profiled")
    parser.add_argument("--top", type=int, default=30, help="rows per table")
    args = parser.parse_args(argv)
    if args.requests < 100 or args.top < 1:
        parser.error("--requests must be at least 100 and --top at least 1")
    stats = uvloop.run(_profiled(args.state, args.requests))
    print("\n".join(report(stats, args.requests, args.top)))
    print(
        f"\n- Command: `python -m bench.splice_profile --state {args.state}"
        f" --requests {args.requests}`."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
