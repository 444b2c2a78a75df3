"""Noise rules (reposts, ads, affiliate links, bot-like bursts) and the do-not-engage hint, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.intake.noise import EarlierPost, ad_marker, detect_noise, suggest_do_not_engage
from agent.schemas import PostIn

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def post(text: str, handle: str = "taro_123") -> PostIn:
    return PostIn.model_validate({"source": "x", "external_id": "n1", "author": {"handle": handle}, "text": text})


@pytest.mark.parametrize(
    "text",
    [
        "RT @minato_fan: ミナト電機の新しい掃除機よさそう",
        "RT @minato_fan: Minato's new vacuum looks great",
        "love this RT @a_b: Nami R2",
    ],
)
def test_retweets_are_reposts(text: str) -> None:
    noise = detect_noise(post(text))
    assert noise is not None and noise.kind == "repost"
    assert "RT @" in noise.reason


@pytest.mark.parametrize(
    "text",
    [
        "【PR】ミナト電機のナミR2、今ならお得！",
        "［PR］ミナト電機の掃除機",
        "ナミR2使ってみた #PR",
        "ナミR2レビュー #プロモーション",
        "Loving my Nami R2 #ad",
        "Nami R2 unboxing #sponsored",
        "セール中 https://amzn.to/3abcdEf",
        "買うならここ https://www.amazon.co.jp/dp/B0XXXX?tag=minato-22",
        "詳しくは https://px.a8.net/svt/ejp?a8mat=XXXX",
        "Get yours https://shop.example.com/nami?ref=influencer42",
    ],
)
def test_ads_and_affiliate_links_are_ads(text: str) -> None:
    noise = detect_noise(post(text))
    assert noise is not None and noise.kind == "ad", text
    assert ad_marker(text) == noise.reason


@pytest.mark.parametrize(
    "text",
    [
        "ミナト電機のPR担当の人、対応よかった",  # PR as a word, not a label
        "My Nami R2 broke, is this an ad for replacements? lol",
        "Nami R2 #adorable",
        "マニュアル https://minato.example.com/manual.pdf にも書いてない",
        "RTX 4090 と一緒に使えますか",
        "Heart rate monitor app #address",
    ],
)
def test_ordinary_posts_are_not_noise(text: str) -> None:
    assert detect_noise(post(text)) is None


def test_a_copy_of_an_earlier_post_is_a_repost_with_its_source() -> None:
    noise = detect_noise(post("ミナト電機の炊飯器、三日で壊れた。ひどい"), earlier_copy="post 12 (x)")
    assert noise is not None and noise.kind == "repost" and "post 12" in noise.reason


def test_a_burst_of_near_identical_posts_is_bot_like() -> None:
    earlier = [
        EarlierPost(
            text=f"ミナト電機のナミR2が半額！今すぐチェック https://t.example/{i}", at=NOW - timedelta(minutes=i)
        )
        for i in (1, 2, 3)
    ]
    noise = detect_noise(
        post("ミナト電機のナミR2が半額！今すぐチェック https://t.example/9", handle="deals20261120"),
        author_recent=earlier,
        now=NOW,
    )
    assert noise is not None and noise.kind == "bot"
    assert "4 near-identical posts" in noise.reason and "generated" in noise.reason


def test_a_customer_writing_twice_is_not_a_bot() -> None:
    """Conservative: two similar posts, or similar posts spread over a day, are a person."""
    text = "Nami R2 still not charging, any update?"
    two = [EarlierPost(text=text, at=NOW - timedelta(minutes=5))]
    assert detect_noise(post(text), author_recent=two, now=NOW) is None
    spread = [EarlierPost(text=text, at=NOW - timedelta(hours=h)) for h in (2, 5, 9)]
    assert detect_noise(post(text), author_recent=spread, now=NOW) is None


def test_many_complaints_in_a_day_suggest_do_not_engage_and_few_do_not() -> None:
    earlier = [
        EarlierPost(text="最悪", at=NOW - timedelta(hours=1), complaint=True),
        EarlierPost(text="まだ？", at=NOW - timedelta(hours=3), complaint=True),
        EarlierPost(text="ありがとう", at=NOW - timedelta(hours=4), complaint=False),
    ]
    hint = suggest_do_not_engage(True, earlier, NOW)
    assert hint is not None and hint.count == 3 and hint.window_hours == 24
    assert "not applied" in hint.reason
    assert suggest_do_not_engage(False, earlier, NOW) is None  # this post is not a complaint
    assert suggest_do_not_engage(True, earlier[1:], NOW) is None  # two complaints only
    old = [EarlierPost(text="x", at=NOW - timedelta(days=3), complaint=True)] * 5
    assert suggest_do_not_engage(True, old, NOW) is None  # outside the window
