"""Typed failures of model calls, so the pipeline can store a draft as failed and retry it later."""

from __future__ import annotations

from kizuki.core.errors import KizukiError


class ModelUnavailable(KizukiError):
    """Every configured model failed (timeouts, rate limits, server errors) after retries and fallbacks.

    The post is not lost: the pipeline stores the draft as ``failed`` and the job can be retried.
    """

    status_code = 503

    def __init__(self, detail: str, *, models: list[str], attempts: int, last_error: str | None = None) -> None:
        super().__init__(detail, extra={"models": models, "attempts": attempts, "last_error": last_error})
        self.models = models
        self.attempts = attempts
        self.last_error = last_error
        self.retryable = True
