"""Queries of the organisation profile's versions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.org.models import OrgProfileVersion

_NEWEST = select(OrgProfileVersion).order_by(OrgProfileVersion.version.desc()).limit(1)


def newest(session: Session) -> OrgProfileVersion | None:
    return session.scalars(_NEWEST).first()


def versions(session: Session) -> Sequence[OrgProfileVersion]:
    return session.scalars(select(OrgProfileVersion).order_by(OrgProfileVersion.version)).all()
