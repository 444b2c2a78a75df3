"""Queries of posts and drafts: every SQL statement the pipeline, the review queue and the outbox run on them.

The statements run for every post are built once, with bound parameters: building a statement and its
cache key costs SQLAlchemy more than running a small query (0.13-0.2 ms of 0.3 ms on SQLite).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session, selectinload

from agent.posts.errors import DraftNotFound
from agent.posts.lifecycle import REPLIED, DraftStatus, PostStatus
from agent.posts.models import Draft, Post

HISTORY_LIMIT = 10  # the author's earlier posts a draft sees
RECENT_REPLIES_LIMIT = 50  # the newest replies a new draft must not repeat
AUTHOR_POSTS_LIMIT = 20  # the author's earlier posts a reviewer sees


def _recent_replies(status: Any) -> Select[str]:
    return (
        select(Draft.text)
        .where(status.in_(REPLIED), Draft.post_id != bindparam("post_id"))
        .order_by(Draft.created_at.desc())
        .limit(RECENT_REPLIES_LIMIT)
    )


_RECENT_REPLIES = {
    "default": _recent_replies(Draft.status),
    # SQLite has no table statistics unless something runs ANALYZE (nothing does): it then reads
    # `status IN (...)` through ix_drafts_status and sorts every matching draft (2 ms at 2,000 drafts, growing
    # with the table). `status || ''` is the same value but no index can serve it, so SQLite walks
    # ix_drafts_created_at and stops after the limit. (PostgreSQL, which has statistics, would do the
    # opposite: sort after a sequential scan.)
    "sqlite": _recent_replies(Draft.status.concat("")),
}
_POST_BY_SOURCE_ID = select(Post).where(
    Post.source == bindparam("source"), Post.external_id == bindparam("external_id")
)
# The snapshot reads only the columns a draft needs: whole rows made SQLAlchemy decode every JSON column,
# among them each earlier draft's retrieved passages (several kB) that the history never shows.
_SNAPSHOT_POST = select(
    Post.id,
    Post.source,
    Post.external_id,
    Post.author_handle,
    Post.author_name,
    Post.author_followers,
    Post.text,
    Post.url,
    Post.posted_at,
    Post.lang,
    Post.metrics,
    Post.channel,
    Post.triage,
).where(Post.id == bindparam("post_id"))
_EARLIER_POSTS = (
    select(Post.id, Post.text, Post.posted_at, Post.received_at, Post.status)
    .where(Post.author_handle == bindparam("handle"), Post.id != bindparam("post_id"))
    .order_by(Post.received_at.desc())
    .limit(HISTORY_LIMIT)
)
_THEIR_DRAFTS = (  # oldest generation first: the last one per post is the newest
    select(Draft.post_id, Draft.text, Draft.status)
    .where(Draft.post_id.in_(bindparam("post_ids", expanding=True)))
    .order_by(Draft.post_id, Draft.generation)
)
_DRAFT_ROW = (
    select(Draft)
    .where(Draft.post_id == bindparam("post_id"), Draft.generation == bindparam("generation"))
    .with_for_update()
)
_POST_CHANNEL = select(Post.channel).where(Post.id == bindparam("post_id"))
_MARK_DRAFTED = (
    update(Post)
    .where(Post.id == bindparam("post_id"))
    .values(status=PostStatus.DRAFTED)
    .execution_options(synchronize_session=False)  # the store never loads the post itself
)
_LATEST_DRAFT = select(Draft).where(Draft.post_id == bindparam("post_id")).order_by(Draft.generation.desc()).limit(1)


def recent_replies_statement(dialect: str) -> Select[str]:
    """The newest replies a new draft must not repeat (pending, approved or sent; not this post's own), as a
    statement with the parameter ``post_id``, in the form for ``dialect`` (SQLite's own, or the standard one).

    Read before every draft: the index on `drafts.created_at` lets the database stop after the first
    `RECENT_REPLIES_LIMIT` rows instead of sorting every draft (migration 0005)."""
    return _RECENT_REPLIES.get(dialect, _RECENT_REPLIES["default"])


def recent_replies_query(post_id: int, dialect: str) -> Select[str]:
    """`recent_replies_statement` for one post (for tools that run it outside the pipeline)."""
    return recent_replies_statement(dialect).params(post_id=post_id)


def recent_replies(session: Session, post_id: int, dialect: str) -> list[str]:
    return list(session.scalars(recent_replies_statement(dialect), {"post_id": post_id}).all())


def post_by_source_id(session: Session, source: str, external_id: str) -> Post | None:
    return session.scalars(_POST_BY_SOURCE_ID, {"source": source, "external_id": external_id}).one_or_none()


def snapshot_post(session: Session, post_id: int) -> Any:
    """The columns of a post a draft is made from."""
    return session.execute(_SNAPSHOT_POST, {"post_id": post_id}).one_or_none()


def earlier_posts(session: Session, handle: str, post_id: int) -> Sequence[Any]:
    """The author's newest earlier posts (id, text, dates, status), newest first."""
    return session.execute(_EARLIER_POSTS, {"handle": handle, "post_id": post_id}).all()


def newest_drafts_of(session: Session, post_ids: list[int]) -> dict[int, Any]:
    """Each post's newest draft (post_id, text, status)."""
    last: dict[int, Any] = {}
    for d in session.execute(_THEIR_DRAFTS, {"post_ids": post_ids}):
        last[d.post_id] = d  # the newest generation comes last
    return last


def draft_for_update(session: Session, post_id: int, generation: int) -> Draft | None:
    return session.scalars(_DRAFT_ROW, {"post_id": post_id, "generation": generation}).one_or_none()


def post_channel(session: Session, post_id: int) -> str | None:
    return session.scalar(_POST_CHANNEL, {"post_id": post_id})


def mark_drafted(session: Session, post_id: int) -> None:
    """The post has its draft (flushes pending changes first)."""
    session.execute(_MARK_DRAFTED, {"post_id": post_id})


def set_post_triage(session: Session, post_id: int, triage: dict[str, Any]) -> None:
    session.execute(
        update(Post).where(Post.id == post_id).values(triage=triage).execution_options(synchronize_session=False)
    )


def draft_text(session: Session, post_id: int, generation: int) -> str | None:
    return session.scalar(select(Draft.text).where(Draft.post_id == post_id, Draft.generation == generation))


def latest_draft(session: Session, post_id: int) -> Draft | None:
    return session.scalars(_LATEST_DRAFT, {"post_id": post_id}).first()


def get_draft(session: Session, draft_id: int, *, for_update: bool = False) -> Draft:
    stmt = select(Draft).where(Draft.id == draft_id).options(selectinload(Draft.post))
    if for_update:
        stmt = stmt.with_for_update()
    draft = session.scalars(stmt).one_or_none()
    if draft is None:
        raise DraftNotFound(f"no draft with id {draft_id}")
    return draft


def get_post(session: Session, post_id: int) -> Post | None:
    return session.get(Post, post_id)


def author_posts(session: Session, handle: str, *, exclude_post_id: int, limit: int = AUTHOR_POSTS_LIMIT) -> list[Post]:
    """The author's other posts we received, newest first."""
    return list(
        session.scalars(
            select(Post)
            .where(Post.author_handle == handle, Post.id != exclude_post_id)
            .order_by(Post.received_at.desc())
            .limit(limit)
        ).all()
    )


def count_posts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Post)) or 0)


def decided_drafts(session: Session, *, limit: int) -> Sequence[Draft]:
    """Approved, sent and rejected drafts with their posts, the newest decision first."""
    return session.scalars(
        select(Draft)
        .where(Draft.status.in_((DraftStatus.APPROVED, DraftStatus.SENT, DraftStatus.REJECTED)))
        .options(selectinload(Draft.post))
        .order_by(Draft.decided_at.desc().nulls_last(), Draft.id.desc())
        .limit(limit)
    ).all()
