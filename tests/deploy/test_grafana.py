"""deploy/grafana/gaia.json is a dashboard Grafana imports: its schema fields, its layout,
its data source variable, and PromQL that names gaia's metrics (that a real gateway
exports them is tests/integration/test_observability.py's check)."""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import pytest

from tests.deploy.grafana import (
    dashboard_metric_names,
    expressions,
    load,
    metric_names,
    panels,
)

README = Path(__file__).resolve().parents[2] / "README.md"
PANEL_TYPES = {"row", "timeseries", "bargauge", "stat", "table"}


def test_the_fields_grafana_needs_to_import_it() -> None:
    dashboard = load()
    assert isinstance(dashboard["title"], str) and dashboard["title"]
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", dashboard["uid"])
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard["id"] is None, "an import must not carry another Grafana's id"
    assert dashboard["time"] == {"from": "now-15m", "to": "now"}
    [source] = dashboard["__inputs"]
    assert (source["type"], source["pluginId"]) == ("datasource", "prometheus")
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    required = {p["id"] for p in dashboard["__requires"] if p["type"] == "panel"}
    assert {p["type"] for p in panels(dashboard)} - {"row"} <= required <= PANEL_TYPES


def test_panels_have_unique_ids_fit_the_grid_and_query_the_chosen_source() -> None:
    dashboard = load()
    every = list(panels(dashboard))
    ids = [panel["id"] for panel in every]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
    boxes = []
    for panel in every:
        assert panel["type"] in PANEL_TYPES, panel["type"]
        box = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= box.keys()
        assert box["x"] >= 0 and box["w"] >= 1 and box["x"] + box["w"] <= 24, panel["title"]
        boxes.append((panel["title"], box))
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
            assert target["datasource"] == panel["datasource"]
    for (one, a), (other, b) in combinations(boxes, 2):
        apart = (
            a["x"] + a["w"] <= b["x"]
            or b["x"] + b["w"] <= a["x"]
            or a["y"] + a["h"] <= b["y"]
            or b["y"] + b["h"] <= a["y"]
        )
        assert apart, f"{one!r} and {other!r} overlap"


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ('sum by (le, function_name) (rate(gateway_functions_seconds_bucket{a="b"}[5m]))',
         {"gateway_functions_seconds_bucket"}),
        ("a_total / on (x) group_left (y) b_total > bool 1e3", {"a_total", "b_total"}),
        ('histogram_quantile(0.95, rate(x{le=~"0.1|by(x)"}[$__rate_interval]))', {"x"}),
        ("max(gateway_cron_delay_seconds) * 1000 offset 5m", {"gateway_cron_delay_seconds"}),
    ],
)  # fmt: skip
def test_metric_names_are_read_out_of_promql(expression: str, names: set[str]) -> None:
    assert metric_names(expression) == names


def test_every_metric_the_dashboard_charts_is_one_the_readme_documents() -> None:
    names = dashboard_metric_names()
    assert all(name.startswith("gateway_") for name in names), names
    assert len(expressions(load())) >= 20
    section = README.read_text().split("## Observability", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(gateway_[a-z_]+)", section))
    undocumented = {
        name
        for name in names
        if name not in documented and re.sub(r"_(bucket|count|sum)$", "", name) not in documented
    }
    assert not undocumented, undocumented
