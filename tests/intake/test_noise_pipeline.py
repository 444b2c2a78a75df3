"""Noise at intake through the real pipeline (SQLite and PostgreSQL): dropped with a reason, never silently;
do-not-engage suggested, not imposed; praise thanked; other languages escalated by the offline model."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.intake.service import save_watch_rules
from agent.org.schemas import OrgProfile
from agent.org.service import save_profile
from agent.posts.models import Post
from agent.schemas import PostIn
from kizuki.runtime import Runtime

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
_ids = itertools.count(1)


@pytest.fixture
def minato(bare_runtime: Runtime) -> Runtime:
    """An invented company: its watch rules and profile."""
    rt = bare_runtime
    with rt.db.session() as s:
        rules = {"brand": ["ミナト電機", "Minato", "ナミ", "Nami R2"], "problem": ["壊れ", "broken"]}
        save_watch_rules(s, rt.watch_rules, rules, edited_version=None, actor="test")
        profile = OrgProfile(name="ミナト電機", names=["ミナト電機", "Minato"], handles={"x": "@minato_help"})
        save_profile(s, rt.org, profile, edited_version=None, actor="test")
    return rt


def make(text: str, handle: str = "taro_123", minutes_ago: float = 0, **kw: Any) -> PostIn:
    data: dict[str, Any] = {
        "source": "x",
        "external_id": f"np-{next(_ids)}",
        "author": {"handle": handle, "followers": 120},
        "text": text,
        "created_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
    }
    data.update(kw)
    return PostIn.model_validate(data)


def _post(rt: Runtime, post_id: int | None) -> Post:
    assert post_id is not None
    with rt.db.session() as s:
        row = s.get(Post, post_id)
        assert row is not None
        s.expunge(row)
        return row


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("RT @minato_fan: ミナト電機の新しいナミ、よさそう", "repost"),
        ("【PR】ミナト電機のナミR2、今ならお得！", "ad"),
        ("Minato Nami R2 deal https://amzn.to/3abcdEf #ad", "ad"),
    ],
)
def test_reposts_and_ads_are_dropped_with_a_reason(minato: Runtime, text: str, kind: str) -> None:
    out = minato.pipeline.intake(make(text), now=NOW)
    assert out.outcome == "dropped"
    assert out.reason is not None and out.reason.startswith(f"noise:{kind}: ")
    row = _post(minato, out.post_id)
    assert row.status == "dropped" and row.reason == out.reason
    assert row.triage is not None and row.triage["noise"]["kind"] == kind


def test_a_text_already_seen_from_another_author_is_a_repost(minato: Runtime) -> None:
    text = "ミナト電機の炊飯器、買って三日で壊れた。ひどすぎる"
    first = minato.pipeline.intake(make(text, handle="original_author"), now=NOW)
    copy = minato.pipeline.intake(make(text, handle="copycat"), now=NOW)
    again = minato.pipeline.intake(make(text, handle="original_author"), now=NOW)
    assert first.outcome == "queued"
    assert copy.outcome == "dropped" and copy.reason == f"noise:repost: repeats the text of post {first.post_id} (x)"
    assert again.outcome == "queued"  # the author writing again is not a repost


def test_a_burst_of_near_identical_posts_is_dropped_as_a_bot(minato: Runtime) -> None:
    outs = [
        minato.pipeline.intake(
            make(f"ミナト電機のナミが半額！今すぐ https://t.example/{i}", handle="deals2026112001", minutes_ago=10 - i),
            now=NOW,
        )
        for i in range(4)
    ]
    assert [o.outcome for o in outs] == ["queued", "queued", "queued", "dropped"]
    assert outs[3].reason is not None and outs[3].reason.startswith("noise:bot: bot-like: 4 near-identical posts")


def test_many_complaints_suggest_do_not_engage_but_still_queue(minato: Runtime) -> None:
    texts = [
        "ミナト電機のナミ壊れた。最悪",
        "Minato support is ignoring me. Unacceptable",
        "ナミまだ直らない。ありえない",
    ]
    outs = [
        minato.pipeline.intake(make(t, handle="angry_1", minutes_ago=60 * (3 - i)), now=NOW)
        for i, t in enumerate(texts)
    ]
    assert [o.outcome for o in outs] == ["queued", "queued", "queued"]
    first, last = _post(minato, outs[0].post_id), _post(minato, outs[2].post_id)
    assert first.triage is not None and first.triage["suggest_do_not_engage"] is None
    assert last.triage is not None
    hint = last.triage["suggest_do_not_engage"]
    assert hint["count"] == 3 and hint["window_hours"] == 24


def test_praise_is_thanked_never_told_we_are_checking(minato: Runtime) -> None:
    (out,) = minato.pipeline.ingest([make("ミナト電機の炊飯器で炊いたご飯おいしすぎ🍚✨")])
    assert out.outcome == "drafted", out.reason
    assert out.draft is not None
    assert out.draft.triage is None or out.draft.triage["intent"] == "praise"
    assert "確認中" not in out.draft.text
    assert out.draft.action in ("reply", "like_only")
    row = _post(minato, out.post_id)
    assert row.triage is not None and row.triage["intent"] == "praise"


@pytest.mark.parametrize(
    ("text", "lang", "name"),
    [
        ("Bonjour, mon aspirateur Minato Nami R2 ne marche plus. Que dois-je faire ?", "fr", "French"),
        ("미나토 Nami R2 청소기가 작동하지 않아요. 어떻게 해야 하나요?", "ko", "Korean"),
    ],
)
def test_the_offline_model_escalates_other_languages_to_a_person(
    minato: Runtime, text: str, lang: str, name: str
) -> None:
    (out,) = minato.pipeline.ingest([make(text)])
    assert out.outcome == "drafted", out.reason
    assert out.draft is not None
    assert out.draft.action == "escalate"
    assert out.draft.language == lang
    assert out.draft.text == ""  # neither English nor Japanese: a person writes it
    assert f"{name} post: a person must answer" in (out.draft.rationale or "")


def test_a_hostile_post_from_a_large_account_needs_two_approvers(minato: Runtime) -> None:
    """Issue 17's example: flame risk above the two-person threshold, so one approval is not enough."""
    from review.schemas import ApproveRequest
    from review.service import approve

    big = make(
        "ミナト電機マジでクソ…金返せ。二度と買わねえ", handle="loud_1", author={"handle": "loud_1", "followers": 15_400}
    )
    big = big.model_copy(update={"metrics": big.metrics.model_copy(update={"reposts": 48})})
    (out,) = minato.pipeline.ingest([big])
    assert out.outcome == "drafted", out.reason
    assert out.draft is not None
    assert out.draft.flame_risk > minato.settings.two_person_risk_threshold
    first = approve(minato, out.draft.id, ApproveRequest(acknowledge_warnings=True), actor="alice")
    assert first.status != "approved"
    second = approve(
        minato, out.draft.id, ApproveRequest(version=first.version, acknowledge_warnings=True), actor="bob"
    )
    assert second.status == "approved"
