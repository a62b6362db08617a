"""ContainerRuntime: the `container` runtime's face to the gateway (see base.Runtime)."""

from __future__ import annotations

from pathlib import Path

from runtime_adapters.base import RevisionSpec, WarmupError
from runtime_adapters.container.image import ImageCache, ImageError
from runtime_adapters.container.pool import ContainerPool
from runtime_adapters.container.sandbox import SandboxMissing, tools
from runtime_adapters.container.settings import ContainerSettings
from runtime_adapters.pool_runtime import PoolRuntime
from runtime_adapters.python.logs import LogSink, stderr_sink


class ContainerRuntime(PoolRuntime):
    """Warm pools of sandboxed instances, one pool per revision.

    `state_dir/images` caches unpacked images by digest. `log_sink` receives every line
    instances write (default: JSON on stderr). `queue_limit`, when given, bounds every
    pool's queue instead of its `pool.queue`.
    """

    name = "container"

    def __init__(
        self,
        state_dir: Path,
        *,
        log_sink: LogSink | None = None,
        queue_limit: int | None = None,
        stop_grace_s: float = 2.0,
    ) -> None:
        super().__init__(stop_grace_s=stop_grace_s)
        self.images = ImageCache(Path(state_dir) / "images")
        self._sink = log_sink or stderr_sink
        self._queue_limit = queue_limit

    async def _new_pool(self, spec: RevisionSpec) -> ContainerPool:
        try:
            tools()
        except SandboxMissing as exc:
            raise WarmupError(f"{spec.key}: {exc}") from None
        image_ref = ContainerSettings.from_dict(spec.settings).image
        image = None
        if image_ref is not None:
            try:
                image = await self.images.get(image_ref.source(Path(spec.bundle_dir)))
            except ImageError as exc:
                raise WarmupError(f"{spec.key}: {exc}") from None
        return ContainerPool(
            spec,
            image=image,
            sink=self._sink,
            queue_limit=self._queue_limit,
            stop_grace_s=self._stop_grace_s,
        )
