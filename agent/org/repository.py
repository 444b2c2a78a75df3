"""Queries of the organisation profile's versions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.org.models import OrgProfileVersion

_NEWEST_VERSION = select(OrgProfileVersion.version).order_by(OrgProfileVersion.version.desc()).limit(1)


def newest_version(session: Session) -> int | None:
    """The version in force (read for every post: the profile itself only when it changed)."""
    return session.scalar(_NEWEST_VERSION)


def by_version(session: Session, version: int) -> OrgProfileVersion | None:
    return session.scalars(select(OrgProfileVersion).where(OrgProfileVersion.version == version)).first()


def versions(session: Session) -> Sequence[OrgProfileVersion]:
    return session.scalars(select(OrgProfileVersion).order_by(OrgProfileVersion.version)).all()
