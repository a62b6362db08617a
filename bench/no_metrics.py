"""`python -m gateway` with the per-request metrics and the dashboard switched off: the
baseline bench/dashboard_cost.py measures them against.

Not a mode of the product (a gateway without its counters would show an empty
dashboard and a `/metrics` of zeros): the invocation counters' two methods do nothing,
and the dashboard never starts its sampler, so a request does exactly what it does
in a normal gateway minus the counting, and nothing reads the counters every 5 s.
"""

from __future__ import annotations

from gateway.cli.main import main
from gateway.metrics import RevisionMetrics
from gateway.ui.dashboard import Dashboard


def _nothing(*args: object, **kwargs: object) -> None:
    return None


def switch_off() -> None:
    # setattr: the methods are replaced on the classes, for every instance.
    setattr(RevisionMetrics, "observe", _nothing)  # noqa: B010
    setattr(RevisionMetrics, "refused", _nothing)  # noqa: B010
    setattr(Dashboard, "start", _nothing)  # noqa: B010


if __name__ == "__main__":
    switch_off()
    main()
