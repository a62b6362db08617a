"""`ports.FunctionCaller` over the gateway's invoker: a ledger route's function is invoked
exactly as an HTTP trigger would invoke it (the same event, alias resolution with
X-Gaia-Tag and sticky keys, and the same error answers)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import lru_cache

from gateway.control import ControlPlane
from gateway.errors import NotFound
from gateway.invoker import Invoker
from legacy.ports import (
    CapturedResponse,
    FunctionAnswer,
    FunctionUnavailable,
    ProxiedRequest,
)
from routing.aliases import sticky_key_from
from routing.errors import UnknownTag
from routing.names import DEFAULT_ALIAS, Target, parse_target
from routing.traffic import Sticky
from runtime_adapters.base import HttpRequest, RuntimeAdapterError
from triggers.http.responses import failure_answer


@lru_cache(maxsize=1024)
def _target(text: str) -> Target:
    # The ledger's targets were validated by the config; they are parsed once each here.
    return parse_target(text)


def _tag(request: ProxiedRequest) -> str | None:
    for name, value in request.headers:
        if name == b"x-gaia-tag":
            return value.decode("latin-1")
    return None


class InvokerFunctions:
    """`urgent=False` for a caller whose answers nobody waits on (the shadow copies):
    their invocations are not busy-polled for (Invoker.invoke)."""

    def __init__(self, *, control: ControlPlane, invoker: Invoker, urgent: bool = True) -> None:
        self._control = control
        self._invoker = invoker
        self._urgent = urgent

    def sticky_key(self, target: str, request: ProxiedRequest) -> str | None:
        parsed = _target(target)
        if parsed.revision is not None:
            return None
        alias = self._control.snapshot.aliases.get((parsed.function, parsed.alias or DEFAULT_ALIAS))
        if alias is None or alias.sticky is None:
            return None
        return sticky_key_from(alias.sticky, request.headers, request.query_string)

    async def call(
        self,
        target: str,
        request: ProxiedRequest,
        body: bytes,
        *,
        params: Mapping[str, str] | None = None,
    ) -> FunctionAnswer:
        request_id = request.request_id

        def key_for(sticky: Sticky) -> str | None:
            return sticky_key_from(sticky, request.headers, request.query_string)

        try:
            resolved = self._invoker.resolve(_target(target), tag=_tag(request), sticky_key=key_for)
        except UnknownTag as exc:
            raise FunctionUnavailable(str(exc), status=404, reason="unknown_tag") from exc
        except NotFound as exc:
            raise FunctionUnavailable(exc.message, status=503, reason="not_ready") from exc
        event = HttpRequest(
            method=request.method,
            path=request.path,
            query_string=request.query_string,
            headers=request.headers,
            params=dict(params or {}),
            body=body,
        )
        revision_header = (b"x-gaia-revision", resolved.label)
        started = time.perf_counter()
        try:
            result = await self._invoker.invoke(
                resolved, request_id=request_id, trigger="http", event=event, urgent=self._urgent
            )
        except RuntimeAdapterError as exc:
            failure = failure_answer(exc, request_id, revision_header)
            raise FunctionUnavailable(
                failure.message,
                status=failure.status,
                reason=failure.error,
                headers=failure.headers,
            ) from exc
        return FunctionAnswer(
            response=CapturedResponse(
                status=result.status,
                headers=result.headers,
                body=result.body,
                duration_s=time.perf_counter() - started,
            ),
            revision=resolved.label.decode(),
        )
