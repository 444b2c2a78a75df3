"""Do-not-engage list: handles we record and triage but never draft replies to."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import BaseModel, Field, field_validator


def canonical_handle(handle: str) -> str:
    """A handle as compared: NFKC (full-width ＠ and letters), no surrounding space or leading '@', case-folded."""
    return unicodedata.normalize("NFKC", handle).strip().lstrip("@").casefold()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class DoNotEngage(BaseModel):
    """One entry: who, why, until when (None: no expiry) and who added it."""

    handle: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=500)
    expires_at: datetime | None = Field(default=None, description="Naive is taken as UTC; None never expires")
    added_by: str = Field(min_length=1, max_length=100)

    @field_validator("handle")
    @classmethod
    def _handle(cls, v: str) -> str:
        if not canonical_handle(v):
            raise ValueError("handle must not be empty")
        return v.strip()

    @field_validator("expires_at")
    @classmethod
    def _expires(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _aware(v)

    def active(self, now: datetime) -> bool:
        """True until expires_at (an entry expiring exactly now no longer applies)."""
        return self.expires_at is None or _aware(now) < self.expires_at


def is_blocked(handle: str, entries: Iterable[DoNotEngage], now: datetime | None = None) -> DoNotEngage | None:
    """The active entry for this handle, if any (case-insensitive, '@' ignored, expired entries ignored)."""
    wanted = canonical_handle(handle)
    if not wanted:
        return None
    moment = _aware(now) if now is not None else datetime.now(UTC)
    for entry in entries:
        if canonical_handle(entry.handle) == wanted and entry.active(moment):
            return entry
    return None
