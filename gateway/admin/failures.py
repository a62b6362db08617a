"""The admin API's error bodies, `{"error", "message", "request_id", ...}`: the same
whether an error is the whole answer or the last line of a publish's stream of stages."""

from __future__ import annotations

import logging

from gateway.errors import GaiaError

log = logging.getLogger("gaia.admin")


def error_body(exc: GaiaError, request_id: str) -> dict[str, object]:
    return {**exc.to_dict(), "request_id": request_id}


def internal_error_body(
    exc: BaseException, request_id: str, *, traceback: bool = False
) -> dict[str, object]:
    """For an exception no endpoint expected; the log line ties it to the request id the
    client saw. `traceback`: log it too, where no server will (a stream under way)."""
    log.error("admin request %s failed: %r", request_id, exc, exc_info=exc if traceback else None)
    message = f"internal error; see the gateway's log for request {request_id}"
    return {"error": "internal_error", "message": message, "request_id": request_id}
