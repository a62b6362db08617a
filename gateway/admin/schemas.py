"""Request bodies of the admin API: validated by pydantic, described in /openapi.json."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrafficEntryBody(_Body):
    revision: int | str = Field(description="a revision number, or 'latest'")
    percent: float = Field(ge=0, le=100)
    tag: str | None = None


class AliasBody(_Body):
    traffic: list[TrafficEntryBody] = Field(description="percents must add up to 100")
    sticky: str | None = Field(default=None, description="header:NAME, cookie:NAME or query:NAME")


class PublishBody(_Body):
    code: str = Field(description="the code directory as a base64 gzip tarball")
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="revision settings (handler, env, timeout, memory, concurrency, pool, "
        "network); keys left out keep the latest revision's values",
    )


class ApplyBody(_Body):
    file: str = Field(default="gaia.yaml", description="file name used in error messages")
    document: dict[str, Any] = Field(description="the gaia.yaml document as JSON")
    bundles: dict[str, str] = Field(
        default_factory=dict, description="function name -> code directory as base64 gzip tarball"
    )
    dry_run: bool = False


class InvokeBody(_Body):
    """Not a JSON body: `POST /v1/functions/{fn}/invoke` forwards its raw body."""
