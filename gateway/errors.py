"""The gateway's error tree; every error maps onto one HTTP status of the admin API.

GaiaError
├── InvalidInput   bad request data or config; `field` names the offending key  (400/422)
│   └── PromotionRefused  a ledger promotion the evidence does not support     (409)
├── NotFound       no such function, revision, alias or trigger                  (404)
├── Conflict       valid on its own, but clashes with what is stored              (409)
│   └── ConcurrentChange  another replica changed the shared store first          (409)
├── PublishFailed  the revision would not start (import error...)                 (422)
└── StoreDown      the shared store cannot be reached, so nothing can change      (503)

Each answers with its `code` in the body's `error`, snake_case as the data plane's are, so a
client matches one spelling whichever listener answered.
"""

from __future__ import annotations

from runtime_adapters.base import runtime_error_code

__all__ = ["runtime_error_code"]

# Every `error` the admin API answers with, for its OpenAPI schema: the GaiaErrors', the
# router's own, the bearer check's, and an invocation's (as the data plane names them).
ADMIN_ERROR_CODES = (
    "invalid_input",
    "not_found",
    "conflict",
    "concurrent_change",
    "store_unavailable",
    "publish_failed",
    "promotion_refused",
    "method_not_allowed",
    "http_error",
    "internal_error",
    "unauthorized",
    "saturated",
    "function_error",
    "instance_lost",
    "timeout",
    "runtime_error",
    "unavailable",
)


class GaiaError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class InvalidInput(GaiaError):
    status = 422
    code = "invalid_input"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.errors = errors or []

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        if self.errors:
            body["errors"] = self.errors
        return body


class NotFound(GaiaError):
    status = 404
    code = "not_found"


class Conflict(GaiaError):
    status = 409
    code = "conflict"


class ConcurrentChange(Conflict):
    """The change was planned on a version of the shared store that another replica has
    since moved on; nothing was written, and this gateway now has the newer version."""

    code = "concurrent_change"


class StoreDown(GaiaError):
    """The shared store cannot be reached: the data plane serves the last config it
    took, but no change can be made until the store is back."""

    status = 503
    code = "store_unavailable"


class PublishFailed(GaiaError):
    status = 422
    code = "publish_failed"


class PromotionRefused(InvalidInput):
    """A ledger promotion its gate refuses on the evidence; `errors` names each route."""

    status = 409
    code = "promotion_refused"
