"""gaia.yaml, validated into frozen models (DESIGN.md, "Configuration file: gaia.yaml").

Validation is by hand rather than through pydantic so that every message can say, in
the user's own terms, which key is wrong and what it should look like:

    gaia.yaml: functions.hello.timeout: expected a duration like 500ms, 10s, 5m or 1h, got 'abc'

(plus the line number when the text came from YAML).

Every mistake in a file is collected before anything is raised, so one run shows them
all. The admin API receives the same structure as JSON and validates a single function
with `parse_function`.
"""

from __future__ import annotations

import difflib
import keyword
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Protocol, TypeVar, get_args
from urllib.parse import urlsplit

import yaml

from gateway.units import (
    DURATION_KIND,
    SIZE_KIND,
    format_duration,
    format_size,
    parse_duration,
    parse_size,
)
from routing.errors import InvalidSpec
from routing.names import (
    DEFAULT_ALIAS,
    Target,
    check_alias_name,
    check_function_name,
    check_revision_number,
    parse_target,
)
from routing.traffic import AliasSpec, parse_alias_spec
from runtime_adapters.base import PoolSpec, RevisionSpec
from triggers.cron.config import OVERLAPS, CronTriggerConfig
from triggers.kafka.config import (
    ORDERINGS,
    START_OFFSETS,
    Batching,
    KafkaTriggerConfig,
)
from triggers.nats.config import JetStreamConfig, NatsTriggerConfig

RuntimeName = Literal["python", "container", "url"]
MigrationState = Literal["legacy", "shadow", "canary", "function", "retired"]

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
MAX_TIMEOUT_S = 15 * 60.0
MIN_MEMORY_BYTES = 32 * 1024**2
MAX_CONCURRENCY = 1000

_REVISION_KEYS = (
    "runtime",
    "handler",
    "env",
    "timeout",
    "memory",
    "concurrency",
    "pool",
    "network",
)
# The keys a published revision takes (the admin API's `config`).
REVISION_KEYS = _REVISION_KEYS
_FUNCTION_KEYS = ("code", *_REVISION_KEYS, "aliases", "triggers")
# Documented keys whose feature has not shipped: named as such rather than as typos.
_UNAVAILABLE_FUNCTION_KEYS = {
    "command": "command is for runtime container, which is not available yet",
    "readiness": "readiness is for runtime container, which is not available yet",
    "urls": "urls is for runtime url, which is not available yet",
}
_POOL_KEYS = ("min", "max", "idle", "queue", "queue_timeout")
_TRIGGER_KINDS = ("http", "kafka", "nats", "cron")
_PIN_KEYS = ("alias", "revision", "tag")
_HTTP_TRIGGER_KEYS = ("path", "methods", "host", *_PIN_KEYS)
_KAFKA_TRIGGER_KEYS = (
    "brokers",
    "topic",
    "topics",
    "group",
    "start",
    "ordering",
    "max_in_flight",
    "batch",
    "retries",
    "backoff",
    "dead_letter",
    "response_topic",
    "session_timeout",
    *_PIN_KEYS,
)
_NATS_TRIGGER_KEYS = (
    "servers",
    "subject",
    "queue",
    "jetstream",
    "retries",
    "backoff",
    "dead_letter",
    "reply_subject",
    *_PIN_KEYS,
)
_CRON_TRIGGER_KEYS = (
    "schedule",
    "timezone",
    "payload",
    "misfire_grace",
    "coalesce",
    "overlap",
    "jitter",
    "lease",
    "retries",
    "backoff",
    *_PIN_KEYS,
)
_JETSTREAM_KEYS = ("stream", "durable", "ack_wait", "max_deliver", "max_ack_pending")
_BATCH_KEYS = ("size", "window")
_BACKOFF_KEYS = ("initial", "max")
MAX_TRIGGER_RETRIES = 100  # kafka, nats and cron
MAX_KAFKA_IN_FLIGHT = 10_000
MAX_KAFKA_BATCH = 10_000
MAX_BATCH_WINDOW_S = 60.0
DEFAULT_BATCH_WINDOW_S = 0.05
MIN_SESSION_TIMEOUT_S = 1.0
MAX_SESSION_TIMEOUT_S = 3600.0
MIN_ACK_WAIT_S = 1.0
MAX_ACK_WAIT_S = 3600.0
MAX_NATS_DELIVER = 1000
MAX_NATS_ACK_PENDING = 10_000
MAX_MISFIRE_GRACE_S = 3600.0
MAX_JITTER_S = 3600.0
# A cron payload is put into every event: bounded, so a YAML alias bomb cannot explode.
MAX_PAYLOAD_VALUES = 10_000
MAX_PAYLOAD_DEPTH = 64
_JSON_VALUE = (
    "a JSON value (a mapping with string keys, a list, a string, a number, true, false or null)"
)
_LEGACY_KEYS = ("upstream", "routes")
_LEGACY_ROUTE_KEYS = ("path", "methods", "function", "state", "percent")
_TOP_LEVEL_KEYS = ("functions", "legacy")
_MIGRATION_STATES: tuple[MigrationState, ...] = (
    "legacy",
    "shadow",
    "canary",
    "function",
    "retired",
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A host name, IPv4 address or bracketed IPv6 address, and a port.
_HOST_PORT = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})"
_BROKER = re.compile(_HOST_PORT)  # a Kafka bootstrap server
_NATS_SERVER = re.compile(rf"(?:(?P<scheme>nats|tls)://)?{_HOST_PORT}")
# A cron lease store; no credentials, since trigger specs are stored and shown as they are.
_REDIS_URL = re.compile(rf"rediss?://{_HOST_PORT}(?:/\d+)?")
# gaia's rules for NATS names: streams and durable consumers, and queue groups.
_NATS_NAME = re.compile(r"[A-Za-z0-9_-]+")
_NATS_QUEUE = re.compile(r"[A-Za-z0-9_.-]+")
# Kafka's own rule for topic names (and gaia's for consumer group names).
_KAFKA_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")


# --- errors ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One mistake: `path` is the dotted path to the bad key ("" for the whole file)."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.line is not None:
            where = f" (line {self.line}" + (f", column {self.column})" if self.column else ")")
        return f"{self.path}: {self.message}{where}" if self.path else f"{self.message}{where}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "message": self.message, "line": self.line}


class ConfigError(Exception):
    """Everything wrong with one file; str() gives one `file: path: message` per line."""

    def __init__(self, file: str, errors: list[ConfigIssue]) -> None:
        super().__init__("\n".join(f"{file}: {issue}" for issue in errors))
        self.file = file
        self.errors = errors


# --- models ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RevisionConfig:
    """The settings that, with the code, define a revision: changing any of them
    publishes a new one. The field defaults are the documented defaults."""

    runtime: RuntimeName = "python"
    handler: str = "main.handler"
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    timeout_s: float = 10.0
    memory_bytes: int = 256 * 1024**2
    concurrency: int = 8
    pool: PoolSpec = field(default_factory=PoolSpec)
    network: bool = True

    def to_dict(self) -> dict[str, object]:
        """Canonical JSON data (sorted keys, numbers in seconds and bytes) for hashing
        and storing. It is valid gaia.yaml, so `from_dict` reads it back with the same
        validation as a file."""
        return {
            "concurrency": self.concurrency,
            "env": dict(sorted(self.env.items())),
            "handler": self.handler,
            "memory": self.memory_bytes,
            "network": self.network,
            "pool": {
                "idle": self.pool.idle_s,
                "max": self.pool.max,
                "min": self.pool.min,
                "queue": self.pool.queue,
                # Only when set, so that revisions from before the key keep their digests.
                **(
                    {"queue_timeout": self.pool.queue_timeout_s}
                    if self.pool.queue_timeout_s is not None
                    else {}
                ),
            },
            "runtime": self.runtime,
            "timeout": self.timeout_s,
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, object], *, file: str = "revision config"
    ) -> RevisionConfig:
        checker = _Checker(file=file)
        body = checker.mapping(data, "", keys=_REVISION_KEYS)
        settings = checker.revision_config(body or {}, "")
        checker.raise_if_any()
        return settings

    def spec(self, *, function: str, revision: int, digest: str, bundle_dir: Path) -> RevisionSpec:
        return RevisionSpec(
            function=function,
            revision=revision,
            digest=digest,
            runtime=self.runtime,
            bundle_dir=bundle_dir,
            handler=self.handler,
            env=self.env,
            timeout_s=self.timeout_s,
            memory_bytes=self.memory_bytes,
            concurrency=self.concurrency,
            pool=self.pool,
            network=self.network,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Targeted:
    """Which revisions a trigger's events go to: an alias, a pinned revision, or, for
    `tag:`, the alias whose traffic defines the tag, with `target.tag` set."""

    target: Target

    @property
    def tag(self) -> str | None:
        return self.target.tag


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpTriggerConfig(Targeted):
    path: str
    methods: tuple[str, ...] | None = None  # None: every method
    host: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class KafkaTrigger(Targeted):
    """`- kafka: {...}`: what to consume, and (Targeted) which revisions receive it."""

    kafka: KafkaTriggerConfig


@dataclass(frozen=True, kw_only=True, slots=True)
class NatsTrigger(Targeted):
    """`- nats: {...}`: what to subscribe to, and which revisions receive it."""

    nats: NatsTriggerConfig


@dataclass(frozen=True, kw_only=True, slots=True)
class CronTrigger(Targeted):
    """`- cron: {...}`: when to run and with what, and which revisions run."""

    cron: CronTriggerConfig


TriggerConfig = HttpTriggerConfig | KafkaTrigger | NatsTrigger | CronTrigger


@dataclass(frozen=True, kw_only=True)
class FunctionConfig:
    name: str
    code: Path  # absolute
    settings: RevisionConfig
    aliases: Mapping[str, AliasSpec]  # always holds `default`
    triggers: tuple[TriggerConfig, ...] = ()

    def revision_config(self) -> dict[str, object]:
        """What, besides the code, goes into the revision digest; see RevisionConfig."""
        return self.settings.to_dict()

    @staticmethod
    def from_revision_config(data: Mapping[str, object]) -> RevisionConfig:
        """A stored revision config has no name, code, aliases or triggers to rebuild a
        FunctionConfig from; it turns back into the settings the revision runs with."""
        return RevisionConfig.from_dict(data)


@dataclass(frozen=True, kw_only=True, slots=True)
class LegacyRoute:
    path: str
    methods: tuple[str, ...] | None = None  # None: every method
    function: Target | None = None  # required unless state is legacy or retired
    state: MigrationState = "legacy"
    percent: float | None = None  # share served by the function; canary only


@dataclass(frozen=True, kw_only=True, slots=True)
class LegacyConfig:
    upstream: str
    routes: tuple[LegacyRoute, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GaiaFile:
    functions: Mapping[str, FunctionConfig] = field(default_factory=lambda: MappingProxyType({}))
    legacy: LegacyConfig | None = None


# --- entry points ---------------------------------------------------------------------


def load_file(path: Path) -> GaiaFile:
    """Read and validate a gaia.yaml; `code:` directories are relative to its directory."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise ConfigError(str(path), [ConfigIssue("", f"cannot read the file: {reason}")]) from exc
    return parse_config(text, file=str(path), base_dir=path.parent)


def parse_config(text: str, *, file: str = "gaia.yaml", base_dir: Path) -> GaiaFile:
    """Validate gaia.yaml text; `file` is the name used in messages."""
    data, source = _load_yaml(text, file)
    return _parse_document(data, _Checker(file=file, base_dir=base_dir, source=source))


def parse_config_document(data: object, *, file: str, base_dir: Path) -> GaiaFile:
    """Validate a gaia.yaml structure already loaded, e.g. from JSON by the admin API."""
    return _parse_document(data, _Checker(file=file, base_dir=base_dir))


def _parse_document(data: object, checker: _Checker) -> GaiaFile:
    if checker.source:
        checker.issues.extend(checker.source.duplicates)
    parsed = checker.gaia_file(data)
    checker.raise_if_any()
    return parsed


def parse_function(
    name: str,
    raw: Mapping[str, object],
    *,
    file: str,
    base_dir: Path,
    path_prefix: str = "",
) -> FunctionConfig:
    """Validate one function's mapping; `path_prefix` is where `raw` sits in the
    document (`functions.hello` in a file, "" for an admin API request body)."""
    checker = _Checker(file=file, base_dir=base_dir)
    parsed = checker.function(name, raw, path_prefix)
    checker.raise_if_any()
    assert parsed is not None  # no issues means a complete function
    return parsed


# --- YAML with positions --------------------------------------------------------------


@dataclass
class _Source:
    """Where each key sits in the YAML text, so issues can carry line numbers."""

    lines: dict[str, int] = field(default_factory=dict)
    # Scalars as written: `1.10` and `on` stay themselves when an env value needs a string.
    scalars: dict[str, str] = field(default_factory=dict)
    duplicates: list[ConfigIssue] = field(default_factory=list)

    def line_of(self, path: str) -> int | None:
        """The line of `path`, else of its nearest ancestor (a missing key's mapping)."""
        while path not in self.lines:
            if not path:
                return None
            path = _LAST_SEGMENT.sub("", path, count=1)
        return self.lines[path]

    def index(self, node: yaml.Node, path: str, seen: set[int]) -> None:
        # A node shared through a YAML alias is indexed once, so `&a [*a]` terminates
        # and nested aliases cannot blow up exponentially.
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
                    continue
                child, line = _join(path, key.value), key.start_mark.line + 1
                if key.value in first:
                    self.duplicates.append(
                        ConfigIssue(
                            child,
                            f"{key.value!r} is defined twice (first on line {first[key.value]}):"
                            " expected each key once",
                            line=line,
                        )
                    )
                else:
                    first[key.value] = self.lines[child] = line
                self.index(value, child, seen)
        elif isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                child = f"{path}[{position}]"
                self.lines[child] = item.start_mark.line + 1
                self.index(item, child, seen)
        elif isinstance(node, yaml.ScalarNode):
            self.scalars[path] = node.value


_MERGE_TAG = "tag:yaml.org,2002:merge"
_LAST_SEGMENT = re.compile(r"(?:\.|^)[^.\[]*$|\[\d+\]$")


def _load_yaml(text: str, file: str) -> tuple[object, _Source]:
    source = _Source()
    try:
        loader = yaml.SafeLoader(text)  # checks for unprintable characters already
        try:
            node = loader.get_single_node()
            if node is None:
                return None, source
            # Index before constructing: construction flattens `<<` merges in place,
            # which would make merged keys look like duplicates.
            source.index(node, "", set())
            data: object = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ConfigError(file, [_yaml_issue(exc, text)]) from None
    return data, source


def _yaml_issue(exc: yaml.YAMLError, text: str) -> ConfigIssue:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return ConfigIssue("", f"invalid YAML: {exc.reason} ({exc.character!r})", line=line)
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return ConfigIssue("", f"invalid YAML: {exc}")
    message = f"invalid YAML: {exc.problem}"
    if exc.context:
        started = f" on line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{started})"
    if exc.problem and exc.problem.endswith("but got '{'"):
        # Route patterns in flow style, `{path: /hello/{name}}`, are the usual cause.
        message += '; inside { } or [ ], quote values with braces: "/hello/{name}"'
    mark = exc.problem_mark
    return ConfigIssue("", message, line=mark.line + 1, column=mark.column + 1)


# --- validation -----------------------------------------------------------------------

_T = TypeVar("_T")
_R = TypeVar("_R")
# Alias name → spec, or None for an alias with issues: it still counts as defined, so a
# trigger naming it gets no second, misleading "not defined" issue.
_Aliases = dict[str, AliasSpec | None]


class _Retrying(Protocol):
    """The redelivery settings that kafka, nats and cron trigger configs share."""

    @property
    def retries(self) -> int: ...

    @property
    def backoff_initial_s(self) -> float: ...

    @property
    def backoff_max_s(self) -> float: ...


class _Checker:
    """Validates one document, recording every issue instead of stopping at the first.

    Methods return a model, or a stand-in (a default, None) after recording an issue:
    the stand-in lets validation carry on, and is never seen because `raise_if_any`
    runs before anything is returned to a caller.
    """

    def __init__(
        self, *, file: str, base_dir: Path = Path(), source: _Source | None = None
    ) -> None:
        self.file = file
        self.base_dir = base_dir
        self.source = source
        self.issues: list[ConfigIssue] = []
        # What a trigger must have to itself across all functions (a Kafka consumer
        # group, a NATS queue group on a subject, a JetStream durable consumer) → the
        # trigger that claims it first; see `distinct`.
        self.claims: dict[tuple[str, ...], str] = {}

    def add(self, path: str, message: str) -> None:
        line = self.source.line_of(path) if self.source else None
        self.issues.append(ConfigIssue(path, message, line=line))

    def raise_if_any(self) -> None:
        if self.issues:
            # In file order, which is how a user fixes them; a stable sort keeps the
            # order of discovery among issues on one line or without lines.
            ordered = sorted(self.issues, key=lambda issue: issue.line or 0)
            raise ConfigError(self.file, ordered)

    def check(self, path: str, parse: Callable[[_R], _T], raw: _R) -> _T | None:
        """`parse(raw)`, with its ValueError or routing InvalidSpec recorded at `path`."""
        try:
            return parse(raw)
        except InvalidSpec as exc:
            self.add(exc.path or path, exc.message)
        except ValueError as exc:
            self.add(path, str(exc))
        return None

    def field(
        self,
        body: Mapping[str, object],
        path: str,
        key: str,
        parse: Callable[[object], _T],
        default: _T,
    ) -> _T:
        if key not in body:
            return default
        value = self.check(_join(path, key), parse, body[key])
        return default if value is None else value

    def mapping(
        self,
        raw: object,
        path: str,
        *,
        keys: Sequence[str],
        unavailable: Mapping[str, str] | None = None,
    ) -> dict[str, object] | None:
        """A mapping with a fixed set of keys; an empty value counts as an empty mapping."""
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.add(path, f"expected a mapping with {_listing(keys)}, got {_describe(raw)}")
            return None
        body: dict[str, object] = {}
        for key, value in raw.items():
            where = _join(path, str(key))
            if unavailable and key in unavailable:
                self.add(where, unavailable[key])
            elif isinstance(key, str) and key in keys:
                body[key] = value
            else:
                self.add(where, _unknown_key(key, keys))
        return body

    def entries(self, raw: object, path: str, *, what: str) -> list[tuple[str, object]]:
        """A mapping whose keys are names the user chose (functions, aliases, env)."""
        if raw is None:
            return []
        if not isinstance(raw, Mapping):
            self.add(path, f"expected a mapping of {what}, got {_describe(raw)}")
            return []
        items: list[tuple[str, object]] = []
        for key, value in raw.items():
            if isinstance(key, str):
                items.append((key, value))
            else:
                self.add(_join(path, str(key)), f"expected a name, got {_describe(key)}")
        return items

    def sequence(self, raw: object, path: str, *, what: str) -> list[tuple[str, object]]:
        """The items of a list with their paths; an empty value counts as an empty list."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.add(path, f"expected a list of {what}, got {_describe(raw)}")
            return []
        return [(f"{path}[{position}]", item) for position, item in enumerate(raw)]

    # --- the document

    def gaia_file(self, data: object) -> GaiaFile:
        body = self.mapping(data, "", keys=_TOP_LEVEL_KEYS)
        if body is None:
            return GaiaFile()
        functions: dict[str, FunctionConfig] = {}
        for name, raw in self.entries(body.get("functions"), "functions", what="function names"):
            parsed = self.function(name, raw, _join("functions", name))
            if parsed is not None:
                functions[name] = parsed
        legacy = None if body.get("legacy") is None else self.legacy(body["legacy"], "legacy")
        return GaiaFile(functions=MappingProxyType(functions), legacy=legacy)

    def function(self, name: str, raw: object, path: str) -> FunctionConfig | None:
        start = len(self.issues)
        self.check(path, check_function_name, name)
        body = self.mapping(raw, path, keys=_FUNCTION_KEYS, unavailable=_UNAVAILABLE_FUNCTION_KEYS)
        if body is None:
            return None
        settings = self.revision_config(body, path)
        code = self.code(body, path) if settings.runtime == "python" else None
        aliases = self.aliases(body.get("aliases"), _join(path, "aliases"))
        triggers = self.triggers(name, body.get("triggers"), _join(path, "triggers"), aliases)
        if len(self.issues) > start or code is None:
            return None
        valid = {alias: spec for alias, spec in aliases.items() if spec is not None}
        return FunctionConfig(
            name=name,
            code=code,
            settings=settings,
            aliases=MappingProxyType(valid),
            triggers=triggers,
        )

    def revision_config(self, body: Mapping[str, object], path: str) -> RevisionConfig:
        default = RevisionConfig()
        timeout_s = self.field(body, path, "timeout", _timeout, default.timeout_s)
        pool = self.pool(body.get("pool"), _join(path, "pool"), default.pool)
        if pool.queue_timeout_s is not None and pool.queue_timeout_s > timeout_s:
            self.add(
                _join(_join(path, "pool"), "queue_timeout"),
                f"expected at most the function's timeout ({format_duration(timeout_s)}),"
                f" which the wait counts against, got {format_duration(pool.queue_timeout_s)}",
            )
        return RevisionConfig(
            runtime=self.field(body, path, "runtime", _runtime, default.runtime),
            handler=self.field(body, path, "handler", _handler, default.handler),
            env=self.env(body.get("env"), _join(path, "env")),
            timeout_s=timeout_s,
            memory_bytes=self.field(body, path, "memory", _memory, default.memory_bytes),
            concurrency=self.field(body, path, "concurrency", _concurrency, default.concurrency),
            pool=pool,
            network=self.field(body, path, "network", _bool, default.network),
        )

    def code(self, body: Mapping[str, object], path: str) -> Path | None:
        where = _join(path, "code")
        if body.get("code") is None:
            self.add(where, "required for runtime python: expected the directory of the code")
            return None
        return self.check(where, lambda raw: _code_dir(raw, self.base_dir), body["code"])

    def env(self, raw: object, path: str) -> Mapping[str, str]:
        env: dict[str, str] = {}
        for name, value in self.entries(raw, path, what="variable names to values"):
            where = _join(path, name)
            if not _ENV_NAME.fullmatch(name):
                self.add(
                    where,
                    f"invalid variable name {name!r}: expected letters, digits and '_',"
                    " not starting with a digit",
                )
            elif value is None or isinstance(value, Mapping | list):
                self.add(where, f'expected a string (write "" for empty), got {_describe(value)}')
            elif isinstance(value, str):
                env[name] = value
            else:
                written = self.source.scalars.get(where) if self.source else None
                env[name] = written if written is not None else _scalar_text(value)
        return MappingProxyType(env)

    def pool(self, raw: object, path: str, default: PoolSpec) -> PoolSpec:
        start = len(self.issues)
        body = self.mapping(raw, path, keys=_POOL_KEYS)
        if body is None:
            return default
        pool = PoolSpec(
            min=self.field(body, path, "min", _pool_min, default.min),
            max=self.field(body, path, "max", _pool_max, default.max),
            idle_s=self.field(body, path, "idle", _positive_duration, default.idle_s),
            queue=self.field(body, path, "queue", _pool_min, default.queue),
            queue_timeout_s=self.field(
                body, path, "queue_timeout", _timeout, default.queue_timeout_s
            ),
        )
        # Only compare numbers that parsed; otherwise the stand-ins would add noise.
        if len(self.issues) == start and pool.max < pool.min:
            blamed = "max" if "max" in body else "min"
            self.add(
                _join(path, blamed),
                f"expected min at most max, got min {pool.min} and max {pool.max}",
            )
        return pool

    def aliases(self, raw: object, path: str) -> _Aliases:
        aliases: _Aliases = {}
        for name, value in self.entries(raw, path, what="alias names to traffic"):
            where = _join(path, name)
            self.check(where, check_alias_name, name)
            if value is None:
                value = {}
            if not isinstance(value, Mapping):
                self.add(where, f"expected a mapping with traffic, sticky, got {_describe(value)}")
                continue
            if "rollout" in value:
                self.add(_join(where, "rollout"), "rollout is not available yet")
                value = {key: item for key, item in value.items() if key != "rollout"}
            try:
                aliases[name] = parse_alias_spec(value, path=where)
            except InvalidSpec as exc:
                self.add(exc.path, exc.message)
                aliases[name] = None
        aliases.setdefault(DEFAULT_ALIAS, AliasSpec())
        return aliases

    def triggers(
        self, function: str, raw: object, path: str, aliases: _Aliases
    ) -> tuple[TriggerConfig, ...]:
        triggers: list[TriggerConfig] = []
        for where, item in self.sequence(raw, path, what="triggers like - http: {path: /hello}"):
            trigger: TriggerConfig | None = None
            match self.trigger_kind(item, where):
                case ("http", body):
                    trigger = self.http_trigger(function, body, _join(where, "http"), aliases)
                case ("kafka", body):
                    trigger = self.kafka_trigger(function, body, _join(where, "kafka"), aliases)
                    if trigger is not None:
                        self.distinct_group(function, trigger, where)
                case ("nats", body):
                    trigger = self.nats_trigger(function, body, _join(where, "nats"), aliases)
                    if trigger is not None:
                        self.distinct_consumer(function, trigger, where)
                case ("cron", body):
                    trigger = self.cron_trigger(function, body, _join(where, "cron"), aliases)
            if trigger is not None:
                triggers.append(trigger)
        return tuple(triggers)

    def trigger_kind(self, item: object, path: str) -> tuple[str, object] | None:
        """The single key of a trigger list item and its value: `- http: {path: /}`."""
        expected = f"a mapping with one of {_listing(_TRIGGER_KINDS)}"
        if not isinstance(item, Mapping) or not item:
            self.add(path, f"expected {expected}, got {_describe(item)}")
            return None
        kinds = [key for key in item if key in _TRIGGER_KINDS]
        if len(kinds) == 1 and len(item) > 1 and item[kinds[0]] is None:
            # `- http:` followed by its keys at the same indentation parses as siblings.
            others = _listing([str(key) for key in item if key != kinds[0]], last="and")
            self.add(
                path, f"expected the keys of {kinds[0]!r} indented under it, got {others} beside it"
            )
            return None
        if len(item) > 1:
            keys = _listing([str(key) for key in item], last="and")
            self.add(path, f"expected one trigger per list item, got {keys}")
            return None
        [(kind, body)] = item.items()
        if kind not in _TRIGGER_KINDS:
            self.add(_join(path, str(kind)), _unknown_key(kind, _TRIGGER_KINDS, what="trigger"))
            return None
        return str(kind), body

    def http_trigger(
        self, function: str, raw: object, path: str, aliases: _Aliases
    ) -> HttpTriggerConfig | None:
        start = len(self.issues)
        body = self.mapping(raw, path, keys=_HTTP_TRIGGER_KEYS)
        if body is None:
            return None
        route = self.check(_join(path, "path"), _url_path, body.get("path"))
        methods = self.field(body, path, "methods", _methods, None)
        host = self.field(body, path, "host", _host, None)
        target = self.trigger_target(function, body, path, aliases)
        if len(self.issues) > start or route is None:
            return None
        return HttpTriggerConfig(path=route, methods=methods, host=host, target=target)

    def trigger_target(
        self, function: str, body: Mapping[str, object], path: str, aliases: _Aliases
    ) -> Target:
        """What a trigger sends to: its `alias` (default `default`), or the `revision`
        or `tag` it pins."""
        pins = [key for key in _PIN_KEYS if key in body]
        target = Target(function=function, alias=DEFAULT_ALIAS)
        if len(pins) > 1:
            given = _listing(pins, last="and")
            self.add(path, f"expected at most one of alias, revision or tag, got {given}")
        elif pins == ["alias"]:
            alias = self.field(body, path, "alias", lambda raw: _defined_alias(raw, aliases), "")
            target = Target(function=function, alias=alias)
        elif pins == ["revision"]:
            revision = self.field(body, path, "revision", check_revision_number, 0)
            target = Target(function=function, revision=revision)
        elif pins == ["tag"]:
            tag = self.field(body, path, "tag", _text, "")
            if tag:
                owner = self.check(_join(path, "tag"), lambda raw: _tagged_alias(raw, aliases), tag)
                target = Target(function=function, alias=owner, tag=tag)
        return target

    def kafka_trigger(
        self, function: str, raw: object, path: str, aliases: _Aliases
    ) -> KafkaTrigger | None:
        start = len(self.issues)
        body = self.mapping(raw, path, keys=_KAFKA_TRIGGER_KEYS)
        if body is None:
            return None
        default = KafkaTriggerConfig(brokers=(), topics=())
        brokers = self.check(_join(path, "brokers"), _brokers, body.get("brokers"))
        topics = self.kafka_topics(body, path)
        group = self.field(body, path, "group", _group, None)
        start_at = self.field(
            body, path, "start", lambda raw: _choice(raw, START_OFFSETS), default.start
        )
        ordering = self.field(
            body, path, "ordering", lambda raw: _choice(raw, ORDERINGS), default.ordering
        )
        max_in_flight = self.field(
            body, path, "max_in_flight", _max_in_flight, default.max_in_flight
        )
        batch = self.batch(body.get("batch"), _join(path, "batch"))
        retries, backoff = self.retry_policy(body, path, default)
        outputs: dict[str, str | None] = {}
        for key in ("dead_letter", "response_topic"):
            outputs[key] = self.field(body, path, key, _topic, None)
            if topics and outputs[key] in topics:
                self.add(
                    _join(path, key),
                    f"topic {outputs[key]!r} is consumed by this trigger, so it would feed the"
                    " trigger its own output: expected a topic the trigger does not consume",
                )
        session_timeout = self.field(
            body, path, "session_timeout", _session_timeout, default.session_timeout_s
        )
        target = self.trigger_target(function, body, path, aliases)
        if len(self.issues) > start or brokers is None or topics is None:
            return None
        config = KafkaTriggerConfig(
            brokers=brokers,
            topics=topics,
            group=group,
            start=start_at,
            ordering=ordering,
            max_in_flight=max_in_flight,
            batch=batch,
            retries=retries,
            backoff_initial_s=backoff[0],
            backoff_max_s=backoff[1],
            dead_letter=outputs["dead_letter"],
            response_topic=outputs["response_topic"],
            session_timeout_s=session_timeout,
        )
        return KafkaTrigger(target=target, kafka=config)

    def kafka_topics(self, body: Mapping[str, object], path: str) -> tuple[str, ...] | None:
        """`topic: orders` or `topics: [orders, refunds]`, exactly one of them."""
        if "topic" in body and "topics" in body:
            self.add(path, "expected one of topic or topics, got topic and topics")
            return None
        if "topics" not in body:
            topic = self.check(_join(path, "topic"), _topic, body.get("topic"))
            return None if topic is None else (topic,)
        where = _join(path, "topics")
        raw = body["topics"]
        if not isinstance(raw, list) or not raw:
            self.add(where, f"expected a non-empty list of topic names, got {_describe(raw)}")
            return None
        topics: list[str] = []
        valid = True
        for item_path, item in self.sequence(raw, where, what="topic names"):
            topic = self.check(item_path, _topic, item)
            if topic is None:
                valid = False
            elif topic in topics:
                self.add(item_path, f"topic {topic!r} is listed twice: expected distinct topics")
                valid = False
            else:
                topics.append(topic)
        return tuple(topics) if valid else None

    def batch(self, raw: object, path: str) -> Batching | None:
        """`batch: {size, window}`; absent or empty means one message per invocation."""
        if raw is None:
            return None
        body = self.mapping(raw, path, keys=_BATCH_KEYS)
        if body is None:
            return None
        size = self.check(_join(path, "size"), _batch_size, body.get("size"))
        window = self.field(body, path, "window", _batch_window, DEFAULT_BATCH_WINDOW_S)
        return None if size is None else Batching(size=size, window_s=window)

    def nats_trigger(
        self, function: str, raw: object, path: str, aliases: _Aliases
    ) -> NatsTrigger | None:
        start = len(self.issues)
        body = self.mapping(raw, path, keys=_NATS_TRIGGER_KEYS)
        if body is None:
            return None
        default = NatsTriggerConfig(servers=(), subject="")
        servers = self.check(_join(path, "servers"), _nats_servers, body.get("servers"))
        subject = self.check(_join(path, "subject"), _subject, body.get("subject"))
        queue = self.field(body, path, "queue", _queue_group, None)
        jetstream = None
        if "jetstream" in body:
            jetstream = self.jetstream(body["jetstream"], _join(path, "jetstream"))
            if "queue" in body:
                self.add(
                    _join(path, "queue"),
                    "a JetStream trigger shares its messages between replicas through its"
                    " durable consumer, not a queue group: expected queue or jetstream,"
                    " not both",
                )
        retries, backoff = self.retry_policy(body, path, default)
        outputs: dict[str, str | None] = {}
        for key in ("dead_letter", "reply_subject"):
            output = outputs[key] = self.field(body, path, key, _literal_subject, None)
            if subject is not None and output is not None and _subject_matches(subject, output):
                self.add(
                    _join(path, key),
                    f"subject {output!r} matches this trigger's subject {subject!r}, so it"
                    " would feed the trigger its own output: expected a subject the trigger"
                    " does not subscribe to",
                )
        target = self.trigger_target(function, body, path, aliases)
        if len(self.issues) > start or servers is None or subject is None:
            return None
        config = NatsTriggerConfig(
            servers=servers,
            subject=subject,
            queue=queue,
            jetstream=jetstream,
            retries=retries,
            backoff_initial_s=backoff[0],
            backoff_max_s=backoff[1],
            dead_letter=outputs["dead_letter"],
            reply_subject=outputs["reply_subject"],
        )
        return NatsTrigger(target=target, nats=config)

    def jetstream(self, raw: object, path: str) -> JetStreamConfig | None:
        """`jetstream: {stream, ...}`; `stream` is required, so an empty value is not
        taken for core NATS."""
        start = len(self.issues)
        body = self.mapping(raw, path, keys=_JETSTREAM_KEYS)
        if body is None:
            return None
        default = JetStreamConfig(stream="")
        stream = self.check(_join(path, "stream"), _stream, body.get("stream"))
        durable = self.field(body, path, "durable", _durable, default.durable)
        ack_wait = self.field(body, path, "ack_wait", _ack_wait, default.ack_wait_s)
        max_deliver = self.field(body, path, "max_deliver", _max_deliver, default.max_deliver)
        max_ack_pending = self.field(
            body, path, "max_ack_pending", _max_ack_pending, default.max_ack_pending
        )
        if len(self.issues) > start or stream is None:
            return None
        return JetStreamConfig(
            stream=stream,
            durable=durable,
            ack_wait_s=ack_wait,
            max_deliver=max_deliver,
            max_ack_pending=max_ack_pending,
        )

    def cron_trigger(
        self, function: str, raw: object, path: str, aliases: _Aliases
    ) -> CronTrigger | None:
        start = len(self.issues)
        body = self.mapping(raw, path, keys=_CRON_TRIGGER_KEYS)
        if body is None:
            return None
        default = CronTriggerConfig(schedule="")
        timezone = self.field(body, path, "timezone", _timezone, default.timezone)
        # With a bad zone, the schedule is still checked (in UTC): its issue is its own.
        schedule = self.check(
            _join(path, "schedule"), lambda raw: _schedule(raw, timezone), body.get("schedule")
        )
        payload = self.payload(body.get("payload"), _join(path, "payload"))
        misfire_grace = self.field(
            body, path, "misfire_grace", _misfire_grace, default.misfire_grace_s
        )
        coalesce = self.field(body, path, "coalesce", _bool, default.coalesce)
        overlap = self.field(
            body, path, "overlap", lambda raw: _choice(raw, OVERLAPS), default.overlap
        )
        jitter = self.field(body, path, "jitter", _jitter, default.jitter_s)
        lease = self.field(body, path, "lease", _redis_url, default.lease)
        retries, backoff = self.retry_policy(body, path, default)
        target = self.trigger_target(function, body, path, aliases)
        if len(self.issues) > start or schedule is None:
            return None
        config = CronTriggerConfig(
            schedule=schedule,
            timezone=timezone,
            payload=payload,
            misfire_grace_s=misfire_grace,
            coalesce=coalesce,
            overlap=overlap,
            jitter_s=jitter,
            lease=lease,
            retries=retries,
            backoff_initial_s=backoff[0],
            backoff_max_s=backoff[1],
        )
        return CronTrigger(target=target, cron=config)

    def payload(self, raw: object, path: str) -> object:
        """A cron trigger's `payload`: any value JSON can carry, copied out of the YAML
        (so anchors share nothing); each value JSON cannot carry is an issue at its path."""
        values = 0
        inside: set[int] = set()  # the mappings and lists being copied, for cycles

        def copy(value: object, where: str, depth: int) -> object:
            nonlocal values
            values += 1
            if values > MAX_PAYLOAD_VALUES or depth >= MAX_PAYLOAD_DEPTH:
                raise _PayloadTooLarge
            if value is None or isinstance(value, str | bool | int):
                return value
            if isinstance(value, float) and math.isfinite(value):
                return value
            if not isinstance(value, Mapping | list):
                self.add(where, f"expected {_JSON_VALUE}, got {_describe_non_json(value)}")
                return None
            if id(value) in inside:
                self.add(where, f"expected {_JSON_VALUE}, got a YAML alias of itself")
                return None
            inside.add(id(value))
            copied: list[object] | dict[str, object]
            if isinstance(value, list):
                copied = [copy(v, f"{where}[{n}]", depth + 1) for n, v in enumerate(value)]
            else:
                copied = {}
                for key, item in value.items():
                    if isinstance(key, str):
                        copied[key] = copy(item, _join(where, key), depth + 1)
                    else:
                        self.add(_join(where, str(key)), f"expected a string key, got {key!r}")
            inside.discard(id(value))
            return copied

        try:
            return copy(raw, path, 0)
        except _PayloadTooLarge:
            self.add(
                path,
                f"expected at most {MAX_PAYLOAD_VALUES} values nested at most"
                f" {MAX_PAYLOAD_DEPTH} deep, got more",
            )
            return None

    def retry_policy(
        self, body: Mapping[str, object], path: str, default: _Retrying
    ) -> tuple[int, tuple[float, float]]:
        """A kafka, nats or cron trigger's `retries` and `backoff`: the attempts after the
        first, and the (initial, max) seconds between them."""
        retries = self.field(body, path, "retries", _retries, default.retries)
        backoff = self.backoff(
            body.get("backoff"),
            _join(path, "backoff"),
            (default.backoff_initial_s, default.backoff_max_s),
        )
        return retries, backoff

    def backoff(self, raw: object, path: str, default: tuple[float, float]) -> tuple[float, float]:
        """`backoff: {initial, max}` in seconds."""
        start = len(self.issues)
        body = self.mapping(raw, path, keys=_BACKOFF_KEYS)
        if body is None:
            return default
        initial = self.field(body, path, "initial", _positive_duration, default[0])
        longest = self.field(body, path, "max", _positive_duration, default[1])
        # Only compare durations that parsed; otherwise the stand-ins would add noise.
        if len(self.issues) == start and longest < initial:
            blamed = "max" if "max" in body else "initial"
            self.add(
                _join(path, blamed),
                f"expected initial at most max, got initial {format_duration(initial)}"
                f" and max {format_duration(longest)}",
            )
        return initial, longest

    def distinct(
        self, claim: tuple[str, ...], path: str, blamed: str, clash: Callable[[str], str]
    ) -> None:
        """The trigger at `path` (its list item) claims `claim` for itself in the whole
        file; a second claimant gets the issue `clash(path of the first)` at `blamed`."""
        first = self.claims.setdefault(claim, path)
        if first != path:
            self.add(blamed, clash(first))

    def distinct_group(self, function: str, trigger: KafkaTrigger, path: str) -> None:
        """Two triggers in one consumer group would split its messages between them,
        in one function or across functions; `path` is the trigger's list item."""
        group = trigger.kafka.group_for(function)
        where = _join(path, "kafka")
        self.distinct(
            ("kafka group", group),
            path,
            _join(where, "group") if trigger.kafka.group is not None else where,
            lambda first: (
                f"consumer group {group!r} is also the group of {first}, and"
                " triggers sharing a group split its messages between them: expected a group:"
                " of its own for this trigger"
            ),
        )

    def distinct_consumer(self, function: str, trigger: NatsTrigger, path: str) -> None:
        """As `distinct_group`: two triggers in one JetStream durable consumer, or in
        one queue group on the same subject, would split its messages between them."""
        nats, where = trigger.nats, _join(path, "nats")
        if nats.jetstream is None:
            queue = nats.queue_for(function)
            self.distinct(
                ("nats queue", nats.subject, queue),
                path,
                _join(where, "queue") if nats.queue is not None else where,
                lambda first: (
                    f"queue group {queue!r} on subject {nats.subject!r} is also"
                    f" the queue group of {first}, and triggers sharing a queue group split its"
                    " messages between them: expected a queue: of its own for this trigger"
                ),
            )
            return
        stream, durable = nats.jetstream.stream, nats.durable_for(function)
        where = _join(where, "jetstream")
        self.distinct(
            ("nats durable", stream, durable),
            path,
            _join(where, "durable") if nats.jetstream.durable is not None else where,
            lambda first: (
                f"durable consumer {durable!r} of stream {stream!r} is also the"
                f" consumer of {first}, and triggers sharing a durable consumer split its"
                " messages between them: expected a durable: of its own for this trigger"
            ),
        )

    def legacy(self, raw: object, path: str) -> LegacyConfig | None:
        start = len(self.issues)
        body = self.mapping(raw, path, keys=_LEGACY_KEYS)
        if body is None:
            return None
        upstream = self.check(_join(path, "upstream"), _http_url, body.get("upstream"))
        routes: list[LegacyRoute] = []
        items = self.sequence(body.get("routes"), _join(path, "routes"), what="routes")
        for where, item in items:
            route = self.legacy_route(item, where)
            if route is not None:
                routes.append(route)
        if len(self.issues) > start or upstream is None:
            return None
        return LegacyConfig(upstream=upstream, routes=tuple(routes))

    def legacy_route(self, raw: object, path: str) -> LegacyRoute | None:
        start = len(self.issues)
        body = self.mapping(raw, path, keys=_LEGACY_ROUTE_KEYS)
        if body is None:
            return None
        route = self.check(_join(path, "path"), _url_path, body.get("path"))
        methods = self.field(body, path, "methods", _methods, None)
        state = self.field(body, path, "state", _migration_state, None)
        function = self.field(body, path, "function", _target, None)
        percent = self.field(body, path, "percent", _percent, None)
        if state in ("shadow", "canary", "function") and "function" not in body:
            self.add(
                _join(path, "function"),
                f"required for state {state}: expected a target like items, items:prod or items@3",
            )
        if state == "canary" and "percent" not in body:
            self.add(_join(path, "percent"), "required for state canary: expected 0 to 100")
        if state is not None and state != "canary" and "percent" in body:
            self.add(_join(path, "percent"), f"percent applies to state canary, not {state}")
        if len(self.issues) > start or route is None:
            return None
        return LegacyRoute(
            path=route, methods=methods, function=function, state=state or "legacy", percent=percent
        )


# --- leaf parsers: return the value or raise ValueError("expected ..., got ...") ------


def _text(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"expected a non-empty string, got {_describe(raw)}")
    return raw


def _bool(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"expected true or false, got {_describe(raw)}")
    return raw


def _int(raw: object, *, minimum: int, maximum: int | None = None) -> int:
    limits = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"expected a whole number {limits}, got {_describe(raw)}")
    if raw < minimum or (maximum is not None and raw > maximum):
        raise ValueError(f"expected a whole number {limits}, got {raw}")
    return raw


def _runtime(raw: object) -> RuntimeName:
    if raw == "python":
        return "python"
    if raw in get_args(RuntimeName):
        raise ValueError(f"runtime {raw!r} is not available yet: expected python")
    raise ValueError(f"expected python, got {_describe(raw)}")


def _handler(raw: object) -> str:
    if isinstance(raw, str):
        parts = raw.split(".")
        if len(parts) > 1 and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
            return raw
    raise ValueError(
        f"expected module.function like main.handler or pkg.app.handler, got {_describe(raw)}"
    )


def _duration(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueError(f"expected a {DURATION_KIND}, got {_describe(raw)}")
    return parse_duration(raw)


def _positive_duration(raw: object) -> float:
    seconds = _duration(raw)
    if seconds <= 0:
        raise ValueError(f"expected a duration longer than 0s, got {_describe(raw)}")
    return seconds


def _duration_within(raw: object, maximum: float, *, minimum: float | None = None) -> float:
    """A duration up to `maximum`: from `minimum` on, or longer than 0s without one."""
    seconds = _duration(raw)
    if minimum is not None:
        within = minimum <= seconds <= maximum
        limits = f"from {format_duration(minimum)} to {format_duration(maximum)}"
    else:
        within = 0 < seconds <= maximum
        limits = f"longer than 0s, at most {format_duration(maximum)}"
    if not within:
        raise ValueError(f"expected a duration {limits}, got {_describe(raw)}")
    return seconds


def _timeout(raw: object) -> float:
    return _duration_within(raw, MAX_TIMEOUT_S)


def _memory(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError(f"expected a {SIZE_KIND}, got {_describe(raw)}")
    size = parse_size(raw)
    if size < MIN_MEMORY_BYTES:
        minimum = format_size(MIN_MEMORY_BYTES)
        raise ValueError(f"expected at least {minimum}, got {_describe(raw)}")
    return size


def _concurrency(raw: object) -> int:
    return _int(raw, minimum=1, maximum=MAX_CONCURRENCY)


def _pool_min(raw: object) -> int:
    return _int(raw, minimum=0)


def _pool_max(raw: object) -> int:
    return _int(raw, minimum=1)


def _percent(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 100:
        raise ValueError(f"expected a number from 0 to 100, got {_describe(raw)}")
    return float(raw)


def _code_dir(raw: object, base_dir: Path) -> Path:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"expected the path of a directory, got {_describe(raw)}")
    directory = (base_dir / Path(raw).expanduser()).resolve()
    if not directory.exists():
        raise ValueError(f"expected an existing directory, but {str(directory)!r} does not exist")
    if not directory.is_dir():
        raise ValueError(f"expected a directory, but {str(directory)!r} is a file")
    return directory


def _url_path(raw: object) -> str:
    if not isinstance(raw, str) or not raw.startswith("/"):
        raise ValueError(f"expected a URL path starting with '/', got {_describe(raw)}")
    return raw


def _methods(raw: object) -> tuple[str, ...]:
    expected = f"a list of HTTP methods from {_listing(HTTP_METHODS)}"
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"expected {expected}, got {_describe(raw)}")
    methods: list[str] = []
    for item in raw:
        method = item.upper() if isinstance(item, str) else None
        if method not in HTTP_METHODS:
            raise ValueError(f"expected {expected}, got {_describe(item)}")
        if method not in methods:
            methods.append(method)
    return tuple(methods)


def _host(raw: object) -> str:
    if not isinstance(raw, str) or not raw or "/" in raw:
        raise ValueError(
            "expected a host name like api.example.com, without scheme or path,"
            f" got {_describe(raw)}"
        )
    return raw.lower()


def _http_url(raw: object) -> str:
    if isinstance(raw, str):
        parts = urlsplit(raw)
        if parts.scheme in ("http", "https") and parts.netloc:
            return raw
    raise ValueError(f"expected an http:// or https:// URL, got {_describe(raw)}")


def _addresses(
    raw: object, pattern: re.Pattern[str], normal: Callable[[re.Match[str]], str], what: str
) -> tuple[str, ...]:
    """Servers: one address, a comma-separated string of them, or a list of them, each
    matching `pattern` (with a `port` group) and written as `normal` gives it; repeats
    are dropped. `what` describes one address."""
    expected = (
        f"expected {what} (port 1 to 65535), a comma-separated string of them or a list of them"
    )
    if isinstance(raw, str):
        items: list[object] = [part.strip() for part in raw.split(",")]
    elif isinstance(raw, list) and raw:
        items = list(raw)
    else:
        raise ValueError(f"{expected}, got {_describe(raw)}")
    addresses: list[str] = []
    for item in items:
        match = pattern.fullmatch(item) if isinstance(item, str) else None
        if match is None or not 1 <= int(match["port"]) <= 65535:
            got = _describe(item) if item != "" else "an empty entry"
            raise ValueError(f"{expected}, got {got}")
        address = normal(match)
        if address not in addresses:
            addresses.append(address)
    return tuple(addresses)


def _brokers(raw: object) -> tuple[str, ...]:
    """Bootstrap servers: `host:port`, `a:9092,b:9092`, or a list of `host:port`."""
    return _addresses(raw, _BROKER, lambda match: match[0], "host:port like 127.0.0.1:9092")


def _nats_servers(raw: object) -> tuple[str, ...]:
    """`nats://host:port` or `tls://host:port` URLs, as for `_brokers`; a bare
    `host:port` means `nats://host:port`."""
    return _addresses(
        raw,
        _NATS_SERVER,
        lambda match: match[0] if match["scheme"] else f"nats://{match[0]}",
        "nats://host:port or tls://host:port like nats://127.0.0.1:4222",
    )


def _kafka_name(raw: object, what: str) -> str:
    expected = f"expected a {what} of 1 to 249 letters, digits, '.', '_' or '-'"
    if not isinstance(raw, str) or not _KAFKA_NAME.fullmatch(raw):
        raise ValueError(f"{expected}, got {_describe(raw)}")
    if raw in (".", ".."):
        raise ValueError(f"{expected}, other than '.' or '..', got {raw!r}")
    return raw


def _topic(raw: object) -> str:
    return _kafka_name(raw, "topic name")


def _group(raw: object) -> str:
    return _kafka_name(raw, "consumer group name")


def _max_in_flight(raw: object) -> int:
    return _int(raw, minimum=1, maximum=MAX_KAFKA_IN_FLIGHT)


def _retries(raw: object) -> int:
    return _int(raw, minimum=0, maximum=MAX_TRIGGER_RETRIES)


def _batch_size(raw: object) -> int:
    if raw is None:
        raise ValueError(
            f"required: expected a whole number from 1 to {MAX_KAFKA_BATCH}"
            " (messages per invocation), got nothing"
        )
    return _int(raw, minimum=1, maximum=MAX_KAFKA_BATCH)


def _batch_window(raw: object) -> float:
    return _duration_within(raw, MAX_BATCH_WINDOW_S)


def _session_timeout(raw: object) -> float:
    return _duration_within(raw, MAX_SESSION_TIMEOUT_S, minimum=MIN_SESSION_TIMEOUT_S)


def _subject(raw: object, *, wildcards: bool = True) -> str:
    """A NATS subject: dot-separated tokens; with `wildcards`, `*` may be a whole token
    and `>` the whole last token."""
    if wildcards:
        expected = "expected a NATS subject like orders.created, orders.* or orders.>"
    else:
        expected = "expected a NATS subject without wildcards like orders.dlq"
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"{expected}, got {_describe(raw)}")
    tokens = raw.split(".")
    for position, token in enumerate(tokens):
        problem = None
        if not token:
            problem = "which has an empty token"
        elif any(character.isspace() for character in token):
            problem = "which holds whitespace"
        elif not wildcards and ("*" in token or ">" in token):
            problem = "which holds a wildcard"
        elif "*" in token and token != "*":
            problem = "where * is not a whole token"
        elif ">" in token and (token != ">" or position < len(tokens) - 1):
            problem = "where > is not the whole last token"
        if problem:
            raise ValueError(f"{expected}, got {raw!r}, {problem}")
    return raw


def _literal_subject(raw: object) -> str:
    return _subject(raw, wildcards=False)


def _subject_matches(pattern: str, subject: str) -> bool:
    """Whether a subscription on `pattern` receives what is published on `subject`
    (which has no wildcards): token by token, `*` matches any one token and `>` one
    or more."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for position, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > position
        if position >= len(tokens) or token not in ("*", tokens[position]):
            return False
    return len(wanted) == len(tokens)


def _queue_group(raw: object) -> str:
    if not isinstance(raw, str) or not _NATS_QUEUE.fullmatch(raw):
        raise ValueError(
            f"expected a queue group name of letters, digits, '.', '_' or '-', got {_describe(raw)}"
        )
    return raw


def _nats_name(raw: object, what: str) -> str:
    if not isinstance(raw, str) or not _NATS_NAME.fullmatch(raw):
        raise ValueError(f"expected a {what} of letters, digits, '_' or '-', got {_describe(raw)}")
    return raw


def _stream(raw: object) -> str:
    return _nats_name(raw, "stream name")


def _durable(raw: object) -> str:
    return _nats_name(raw, "durable consumer name")


def _ack_wait(raw: object) -> float:
    return _duration_within(raw, MAX_ACK_WAIT_S, minimum=MIN_ACK_WAIT_S)


def _max_deliver(raw: object) -> int:
    return _int(raw, minimum=1, maximum=MAX_NATS_DELIVER)


def _max_ack_pending(raw: object) -> int:
    return _int(raw, minimum=1, maximum=MAX_NATS_ACK_PENDING)


def _schedule(raw: object, timezone: str) -> str:
    """A cron schedule, checked by the code that will compute its ticks."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(
            "expected a schedule like '*/5 * * * *' (minute hour day month weekday),"
            f" '@every 30s' or '@hourly', got {_describe(raw)}"
        )
    # Imported here: trigger packages load only in a gateway whose file uses them.
    from triggers.cron.schedule import parse_schedule

    parse_schedule(raw, timezone=timezone)
    return raw


def _timezone(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError(
            f"expected an IANA time zone name like UTC or Europe/Berlin, got {_describe(raw)}"
        )
    from triggers.cron.schedule import parse_timezone

    parse_timezone(raw)
    return raw


def _misfire_grace(raw: object) -> float:
    return _duration_within(raw, MAX_MISFIRE_GRACE_S, minimum=0.0)


def _jitter(raw: object) -> float:
    return _duration_within(raw, MAX_JITTER_S, minimum=0.0)


def _redis_url(raw: object) -> str:
    match = _REDIS_URL.fullmatch(raw) if isinstance(raw, str) else None
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ValueError(
            "expected a Redis URL redis://host:port or redis://host:port/db (rediss:// for"
            " TLS; port 1 to 65535, no credentials) like redis://127.0.0.1:6379/0,"
            f" got {_describe(raw)}"
        )
    return match[0]


class _PayloadTooLarge(Exception):
    pass


def _describe_non_json(value: object) -> str:
    if isinstance(value, date):  # also a datetime: YAML reads 2026-01-01 as a date
        return f"the date {value.isoformat()} (quote it to pass it as a string)"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, float):
        return f"{value!r} (JSON numbers are finite)"
    return f"{type(value).__name__} {value!r}"


def _choice(raw: object, options: Sequence[_T]) -> _T:
    for option in options:
        if raw == option:
            return option
    raise ValueError(f"expected {_listing([str(o) for o in options])}, got {_describe(raw)}")


def _migration_state(raw: object) -> MigrationState:
    for state in _MIGRATION_STATES:
        if raw == state:
            return state
    raise ValueError(f"expected {_listing(_MIGRATION_STATES)}, got {_describe(raw)}")


def _target(raw: object) -> Target:
    if not isinstance(raw, str):
        raise ValueError(
            f"expected a target like items, items:prod or items@3, got {_describe(raw)}"
        )
    return parse_target(raw)


def _defined_alias(raw: object, aliases: _Aliases) -> str:
    name = check_alias_name(_text(raw))
    if name not in aliases:
        defined = _listing(sorted(aliases))
        raise ValueError(f"alias {name!r} is not defined under aliases: expected {defined}")
    return name


def _tagged_alias(tag: object, aliases: _Aliases) -> str:
    """The alias whose traffic carries `tag`."""
    specs = {name: spec for name, spec in aliases.items() if spec is not None}
    owners = [name for name, spec in specs.items() if any(t.tag == tag for t in spec.traffic)]
    if not owners and len(specs) < len(aliases):
        # The tag may be in an alias that failed validation; that issue is reported.
        return DEFAULT_ALIAS
    if not owners:
        tags = sorted({t.tag for spec in specs.values() for t in spec.traffic if t.tag})
        expected = f"one of {_listing(tags)}" if tags else "a tag set in an alias's traffic"
        raise ValueError(f"tag {tag!r} is not defined: expected {expected}")
    if len(owners) > 1:
        raise ValueError(
            f"tag {tag!r} is set in aliases {_listing(owners, last='and')}: "
            "expected a tag set in one alias only"
        )
    return owners[0]


# --- wording --------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _scalar_text(value: object) -> str:
    """A YAML scalar as the string a program reading the environment expects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _listing(items: Collection[str], *, last: str = "or") -> str:
    words = list(items)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def _unknown_key(key: object, keys: Sequence[str], *, what: str = "key") -> str:
    close = difflib.get_close_matches(str(key), keys, n=1) if isinstance(key, str) else []
    if close:
        return f"unknown {what} {key!r}: did you mean {close[0]!r}?"
    return f"unknown {what} {key!r}: expected {_listing(keys)}"
