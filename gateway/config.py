"""gaia.yaml, validated into frozen models (DESIGN.md, "Configuration file: gaia.yaml").

This module holds what concerns the file as a whole: reading it with positions, its
skeleton (functions, their runtime and code, aliases, and the list of triggers), and
collecting every issue before anything is raised, so one run shows them all:

    gaia.yaml: functions.hello.timeout: expected a duration like 500ms, 10s, 5m or 1h,
    got 'abc' (line 4)

What each part holds is validated by its owner's model: a runtime's settings by the
runtime chosen with `runtime:` (runtime_adapters.registry), a trigger by its kind
(triggers.registry). The admin API receives the same structure as JSON and validates
a single function with `parse_function`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import ValidationError

from configkit.issues import ConfigError, ConfigIssue, issues_of
from configkit.leaves import text
from configkit.model import ConfigModel, known_keys, not_a_mapping
from configkit.source import Source, load_yaml
from configkit.words import describe, join, listing, unknown_key
from legacy.config import LegacyConfig
from limits.spec import RateLimit, RevisionLimits
from routing.errors import InvalidSpec
from routing.names import (
    DEFAULT_ALIAS,
    Target,
    check_alias_name,
    check_function_name,
    check_revision_number,
)
from routing.traffic import AliasSpec, parse_alias_spec
from runtime_adapters import registry as runtimes
from runtime_adapters.base import RevisionSpec
from runtime_adapters.kind import RuntimeKind, RuntimeSettings
from triggers import registry as trigger_kinds
from triggers.kind import TriggerKind

__all__ = [
    "REVISION_KEYS",
    "ConfigError",
    "ConfigIssue",
    "FunctionConfig",
    "GaiaFile",
    "RevisionConfig",
    "Trigger",
    "load_file",
    "parse_config",
    "parse_config_document",
    "parse_function",
]

_TOP_LEVEL_KEYS = ("functions", "legacy")
# The gateway's own revision settings beside the runtime's: `circuit`, `concurrency_limit`.
_LIMIT_KEYS = RevisionLimits.yaml_keys()
# The keys a published revision takes (the admin API's `config`): `runtime`, the
# settings of every runtime, and the limits.
REVISION_KEYS = tuple(
    dict.fromkeys(
        [
            "runtime",
            *(key for kind in runtimes.kinds() for key in kind.settings.yaml_keys()),
            *_LIMIT_KEYS,
        ]
    )
)
_PIN_KEYS = ("alias", "revision", "tag")
# Keys every trigger takes beside its kind's and the pins.
_TRIGGER_KEYS = ("rate_limit",)

_T = TypeVar("_T")
_R = TypeVar("_R")
# Alias name → spec, or None for an alias with issues: it still counts as defined, so a
# trigger naming it gets no second, misleading "not defined" issue.
_Aliases = dict[str, AliasSpec | None]


# --- models ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RevisionConfig:
    """The settings that, with the code, define a revision: changing any of them
    publishes a new one. `settings` is the model of the `runtime` chosen."""

    runtime: str
    settings: RuntimeSettings
    limits: RevisionLimits = field(default_factory=RevisionLimits)

    def to_dict(self) -> dict[str, object]:
        """Canonical JSON data (sorted keys, numbers in seconds and bytes) for hashing
        and storing. It is valid gaia.yaml, so `from_dict` reads it back with the same
        validation as a file. Limits only where set, so that revisions from before them
        keep their digests."""
        merged = {**self.settings.to_dict(), **self.limits.to_dict(), "runtime": self.runtime}
        return dict(sorted(merged.items()))

    @classmethod
    def from_dict(
        cls, data: Mapping[str, object], *, file: str = "revision config"
    ) -> RevisionConfig:
        document = _Document(file=file)
        settings = document.revision_config(data, "", extra_keys=())
        document.raise_if_any()
        assert settings is not None  # no issues means settings
        return settings

    def spec(self, *, function: str, revision: int, digest: str, bundle_dir: Path) -> RevisionSpec:
        return self.settings.spec(
            function=function, revision=revision, digest=digest, bundle_dir=bundle_dir
        )


@dataclass(frozen=True, kw_only=True)
class Trigger:
    """`- KIND: {...}`: the kind's config, and which revisions receive its events: an
    alias, a pinned revision, or, for `tag:`, the alias whose traffic defines the tag,
    with `target.tag` set."""

    kind: str
    target: Target
    config: ConfigModel
    rate_limit: RateLimit | None = None

    @property
    def tag(self) -> str | None:
        return self.target.tag

    def to_dict(self) -> dict[str, object]:
        """The stored spec: the kind's keys, then the target's, then the rate limit."""
        limit = {"rate_limit": self.rate_limit.to_dict()} if self.rate_limit else {}
        return {**self.config.to_dict(), **target_keys(self.target), **limit}


def target_keys(target: Target) -> dict[str, object]:
    """A trigger's `alias`, or the `revision` it pins, plus the `tag` it pins."""
    keys: dict[str, object] = {}
    if target.revision is not None:
        keys["revision"] = target.revision
    else:
        keys["alias"] = target.alias or DEFAULT_ALIAS
    if target.tag:
        keys["tag"] = target.tag
    return keys


@dataclass(frozen=True, kw_only=True)
class FunctionConfig:
    name: str
    code: Path | None  # absolute; None for a runtime that runs no code here
    settings: RevisionConfig
    aliases: Mapping[str, AliasSpec]  # always holds `default`
    triggers: tuple[Trigger, ...] = ()

    def revision_config(self) -> dict[str, object]:
        """What, besides the code, goes into the revision digest; see RevisionConfig."""
        return self.settings.to_dict()

    @staticmethod
    def from_revision_config(data: Mapping[str, object]) -> RevisionConfig:
        """A stored revision config has no name, code, aliases or triggers to rebuild a
        FunctionConfig from; it turns back into the settings the revision runs with."""
        return RevisionConfig.from_dict(data)


@dataclass(frozen=True, kw_only=True)
class GaiaFile:
    functions: Mapping[str, FunctionConfig] = field(default_factory=lambda: MappingProxyType({}))
    # None: the file has no `legacy:` section, and leaves the stored one as it is.
    legacy: LegacyConfig | None = None


# --- entry points ---------------------------------------------------------------------


def load_file(path: Path, *, check_code: bool = False) -> GaiaFile:
    """Read and validate a gaia.yaml; `code:` directories are relative to its directory.

    `check_code` also reads each function's code for what its settings name (the
    handler), without running it: the gateway's entry points ask for it; unit tests of
    the layers above, whose in-memory runtime's handlers are no files, do not."""
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise ConfigError(str(path), [ConfigIssue("", f"cannot read the file: {reason}")]) from exc
    return parse_config(content, file=str(path), base_dir=path.parent, check_code=check_code)


def error_in_file(path: Path, field: str | None, message: str) -> ConfigError:
    """What the gateway found wrong with a file it had already validated (a handler that
    names nothing usable shows only when a worker loads it), at the line of `field`
    where that is one of the file's keys (`functions.web.handler`)."""
    if field and field.startswith("functions."):
        try:
            _, source = load_yaml(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError, ConfigError):
            source = None  # changed since: the message stands without a line
        line = source.line_of(field) if source else None
        return ConfigError(str(path), [ConfigIssue(field, message, line=line)])
    return ConfigError(str(path), [ConfigIssue("", message)])


def parse_config(
    content: str, *, file: str = "gaia.yaml", base_dir: Path, check_code: bool = False
) -> GaiaFile:
    """Validate gaia.yaml text; `file` is the name used in messages."""
    data, source = load_yaml(content, file)
    document = _Document(file=file, base_dir=base_dir, source=source, check_code=check_code)
    return _parse_document(data, document)


def parse_config_document(
    data: object, *, file: str, base_dir: Path, check_code: bool = False
) -> GaiaFile:
    """Validate a gaia.yaml structure already loaded, e.g. from JSON by the admin API."""
    return _parse_document(data, _Document(file=file, base_dir=base_dir, check_code=check_code))


def _parse_document(data: object, document: _Document) -> GaiaFile:
    if document.source:
        document.issues.extend(document.source.duplicates)
    parsed = document.gaia_file(data)
    document.raise_if_any()
    return parsed


def parse_function(
    name: str,
    raw: Mapping[str, object],
    *,
    file: str,
    base_dir: Path,
    path_prefix: str = "",
    check_code: bool = False,
) -> FunctionConfig:
    """Validate one function's mapping; `path_prefix` is where `raw` sits in the
    document (`functions.hello` in a file, "" for an admin API request body)."""
    document = _Document(file=file, base_dir=base_dir, check_code=check_code)
    parsed = document.function(name, raw, path_prefix)
    document.raise_if_any()
    assert parsed is not None  # no issues means a complete function
    return parsed


# --- the skeleton ---------------------------------------------------------------------


class _Document:
    """Validates one document, recording every issue instead of stopping at the first.

    Methods return a model, or None after recording an issue; `raise_if_any` runs
    before anything is returned to a caller.
    """

    def __init__(
        self,
        *,
        file: str,
        base_dir: Path = Path(),
        source: Source | None = None,
        check_code: bool = False,
    ) -> None:
        self.file = file
        self.check_code = check_code
        self.base_dir = base_dir
        self.source = source
        self.issues: list[ConfigIssue] = []
        # What a trigger must have to itself across all functions → the trigger that
        # claims it first; see triggers.kind.Claim.
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

    def model(self, model: type[ConfigModel], body: object, path: str) -> Any:
        """`body` validated by `model`, each of its issues recorded at its own path."""
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            for where, message in issues_of(exc, path):
                self.add(where, message)
            return None

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
            self.add(path, not_a_mapping(raw, keys))
            return None
        known, unknown = known_keys(raw, keys, unavailable=unavailable)
        for key, message in unknown:
            self.add(join(path, key), message)
        return known

    def entries(self, raw: object, path: str, *, what: str) -> list[tuple[str, object]]:
        """A mapping whose keys are names the user chose (functions, aliases)."""
        if raw is None:
            return []
        if not isinstance(raw, Mapping):
            self.add(path, f"expected a mapping of {what}, got {describe(raw)}")
            return []
        items: list[tuple[str, object]] = []
        for key, value in raw.items():
            if isinstance(key, str):
                items.append((key, value))
            else:
                self.add(join(path, str(key)), f"expected a name, got {describe(key)}")
        return items

    def sequence(self, raw: object, path: str, *, what: str) -> list[tuple[str, object]]:
        """The items of a list with their paths; an empty value counts as an empty list."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.add(path, f"expected a list of {what}, got {describe(raw)}")
            return []
        return [(f"{path}[{position}]", item) for position, item in enumerate(raw)]

    # --- the document

    def gaia_file(self, data: object) -> GaiaFile:
        body = self.mapping(data, "", keys=_TOP_LEVEL_KEYS)
        if body is None:
            return GaiaFile()
        functions: dict[str, FunctionConfig] = {}
        for name, raw in self.entries(body.get("functions"), "functions", what="function names"):
            parsed = self.function(name, raw, join("functions", name))
            if parsed is not None:
                functions[name] = parsed
        legacy = self.model(LegacyConfig, body["legacy"], "legacy") if "legacy" in body else None
        return GaiaFile(functions=MappingProxyType(functions), legacy=legacy)

    def function(self, name: str, raw: object, path: str) -> FunctionConfig | None:
        start = len(self.issues)
        self.check(path, check_function_name, name)
        runtime = _runtime_of(raw)
        keys = (
            "code",
            "runtime",
            *runtime.settings.yaml_keys(),
            *_LIMIT_KEYS,
            "aliases",
            "triggers",
        )
        body = self.mapping(raw, path, keys=keys, unavailable=_unavailable_keys(runtime))
        if body is None:
            return None
        settings = self.revision_config(body, path, extra_keys=("code", "aliases", "triggers"))
        code = self.code(body, path, runtime)
        aliases = self.aliases(body.get("aliases"), join(path, "aliases"))
        triggers = self.triggers(name, body.get("triggers"), join(path, "triggers"), aliases)
        if self.check_code and code is not None and settings is not None:
            for key, message in settings.settings.code_issues(code):
                self.add(join(path, key), message)
        if len(self.issues) > start or settings is None or (code is None and runtime.needs_code):
            return None
        valid = {alias: spec for alias, spec in aliases.items() if spec is not None}
        return FunctionConfig(
            name=name,
            code=code,
            settings=settings,
            aliases=MappingProxyType(valid),
            triggers=triggers,
        )

    def revision_config(
        self, raw: Mapping[str, object], path: str, *, extra_keys: tuple[str, ...]
    ) -> RevisionConfig | None:
        """`runtime:` and that runtime's settings; the `extra_keys` of the function
        around them are left to the caller."""
        start = len(self.issues)
        runtime = _runtime_of(raw)
        self.check(join(path, "runtime"), _runtime_name, raw.get("runtime", runtime.name))
        keys = ("runtime", *runtime.settings.yaml_keys(), *_LIMIT_KEYS)
        body = self.mapping(
            {key: value for key, value in raw.items() if key not in extra_keys},
            path,
            keys=keys,
            unavailable=_unavailable_keys(runtime),
        )
        if body is None:
            return None
        body.pop("runtime", None)
        limits = self.model(
            RevisionLimits, {key: body.pop(key) for key in _LIMIT_KEYS if key in body}, path
        )
        settings = self.model(runtime.settings, self.as_written(body, path), path)
        if settings is None or limits is None or len(self.issues) > start:
            return None
        return RevisionConfig(runtime=runtime.name, settings=settings, limits=limits)

    def as_written(self, body: Mapping[str, object], path: str) -> dict[str, object]:
        """`body` with the values of `env` that YAML read as numbers or booleans as they
        are written in the file: `1.10` stays `1.10`, `on` stays `on`."""
        env = body.get("env")
        if not self.source or not isinstance(env, Mapping):
            return dict(body)
        scalars = self.source.scalars
        written = {
            name: scalars.get(join(join(path, "env"), str(name)), value)
            if not isinstance(value, str | Mapping | list) and value is not None
            else value
            for name, value in env.items()
        }
        return {**body, "env": written}

    def code(self, body: Mapping[str, object], path: str, runtime: RuntimeKind) -> Path | None:
        where = join(path, "code")
        if not runtime.needs_code:
            if "code" in body:
                self.add(where, f"expected no code: runtime {runtime.name} runs none here")
            return None
        if body.get("code") is None:
            self.add(
                where, f"required for runtime {runtime.name}: expected the directory of the code"
            )
            return None
        return self.check(where, lambda raw: _code_dir(raw, self.base_dir), body["code"])

    def aliases(self, raw: object, path: str) -> _Aliases:
        aliases: _Aliases = {}
        for name, value in self.entries(raw, path, what="alias names to traffic"):
            where = join(path, name)
            self.check(where, check_alias_name, name)
            if value is None:
                value = {}
            if not isinstance(value, Mapping):
                self.add(where, f"expected a mapping with traffic, sticky, got {describe(value)}")
                continue
            if "rollout" in value:
                self.add(join(where, "rollout"), "rollout is not available yet")
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
    ) -> tuple[Trigger, ...]:
        triggers: list[Trigger] = []
        for where, item in self.sequence(raw, path, what="triggers like - http: {path: /hello}"):
            found = self.trigger_kind(item, where)
            if found is None:
                continue
            kind, raw_body = found
            trigger = self.trigger(function, kind, raw_body, join(where, kind.name), aliases)
            if trigger is None:
                continue
            triggers.append(trigger)
            for claim in kind.claims(function, trigger.config):
                first = self.claims.setdefault(claim.key, where)
                if first != where:
                    self.add(join(join(where, kind.name), claim.at), claim.clash(first))
        return tuple(triggers)

    def trigger_kind(self, item: object, path: str) -> tuple[TriggerKind, object] | None:
        """The single key of a trigger list item and its value: `- http: {path: /}`."""
        names = trigger_kinds.names()
        expected = f"a mapping with one of {listing(names)}"
        if not isinstance(item, Mapping) or not item:
            self.add(path, f"expected {expected}, got {describe(item)}")
            return None
        kinds = [key for key in item if key in names]
        if len(kinds) == 1 and len(item) > 1 and item[kinds[0]] is None:
            # `- http:` followed by its keys at the same indentation parses as siblings.
            others = listing([str(key) for key in item if key != kinds[0]], last="and")
            self.add(
                path, f"expected the keys of {kinds[0]!r} indented under it, got {others} beside it"
            )
            return None
        if len(item) > 1:
            keys = listing([str(key) for key in item], last="and")
            self.add(path, f"expected one trigger per list item, got {keys}")
            return None
        [(name, body)] = item.items()
        if name not in names:
            self.add(join(path, str(name)), unknown_key(name, names, what="trigger"))
            return None
        return trigger_kinds.kind(name), body

    def trigger(
        self, function: str, kind: TriggerKind, raw: object, path: str, aliases: _Aliases
    ) -> Trigger | None:
        start = len(self.issues)
        body = self.mapping(raw, path, keys=(*kind.config.yaml_keys(), *_PIN_KEYS, *_TRIGGER_KEYS))
        if body is None:
            return None
        config = self.model(
            kind.config,
            {k: v for k, v in body.items() if k not in _PIN_KEYS and k not in _TRIGGER_KEYS},
            path,
        )
        target = self.trigger_target(function, body, path, aliases)
        rate_limit = None
        if body.get("rate_limit") is not None:
            rate_limit = self.model(RateLimit, body["rate_limit"], join(path, "rate_limit"))
        if len(self.issues) > start or config is None:
            return None
        return Trigger(kind=kind.name, target=target, config=config, rate_limit=rate_limit)

    def trigger_target(
        self, function: str, body: Mapping[str, object], path: str, aliases: _Aliases
    ) -> Target:
        """What a trigger sends to: its `alias` (default `default`), or the `revision`
        or `tag` it pins."""
        pins = [key for key in _PIN_KEYS if key in body]
        target = Target(function=function, alias=DEFAULT_ALIAS)
        if len(pins) > 1:
            given = listing(pins, last="and")
            self.add(path, f"expected at most one of alias, revision or tag, got {given}")
        elif pins == ["alias"]:
            alias = self.check(
                join(path, "alias"), lambda raw: _defined_alias(raw, aliases), body["alias"]
            )
            target = Target(function=function, alias=alias or "")
        elif pins == ["revision"]:
            revision = self.check(join(path, "revision"), check_revision_number, body["revision"])
            target = Target(function=function, revision=revision or 0)
        elif pins == ["tag"]:
            tag = self.check(join(path, "tag"), text, body["tag"])
            if tag:
                owner = self.check(join(path, "tag"), lambda raw: _tagged_alias(raw, aliases), tag)
                target = Target(function=function, alias=owner, tag=tag)
        return target


# --- leaves of the skeleton -----------------------------------------------------------


def _runtime_of(raw: object) -> RuntimeKind:
    """The runtime a function's mapping chooses; the default one when it chooses none,
    or one that does not exist (that issue is reported apart)."""
    chosen = runtimes.chosen(raw.get("runtime") if isinstance(raw, Mapping) else None)
    return chosen or runtimes.kind(runtimes.DEFAULT)


def _runtime_name(raw: object) -> str:
    available = listing(runtimes.names())
    if isinstance(raw, str) and raw in runtimes.names():
        return raw
    if raw in runtimes.PLANNED:
        raise ValueError(f"runtime {raw!r} is not available yet: expected {available}")
    raise ValueError(f"expected {available}, got {describe(raw)}")


def _unavailable_keys(chosen: RuntimeKind) -> dict[str, str]:
    """Documented keys the chosen runtime does not take, named as another runtime's
    rather than as typos."""
    unavailable = {
        key: f"{key} is for runtime {runtime}, which is not available yet"
        for runtime, keys in runtimes.PLANNED.items()
        for key in keys
    }
    own = set(chosen.settings.yaml_keys())
    for kind in runtimes.kinds():
        for key in kind.settings.yaml_keys():
            if key not in own:
                unavailable.setdefault(
                    key,
                    f"{key} is for runtime {kind.name}, but this function runs on {chosen.name}",
                )
    return unavailable


def _code_dir(raw: object, base_dir: Path) -> Path:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"expected the path of a directory, got {describe(raw)}")
    directory = (base_dir / Path(raw).expanduser()).resolve()
    if not directory.exists():
        raise ValueError(f"expected an existing directory, but {str(directory)!r} does not exist")
    if not directory.is_dir():
        raise ValueError(f"expected a directory, but {str(directory)!r} is a file")
    return directory


def _defined_alias(raw: object, aliases: _Aliases) -> str:
    name = check_alias_name(text(raw))
    if name not in aliases:
        defined = listing(sorted(aliases))
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
        expected = f"one of {listing(tags)}" if tags else "a tag set in an alias's traffic"
        raise ValueError(f"tag {tag!r} is not defined: expected {expected}")
    if len(owners) > 1:
        raise ValueError(
            f"tag {tag!r} is set in aliases {listing(owners, last='and')}: "
            "expected a tag set in one alias only"
        )
    return owners[0]
