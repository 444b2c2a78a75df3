"""Intake's configuration as business actions: the watch rules in force and their versions, do-not-engage.

Each action takes the caller's session (one transaction per action; the caller commits) and writes
its audit entry in it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from agent.intake import repository
from agent.intake.models import DoNotEngageEntry, WatchRuleSet
from agent.intake.watch import WatchMatcher, WatchRules, compile_rules
from kizuki.core import audit
from kizuki.core.errors import Conflict, InvalidInput, NotFound
from kizuki.core.orm import utcnow


class WatchRulesNotSet(Conflict):
    """No watch rules name the company yet, so no post can be told apart from noise."""


NOT_SET_HELP = (
    "no watch rules name your company or products yet, so every post would be dropped as noise: set them with "
    "`kizuki watch set FILE` (or start with `kizuki init --name NAME`), or PUT /v1/watch-rules"
)


class WatchRulesInForce:
    """The newest stored watch rules (version 0: none, no terms), with compiled matchers cached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._matchers: dict[int, WatchMatcher] = {}
        self._parsed: tuple[int, WatchRules] | None = None

    def current(self, session: Session) -> tuple[int, WatchRules]:
        version = repository.newest_watch_rules_version(session)
        if version is None:
            return 0, WatchRules()
        with self._lock:
            parsed = self._parsed
        if parsed is None or parsed[0] != version:
            row = repository.watch_rules_version(session, version)
            assert row is not None
            parsed = (version, WatchRules.model_validate(row.rules))
            with self._lock:
                self._parsed = parsed
        return parsed

    def usable(self, session: Session) -> tuple[int, WatchRules]:
        """`current`, or `WatchRulesNotSet` when they name nothing (no brand and no competitor term)."""
        version, rules = self.current(session)
        if not rules.brand and not rules.competitor:
            raise WatchRulesNotSet(NOT_SET_HELP, extra={"watch_rules_version": version})
        return version, rules

    def matcher(self, version: int, rules: WatchRules) -> WatchMatcher:
        with self._lock:
            matcher = self._matchers.get(version)
            if matcher is None:
                matcher = compile_rules(rules)
                self._matchers = {version: matcher}
            return matcher


def validate_watch_rules(rules: dict[str, Any]) -> WatchRules:
    """Parse and compile watch rules, or raise `InvalidInput` saying what is wrong."""
    try:
        parsed = WatchRules.model_validate(rules)
        compile_rules(parsed)
    except (ValidationError, ValueError) as exc:
        raise InvalidInput(f"invalid watch rules: {exc}") from None
    return parsed


def save_watch_rules(
    session: Session,
    in_force: WatchRulesInForce,
    rules: dict[str, Any],
    *,
    edited_version: int | None,
    actor: str,
    note: str | None = None,
) -> WatchRuleSet:
    """Store a new version of the watch rules; `edited_version` must be the one in force (else 409; None: any)."""
    parsed = validate_watch_rules(rules)
    current, old = in_force.current(session)
    if edited_version is not None and edited_version != current:
        raise Conflict(f"watch rules are at version {current}; you edited version {edited_version}")
    row = WatchRuleSet(version=current + 1, rules=parsed.model_dump(), created_by=actor, note=note)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="watch_rules.update",
        subject="watch_rules",
        before={"version": current, "rules": old.model_dump()},
        after={"version": row.version, "rules": row.rules},
        note=note,
    )
    return row


def watch_rule_versions(session: Session) -> Sequence[WatchRuleSet]:
    return repository.watch_rule_versions(session)


def watch_rules_row(session: Session, version: int) -> WatchRuleSet | None:
    return repository.watch_rules_version(session, version)


def _handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


def do_not_engage_entries(session: Session) -> Sequence[DoNotEngageEntry]:
    return repository.do_not_engage_entries(session)


def blocked(session: Session, handle: str, now: datetime) -> DoNotEngageEntry | None:
    """The do-not-engage entry in force for this author, if any."""
    return repository.active_block(session, handle.lower().lstrip("@"), now)


def blocked_handles(session: Session, handles: Iterable[str], now: datetime) -> set[str]:
    """The handles among these (as given) whose author is on the do-not-engage list now."""
    canonical = {h: h.lower().lstrip("@") for h in handles if h}
    active = repository.active_blocked_handles(session, set(canonical.values()), now)
    return {h for h, c in canonical.items() if c in active}


def add_do_not_engage(
    session: Session, handle: str, reason: str, expires_at: datetime | None, *, actor: str
) -> DoNotEngageEntry:
    """Add a handle to the list, or update its entry."""
    handle = _handle(handle)
    if not handle:
        raise InvalidInput("handle must not be empty")
    if expires_at is not None and expires_at.tzinfo is None:
        raise InvalidInput("expires_at needs a time zone")
    row = repository.do_not_engage_entry(session, handle)
    before = None
    if row is None:
        row = DoNotEngageEntry(handle=handle, reason=reason, expires_at=expires_at, added_by=actor, added_at=utcnow())
        session.add(row)
    else:
        before = {"reason": row.reason, "expires_at": row.expires_at}
        row.reason, row.expires_at, row.added_by, row.added_at = reason, expires_at, actor, utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="do_not_engage.add",
        subject=f"handle:{handle}",
        before=before,
        after={"reason": reason, "expires_at": expires_at},
    )
    return row


def remove_do_not_engage(session: Session, handle: str, *, actor: str) -> None:
    handle = _handle(handle)
    row = repository.do_not_engage_entry(session, handle)
    if row is None:
        raise NotFound(f"@{handle} is not on the do-not-engage list")
    audit.record(
        session, actor=actor, action="do_not_engage.remove", subject=f"handle:{handle}", before={"reason": row.reason}
    )
    session.delete(row)
