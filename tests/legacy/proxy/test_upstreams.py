"""Which old API takes a request: host and/or prefix, the longest prefix first."""

from __future__ import annotations

import pytest

from legacy.config import LegacyConfig
from legacy.proxy.upstreams import NoUpstream, Upstream, Upstreams

UPSTREAMS = [
    {"name": "billing", "url": "http://10.0.0.1:81", "prefix": "/billing"},
    {"name": "invoices", "url": "http://10.0.0.2:82", "prefix": "/billing/invoices"},
    {"name": "shop", "url": "http://10.0.0.3:83", "host": "shop.example.com"},
    {
        "name": "shop-billing",
        "url": "http://10.0.0.4",
        "host": "Shop.Example.com",
        "prefix": "/billing",
    },
]


def _choose(host: str | None, path: str, *, default: bool = True) -> str:
    raw: dict[str, object] = {"upstreams": UPSTREAMS}
    if default:
        raw["upstream"] = "http://10.0.0.9:89"
    chosen = Upstreams(LegacyConfig.model_validate(raw)).choose(host, path)
    return chosen.name if isinstance(chosen, Upstream) else chosen.message


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("api.example.com", "/billing", "billing"),
        ("api.example.com", "/billing/x", "billing"),
        ("api.example.com", "/billings", "default"),
        ("api.example.com", "/billing/invoices/7", "invoices"),
        ("shop.example.com", "/items", "shop"),
        ("SHOP.example.com:8080", "/items", "shop"),
        # The same prefix length: the upstream with a host is the closer match.
        ("shop.example.com", "/billing/x", "shop-billing"),
        # A longer prefix beats a host.
        ("shop.example.com", "/billing/invoices", "invoices"),
        (None, "/items", "default"),
    ],
)
def test_longest_prefix_then_host_then_the_default(
    host: str | None, path: str, expected: str
) -> None:
    assert _choose(host, path) == expected


def test_no_match_without_a_default_names_why() -> None:
    message = _choose("api.example.com", "/orders", default=False)
    assert message == (
        "no old API takes host api.example.com path /orders: legacy.upstreams has"
        " billing (/billing), invoices (/billing/invoices), shop (shop.example.com),"
        " shop-billing (shop.example.com /billing), and legacy.upstream (for the rest) is not set"
    )


def test_the_default_alone_takes_everything() -> None:
    config = LegacyConfig.model_validate({"upstream": "http://127.0.0.1:9000/"})
    chosen = Upstreams(config).choose("any", "/x")
    assert isinstance(chosen, Upstream)
    assert (chosen.name, chosen.origin.host, chosen.origin.port) == ("default", "127.0.0.1", 9000)
    assert chosen.origin.authority == b"127.0.0.1:9000"
    assert not isinstance(Upstreams(config).choose(None, "/"), NoUpstream)
