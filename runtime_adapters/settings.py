"""The revision settings every runtime of warm instances shares (gaia.yaml beside
`code:`): `env`, `timeout`, `memory`, `concurrency` and `pool`. A runtime's settings
model subclasses `InstanceSettings` with its own keys."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Self

from pydantic import Field, ValidationInfo, field_serializer, field_validator, model_validator

from configkit.issues import Issues, issue
from configkit.leaves import (
    PositiveDuration,
    durations,
    optional,
    parsed,
    size,
    whole_numbers,
)
from configkit.model import ConfigModel, key
from configkit.units import format_duration, format_size
from configkit.words import describe, scalar_text
from runtime_adapters.base import PoolSpec, RevisionSpec
from runtime_adapters.kind import RuntimeSettings

MAX_TIMEOUT_S = 15 * 60.0
MIN_MEMORY_BYTES = 32 * 1024**2
MAX_CONCURRENCY = 1000
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _memory(raw: object) -> int:
    parsed_size = size(raw)
    if parsed_size < MIN_MEMORY_BYTES:
        minimum = format_size(MIN_MEMORY_BYTES)
        raise ValueError(f"expected at least {minimum}, got {describe(raw)}")
    return parsed_size


def _env(raw: object) -> Mapping[str, str]:
    """Variable names to strings; YAML scalars (numbers, booleans) as their text."""
    if raw is None:
        return MappingProxyType({})
    if isinstance(raw, MappingProxyType):
        return raw
    if not isinstance(raw, Mapping):
        raise ValueError(f"expected a mapping of variable names to values, got {describe(raw)}")
    env: dict[str, str] = {}
    issues: list[tuple[str, str]] = []
    for name, value in raw.items():
        if not isinstance(name, str):
            issues.append((str(name), f"expected a name, got {describe(name)}"))
        elif not _ENV_NAME.fullmatch(name):
            issues.append(
                (
                    name,
                    f"invalid variable name {name!r}: expected letters, digits and '_',"
                    " not starting with a digit",
                )
            )
        elif value is None or isinstance(value, Mapping | list):
            issues.append((name, f'expected a string (write "" for empty), got {describe(value)}'))
        else:
            env[name] = value if isinstance(value, str) else scalar_text(value)
    if issues:
        raise Issues(*issues)
    return MappingProxyType(env)


def url_path(raw: object) -> str:
    """A path a check GETs (`/healthz`)."""
    if isinstance(raw, str) and raw.startswith("/") and not any(c.isspace() for c in raw):
        return raw
    raise ValueError(f"expected a URL path like /healthz, got {describe(raw)}")


class PoolConfig(ConfigModel):
    """`pool: {min, max, idle, queue}`; see PoolSpec."""

    min: Annotated[int, parsed(whole_numbers(0))] = PoolSpec.min
    max: Annotated[int, parsed(whole_numbers(1))] = PoolSpec.max
    idle_s: PositiveDuration = key("idle", default=PoolSpec.idle_s)
    queue: Annotated[int, parsed(whole_numbers(0))] = PoolSpec.queue
    # Left out of the stored form while unset, so that revisions from before the key
    # keep their digests.
    queue_timeout_s: Annotated[float | None, parsed(optional(durations(MAX_TIMEOUT_S)))] = key(
        "queue_timeout", default=PoolSpec.queue_timeout_s
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max < self.min:
            blamed = "max" if "max" in self.model_fields_set else "min"
            raise issue(blamed, f"expected min at most max, got min {self.min} and max {self.max}")
        return self

    def spec(self) -> PoolSpec:
        return PoolSpec(
            min=self.min,
            max=self.max,
            idle_s=self.idle_s,
            queue=self.queue,
            queue_timeout_s=self.queue_timeout_s,
        )


class InstanceSettings(RuntimeSettings):
    """The keys every instance runtime takes; the field defaults are the documented
    defaults."""

    env: Annotated[Mapping[str, str], parsed(_env)] = Field(
        default_factory=lambda: MappingProxyType({})
    )
    timeout_s: Annotated[float, parsed(durations(MAX_TIMEOUT_S))] = key("timeout", default=10.0)
    memory_bytes: Annotated[int, parsed(_memory)] = key("memory", default=256 * 1024**2)
    concurrency: Annotated[int, parsed(whole_numbers(1, MAX_CONCURRENCY))] = 8
    pool: PoolConfig = PoolConfig()

    @field_validator("pool", mode="after")
    @classmethod
    def _wait_within_timeout(cls, pool: PoolConfig, info: ValidationInfo) -> PoolConfig:
        timeout_s = info.data.get("timeout_s")
        wait_s = pool.queue_timeout_s
        if timeout_s is not None and wait_s is not None and wait_s > timeout_s:
            raise Issues(
                (
                    "queue_timeout",
                    f"expected at most the function's timeout ({format_duration(timeout_s)}),"
                    f" which the wait counts against, got {format_duration(wait_s)}",
                )
            )
        return pool

    @field_serializer("env")
    def _sorted_env(self, env: Mapping[str, str]) -> dict[str, str]:
        return dict(sorted(env.items()))

    def instance_spec(
        self,
        *,
        runtime: str,
        function: str,
        revision: int,
        digest: str,
        bundle_dir: Path,
        **extra: Any,
    ) -> RevisionSpec:
        """The RevisionSpec of these shared settings plus the runtime's `extra` fields."""
        return RevisionSpec(
            function=function,
            revision=revision,
            digest=digest,
            runtime=runtime,
            bundle_dir=bundle_dir,
            env=self.env,
            timeout_s=self.timeout_s,
            memory_bytes=self.memory_bytes,
            concurrency=self.concurrency,
            pool=self.pool.spec(),
            settings=MappingProxyType(self.to_dict()),
            **extra,
        )
