"""Posts full of personal data, in Japanese and English, stored the way the pipeline stores them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.posts.models import Draft, Post
from kizuki.core.audit import AuditEntry
from kizuki.core.db import Database
from kizuki.core.orm import utcnow

JA_TEXT = (
    "山田太郎です。電話は090-1234-5678、メールはtaro.yamada@example.jp。マイナンバー 987654321018 を送ります。"
    "カード 4242 4242 4242 4242 です。〒150-0001 東京都渋谷区神宮前1-2-3 に届けて。佐藤花子様にも @friend_jp"
)
JA_VALUES = (
    "090-1234-5678",
    "taro.yamada@example.jp",
    "987654321018",
    "4242 4242 4242 4242",
    "150-0001",
    "東京都渋谷区神宮前1-2-3",
    "佐藤花子",
    "山田太郎",
    "friend_jp",
)
EN_TEXT = (
    "I am Mr. John Smith, call me at +1 415 555 0123 or john.smith@example.com, card 5555 5555 5555 4444, "
    "I live at 1600 Pennsylvania Avenue"
)
EN_VALUES = ("John Smith", "415 555 0123", "john.smith@example.com", "5555 5555 5555 4444", "1600 Pennsylvania Avenue")
JA_REPLY = "山田太郎様、090-1234-5678 へお電話いたします。"


def add_post(
    s: Session,
    ext: str,
    text: str,
    *,
    handle: str = "taro_123",
    name: str | None = "山田太郎",
    age_days: float = 100,
    status: str = "drafted",
    source: str = "x",
) -> Post:
    received = utcnow() - timedelta(days=age_days)
    post = Post(
        source=source,
        external_id=ext,
        author_handle=handle,
        author_name=name,
        author_followers=120,
        text=text,
        url=f"https://x.com/{handle}/status/{ext}",
        posted_at=received,
        received_at=received,
        lang="ja" if any(ord(c) > 0x3000 for c in text) else "en",
        channel="x",
        metrics={"likes": 1},
        raw={"author_location": "東京都渋谷区"},
        status=status,
        triage={
            "language": "ja",
            "sentiment": "negative",
            "sentiment_score": -0.6,
            "intent": "complaint",
            "urgency": "normal",
            "flame_risk": 30,
        },
    )
    s.add(post)
    s.flush()
    return post


def add_draft(s: Session, post: Post, *, status: str = "rejected", text: str = JA_REPLY, generation: int = 1) -> Draft:
    draft = Draft(
        post_id=post.id,
        generation=generation,
        status=status,
        text=text,
        original_text=text,
        channel="x",
        model="offline",
        prompt_version="draft-v3",
        rationale=f"the post gives the phone number 090-1234-5678 of {post.author_name}",
        instructions="call 090-1234-5678",
        decision_note="echoed taro.yamada@example.jp",
        checks={
            "verdict": "block",
            "findings": [
                {"category": "pii_echo", "rule": "phone", "severity": "block", "start": 7, "end": 20}
                | {"match": "090-1234-5678", "message": "m"},
                {"category": "ng_word", "rule": "x", "severity": "warn", "start": 0, "end": 4}
                | {"match": "山田太郎様", "message": "m"},
            ],
        },
        approvals=[{"by": "hana", "at": "2026-01-01T00:00:00+00:00", "note": "090-1234-5678 ok"}],
        created_at=post.received_at,
    )
    s.add(draft)
    s.flush()
    return draft


def audit_dump(db: Database, since_id: int = 0) -> str:
    """Every audit entry after `since_id`, as one JSON text (what an auditor or a backup sees)."""
    with db.reading() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.id > since_id).order_by(AuditEntry.id)).all()
        return json.dumps(
            [{k: getattr(r, k) for k in ("actor", "action", "subject", "before", "after", "note")} for r in rows],
            ensure_ascii=False,
            default=str,
        )


def last_audit_id(db: Database) -> int:
    with db.reading() as s:
        return int(s.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0)


def row(db: Database, model: Any, ident: int) -> Any:
    with db.reading() as s:
        return s.get(model, ident)


def at(days_ago: float) -> datetime:
    return utcnow() - timedelta(days=days_ago)
