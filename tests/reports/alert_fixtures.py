"""Posts written straight into the database for the alert tests: a neutral company, hourly counts you choose."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from agent.org.schemas import OrgProfile, Product
from agent.org.service import save_profile
from agent.posts.models import Post
from kizuki.runtime import Runtime

START = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday, midnight UTC; day d hour h is START + d days + h hours
PRODUCT = "Tsuki Fan"
_seq = itertools.count(1)


def use_profile(rt: Runtime) -> None:
    profile = OrgProfile(
        name="Kumo Kaden",
        names=["Kumo Kaden", "くも家電"],
        products=[Product(name=PRODUCT, aliases=["ツキファン"]), Product(name="Hoshi Lamp", aliases=["ほしランプ"])],
    )
    with rt.db.session() as s:
        save_profile(s, rt.org, profile, edited_version=None, actor="test-setup")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return START + timedelta(days=day, hours=hour, minutes=minute)


def post(
    when: datetime,
    text: str,
    *,
    sentiment: str = "neutral",
    topics: Iterable[str] = (),
    reposts: int = 0,
    handle: str | None = None,
    received: datetime | None = None,
    status: str = "drafted",
) -> Post:
    n = next(_seq)
    return Post(
        source="x",
        external_id=f"t-{n}",
        author_handle=handle or f"user{n}",
        author_name=None,
        text=text,
        posted_at=when,
        received_at=received or when + timedelta(minutes=1),
        channel="x",
        status=status,
        metrics={"likes": 0, "reposts": reposts, "replies": 0},
        raw={},
        triage={"sentiment": sentiment, "topics": list(topics)},
    )


BACKGROUND = [
    "くも家電の配送が早くて助かった",
    "Kumo Kaden support answered quickly, thanks",
    "くも家電の新しいカタログを見た",
    "Thinking about a Kumo Kaden toaster for the kitchen",
]


def background(rt: Runtime, days: range, per_hour: int = 2) -> int:
    """`per_hour` ordinary posts every hour of `days` (a flat stream: any burst on top stands out)."""
    rows = []
    for d in days:
        for h in range(24):
            for i in range(per_hour):
                rows.append(post(at(d, h, 5 + i * 20), BACKGROUND[(d + h + i) % len(BACKGROUND)]))
    with rt.db.session() as s:
        s.add_all(rows)
    return len(rows)


def burst(rt: Runtime, day: int, hour: int, n: int, *, offset_minutes: int = 0) -> list[int]:
    """`n` negative posts about the product's overheating in one hour, alternating Japanese and English, each
    carrying personal data (a phone number, a mention) that must never leave redacted text."""
    rows = []
    for i in range(n):
        minute = (offset_minutes + i * 50 // max(1, n)) % 60
        if i % 2 == 0:
            text = f"ツキファンが発火しそうなほど熱い。怖い。090-1234-56{i:02d}に電話ください @friend{i}"
        else:
            text = f"My Tsuki Fan overheating again, smoke smell. Call me at 090-1234-56{i:02d} @friend{i}"
        rows.append(post(at(day, hour, minute), text, sentiment="negative", topics=[PRODUCT], handle=f"angry{i}"))
    with rt.db.session() as s:
        s.add_all(rows)
        s.flush()
        return [p.id for p in rows]


def stored_alert(rt: Runtime) -> int:
    """One stored alert, written directly (for tests of the surfaces, e.g. the authorisation matrix)."""
    from reports.alerts import Alert, AlertStatus

    n = next(_seq)
    with rt.db.session() as s:
        alert = Alert(
            dedupe_key=f"volume:brand:*:test-{n}",
            kind="volume",
            scope="brand",
            subject="*",
            window_start=at(8, 14),
            window_end=at(8, 15),
            count=22,
            baseline=2.0,
            score=7.5,
            p_value=1e-12,
            preset="4sigma",
            status=AlertStatus.NOT_SENT,
            title="【急増 / Surge】volume: all posts",
            explanation={"top_terms": [], "sentiment": {}, "examples": []},
            post_ids=[],
            deliveries={},
            detected_at=at(8, 15),
            updated_at=at(8, 15),
        )
        s.add(alert)
        s.flush()
        return alert.id
