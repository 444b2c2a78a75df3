"""What a draft is made from: the post, its triage, the author's history and the recent replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.posts.models import Draft
from kizuki.runtime import Runtime
from tests.pipeline.conftest import make_post

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _draft(post_id: int, generation: int, status: str, text: str, at: datetime) -> Draft:
    return Draft(
        post_id=post_id,
        generation=generation,
        status=status,
        text=text,
        channel="x",
        model="offline",
        prompt_version="draft-v2",
        created_at=at,
        retrieved=[{"key": "kamado-e03-ja", "body": "長い本文" * 200}],
    )


def test_the_snapshot_holds_the_authors_history_and_the_recent_replies(kb_runtime: Runtime) -> None:
    rt = kb_runtime
    hana = {"handle": "hana_7", "name": "はな", "followers": 42}

    def intake(text: str, minutes: int, author: dict[str, object] = hana, **kw: object) -> int:
        out = rt.pipeline.intake(make_post(text, author=author, **kw), now=T0 + timedelta(minutes=minutes))
        assert out.post_id is not None
        return out.post_id

    redrafted = intake("KAMADOでE03が出る", 1)
    intake("今夜は流星群！星空がきれいだった🌠", 2, created_at=None)
    failed = intake("SoraBuds 2が充電できない", 3)
    other = intake("Kurumi R7が動かない", 4, author={"handle": "someone_else"})
    post_id = intake("KAMADOの電源が入らない", 5, url="https://x.com/hana_7/status/1")
    with rt.db.session() as s:
        s.add(_draft(redrafted, 1, "superseded", "最初の返信", T0 + timedelta(minutes=10)))
        s.add(_draft(redrafted, 2, "pending", "二つ目の返信", T0 + timedelta(minutes=11)))
        s.add(_draft(failed, 1, "failed", "", T0 + timedelta(minutes=12)))
        s.add(_draft(other, 1, "sent", "ほかの方への返信", T0 + timedelta(minutes=13)))
        s.add(_draft(post_id, 1, "failed", "", T0 + timedelta(minutes=14)))

    post_in, triage, channel, history, recent, _org = rt.pipeline._snapshot(post_id)

    assert post_in.text == "KAMADOの電源が入らない"
    assert (post_in.source, post_in.author.handle, post_in.author.name, post_in.author.followers) == (
        "x",
        "hana_7",
        "はな",
        42,
    )
    assert post_in.url == "https://x.com/hana_7/status/1"
    assert post_in.created_at is not None and post_in.created_at.replace(tzinfo=None) == datetime(2026, 11, 20, 1, 0)
    assert post_in.lang == "ja" and post_in.channel == channel == "x"
    assert triage.language == "ja" and triage.intent
    assert [(h["post_text"], h["reply"], h["status"]) for h in history] == [
        ("SoraBuds 2が充電できない", None, "failed"),  # newest first; a draft without text shows no reply
        ("今夜は流星群！星空がきれいだった🌠", None, "dropped"),  # no draft: the post's own status
        ("KAMADOでE03が出る", "二つ目の返信", "pending"),  # the newest generation
    ]
    assert history[1]["date"].replace(tzinfo=None) == datetime(2026, 11, 20, 1, 2)  # no posted_at: received
    assert recent == ["ほかの方への返信", "二つ目の返信"]  # newest first; not superseded, failed or its own
