"""Errors of review decisions (each carries its HTTP status)."""

from __future__ import annotations

from kizuki.core.errors import Conflict, InvalidInput


class DraftAlreadyDecided(Conflict):
    pass


class StaleVersion(Conflict):
    pass


class SecondApproverRequired(Conflict):
    pass


class DraftNotReviewable(Conflict):
    pass


class ReplyBlocked(InvalidInput):
    pass


class WarningsNotAcknowledged(InvalidInput):
    pass
