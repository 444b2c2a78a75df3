"""Domain errors that carry their HTTP status; one handler in `api/` renders them."""

from __future__ import annotations

from typing import Any


class KizukiError(Exception):
    """Base of every expected failure. `status_code` is what the REST API answers with."""

    status_code: int = 400

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}

    @property
    def error(self) -> str:
        return type(self).__name__


class NotFound(KizukiError):
    status_code = 404


class Conflict(KizukiError):
    status_code = 409


class InvalidInput(KizukiError):
    status_code = 422


class PayloadTooLarge(KizukiError):
    status_code = 413


class Unauthorized(KizukiError):
    status_code = 401


class Forbidden(KizukiError):
    status_code = 403


class ServiceUnavailable(KizukiError):
    status_code = 503
