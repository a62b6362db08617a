"""Which revision of each function a run renders, and the triggers and aliases the
gateway in front of them keeps, from the admin API's views of functions.

`FN@REV` names a revision. `FN` alone means the revision its aliases send traffic to:
what its triggers reach today. The gateway on the cluster serves one revision per
function (its gaia.yaml defines each function once), so a function whose aliases split
traffic over several revisions must be named with the one to render.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from configkit.words import listing
from k8s.errors import RenderError
from k8s.model import Trigger
from routing.errors import InvalidSpec
from routing.names import DEFAULT_ALIAS, check_function_name, parse_revision_text

# The keys of a trigger view that are not the trigger's gaia.yaml keys.
_VIEW_KEYS = ("id", "function", "kind", "state")
_TARGET_KEYS = ("alias", "revision", "tag")


@dataclass(frozen=True, kw_only=True)
class Wanted:
    function: str
    revision: int | None  # None: the one its aliases route to

    def __str__(self) -> str:
        return self.function if self.revision is None else f"{self.function}@{self.revision}"


@dataclass(frozen=True, kw_only=True)
class Choice:
    function: str
    revision: int
    triggers: tuple[Trigger, ...]
    aliases: tuple[str, ...]
    # Triggers that reach another revision (a pin), with why they are left out.
    left_out: tuple[str, ...]


def parse_wanted(texts: Sequence[str]) -> list[Wanted]:
    wanted: list[Wanted] = []
    for text in texts:
        function, at, number = text.partition("@")
        try:
            check_function_name(function, path="function")
            revision = parse_revision_text(number, path="revision") if at else None
        except InvalidSpec as exc:
            raise RenderError(
                f"{text!r}: {exc.message}: expected FUNCTION or FUNCTION@REVISION"
            ) from None
        if any(w.function == function for w in wanted):
            raise RenderError(
                f"{function} is named twice: the gateway on the cluster serves one revision"
                " of each function"
            )
        wanted.append(Wanted(function=function, revision=revision))
    return wanted


def routed(view: Mapping[str, Any]) -> dict[int, list[str]]:
    """Each revision the function's aliases send traffic to, with those aliases."""
    found: dict[int, list[str]] = {}
    for alias in view["aliases"]:
        for entry in alias["traffic"]:
            number = entry.get("resolved_revision")
            if entry["percent"] > 0 and isinstance(number, int):
                found.setdefault(number, []).append(alias["alias"])
    return found


def choose(
    view: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]], wanted: Wanted
) -> Choice:
    name = wanted.function
    numbers = [int(r["revision"]) for r in revisions]
    if wanted.revision is not None:
        if wanted.revision not in numbers:
            have = listing([str(n) for n in numbers], last="and") if numbers else "none"
            raise RenderError(f"{wanted} does not exist (revisions of {name}: {have})")
        number = wanted.revision
    else:
        by_revision = routed(view)
        if len(by_revision) > 1:
            sent = listing(
                [f"@{n} ({', '.join(a)})" for n, a in sorted(by_revision.items())], last="and"
            )
            raise RenderError(
                f"{name}: its aliases send traffic to {sent}; the gateway on the cluster serves"
                f" one revision of each function: name it, e.g. {name}@{max(by_revision)}"
            )
        if by_revision:
            [number] = by_revision
        elif isinstance(view.get("latest"), int):
            number = view["latest"]
        else:
            raise RenderError(f"{name} has no revision that serves")
    triggers, left_out = _triggers(view, number)
    aliases = tuple(sorted(a["alias"] for a in view["aliases"] if a["alias"] != DEFAULT_ALIAS))
    return Choice(
        function=name, revision=number, triggers=triggers, aliases=aliases, left_out=left_out
    )


def _triggers(view: Mapping[str, Any], number: int) -> tuple[tuple[Trigger, ...], tuple[str, ...]]:
    """The function's triggers as the gateway's gaia.yaml writes them: aliases kept,
    and a pin (revision or tag) turned into its alias when it reaches this revision."""
    tags = {
        (alias["alias"], entry["tag"]): entry.get("resolved_revision")
        for alias in view["aliases"]
        for entry in alias["traffic"]
        if entry.get("tag")
    }
    kept: list[Trigger] = []
    left_out: list[str] = []
    for trigger in view["triggers"]:
        spec = {
            key: value
            for key, value in trigger.items()
            if key not in (*_VIEW_KEYS, *_TARGET_KEYS) and value is not None
        }
        alias = str(trigger.get("alias") or DEFAULT_ALIAS)
        if "revision" in trigger and trigger["revision"] is not None:
            if trigger["revision"] != number:
                left_out.append(f"{trigger['id']}: pins @{trigger['revision']}")
                continue
            alias = DEFAULT_ALIAS
        elif trigger.get("tag"):
            reaches = tags.get((alias, trigger["tag"]))
            if reaches != number:
                left_out.append(f"{trigger['id']}: its tag {trigger['tag']} is @{reaches}")
                continue
        if alias != DEFAULT_ALIAS:
            spec["alias"] = alias
        kept.append(Trigger(kind=str(trigger["kind"]), spec=spec))
    return tuple(kept), tuple(left_out)
