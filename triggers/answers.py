"""What of a function's answer a trigger forwards with its body (a response topic, a reply
subject or stream): its content type, and the trace it carries on (`traceparent`, which
the gateway puts on a traced invocation's answer)."""

from __future__ import annotations

from runtime_adapters.base import InvocationResult

FORWARDED = frozenset({b"content-type", b"traceparent"})


def answer_headers(result: InvocationResult) -> list[tuple[str, bytes]]:
    """The forwarded headers of `result`, names in lower case, in their order."""
    kept = []
    for name, value in result.headers:
        lower = name.lower()
        if lower in FORWARDED:
            kept.append((lower.decode("latin-1"), value))
    return kept
