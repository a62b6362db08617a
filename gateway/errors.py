"""The gateway's error tree; every error maps onto one HTTP status of the admin API.

GaiaError
├── InvalidInput   bad request data or config; `field` names the offending key  (400/422)
├── NotFound       no such function, revision, alias or trigger                  (404)
├── Conflict       valid on its own, but clashes with what is stored              (409)
├── PublishFailed  the revision would not start (import error...)                 (422)
└── InvalidInput
    └── PromotionRefused  a ledger promotion the evidence does not support       (409)
"""

from __future__ import annotations


class GaiaError(Exception):
    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": type(self).__name__, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class InvalidInput(GaiaError):
    status = 422

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


class Conflict(GaiaError):
    status = 409


class PublishFailed(GaiaError):
    status = 422


class PromotionRefused(InvalidInput):
    """A ledger promotion its gate refuses on the evidence; `errors` names each route."""

    status = 409
