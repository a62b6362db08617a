"""The file a gateway starts with (`gaia up -f`): applied when it is new to the store,
left alone when the store last applied it.

In cluster mode every replica starts with the same file, so a replica that restarts (or
a scale-up, or a rolling restart) would otherwise apply it again and undo what was
changed since through the admin API: a canary shift, a ledger route, a rollback. The
store remembers the sha256 of the last file applied at start-up, taken with its
functions' code (a Kubernetes ConfigMap carries both); a gateway starting with a file of
that digest keeps the stored state. A changed file is a new release and applies (the
file is the truth when it changes: GitOps); `--reapply` applies it whatever the store
remembers. `gaia apply -f` is not this: it always applies, and is not remembered.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from gateway import bundles
from gateway.config import GaiaFile, error_in_file, load_file
from gateway.control import ControlPlane, FunctionPlan
from gateway.errors import ConcurrentChange, GaiaError

log = logging.getLogger("gaia.server")

# Replicas started together race to store one file; each loss means another stored first.
APPLY_ATTEMPTS = 5


def file_digest(path: Path, file: GaiaFile) -> str:
    """sha256 of the file's bytes and of each function's revision digest (its code and
    settings), so that new code under an unchanged file counts as a new file."""
    hasher = hashlib.sha256(path.read_bytes())
    for name in sorted(file.functions):
        config = file.functions[name]
        revision = bundles.digest(config.code, config.revision_config())
        hasher.update(f"\0{name}\0{revision}".encode())
    return hasher.hexdigest()


async def apply_at_start(
    control: ControlPlane, path: Path, *, reapply: bool = False
) -> list[FunctionPlan] | None:
    """Apply the file at `path` unless it is the one the store last applied at start-up
    (or `reapply`); its plans, or None when the stored state was kept. Raises
    ConfigError naming the file (and the line, where the gateway's checks know it)."""
    file = load_file(path, check_code=True)
    try:
        digest = file_digest(path, file)
        for attempt in range(APPLY_ATTEMPTS):
            try:
                plans = await control.apply_at_start(file, digest=digest, reapply=reapply)
                break
            except ConcurrentChange:
                # Planned again on the winner's version, where the same file is applied.
                if attempt == APPLY_ATTEMPTS - 1:
                    raise
                log.info("another gateway changed the store first: planning %s again", path.name)
    except GaiaError as exc:
        raise error_in_file(path, exc.field, exc.message) from exc
    if plans is None:
        log.info(
            "%s unchanged since it was last applied (sha256 %s): the store's state is kept, "
            "including changes made since through the API (--reapply applies it anyway)",
            path.name,
            digest[:12],
        )
        return None
    log.info("applied %s (sha256 %s)", path.name, digest[:12])
    for plan in plans:
        log.info("applied %s@%d (%s)", plan.function, plan.revision, plan.digest[:12])
    return plans
