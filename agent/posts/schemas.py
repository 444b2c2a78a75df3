"""Posts and drafts as the API and the CLI show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from agent.posts import repository
from agent.posts.lifecycle import DraftStatus
from agent.posts.models import Draft, Post
from kizuki.core.audit import AuditEntry


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


class DeliveryPublic(BaseModel):
    """Where the reply goes and what came back: through a network connector (`channel` `mastodon:<name>`), or by a
    person (`manual`: copy `copy_text`, open `post_url`, post it, then POST `mark_sent`)."""

    channel: str = Field(description="`<network>:<connector>` for a connector's post, else how it was sent")
    connector: str | None = None
    manual: bool = Field(description="A person posts the reply (the network's rules forbid automating it here)")
    post_url: str | None = Field(default=None, description="Opens the original post on its network")
    copy_text: str | None = Field(default=None, description="Manual and approved: the approved text to post")
    mark_sent: str | None = Field(default=None, description="Manual and approved: the call that finishes it")
    sent_id: str | None = Field(default=None, description="Our post's id on the network, once sent")
    sent_url: str | None = Field(default=None, description="Our post's link, once sent (or as marked sent)")
    sent: list[dict[str, Any]] = Field(default_factory=list, description="Every action sent: reply, like, dm")


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
    delivery: DeliveryPublic | None = Field(
        default=None, description="Connector posts, and sent drafts: where the reply goes and its sent id and URL"
    )
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


def delivery_public(draft: Draft, session: Session | None = None) -> DeliveryPublic | None:
    """The draft's delivery: from the connector facts kept with its post (decided at intake) and, once sent, the
    receipt in its `draft.sent` audit entry (the outbox's, or the link a person gave with mark-sent)."""
    meta = (draft.post.raw or {}).get("connector")
    connector = meta if isinstance(meta, dict) and meta.get("name") else None
    if connector is None and draft.status != DraftStatus.SENT:
        return None
    view = DeliveryPublic(channel=draft.channel, manual=False)
    if connector is not None:
        view.connector = str(connector["name"])
        view.channel = f"{connector.get('kind') or 'connector'}:{view.connector}"
        view.manual = connector.get("delivery") != "auto"
        view.post_url = draft.post.url
        if view.manual and draft.status == DraftStatus.APPROVED:
            view.copy_text = draft.text
            view.mark_sent = f"/v1/drafts/{draft.id}/mark-sent"
    session = session or object_session(draft)
    if draft.status == DraftStatus.SENT and session is not None:
        receipt = session.scalars(
            select(AuditEntry.after)
            .where(AuditEntry.subject == f"draft:{draft.id}", AuditEntry.action == "draft.sent")
            .order_by(AuditEntry.id.desc())
            .limit(1)
        ).first()
        _sent_from(view, receipt if isinstance(receipt, dict) else {})
    return view


def _sent_from(view: DeliveryPublic, after: dict[str, Any]) -> None:
    if after.get("channel") == "manual":  # a person posted it and said where
        view.manual = True
        view.sent_url = after.get("url") if isinstance(after.get("url"), str) else None
        if view.connector is None:
            view.channel = "manual"
        return
    receipt = after.get("receipt")
    sent = receipt.get("sent") if isinstance(receipt, dict) else None
    if not isinstance(sent, list):
        return
    view.sent = [dict(item) for item in sent if isinstance(item, dict)]
    first = next((i for i in view.sent if i.get("action") == "reply"), view.sent[0] if view.sent else None)
    if first is not None:
        view.sent_id = str(first["id"]) if first.get("id") is not None else None
        view.sent_url = first.get("url") if isinstance(first.get("url"), str) else None


_DRAFT_FIELDS = [f for f in DraftPublic.model_fields if f not in (*_DETAIL_ONLY, "delivery")]


def draft_public(draft: Draft, *, detail: bool = False, session: Session | None = None) -> DraftPublic:
    data: dict[str, Any] = {f: getattr(draft, f) for f in _DRAFT_FIELDS}
    data["approvals"] = list(draft.approvals or [])
    data["delivery"] = delivery_public(draft, session)
    data["post"] = post_public(draft.post)
    data["triage"] = draft.post.triage
    if detail:
        data["retrieved"] = list(draft.retrieved or [])
        data["history"] = [draft_public(d) for d in draft.post.drafts if d.id != draft.id]
        if session is not None:
            earlier = repository.author_posts(session, draft.post.author_handle, exclude_post_id=draft.post_id)
            data["author_posts"] = [post_public(p) for p in earlier]
    return DraftPublic.model_validate(data)
