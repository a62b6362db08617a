"""The shared store: every record in one Redis, so that several gateways serve one config.

`GAIA_STORE=redis://host:port/db` (`?prefix=NAME` keeps several clusters apart in one
database; default `gaia`). Keys, under the prefix P:

    P:version            the stored version
    P:functions          hash name -> JSON      P:functions:order  zset, creation order
    P:revisions          hash fn@n -> JSON
    P:aliases            hash fn:alias -> JSON  P:aliases:order    zset, creation order
    P:triggers           JSON list of every trigger, in order
    P:history            list of alias changes (JSON)
    P:legacy             JSON of the `legacy:` settings
    P:ledger             hash path -> JSON      P:ledger:history   list (JSON)
    P:startup-file       the sha256 of the file last applied at start-up (`gaia up -f`)
    P:bundle:DIGEST      a revision's packed bundle, so any gateway can warm it
    P:notes              who made the newest versions (JSON), newest first
    P:lists              a token that changes whenever a history list is rewritten
    channel P:changes    each new version's note, as it is written

A write is one Lua script, which Redis runs with nothing else in between: it checks
that P:version is the one the write was planned on, then runs the write's commands, so
all of it lands or none, and a writer that planned on an older version is refused
(StoreChanged) instead of overwriting what came first; one round trip in all. The
commands are the difference between the state the write was planned on and the state it
leaves, so a restore after Redis came back empty is the same operation from an empty
state.

A load is one MULTI/EXEC, so it sees one version whole. Histories only grow but
for deletions (which rewrite them and change P:lists), so a load reads only the entries
added since the last one: a follower's load costs the same at the thousandth change as
at the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.exceptions import RedisError

import rediskit
from gateway.store import codec
from gateway.store.base import (
    AliasChange,
    ChangeNote,
    Changes,
    OnChange,
    OnLost,
    Store,
    StoreChanged,
    StoredState,
    StoreUnavailable,
)
from legacy.ledger import LedgerChange
from triggers.base import SharedRedis

R = TypeVar("R")

# Redis's own: TCP, TLS, a Unix socket.
URL_SCHEMES = ("redis", "rediss", "unix")
NOTES_KEPT = 100
# How often a follower asks for the version when no notice came: what bounds the delay
# should a notice be lost without the connection breaking.
CHECK_EVERY_S = 1.0
# Between attempts to reach a Redis that is down.
RECONNECT_MIN_S = 0.05
RECONNECT_MAX_S = 1.0
# Generous: a gateway busy warming answers its own event loop late, not just Redis.
CONNECT_TIMEOUT_S = 3.0
# Bundles are megabytes at most; a Redis that answers nothing for this long is down.
COMMAND_TIMEOUT_S = 5.0


def split_url(url: str) -> tuple[str, str]:
    """The connection URL without gaia's own `prefix` parameter, and the prefix."""
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES:
        raise ValueError(f"GAIA_STORE={url!r}: expected redis://host:port/db")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefixes = [value for key, value in query if key == "prefix"]
    prefix = prefixes[-1] if prefixes else "gaia"
    if not prefix or any(c in prefix for c in " {}"):
        raise ValueError(f"GAIA_STORE={url!r}: prefix must be a non-empty word, not {prefix!r}")
    kept = urlencode([(key, value) for key, value in query if key != "prefix"])
    return urlunsplit(parts._replace(query=kept)), prefix


def shown_url(url: str) -> str:
    """The URL as messages show it: without a password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class _Keys:
    def __init__(self, prefix: str) -> None:
        self.version = f"{prefix}:version"
        self.functions = f"{prefix}:functions"
        self.function_order = f"{prefix}:functions:order"
        self.revisions = f"{prefix}:revisions"
        self.aliases = f"{prefix}:aliases"
        self.alias_order = f"{prefix}:aliases:order"
        self.triggers = f"{prefix}:triggers"
        self.history = f"{prefix}:history"
        self.legacy = f"{prefix}:legacy"
        self.ledger = f"{prefix}:ledger"
        self.ledger_history = f"{prefix}:ledger:history"
        self.startup_file = f"{prefix}:startup-file"
        self.notes = f"{prefix}:notes"
        self.lists = f"{prefix}:lists"
        self.channel = f"{prefix}:changes"
        self._bundle = f"{prefix}:bundle:"

    def bundle(self, digest: str) -> str:
        return self._bundle + digest


Arg = str | bytes | int | float

# KEYS[1]: the version. ARGV[1]: the version the write was planned on, ARGV[2]: how many
# commands follow, each as its number of words, then its words. Answers -1 when it ran
# them, else the stored version (and ran nothing).
_APPLY = """
local stored = tonumber(redis.call('GET', KEYS[1]) or '0')
if stored ~= tonumber(ARGV[1]) then
  return stored
end
local at = 3
for _ = 1, tonumber(ARGV[2]) do
  local words = tonumber(ARGV[at])
  redis.call(unpack(ARGV, at + 1, at + words))
  at = at + words + 1
end
return -1
"""
_APPLIED = -1
# Words per command: Lua's unpack has a bounded stack, so long ones are split.
_WORDS_PER_COMMAND = 1000


class _Commands:
    """Redis commands for the apply script, in order."""

    def __init__(self) -> None:
        self._commands: list[tuple[Arg, ...]] = []

    def add(self, *words: Arg) -> None:
        self._commands.append(words)

    def add_many(
        self, command: str, key: str, items: Sequence[Arg], *, options: tuple[str, ...] = ()
    ) -> None:
        """`command key [options] items...`, split into several where there are many
        items (even-sized parts, so that pairs stay together)."""
        for start in range(0, len(items), _WORDS_PER_COMMAND):
            self.add(command, key, *options, *items[start : start + _WORDS_PER_COMMAND])

    def argv(self) -> list[Arg]:
        words: list[Arg] = [len(self._commands)]
        for command in self._commands:
            words += [len(command), *command]
        return words


@dataclass(frozen=True)
class _Loaded(Generic[R]):
    """A history list as last read: the token it was read under, and its entries."""

    token: bytes | None = None
    items: tuple[R, ...] = ()


class RedisStore(Store):
    kind = "redis"
    shared = True

    def __init__(self, url: str, *, replica: str = "") -> None:
        connection_url, prefix = split_url(url)
        self.url = shown_url(url)
        self._replica = replica
        self._keys = _Keys(prefix)
        self.shared_redis = SharedRedis(url=connection_url, prefix=prefix)
        self._redis = rediskit.connect(
            connection_url, timeout_s=COMMAND_TIMEOUT_S, connect_timeout_s=CONNECT_TIMEOUT_S
        )
        self._history: _Loaded[AliasChange] = _Loaded()
        self._ledger_history: _Loaded[LedgerChange] = _Loaded()
        # Notices arrive on their own connection, which must not reconnect quietly: a
        # reconnect is when notices may have been missed, so `follow` must see it.
        self._notices = rediskit.connect(
            connection_url,
            timeout_s=COMMAND_TIMEOUT_S,
            connect_timeout_s=CONNECT_TIMEOUT_S,
            reconnect=False,
        )
        self._apply = self._redis.register_script(_APPLY)

    def _unavailable(
        self, exc: BaseException, *, outcome_unknown: bool = False
    ) -> StoreUnavailable:
        return StoreUnavailable(
            f"the shared store {self.url} cannot be reached ({exc or type(exc).__name__})",
            outcome_unknown=outcome_unknown,
        )

    # -- reading -----------------------------------------------------------------------

    async def version(self) -> int:
        try:
            return int(await self._redis.get(self._keys.version) or 0)
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc

    async def bundle(self, digest: str) -> bytes | None:
        try:
            data = cast(bytes | None, await self._redis.get(self._keys.bundle(digest)))
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc
        return data

    async def load(self) -> StoredState:
        state = await self._load(self._history, self._ledger_history)
        if state is None:  # a history was rewritten since the last load: read it whole
            state = await self._load(_Loaded(), _Loaded(), whole=True)
            assert state is not None
        return state

    async def _load(
        self,
        history: _Loaded[AliasChange],
        ledger_history: _Loaded[LedgerChange],
        *,
        whole: bool = False,
    ) -> StoredState | None:
        """The stored state, reading the histories from the ends of those given; None
        when they are no longer the beginnings of the stored ones. `whole`: given
        nothing, read them whole."""
        k = self._keys
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.get(k.version)
                pipe.hgetall(k.functions)
                pipe.zrange(k.function_order, 0, -1)
                pipe.hgetall(k.revisions)
                pipe.hgetall(k.aliases)
                pipe.zrange(k.alias_order, 0, -1)
                pipe.get(k.triggers)
                pipe.get(k.legacy)
                pipe.hgetall(k.ledger)
                pipe.get(k.startup_file)
                pipe.get(k.lists)
                pipe.llen(k.history)
                pipe.lrange(k.history, len(history.items), -1)
                pipe.llen(k.ledger_history)
                pipe.lrange(k.ledger_history, len(ledger_history.items), -1)
                (
                    version,
                    functions,
                    function_order,
                    revisions,
                    aliases,
                    alias_order,
                    triggers,
                    legacy,
                    ledger,
                    startup_file,
                    token,
                    history_length,
                    history_tail,
                    ledger_history_length,
                    ledger_history_tail,
                ) = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc
        if not whole and (
            token != history.token
            or token != ledger_history.token
            or history_length != len(history.items) + len(history_tail)
            or ledger_history_length != len(ledger_history.items) + len(ledger_history_tail)
        ):
            return None
        self._history = _Loaded(
            token, history.items + tuple(codec.history_of(json.loads(i)) for i in history_tail)
        )
        self._ledger_history = _Loaded(
            token,
            ledger_history.items
            + tuple(codec.ledger_change_of(json.loads(i)) for i in ledger_history_tail),
        )
        return StoredState(
            version=int(version or 0),
            functions=tuple(map(codec.function_of, _ordered(functions, function_order))),
            revisions=tuple(
                sorted(
                    (codec.revision_of(json.loads(v)) for v in revisions.values()),
                    key=lambda r: (r.function, r.number),
                )
            ),
            aliases=tuple(map(codec.alias_of, _ordered(aliases, alias_order))),
            triggers=tuple(map(codec.trigger_of, json.loads(triggers) if triggers else [])),
            history=self._history.items,
            legacy=codec.legacy_of(json.loads(legacy)) if legacy else None,
            ledger=tuple(
                codec.ledger_entry_of(json.loads(ledger[path])) for path in sorted(ledger)
            ),
            ledger_history=self._ledger_history.items,
            startup_file=startup_file.decode() if startup_file else None,
        )

    # -- writing -----------------------------------------------------------------------

    async def write(self, changes: Changes, *, base: StoredState, by: str = "") -> None:
        if not changes:
            return
        after = base.merged(changes)  # a revision number taken twice fails here
        await self._replace(
            base,
            after,
            bundles=changes.bundles,
            note=self._note(after.version, by or "write", changes.summary()),
        )

    async def restore(self, state: StoredState, *, bundles: Mapping[str, bytes]) -> bool:
        stored = await self.load()
        if stored.version >= state.version:
            return False
        summary = f"the whole config, onto version {stored.version}"
        note = self._note(state.version, "restore", summary)
        try:
            await self._replace(stored, state, bundles=bundles, note=note, whole=True)
        except StoreChanged:
            return False  # another gateway restored or wrote first: follow that
        return True

    def _note(self, version: int, by: str, summary: str) -> ChangeNote:
        return ChangeNote(
            version=version, by=by, replica=self._replica, at=time.time(), summary=summary
        )

    async def _replace(
        self,
        base: StoredState,
        after: StoredState,
        *,
        bundles: Mapping[str, bytes],
        note: ChangeNote,
        whole: bool = False,
    ) -> None:
        """Turn the stored `base` into `after` in one step, or raise StoreChanged if the
        store is no longer at `base`'s version. `whole`: every reader must read the
        histories again from the start."""
        commands = self._commands(base, after, bundles, whole=whole)
        data = codec.dumps(codec.plain_data(note))
        commands.add("SET", self._keys.version, after.version)
        commands.add("LPUSH", self._keys.notes, data)
        commands.add("LTRIM", self._keys.notes, 0, NOTES_KEPT - 1)
        commands.add("PUBLISH", self._keys.channel, data)
        try:
            found = int(
                await self._apply(keys=[self._keys.version], args=[base.version, *commands.argv()])
            )
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc, outcome_unknown=True) from exc
        if found == _APPLIED:
            return
        notes = await self._notes(base.version)
        if found == after.version and notes and notes[-1] == note:
            return  # the client's retry after a lost answer found this write landed
        raise StoreChanged(base=base.version, found=found, notes=notes)

    async def _notes(self, since: int) -> tuple[ChangeNote, ...]:
        """Who wrote the versions after `since`, oldest first, as far as notes are kept."""
        try:
            raw = cast(list[bytes], await self._redis.lrange(self._keys.notes, 0, NOTES_KEPT - 1))
        except (RedisError, OSError):
            return ()  # the refusal stands; only its detail is lost
        notes = [codec.note_of(json.loads(item)) for item in raw]
        return tuple(sorted((n for n in notes if n.version > since), key=lambda n: n.version))

    def _commands(
        self,
        base: StoredState,
        after: StoredState,
        bundles: Mapping[str, bytes],
        *,
        whole: bool,
    ) -> _Commands:
        k = self._keys
        commands = _Commands()
        # New entries sort after every older one, in the order the write lists them.
        first = after.version * 65536
        _sync_hash(
            commands,
            k.functions,
            base.functions,
            after.functions,
            key=lambda f: f.name,
            data=codec.plain_data,
            order=k.function_order,
            first=first,
        )
        _sync_hash(
            commands,
            k.revisions,
            base.revisions,
            after.revisions,
            key=lambda r: r.label,
            data=codec.plain_data,
        )
        _sync_hash(
            commands,
            k.aliases,
            base.aliases,
            after.aliases,
            key=lambda a: f"{a.function}:{a.name}",
            data=codec.alias_data,
            order=k.alias_order,
            first=first,
        )
        _sync_hash(
            commands,
            k.ledger,
            base.ledger,
            after.ledger,
            key=lambda e: e.path,
            data=codec.ledger_entry_data,
        )
        if after.triggers != base.triggers:
            commands.add(
                "SET", k.triggers, codec.dumps([codec.plain_data(t) for t in after.triggers])
            )
        rewritten = _sync_list(
            commands, k.history, base.history, after.history, data=codec.history_data
        )
        rewritten |= _sync_list(
            commands,
            k.ledger_history,
            base.ledger_history,
            after.ledger_history,
            data=codec.ledger_change_data,
        )
        if rewritten or whole:
            # Whoever read the lists before must read them whole again.
            commands.add("SET", k.lists, uuid.uuid4().hex)
        if after.legacy != base.legacy:
            if after.legacy is None:
                commands.add("DEL", k.legacy)
            else:
                commands.add("SET", k.legacy, codec.dumps(codec.model_data(after.legacy)))
        if after.startup_file != base.startup_file:
            if after.startup_file is None:
                commands.add("DEL", k.startup_file)
            else:
                commands.add("SET", k.startup_file, after.startup_file)
        had = {r.digest for r in base.revisions}
        has = {r.digest for r in after.revisions}
        for digest in sorted(has - had):
            if digest in bundles:
                commands.add("SET", k.bundle(digest), bundles[digest])
        for digest in sorted(had - has):
            commands.add("DEL", k.bundle(digest))
        return commands

    # -- following ---------------------------------------------------------------------

    async def follow(self, on_change: OnChange, on_lost: OnLost) -> None:
        backoff = RECONNECT_MIN_S
        while True:
            pubsub = self._notices.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._keys.channel)
                # Its confirmation: from here on no notice is missed, so the check
                # below sees whatever was written while unsubscribed.
                await pubsub.get_message(timeout=CONNECT_TIMEOUT_S)
                backoff = RECONNECT_MIN_S
                await on_change(None)
                while True:
                    message = await pubsub.get_message(timeout=CHECK_EVERY_S)
                    if message is None:
                        if await on_change(None):
                            break  # a version came without its notice: subscribe again
                    else:
                        await on_change(_noticed(message))
            except (RedisError, OSError, StoreUnavailable) as exc:
                lost = exc if isinstance(exc, StoreUnavailable) else self._unavailable(exc)
                on_lost(str(lost))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_S)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._redis.aclose()
        await self._notices.aclose()


def _noticed(message: Mapping[str, Any]) -> int | None:
    """The version a notice announces; None (check the store) if it is not a note."""
    try:
        return int(json.loads(message["data"])["version"])
    except (KeyError, TypeError, ValueError):
        return None


def _ordered(records: Mapping[bytes, bytes], order: Sequence[bytes]) -> list[dict[str, Any]]:
    """Hash values in the order a zset of their keys gives (keys it lacks last, sorted)."""
    ranked = [key for key in order if key in records]
    rest = sorted(set(records) - set(ranked))
    return [json.loads(records[key]) for key in (*ranked, *rest)]


def _sync_hash(
    commands: _Commands,
    name: str,
    before: Iterable[R],
    after: Iterable[R],
    *,
    key: Callable[[R], Hashable],
    data: Callable[[R], object],
    order: str | None = None,
    first: int = 0,
) -> None:
    """The commands that turn hash `name` from `before` into `after`."""
    old = {key(r): r for r in before}
    new = {key(r): r for r in after}
    gone = [str(k) for k in old if k not in new]
    if gone:
        commands.add_many("HDEL", name, gone)
        if order is not None:
            commands.add_many("ZREM", order, gone)
    changed = [(str(k), r) for k, r in new.items() if old.get(k) != r]
    if changed:
        commands.add_many("HSET", name, [x for k, r in changed for x in (k, codec.dumps(data(r)))])
        if order is not None:
            # NX: a record that changes keeps its place.
            ranks = [x for i, (k, _) in enumerate(changed) for x in (first + i, k)]
            commands.add_many("ZADD", order, ranks, options=("NX",))


def _sync_list(
    commands: _Commands,
    name: str,
    before: Sequence[R],
    after: Sequence[R],
    *,
    data: Callable[[R], object],
) -> bool:
    """The commands that turn list `name` from `before` into `after`: an append, or
    (when something was removed) the whole list again; True for the latter."""
    if tuple(after[: len(before)]) == tuple(before):
        appended = after[len(before) :]
        if appended:
            commands.add_many("RPUSH", name, [codec.dumps(data(r)) for r in appended])
        return False
    commands.add("DEL", name)
    if after:
        commands.add_many("RPUSH", name, [codec.dumps(data(r)) for r in after])
    return True
