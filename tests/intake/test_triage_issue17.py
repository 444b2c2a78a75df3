"""Issue 17: triage that holds on real posts. Every example the issue quotes, with an invented company (ミナト電機 /
Minato), Japanese next to English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.intake.flame import HOSTILE_FLOOR
from agent.intake.sentiment import vader_compound
from agent.intake.triage import triage, triage_object
from agent.org.schemas import OrgProfile
from agent.schemas import PostIn
from kizuki.core.settings import Settings

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ORG = OrgProfile.model_validate(
    {
        "name": "ミナト電機",
        "names": ["ミナト電機", "Minato"],
        "products": [{"name": "Kindle Fire", "aliases": ["kindle fire"]}, {"name": "Nami R2", "aliases": ["ナミ"]}],
    }
)


def post(text: str, *, followers: int = 100, hours: float | None = None, **metrics: int) -> PostIn:
    data: dict[str, Any] = {
        "source": "x",
        "external_id": "i17",
        "author": {"handle": "someone", "followers": followers},
        "text": text,
        "metrics": metrics,
    }
    if hours is not None:
        data["created_at"] = (NOW - timedelta(hours=hours)).isoformat()
    return PostIn.model_validate(data)


# --- sentiment --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("感じ悪かったです。", "negative"),
        ("ちょっと寂しかったです。", "negative"),
        ("また是非行きたいです。", "positive"),
        ("スタッフの方の感じが良かったです。", "positive"),
        ("部屋は悪くなかったです。", "positive"),
        ("料理はおいしくなかったです。", "negative"),
        ("部屋に不満はなかったです。快適でした。", "positive"),
        ("特に問題なく使えています。", "positive"),
        ("…thanks for nothing", "negative"),
        ("The response from your end is pathetic. I have waited two weeks. Thanks!!!", "negative"),
        ("the response from your end is pathetic … Thanks!!!", "negative"),
        ("kudos to Reina … What a great example of solid customer service", "positive"),
        ("Not bad at all, the new firmware is smooth", "positive"),
        ("The delivery was not good", "negative"),
        ("I love it 😍", "positive"),
        ("届いた😡💢", "negative"),
    ],
)
def test_sentiment_of_the_issues_examples(text: str, expected: str) -> None:
    assert triage(post(text), now=NOW).sentiment == expected


def test_vader_alone_reads_thanks_for_nothing_as_praise_and_our_rules_do_not() -> None:
    """The library baseline is fooled by sarcasm; the sarcasm rule is what makes the difference."""
    assert vader_compound("thanks for nothing") > 0
    r = triage(post("thanks for nothing"), now=NOW)
    assert r.sentiment == "negative"
    assert r.intent == "complaint"
    assert r.method == "rules-v3+vader"


def test_polite_thanks_in_a_happy_post_still_count() -> None:
    assert triage(post("Thanks, the repair was quick!"), now=NOW).sentiment == "positive"
    assert triage(post("対応ありがとうございました！助かりました"), now=NOW).sentiment == "positive"


# --- intent -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "今日のご飯ミナト電機の炊飯器で炊いたらおいしすぎ🍚✨",
        "kudos to Reina … What a great example of solid customer service",
        "Minato's support was amazing, thank you!",
    ],
)
def test_praise_is_praise_not_a_question_or_other(text: str) -> None:
    r = triage(post(text), now=NOW, org=ORG)
    assert r.intent == "praise"
    assert r.sentiment == "positive"
    assert r.urgency == "low"


@pytest.mark.parametrize(
    "text", ["What is the warranty period for the Nami R2?", "How do I reset the Nami R2", "ナミの保証期間は何年ですか"]
)
def test_real_questions_stay_questions(text: str) -> None:
    assert triage(post(text), now=NOW, org=ORG).intent == "question"


@pytest.mark.parametrize("text", ["my kindle fire won't start", "Kindle Fireが起動しない"])
def test_a_product_named_fire_is_not_a_fire(text: str) -> None:
    r = triage(post(text), now=NOW, org=ORG)
    assert "safety" not in r.sensitive
    assert r.urgency not in ("critical", "high")
    assert r.intent == "bug_report"
    assert r.sentiment == "negative"


def test_a_product_named_fire_is_not_a_fire_without_a_profile() -> None:
    r = triage(post("my kindle fire won't start"), now=NOW)
    assert r.sensitive == [] and r.urgency == "normal"


@pytest.mark.parametrize(
    "text",
    [
        "My Nami R2 caught fire while charging",
        "ナミの充電中に発火した。煙が出てる",
        "Nami R2 sparked and smells like burnt plastic",
    ],
)
def test_real_fires_are_still_critical(text: str) -> None:
    r = triage(post(text), now=NOW, org=ORG)
    assert "safety" in r.sensitive
    assert r.urgency == "critical"


# --- flame risk -------------------------------------------------------------------------------------------


def test_swearing_and_boycott_from_a_large_account_goes_above_the_two_person_threshold() -> None:
    threshold = Settings().two_person_risk_threshold
    r = triage(post("ミナト電機マジでクソ…金返せ。二度と買わねえ", followers=15_400, reposts=48), now=NOW, org=ORG)
    assert r.flame_risk > threshold
    assert r.sentiment == "negative" and r.intent == "complaint"
    parts = {p.name: p for p in r.flame_parts}
    assert set(parts) >= {"negativity", "hostility", "reach", "velocity", "sensitivity"}
    assert parts["hostility"].value == 1.0
    assert "クソ" in parts["hostility"].reason and "金返せ" in parts["hostility"].reason
    assert "15,400 followers" in parts["reach"].reason
    assert all(0 <= p.value <= 1 for p in r.flame_parts)
    assert any("hostility" in line for line in r.flame_reasons)


@pytest.mark.parametrize(
    "text",
    [
        "Minato is a f***ing joke. Never buying again #boycott",
        "Minato: shitty support, never buying from you again",
        "ミナト電機ふざけんな。不買運動しよう",
    ],
)
def test_hostile_posts_from_a_fast_spreading_account_go_above_the_threshold(text: str) -> None:
    r = triage(post(text, followers=800, hours=1, reposts=60, likes=200), now=NOW, org=ORG)
    assert r.flame_risk >= HOSTILE_FLOOR > Settings().two_person_risk_threshold
    assert r.flame_parts[1].name == "hostility" and r.flame_parts[1].value > 0


def test_the_same_words_from_a_small_quiet_account_stay_under_the_threshold() -> None:
    threshold = Settings().two_person_risk_threshold
    r = triage(post("ミナト電機マジでクソ…金返せ。二度と買わねえ", followers=40, hours=30), now=NOW, org=ORG)
    assert 0 < r.flame_risk < threshold
    assert not any(p.name == "floor" for p in r.flame_parts)


def test_a_calm_complaint_from_a_large_account_is_not_a_flame() -> None:
    r = triage(post("Nami R2の吸引力が落ちた気がする", followers=50_000, hours=5), now=NOW, org=ORG)
    assert r.flame_risk < Settings().two_person_risk_threshold
    assert next(p for p in r.flame_parts if p.name == "hostility").value == 0


def test_praise_from_a_huge_account_has_no_flame_risk() -> None:
    r = triage(post("Nami R2 is amazing 😍", followers=2_000_000, reposts=5_000, hours=1), now=NOW, org=ORG)
    assert r.flame_risk == 0


# --- languages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Bonjour, ma commande Minato n'est jamais arrivée. Que dois-je faire ?", "fr"),
        ("미나토 청소기가 작동하지 않아요. 어떻게 해야 하나요?", "ko"),
        ("我的扫地机器人坏了，怎么办？请尽快回复。", "zh"),
        ("Mi pedido de Minato no ha llegado todavía, ¿qué hago?", "es"),
    ],
)
def test_other_languages_are_detected(text: str, lang: str) -> None:
    assert triage_object({"text": text}).language == lang


def test_triage_object_reads_a_minimal_post_object_and_flags_noise() -> None:
    r = triage_object({"text": "RT @someone: ミナト電機の新製品すごい"})
    assert r.noise is not None and r.noise.kind == "repost"
    r = triage_object({"text": "ナミ最高", "author": "taro", "metrics": {"reposts": 3}})
    assert r.noise is None and r.sentiment == "positive"
