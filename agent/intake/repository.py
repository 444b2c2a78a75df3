"""Queries of intake's configuration: watch rule versions and the do-not-engage list."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from agent.intake.models import DoNotEngageEntry, WatchRuleSet

# Built once with bound parameters: intake runs them for every post.
_NEWEST_WATCH_RULES_VERSION = select(WatchRuleSet.version).order_by(WatchRuleSet.version.desc()).limit(1)
_UNEXPIRED = or_(DoNotEngageEntry.expires_at.is_(None), DoNotEngageEntry.expires_at > bindparam("now"))
_ACTIVE_BLOCK = select(DoNotEngageEntry).where(DoNotEngageEntry.handle == bindparam("handle"), _UNEXPIRED)


def newest_watch_rules_version(session: Session) -> int | None:
    """The version in force (read for every post: the rules themselves only when it changed)."""
    return session.scalar(_NEWEST_WATCH_RULES_VERSION)


def watch_rules_version(session: Session, version: int) -> WatchRuleSet | None:
    return session.scalars(select(WatchRuleSet).where(WatchRuleSet.version == version)).first()


def watch_rule_versions(session: Session) -> Sequence[WatchRuleSet]:
    return session.scalars(select(WatchRuleSet).order_by(WatchRuleSet.version)).all()


def active_block(session: Session, handle: str, now: datetime) -> DoNotEngageEntry | None:
    """The unexpired do-not-engage entry for a canonical handle, if any."""
    return session.scalars(_ACTIVE_BLOCK, {"handle": handle, "now": now}).first()


def active_blocked_handles(session: Session, handles: Collection[str], now: datetime) -> set[str]:
    """The canonical handles among these with an unexpired do-not-engage entry (one query for a page)."""
    if not handles:
        return set()
    query = select(DoNotEngageEntry.handle).where(DoNotEngageEntry.handle.in_(handles), _UNEXPIRED)
    return set(session.scalars(query, {"now": now}))


def do_not_engage_entry(session: Session, handle: str) -> DoNotEngageEntry | None:
    return session.scalars(select(DoNotEngageEntry).where(DoNotEngageEntry.handle == handle)).first()


def do_not_engage_entries(session: Session) -> Sequence[DoNotEngageEntry]:
    return session.scalars(select(DoNotEngageEntry).order_by(DoNotEngageEntry.handle)).all()
