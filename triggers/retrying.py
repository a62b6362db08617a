"""`retries` and `backoff`: the redelivery keys every queue trigger kind shares."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import model_validator

from configkit.issues import issue
from configkit.leaves import PositiveDuration, parsed, whole_numbers
from configkit.model import ConfigModel, key
from configkit.units import format_duration
from triggers.backoff import Backoff

MAX_RETRIES = 100

# Attempts after the first one; the total is retries + 1.
Retries = Annotated[int, parsed(whole_numbers(0, MAX_RETRIES))]


class BackoffConfig(ConfigModel):
    """`backoff: {initial, max}`: the exponential cap starts at `initial`, stops at `max`."""

    initial_s: PositiveDuration = key("initial", default=0.1)
    max_s: PositiveDuration = key("max", default=30.0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_s < self.initial_s:
            blamed = "max" if "max_s" in self.model_fields_set else "initial"
            raise issue(
                blamed,
                f"expected initial at most max, got initial {format_duration(self.initial_s)}"
                f" and max {format_duration(self.max_s)}",
            )
        return self

    def policy(self) -> Backoff:
        return Backoff(initial_s=self.initial_s, max_s=self.max_s)
