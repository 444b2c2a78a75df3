"""Errors of review decisions (each carries its HTTP status)."""

from __future__ import annotations

from kizuki.core.errors import Conflict, InvalidInput


class DraftAlreadyDecided(Conflict):
    pass


class StaleVersion(Conflict):
    """The draft is not at the version the reviewer saw (or changed since it was drafted and no version was
    sent); the answer carries the current `current_version`, `status`, `text` and `approvals` to show."""


class VersionRequired(InvalidInput):
    """An edited text was sent without the version it was edited from."""


class RegenerationPending(Conflict):
    """A regeneration of the post is queued or running; the answer names its job and its instructions."""


class SecondApproverRequired(Conflict):
    pass


class DraftNotReviewable(Conflict):
    pass


class ReplyBlocked(InvalidInput):
    pass


class WarningsNotAcknowledged(InvalidInput):
    pass
