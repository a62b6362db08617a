"""A container revision's pool: the shared slot pool (runtime_adapters/pool.py) whose
instances are started processes, each taking `concurrency` requests at a time."""

from __future__ import annotations

import itertools
from pathlib import Path

from runtime_adapters.base import Invocation, InvocationResult, RevisionSpec, WarmupError
from runtime_adapters.container.image import Image
from runtime_adapters.container.instance import ContainerInstance, free_port
from runtime_adapters.container.lease import ContainerLessor
from runtime_adapters.container.sandbox import Launch
from runtime_adapters.container.settings import ContainerSettings
from runtime_adapters.pool import SlotPool
from runtime_adapters.python.logs import LogSink


class ContainerPool(SlotPool[ContainerInstance]):
    def __init__(
        self,
        spec: RevisionSpec,
        *,
        image: Image | None,
        sink: LogSink,
        queue_limit: int | None,
        stop_grace_s: float,
    ) -> None:
        super().__init__(spec, queue_limit=queue_limit)
        self._settings = ContainerSettings.from_dict(spec.settings)
        command = self._settings.command or (image.args if image is not None else ())
        if not command:
            raise WarmupError(
                f"{self.key}: the image {self._settings.image} has no Entrypoint or Cmd:"
                " expected a command"
            )
        self._command = command
        self._image = image
        self._sink = sink
        self._stop_grace_s = stop_grace_s
        self._ids = itertools.count(1)
        self._lessor = ContainerLessor(self._slots, timeout_s=spec.timeout_s)
        self.lease = self._lessor.lease

    async def _start_instance(self) -> ContainerInstance:
        spec = self.spec
        launch = Launch(
            command=self._command,
            code_dir=Path(spec.bundle_dir),
            image=self._image,
            env=spec.env,
            port=free_port(),
            memory_bytes=spec.memory_bytes,
        )
        instance = ContainerInstance(
            ident=str(next(self._ids)),
            spec=spec,
            launch=launch,
            sink=self._sink,
            stop_grace_s=self._stop_grace_s,
            deadlines=self.deadlines,
        )
        await instance.start(self._settings.readiness)
        instance.owner = self
        return instance

    def _forget(self, instance: ContainerInstance) -> None:
        super()._forget(instance)
        self._lessor.forget(instance)

    async def invoke(self, invocation: Invocation) -> InvocationResult:
        timeout_s = self._timeout_s
        instance = None if self._waiters else self._pick()
        if instance is None:
            instance, timeout_s = await self._queued(timeout_s)
        sent_at = self._estimate.now()
        try:
            result = await instance.invoke(invocation, timeout_s=timeout_s)
        finally:
            # A request that failed or was cancelled gives its slot back too: the
            # connection is closed, so the instance is no longer working on it (and a
            # dead instance is no longer routed to).
            self._release(instance)
        self._estimate.completed(sent_at, queued=bool(self._waiters))
        return result
