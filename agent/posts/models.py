"""Tables of posts and their drafts (a regeneration adds a draft; the old one is kept)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kizuki.core.orm import Base, JSONType, utcnow


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_posts_source_external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    author_handle: Mapped[str] = mapped_column(String(100), index=True)
    author_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author_followers: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    posted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lang: Mapped[str | None] = mapped_column(String(8), nullable=True)
    channel: Mapped[str] = mapped_column(String(32))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # received -> dropped | no_engage | queued -> drafted | failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    watch: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    watch_rules_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    triage: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # Retention (agent/posts/privacy.py): when the post's personal data was redacted, and then a keyed hash of
    # (source, handle) in place of the handle, so an erasure request still finds the author's redacted posts.
    redacted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    author_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    drafts: Mapped[list[Draft]] = relationship(back_populates="post", order_by="Draft.generation")


class Draft(Base):
    """One generated reply. Regeneration makes a new row (generation + 1); the old one is kept."""

    __tablename__ = "drafts"
    __table_args__ = (
        UniqueConstraint("post_id", "generation", name="uq_drafts_post_generation"),
        Index("ix_drafts_queue", "status", "priority", "created_at"),
        Index("ix_drafts_escalate_to", "escalate_to", "status"),  # the per-department digest (migration 0012)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # pending | approved (waiting for a second approval or delivery) | rejected | sent | failed | superseded
    status: Mapped[str] = mapped_column(String(16), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    original_text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="und")
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    needs_dm: Mapped[bool] = mapped_column(Boolean, default=False)
    action: Mapped[str] = mapped_column(String(16), default="reply")
    escalate_to: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rationale: Mapped[str] = mapped_column(Text, default="")
    checks: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    verdict: Mapped[str] = mapped_column(String(8), default="pass")
    channel: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0, index=True)
    flame_risk: Mapped[int] = mapped_column(Integer, default=0)
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    model: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(64))
    instructions: Mapped[str | None] = mapped_column(Text, nullable=True)
    retrieved: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    usage: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    template_similarity: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # the recent-replies read
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivery_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    delivery_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)

    post: Mapped[Post] = relationship(back_populates="drafts")


# Reports read windows of the post's time (written, or received when the network gave no date): an index on the
# expression itself, which SQLite and PostgreSQL both use when a query spells it the same way (migration 0012).
Index("ix_posts_post_time", func.coalesce(Post.posted_at, Post.received_at))
