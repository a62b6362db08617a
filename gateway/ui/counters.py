"""What the dashboard's sampler reads: each revision's running totals.

`RevisionCounters` is the one interface the sampler depends on; `CollectorCounters`
reads it from the gateway's Prometheus collector (gateway/metrics.py), through the
public `collect()` every scrape uses, by the metric names the README documents. A
collector that records more, or differently, is read by another implementation of the
same interface and nothing above it changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client.core import Metric

INVOCATIONS = "gateway_function_invocation"
LATENCY = "gateway_functions_seconds"


@dataclass(frozen=True, kw_only=True)
class RevisionTotals:
    """Counts since the gateway started, every alias and trigger together."""

    requests: int = 0
    errors: int = 0  # answered 5xx
    # Cumulative latency buckets, (upper bound in seconds, count), +Inf last.
    buckets: tuple[tuple[float, int], ...] = field(default=())


# A revision as the dashboard names it: (function, revision number).
RevisionId = tuple[str, int]


class RevisionCounters(Protocol):
    def totals(self) -> Mapping[RevisionId, RevisionTotals]:
        """Every revision's totals now; reading must cost nothing per request."""
        ...


class Collecting(Protocol):
    def collect(self) -> Iterable[Metric]: ...


class CollectorCounters:
    """RevisionCounters read from a collector's invocation counter and latency histogram."""

    def __init__(self, collector: Collecting) -> None:
        self._collector = collector

    def totals(self) -> Mapping[RevisionId, RevisionTotals]:
        requests: dict[RevisionId, int] = {}
        errors: dict[RevisionId, int] = {}
        buckets: dict[RevisionId, dict[float, int]] = {}
        for family in self._collector.collect():
            if family.name == INVOCATIONS:
                for sample in family.samples:
                    if not sample.name.endswith("_total"):
                        continue  # `_created` timestamps
                    key = _revision(sample.labels)
                    count = int(sample.value)
                    requests[key] = requests.get(key, 0) + count
                    if sample.labels["code"].startswith("5"):
                        errors[key] = errors.get(key, 0) + count
            elif family.name == LATENCY:
                for sample in family.samples:
                    if sample.name.endswith("_bucket"):
                        # Summed over aliases: a bucket's counts add up across label sets.
                        by_bound = buckets.setdefault(_revision(sample.labels), {})
                        bound = float(sample.labels["le"])
                        by_bound[bound] = by_bound.get(bound, 0) + int(sample.value)
        return {
            key: RevisionTotals(
                requests=requests.get(key, 0),
                errors=errors.get(key, 0),
                buckets=tuple(sorted(buckets.get(key, {}).items())),
            )
            for key in requests.keys() | buckets.keys()
        }


def _revision(labels: Mapping[str, str]) -> RevisionId:
    return labels["function_name"], int(labels["revision"])
