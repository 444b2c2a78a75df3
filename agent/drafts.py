"""Drafts as the review queue shows them: the public shape, priority, and queue queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from agent.models import Draft, Post
from kizuki.errors import NotFound

DraftStatus = Literal["pending", "approved", "rejected", "sent", "failed", "superseded"]
URGENCY_RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}


class DraftNotFound(NotFound):
    pass


def priority_of(urgency: str, flame_risk: int) -> int:
    """Higher first: urgency dominates, then flame risk (age breaks ties in the queue's order)."""
    return URGENCY_RANK.get(urgency, 1) * 1000 + max(0, min(100, flame_risk)) * 10


class PostPublic(BaseModel):
    id: int
    source: str
    external_id: str
    author: dict[str, Any]
    text: str
    url: str | None
    created_at: datetime | None
    received_at: datetime
    lang: str | None
    channel: str
    metrics: dict[str, Any]
    status: str
    reason: str | None
    watch: dict[str, Any] | None = None
    triage: dict[str, Any] | None = None


class DraftPublic(BaseModel):
    id: int
    post_id: int
    generation: int
    version: int
    status: DraftStatus
    text: str
    original_text: str
    language: str
    citations: list[dict[str, Any]]
    needs_dm: bool
    action: str
    escalate_to: str | None
    rationale: str
    checks: dict[str, Any]
    channel: str
    priority: int
    flame_risk: int
    urgency: str
    model: str
    prompt_version: str
    instructions: str | None
    usage: dict[str, Any]
    cost_usd: float | None
    template_similarity: float
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    approvals: list[dict[str, Any]]
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    decision_note: str | None
    delivery_status: str | None
    delivery_error: str | None
    delivered_at: datetime | None
    post: PostPublic | None = None
    triage: dict[str, Any] | None = None
    retrieved: list[dict[str, Any]] | None = Field(default=None, description="Full detail view only")
    history: list[DraftPublic] | None = Field(
        default=None, description="Detail view only: the post's other drafts (earlier and later generations)"
    )
    author_posts: list[PostPublic] | None = Field(
        default=None, description="Detail view only: the author's earlier posts we received"
    )


def post_public(post: Post) -> PostPublic:
    return PostPublic(
        id=post.id,
        source=post.source,
        external_id=post.external_id,
        author={"handle": post.author_handle, "name": post.author_name, "followers": post.author_followers},
        text=post.text,
        url=post.url,
        created_at=post.posted_at,
        received_at=post.received_at,
        lang=post.lang,
        channel=post.channel,
        metrics=dict(post.metrics or {}),
        status=post.status,
        reason=post.reason,
        watch=post.watch,
        triage=post.triage,
    )


_DETAIL_ONLY = ("post", "triage", "retrieved", "history", "author_posts")
_DRAFT_FIELDS = [f for f in DraftPublic.model_fields if f not in _DETAIL_ONLY]


def draft_public(draft: Draft, *, detail: bool = False, session: Session | None = None) -> DraftPublic:
    data: dict[str, Any] = {f: getattr(draft, f) for f in _DRAFT_FIELDS}
    data["approvals"] = list(draft.approvals or [])
    data["post"] = post_public(draft.post)
    data["triage"] = draft.post.triage
    if detail:
        data["retrieved"] = list(draft.retrieved or [])
        data["history"] = [draft_public(d) for d in draft.post.drafts if d.id != draft.id]
        if session is not None:
            earlier = session.scalars(
                select(Post)
                .where(Post.author_handle == draft.post.author_handle, Post.id != draft.post_id)
                .order_by(Post.received_at.desc())
                .limit(20)
            ).all()
            data["author_posts"] = [post_public(p) for p in earlier]
    return DraftPublic.model_validate(data)


def get_draft(session: Session, draft_id: int, *, for_update: bool = False) -> Draft:
    stmt = select(Draft).where(Draft.id == draft_id).options(selectinload(Draft.post))
    if for_update:
        stmt = stmt.with_for_update()
    draft = session.scalars(stmt).one_or_none()
    if draft is None:
        raise DraftNotFound(f"no draft with id {draft_id}")
    return draft


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
