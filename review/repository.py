"""Queries of the review queue."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from agent.posts.models import Draft


def queue(
    session: Session,
    *,
    status: str | None = "pending",
    channel: str | None = None,
    language: str | None = None,
    min_risk: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Draft], int]:
    """Drafts ordered by priority (urgency, then flame risk), then age, oldest first."""
    stmt: Select[Draft] = select(Draft)
    if status:
        stmt = stmt.where(Draft.status == status)
    if channel:
        stmt = stmt.where(Draft.channel == channel)
    if language:
        stmt = stmt.where(Draft.language == language)
    if min_risk is not None:
        stmt = stmt.where(Draft.flame_risk >= min_risk)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.options(selectinload(Draft.post))
        .order_by(Draft.priority.desc(), Draft.created_at, Draft.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total
