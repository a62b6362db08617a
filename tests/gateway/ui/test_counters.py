"""The sampler's counters read from the gateway's own Prometheus collector: what
Metrics recorded comes back per revision, over aliases and codes, and the
buckets are those /metrics exposes."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import Metrics
from gateway.ui.counters import CollectorCounters


def test_totals_add_up_every_alias_and_code_of_a_revision() -> None:
    metrics = Metrics()
    metrics.child("shop", 1, "prod").observe(200, 0.002, 7)
    metrics.child("shop", 1, "default").observe(200, 0.02)
    metrics.child("shop", 1, "prod").observe(503, 0.0001, 2)
    metrics.child("shop", 1, "prod").observe(500, 3.0)
    metrics.child("shop", 2, "prod").observe(404, 0.002)
    totals = CollectorCounters(metrics).totals()

    assert set(totals) == {("shop", 1), ("shop", 2)}
    first = totals[("shop", 1)]
    assert (first.requests, first.errors) == (11, 3)
    assert (totals[("shop", 2)].requests, totals[("shop", 2)].errors) == (1, 0)
    # The same cumulative buckets a Prometheus server would scrape, summed over aliases.
    scraped: dict[float, float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if (
                sample.name == "gateway_functions_seconds_bucket"
                and sample.labels["revision"] == "1"
            ):
                bound = float(sample.labels["le"])
                scraped[bound] = scraped.get(bound, 0) + sample.value
    assert dict(first.buckets) == scraped
    assert first.buckets[-1] == (math.inf, 11)


def test_a_gateway_that_served_nothing_has_no_totals() -> None:
    assert CollectorCounters(Metrics()).totals() == {}
