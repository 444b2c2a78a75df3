"""Rule-based triage: sentiment, intent, urgency, flame risk, topics, on Japanese and English posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.intake.lexicon import CompiledLexicon, Lexicon
from agent.intake.triage import triage
from agent.org.schemas import OrgProfile
from agent.schemas import PostIn
from kizuki.core.yamlfile import load_yaml

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DEMO_ORG = load_yaml(Path(__file__).resolve().parents[2] / "demo" / "profile.yaml", OrgProfile)


def post(text: str, *, followers: int = 100, hours: float | None = 2.0, **metrics: int) -> PostIn:
    data: dict[str, Any] = {
        "source": "x",
        "external_id": "t1",
        "author": {"handle": "someone", "followers": followers},
        "text": text,
        "metrics": metrics,
    }
    if hours is not None:
        data["created_at"] = (NOW - timedelta(hours=hours)).isoformat()
    return PostIn.model_validate(data)


@pytest.mark.parametrize(
    "text",
    ["SoraBuds 2最高！音もクリアで大満足👍", "SoraBuds 2 are amazing, I love them 😍"],
)
def test_praise(text: str) -> None:
    r = triage(post(text), now=NOW, org=DEMO_ORG)
    assert r.sentiment == "positive"
    assert r.sentiment_score > 0.25
    assert r.intent == "praise"
    assert r.urgency == "low"
    assert r.flame_risk == 0
    assert r.topics == ["SoraBuds 2"]


@pytest.mark.parametrize(
    "text",
    ["Kurumi R7がE12で止まった。ブラシも掃除したのに動かない", "Kurumi R7 keeps throwing E12 and stopped working"],
)
def test_bug_report(text: str) -> None:
    r = triage(post(text), now=NOW, org=DEMO_ORG)
    assert r.intent == "bug_report"
    assert r.sentiment == "negative"
    assert r.topics == ["Kurumi R7"]


@pytest.mark.parametrize(
    "text",
    [
        "星空電機のサポート最悪。3回問い合わせて無視。いい加減にしろ",
        "Hoshizora support is the worst. Ignored three times. Ridiculous.",
    ],
)
def test_angry_complaint(text: str) -> None:
    r = triage(post(text), now=NOW, org=DEMO_ORG)
    assert r.intent == "complaint"
    assert r.sentiment == "negative"
    assert r.urgency == "high"
    assert "support" in r.topics


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("KAMADO K-3で玄米は炊けますか？", "question"),
        ("Does the KAMADO K-3 cook brown rice?", "question"),
        ("Hoshizoraアプリにダークモードを追加してほしい", "request"),
        ("Please add a dark mode to the Hoshizora app", "request"),
        ("星空電機の株価、今日は横ばい", "other"),
    ],
)
def test_intents(text: str, intent: str) -> None:
    r = triage(post(text), now=NOW, org=DEMO_ORG)
    assert r.intent == intent
    assert r.sentiment == "neutral"


def test_english_negation_flips_sentiment() -> None:
    good = triage(post("The SoraBuds 2 are good"), now=NOW, org=DEMO_ORG)
    not_good = triage(post("The SoraBuds 2 are not good"), now=NOW, org=DEMO_ORG)
    assert good.sentiment_score > 0
    assert not_good.sentiment_score < 0


def test_japanese_negation_suffix_flips_sentiment() -> None:
    assert triage(post("KAMADOには満足"), now=NOW, org=DEMO_ORG).sentiment_score > 0
    assert triage(post("KAMADOには満足できない"), now=NOW, org=DEMO_ORG).sentiment_score < 0


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("KAMADO K-3から煙が出て焦げ臭い。怖い", "safety"),
        ("My SoraBuds 2 case caught fire while charging!", "safety"),
        ("星空電機を訴える。弁護士に相談した", "legal"),
        ("Hoshizora leaked my personal data, got a phishing mail with my order number", "data_leak"),
        ("星空電機の面接で差別的なことを言われた", "discrimination"),
    ],
)
def test_sensitive_topics(text: str, topic: str) -> None:
    r = triage(post(text), now=NOW, org=DEMO_ORG)
    assert topic in r.sensitive
    assert r.urgency in ("high", "critical")
    assert any(reason.startswith("sensitive") for reason in r.flame_reasons)


def test_safety_trouble_is_critical() -> None:
    r = triage(post("KAMADOが壊れた、煙が出て発火しそう"), now=NOW, org=DEMO_ORG)
    assert r.urgency == "critical"


def test_flame_risk_grows_with_reach_and_velocity() -> None:
    text = "星空電機のサポート最悪。二度と買わない"
    quiet = triage(post(text, followers=50, hours=48), now=NOW, org=DEMO_ORG)
    viral = triage(
        post(text, followers=200_000, hours=1, likes=5_000, reposts=1_500, replies=300), now=NOW, org=DEMO_ORG
    )
    assert viral.flame_risk > quiet.flame_risk + 30
    assert viral.flame_risk <= 100
    assert any("200,000 followers" in reason for reason in viral.flame_reasons)
    assert viral.urgency == "high"


def test_flame_risk_grows_with_sensitive_topics() -> None:
    base = triage(post("Hoshizora support is terrible", followers=5_000), now=NOW, org=DEMO_ORG)
    legal = triage(post("Hoshizora support is terrible, calling my lawyer", followers=5_000), now=NOW, org=DEMO_ORG)
    assert legal.flame_risk > base.flame_risk


def test_velocity_unknown_without_created_at() -> None:
    r = triage(post("KAMADOが壊れた", hours=None), now=NOW, org=DEMO_ORG)
    assert "velocity unknown (no created_at)" in r.flame_reasons


def test_future_created_at_does_not_explode() -> None:
    r = triage(post("KAMADO最悪", hours=-5, likes=1000), now=NOW, org=DEMO_ORG)
    assert 0 <= r.flame_risk <= 100


def test_language_detected_or_taken_from_post() -> None:
    assert triage(post("炊飯器が壊れた"), now=NOW, org=DEMO_ORG).language == "ja"
    assert triage(post("my rice cooker broke"), now=NOW, org=DEMO_ORG).language == "en"
    given = post("my rice cooker broke").model_copy(update={"lang": "EN"})
    assert triage(given, now=NOW).language == "en"


def test_mentions_are_not_topics() -> None:
    r = triage(post("@hoshizora_support KAMADO K-3のレシピ本ありますか"), now=NOW, org=DEMO_ORG)
    assert r.topics == ["KAMADO K-3"]


def test_full_width_and_emoji_only() -> None:
    r = triage(post("ＳｏｒａＢｕｄｓ　２　最高！！😍"), now=NOW, org=DEMO_ORG)
    assert r.sentiment == "positive"
    assert r.topics == ["SoraBuds 2"]
    only_emoji = triage(post("😭😭😭"), now=NOW, org=DEMO_ORG)
    assert only_emoji.sentiment == "negative"
    assert only_emoji.language == "und"


def test_very_long_post_is_fast_and_bounded() -> None:
    r = triage(post("KAMADOが壊れた。最悪。" * 700), now=NOW, org=DEMO_ORG)
    assert r.sentiment_score > -1.0
    assert r.sentiment == "negative"
    assert 0 <= r.flame_risk <= 100


def test_custom_lexicon() -> None:
    lexicon = Lexicon(sentiment={"en": {"meh": -3.0}}, topics={"Widget": ["widget"]})
    r = triage(post("the widget is meh"), now=NOW, lexicon=lexicon)
    assert r.sentiment == "negative"
    assert r.topics == ["Widget"]
    assert r.method == "rules-v1+vader"  # an English post: the lexicon blended with VADER
    again = triage(post("the widget is meh"), now=NOW, lexicon=CompiledLexicon(lexicon))
    assert again == r


def test_deterministic_with_fixed_clock() -> None:
    p = post("Kurumi R7が動かない", likes=10, reposts=2)
    assert triage(p, now=NOW) == triage(p, now=NOW)


def test_naive_now_taken_as_utc() -> None:
    p = post("Kurumi R7が動かない", likes=10)
    assert triage(p, now=NOW.replace(tzinfo=None)) == triage(p, now=NOW)


def test_products_come_from_the_organisation_profile() -> None:
    bakery = OrgProfile(name="さくらベーカリー", products=[{"name": "湯種食パン", "aliases": ["食パン", "shokupan"]}])
    text = "さくらベーカリーの食パン、今日は売り切れ？ / is the shokupan sold out?"
    assert triage(post(text), now=NOW, org=bakery).topics == ["湯種食パン"]
    assert triage(post(text), now=NOW).topics == []  # no profile: no company's products are known
    assert triage(post("SoraBuds 2最高！"), now=NOW, org=bakery).topics == []  # another company's product
