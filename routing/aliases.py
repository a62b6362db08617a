"""Alias resolution: which revision of a function serves one request.

`ResolvedAlias.build` runs whenever an alias's traffic or its function's `latest` changes;
it does all the work that does not depend on the request, so that `choose`, which runs on
every request, is one dict lookup, one bisect or a hash per revision.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from types import MappingProxyType
from urllib.parse import unquote_plus

from limits.spec import RateLimit
from routing.errors import InvalidSpec, UnknownTag
from routing.traffic import AliasSpec, Sticky

# A hash becomes u in (0, 1) from its top 52 bits as (n + 0.5) / 2**52: every such value is
# exact in a double, and its extremes stay strictly inside (0, 1), so log(u) is finite and
# negative. With 53 or more bits the largest values would round to 1.0 and divide by zero.
_U_BITS = 52
_U_SHIFT = 64 - _U_BITS
_U_SCALE = 2.0**-_U_BITS


@dataclass(frozen=True, kw_only=True)
class ResolvedAlias:
    """An alias with `latest` replaced by a concrete revision, ready to route requests.

    `revisions` lists each revision once, in the order the traffic list first names it,
    with the percents of all its entries added up; zero-percent revisions stay listed
    because a tag can still reach them.
    """

    function: str
    alias: str
    revisions: tuple[tuple[int, float], ...]
    tags: Mapping[str, int] = field(default_factory=dict)
    sticky: Sticky | None = None
    fallback: int | None = None
    rate_limit: RateLimit | None = None

    # Derived from `revisions` in __post_init__; only revisions with traffic take part.
    _only: int | None = field(init=False, repr=False, compare=False)
    _choices: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _bounds: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _hashers: tuple[tuple[int, blake2b, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        live = [(revision, percent) for revision, percent in self.revisions if percent > 0]
        if not live:
            raise InvalidSpec(
                f"{self}: no revision has traffic: expected percents adding up to 100",
                path="traffic",
            )
        total = sum(percent for _, percent in live)
        bounds: list[float] = []
        running = 0.0
        # The last revision's bound would be 1.0; leaving it out means bisect lands on the
        # last revision for any rand >= the previous bound, so float rounding in the sums
        # (or an injected rand of exactly 1.0) can never index past the end.
        for _, percent in live[:-1]:
            running += percent
            bounds.append(running / total)
        init = object.__setattr__
        init(self, "tags", MappingProxyType(dict(self.tags)))
        init(self, "_only", live[0][0] if len(live) == 1 else None)
        init(self, "_choices", tuple(revision for revision, _ in live))
        init(self, "_bounds", tuple(bounds))
        init(
            self,
            "_hashers",
            tuple((rev, blake2b(b"%d\0" % rev, digest_size=8), pct) for rev, pct in live),
        )

    def __str__(self) -> str:
        return f"{self.function}:{self.alias}"

    @property
    def untagged(self) -> int | None:
        """The revision every request without a tag gets, when that is one revision
        whatever the request (its sticky key changes nothing); None when `choose` picks
        per request."""
        return self._only

    @classmethod
    def build(cls, function: str, alias: str, spec: AliasSpec, *, latest: int) -> ResolvedAlias:
        """Resolve `spec`, reading `latest` as revision `latest` (< 1: none is ready yet)."""
        merged: dict[int, float] = {}
        tags: dict[str, int] = {}
        for index, entry in enumerate(spec.traffic):
            if isinstance(entry.revision, int):
                revision = entry.revision
            elif latest >= 1:
                revision = latest
            else:
                raise InvalidSpec(
                    f"{function}:{alias} sends traffic to 'latest', but no revision of "
                    f"{function} is ready yet",
                    path=f"traffic[{index}].revision",
                )
            merged[revision] = merged.get(revision, 0.0) + entry.percent
            if entry.tag is not None:
                tags[entry.tag] = revision
        return cls(
            function=function,
            alias=alias,
            revisions=tuple(merged.items()),
            tags=tags,
            sticky=spec.sticky,
            fallback=spec.fallback,
            rate_limit=spec.rate_limit,
        )

    def choose(
        self, *, sticky_key: str | None = None, tag: str | None = None, rand: float | None = None
    ) -> int:
        """The revision for one request.

        A known `tag` pins its revision (even at 0%); an unknown one raises UnknownTag.
        Otherwise a `sticky_key` picks by weighted rendezvous hashing, and without one the
        pick is weighted random, drawn from `rand` in [0, 1) or random.random().
        """
        if tag is not None:
            revision = self.tags.get(tag)
            if revision is None:
                raise UnknownTag(tag, alias=str(self), known=tuple(self.tags))
            return revision
        if self._only is not None:
            return self._only
        if sticky_key is not None:
            return self._rendezvous(sticky_key)
        return self._choices[bisect_right(self._bounds, random.random() if rand is None else rand)]

    def _rendezvous(self, key: str) -> int:
        # Weighted highest-random-weight: each revision scores -weight / ln(u), u uniform in
        # (0, 1) from a stable hash of (revision, key); the highest score wins. That is an
        # exponential race, so a revision wins with probability weight / total, and when
        # one weight grows only keys whose winner changes to that revision move. The hash
        # must be stable across processes and replicas, hence blake2b and not hash().
        data = key.encode("utf-8", "surrogatepass")
        best, best_score = self._choices[0], -math.inf
        for revision, seeded, weight in self._hashers:
            score = weight / -math.log(stable_unit(seeded, data))
            if score > best_score:
                best, best_score = revision, score
        return best


def stable_unit(seeded: blake2b, data: bytes) -> float:
    """A number in (0, 1), the same for the same seed and data in every process and replica,
    and uniform over keys: blake2b of the seed's prefix then `data` (hash() is salted per
    process). `seeded` is copied, not consumed, so a caller seeds it once."""
    hasher = seeded.copy()  # cheaper than hashing the seed's prefix again
    hasher.update(data)
    return ((int.from_bytes(hasher.digest(), "big") >> _U_SHIFT) + 0.5) * _U_SCALE


def sticky_key_from(
    sticky: Sticky, headers: list[tuple[bytes, bytes]], query_string: bytes
) -> str | None:
    """The request's sticky key from raw ASGI headers or query string; None when absent.

    An empty value counts as absent: routing every request that sends `x-user-id:` with
    nothing after it to one revision would skew the split, not keep anyone sticky.
    Header and cookie bytes decode as latin-1 (lossless, so distinct keys stay distinct);
    query values are percent-decoded the way Starlette decodes `request.query_params`.
    """
    if sticky.source == "header":
        name = sticky.name.lower().encode()
        for key, value in headers:
            if key == name:
                return value.decode("latin-1") or None
        return None
    if sticky.source == "cookie":
        cookie = sticky.name.encode()
        for key, value in headers:
            if key == b"cookie" and cookie in value:
                found = _cookie_value(value, cookie)
                if found is not None:
                    return found
        return None
    return _query_value(query_string, sticky.name)


def _cookie_value(header: bytes, name: bytes) -> str | None:
    for pair in header.split(b";"):
        key, sep, value = pair.partition(b"=")
        if sep and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value.startswith(b'"') and value.endswith(b'"'):
                value = value[1:-1]
            return value.decode("latin-1") or None
    return None


def _query_value(query_string: bytes, name: str) -> str | None:
    if not query_string:
        return None
    for pair in query_string.decode("latin-1").split("&"):
        key, _, value = pair.partition("=")
        if key == name or (("%" in key or "+" in key) and unquote_plus(key) == name):
            return unquote_plus(value) or None
    return None
