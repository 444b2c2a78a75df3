"""Queries of the review queue."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from agent.posts.models import Draft, Post


def queue(
    session: Session,
    *,
    status: str | None = "pending",
    channel: str | None = None,
    language: str | None = None,
    min_risk: int | None = None,
    limit: int = 50,
    offset: int = 0,
    max_risk: int | None = None,
    department: str | None = None,
    search: str | None = None,
    exclude_actions: Collection[str] = (),
) -> tuple[list[Draft], int]:
    """Drafts ordered by priority (urgency, then flame risk), then age, oldest first.

    The console's filters: `max_risk` (flame risk ≤), `department` (the draft's `escalate_to`), `search` (a
    case-insensitive substring of the post, its author's handle or name, or the reply) and `exclude_actions`."""
    stmt: Select[Draft] = select(Draft)
    if status:
        stmt = stmt.where(Draft.status == status)
    if channel:
        stmt = stmt.where(Draft.channel == channel)
    if language:
        stmt = stmt.where(Draft.language == language)
    if min_risk is not None:
        stmt = stmt.where(Draft.flame_risk >= min_risk)
    if max_risk is not None:
        stmt = stmt.where(Draft.flame_risk <= max_risk)
    if department:
        stmt = stmt.where(Draft.escalate_to == department)
    if exclude_actions:
        stmt = stmt.where(Draft.action.not_in(list(exclude_actions)))
    if search and search.strip():
        needle = search.strip().lower()
        stmt = stmt.join(Post, Post.id == Draft.post_id).where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (Post.text, Post.author_handle, Post.author_name, Draft.text)
                )
            )
        )
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.options(selectinload(Draft.post))
        .order_by(Draft.priority.desc(), Draft.created_at, Draft.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def queue_facets(session: Session) -> dict[str, list[str]]:
    """The channels and languages that drafts have, for the queue's filter menus."""
    return {
        "channels": sorted(c for c in session.scalars(select(Draft.channel).distinct()) if c),
        "languages": sorted(c for c in session.scalars(select(Draft.language).distinct()) if c),
    }
