"""What a trigger kind is to the gateway: one object each `triggers/<kind>/` package
declares as `KIND`, found through `triggers.registry`.

The gateway validates a kind's gaia.yaml section with `config`, stores `to_dict()`,
and starts a subscriber with `build`; it never names a kind itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import click

from configkit.model import ConfigModel
from triggers.base import Subscriber, TriggerContext
from triggers.state import TriggerState


@dataclass(frozen=True, kw_only=True)
class Claim:
    """Something one trigger must have to itself in the whole file (a consumer group):
    two triggers sharing it would split its messages. `at` is the key to blame,
    relative to the trigger's kind mapping; `clash(first)` is the message for the
    second claimant, given the path of the first."""

    key: tuple[str, ...]
    at: str
    clash: Callable[[str], str]


@dataclass(frozen=True, kw_only=True)
class Route:
    """What a kind served by the data plane asks of it: requests to `path` (a pattern),
    with one of `methods` (None: any), for `host` (None: any)."""

    path: str
    methods: frozenset[str] | None = None
    host: str | None = None


@dataclass(frozen=True, kw_only=True)
class TriggerKind:
    name: str  # the key in gaia.yaml: `- kafka: {...}`
    description: str  # one line, what the events are
    config: type[ConfigModel]
    # "module:function" that builds the subscriber from (config, context), imported only
    # when a trigger of this kind starts, so a gateway loads only the broker clients
    # its triggers use. None: nothing runs in the background (the data plane serves it).
    subscriber: str | None = None
    # Kinds the data plane serves: the route of a trigger's config.
    route: Callable[[Any], Route] | None = None
    # Whether its subscriber keeps past runs (Subscriber.history).
    history: bool = False
    # "module:attribute" of click commands of its own, under `gaia KIND`.
    commands: tuple[str, ...] = ()
    # What tells two triggers of the kind apart in a plan: `kafka orders group billing`.
    identity: Callable[[str, Any], str]
    # Each trigger's claims on what it must have to itself.
    claims: Callable[[str, Any], tuple[Claim, ...]] = lambda function, config: ()
    # What its subscriber's state() returns, as the CLI reads it back from the admin API.
    state: type[TriggerState] = TriggerState
    # `gaia triggers`: the source column, from the stored trigger.
    source: Callable[[Mapping[str, Any]], str]
    # `gaia triggers show`: the state's own fields shown beside status and counts, and
    # an optional table (headers, rows) from the state.
    details: tuple[str, ...] = ()
    table: Callable[[Any], tuple[list[str], list[list[object]]]] | None = None

    def parse(self, spec: Mapping[str, object]) -> ConfigModel:
        """The config of a stored trigger, whose spec also holds its target's keys."""
        keys = self.config.yaml_keys()
        return self.config.from_dict({key: value for key, value in spec.items() if key in keys})

    def cli_commands(self) -> list[click.Command]:
        return [_attribute(path) for path in self.commands]

    def build(self, config: ConfigModel, context: TriggerContext) -> Subscriber:
        if self.subscriber is None:
            raise TypeError(f"{self.name} triggers have no subscriber")
        build: Callable[[Any, TriggerContext], Subscriber] = _attribute(self.subscriber)
        return build(config, context)


def _attribute(path: str) -> Any:
    """`module:attribute`, imported now."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
