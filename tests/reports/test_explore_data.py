"""Posts and drafts for the reports tests, stored directly (the triage and watch fields as the pipeline writes them),
and counts straight from the database in SQL written by hand (no code under test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from agent.org.schemas import OrgProfile
from agent.posts.models import Draft, Post
from kizuki.core.db import Database

# 2026-12-01 00:00 in Tokyo is 2026-11-30 15:00 UTC
DAY_START_UTC = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)

PROFILE = OrgProfile.model_validate(
    {
        "name": "Example Appliances",
        "names": ["Example Appliances", "イグザンプル"],
        "products": [{"name": "Cooker K-3", "aliases": ["K-3", "炊飯器K-3"]}, {"name": "Kettle P-1", "aliases": []}],
        "competitors": ["Acme"],
        "departments": {"quality": "heat, smoke, 発煙, 発火, safety", "sales": "price、値段 or discount"},
    }
)


def add_post(
    s: Session,
    ext: str,
    text_: str,
    at: datetime | None,
    *,
    sentiment: str = "neutral",
    intent: str = "question",
    topics: tuple[str, ...] = (),
    sensitive: tuple[str, ...] = (),
    competitors: tuple[str, ...] = (),
    status: str = "drafted",
    source: str = "x",
    lang: str = "ja",
    handle: str = "taro_123",
    name: str | None = "山田太郎",
    flame_risk: int = 10,
    received_at: datetime | None = None,
    draft: dict[str, Any] | None = None,
) -> Post:
    post = Post(
        source=source,
        external_id=ext,
        author_handle=handle,
        author_name=name,
        author_followers=100,
        text=text_,
        url=f"https://example.com/{handle}/{ext}",
        posted_at=at,
        received_at=received_at or (at or datetime.now(UTC)) + timedelta(minutes=1),
        lang=lang,
        channel=source,
        metrics={},
        raw={},
        status=status,
        watch={"keep": status != "dropped", "reason": "", "matched": {"competitor": list(competitors)}},
        triage={
            "language": lang,
            "sentiment": sentiment,
            "sentiment_score": 0.0,
            "intent": intent,
            "urgency": "normal",
            "flame_risk": flame_risk,
            "topics": list(topics),
            "sensitive": list(sensitive),
        },
    )
    s.add(post)
    s.flush()
    if draft is not None:
        values = {"status": "pending", "channel": source, "model": "offline", "prompt_version": "test", **draft}
        s.add(Draft(post_id=post.id, **values))
        s.flush()
    return post


def raw_count(db: Database, where: str, **params: Any) -> int:
    """`SELECT count(*) FROM posts WHERE <where>`, where `t` is the post's time and `sentiment` its triage
    sentiment, spelled per database by hand."""
    if db.dialect == "postgresql":
        t, sentiment = "coalesce(posted_at, received_at)", "(triage->>'sentiment')"
    else:
        t, sentiment = "coalesce(posted_at, received_at)", "json_extract(triage, '$.sentiment')"
        params = {
            k: (v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v)
            for k, v in params.items()
        }
    sql = f"SELECT count(*) FROM posts WHERE {where.replace('{t}', t).replace('{sentiment}', sentiment)}"  # noqa: S608
    with db.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())
