"""The organisation profile as business actions: the version in force (cached) and saving a new one."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy.orm import Session

from agent.org import repository
from agent.org.models import OrgProfileVersion
from agent.org.schemas import OrgProfile
from kizuki.core import audit
from kizuki.core.errors import Conflict


class ProfileInForce:
    """The newest stored profile (version 0 and None when none is set), parsed once per version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed: tuple[int, OrgProfile] | None = None

    def current(self, session: Session) -> tuple[int, OrgProfile | None]:
        version = repository.newest_version(session)
        if version is None:
            return 0, None
        with self._lock:
            parsed = self._parsed
        if parsed is None or parsed[0] != version:
            row = repository.by_version(session, version)
            assert row is not None
            parsed = (version, OrgProfile.model_validate(row.profile))
            with self._lock:
                self._parsed = parsed
        return parsed


def save_profile(
    session: Session,
    in_force: ProfileInForce,
    profile: OrgProfile,
    *,
    edited_version: int | None,
    actor: str,
    note: str | None = None,
) -> OrgProfileVersion:
    """Store a new version; `edited_version` must be the one in force (None: whatever is in force)."""
    current, old = in_force.current(session)
    if edited_version is not None and edited_version != current:
        raise Conflict(f"the organisation profile is at version {current}; you edited version {edited_version}")
    row = OrgProfileVersion(version=current + 1, profile=profile.model_dump(mode="json"), created_by=actor, note=note)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="org.update",
        subject="org",
        before={"version": current, "profile": old.model_dump(mode="json") if old else None},
        after={"version": row.version, "profile": row.profile},
        note=note,
    )
    return row


def versions(session: Session) -> Sequence[OrgProfileVersion]:
    return repository.versions(session)


def version_row(session: Session, version: int) -> OrgProfileVersion | None:
    return repository.by_version(session, version)
