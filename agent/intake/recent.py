"""What intake's noise and do-not-engage rules need from stored posts: copies of a text, an author's recent posts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.intake.noise import EarlierPost, skeleton
from agent.posts.models import Post

# Short windows keep the look-ups cheap (received_at and author_handle are indexed): reposts come within hours,
# the bot rule needs an hour and the do-not-engage hint a day.
COPY_LOOKBACK = timedelta(days=2)
AUTHOR_LOOKBACK = timedelta(days=1)
AUTHOR_LIMIT = 100
MIN_COPY_CHARS = 15  # a short text ("最悪", "love it") is said by many people, not copied


def earlier_copy(session: Session, text: str, handle: str, now: datetime) -> str | None:
    """The first post (within `COPY_LOOKBACK`) with exactly this text, named for a reason, when another author wrote
    it: the author repeating their own words is writing again, not reposting."""
    if len(skeleton(text)) < MIN_COPY_CHARS:
        return None
    row = session.execute(
        select(Post.id, Post.source, Post.author_handle)
        .where(Post.received_at >= now - COPY_LOOKBACK, Post.text == text)
        .order_by(Post.id)
        .limit(1)
    ).first()
    if row is None or row.author_handle == handle:
        return None
    return f"post {row.id} ({row.source})"


def author_recent(session: Session, handle: str, now: datetime) -> list[EarlierPost]:
    """The author's posts received within `AUTHOR_LOOKBACK`, newest first; `complaint` from their stored triage."""
    rows = session.execute(
        select(Post.text, Post.posted_at, Post.received_at, Post.triage)
        .where(Post.author_handle == handle, Post.received_at >= now - AUTHOR_LOOKBACK)
        .order_by(Post.id.desc())
        .limit(AUTHOR_LIMIT)
    ).all()
    out = []
    for text, posted_at, received_at, triage in rows:
        intent = (triage or {}).get("intent")
        out.append(EarlierPost(text=text, at=posted_at or received_at, complaint=intent in ("complaint", "bug_report")))
    return out
