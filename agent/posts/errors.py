"""Errors of the posts-and-drafts domain (each carries its HTTP status)."""

from __future__ import annotations

from kizuki.core.errors import Conflict, NotFound


class DraftNotFound(NotFound):
    pass


class IllegalTransition(Conflict):
    """A status change the draft's lifecycle does not allow (a guard: services check first, with clearer words)."""
