"""Posts and drafts as the API and the CLI show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from agent.posts import repository
from agent.posts.lifecycle import DraftStatus
from agent.posts.models import Draft, Post


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
            earlier = repository.author_posts(session, draft.post.author_handle, exclude_post_id=draft.post_id)
            data["author_posts"] = [post_public(p) for p in earlier]
    return DraftPublic.model_validate(data)
