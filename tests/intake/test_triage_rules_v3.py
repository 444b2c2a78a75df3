"""Lexicon v3 and the sentiment rules added with the Tatoeba and airline dev rows: complaints that name no
feeling, sarcastic thanks, thanks as politeness, Japanese contrast and absence, hashtags, the asymmetric cut-off,
and a negative post that asks being a complaint."""

from __future__ import annotations

import pytest

from agent.intake.lexicon import default_lexicon
from agent.intake.normalise import normalise
from agent.intake.sentiment import label_of, read_sentiment, rule_sentiment
from agent.intake.triage import triage_object


def _rules(text: str, lang: str) -> object:
    return rule_sentiment(normalise(text), text, lang, default_lexicon())


def test_the_lexicon_is_version_3() -> None:
    assert default_lexicon().lexicon.version == 3
    assert triage_object({"text": "thanks for nothing"}).method == "rules-v3+vader"


def test_cut_offs_are_asymmetric_a_hint_of_trouble_is_negative() -> None:
    assert label_of(-0.15) == "negative"
    assert label_of(0.15) == "neutral"
    assert label_of(0.2) == "positive"
    assert label_of(-0.05) == "neutral"
    # a post that asks is held to the symmetric cut-off: questions name troubles without complaining
    assert label_of(-0.15, asking=True) == "neutral"
    assert label_of(-0.2, asking=True) == "negative"


def test_a_question_naming_a_trouble_is_not_a_complaint() -> None:
    text = "do I need to pay a fee if I cancel late?"
    result = triage_object({"text": text})
    assert (result.sentiment, result.intent) == ("neutral", "question")
    assert label_of(result.sentiment_score) == "negative"  # the same score in a statement would be negative
    assert _rules(text, "en").asking  # type: ignore[attr-defined]
    assert _rules("解約したら違約金はかかりますか？", "ja").asking  # type: ignore[attr-defined]
    assert not _rules("解約したら違約金がかかった。", "ja").asking  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    [
        "my order was cancelled",
        "Been on hold for an hour and nobody answers",
        "still no reply :(",
        "It would have been nice to get an update.",
        "注文した商品が届かなくて本当に残念です。",
        "電話しても誰も出ないし、もう疲れ果てた。",
    ],
)
def test_trouble_without_feeling_words_reads_negative(text: str) -> None:
    result = triage_object({"text": text})
    assert result.sentiment == "negative"
    assert result.intent in ("complaint", "bug_report")


def test_vader_finding_nothing_does_not_halve_the_lexicon() -> None:
    text = "I waited on hold since nine"
    reading = read_sentiment(normalise(text), text, "en", default_lexicon(), None)
    assert reading.vader == 0.0
    assert reading.score == reading.lexicon_score < 0


def test_thanks_for_a_trouble_is_sarcasm() -> None:
    reading = _rules("@shop thanks for keeping me on hold for two hours.", "en")
    assert reading.label == "negative"  # type: ignore[attr-defined]
    assert reading.sarcasm == ["thanks for keeping me on hold for two hours"]  # type: ignore[attr-defined]
    # thanks for something good stays thanks
    happy = _rules("Thanks for the quick fix, it works now!", "en")
    assert happy.label == "positive" and happy.sarcasm == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "sentiment", "intent"),
    [
        ("Is the store open on Sunday? Thank you!", "neutral", "question"),
        ("注文の変更はできますか？ありがとうございます。", "neutral", "question"),
        ("Thanks, the new firmware fixed it!", "positive", "praise"),
        ("ありがとうございます！助かりました。", "positive", "praise"),
    ],
)
def test_thanks_closing_a_question_is_politeness_not_praise(text: str, sentiment: str, intent: str) -> None:
    result = triage_object({"text": text})
    assert (result.sentiment, result.intent) == (sentiment, intent)


def test_a_question_with_polite_thanks_keeps_the_model_from_reading_praise() -> None:
    reading = _rules("Is the store open on Sunday? Thank you!", "en")
    assert reading.polite_thanks  # type: ignore[attr-defined]
    assert _rules("Thank you, the store was great!", "en").polite_thanks is False  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("少し高いけど、味は最高でした。", "positive"),
        ("嬉しかったけど、対応は残念でした。", "negative"),
        ("退屈しない映画だった。", "positive"),  # the trouble does not happen
        ("失敗せずに済んだ。", "positive"),
    ],
)
def test_japanese_contrast_and_absence(text: str, sentiment: str) -> None:
    assert triage_object({"text": text}).sentiment == sentiment


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("#poorservice at the counter", "negative"),
        ("Waited again today #companysucks", "negative"),
        ("Great crew tonight #awesome", "positive"),
    ],
)
def test_hashtags_that_run_words_together(text: str, sentiment: str) -> None:
    assert triage_object({"text": text}).sentiment == sentiment


def test_an_emoticon_is_never_negated() -> None:
    assert _rules("no reply yet :(", "en").lexicon_score < 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text",
    [
        "why is my order still not here??",
        "Can you tell me why my refund is taking so long? This is ridiculous.",
        "なんでまだ届かないの？ひどすぎる。",
    ],
)
def test_a_negative_post_that_asks_is_a_complaint(text: str) -> None:
    result = triage_object({"text": text})
    assert result.sentiment == "negative"
    assert result.intent == "complaint"


@pytest.mark.parametrize(
    "text",
    [
        "Could you please follow me so I can DM you?",
        "Is there any way you could send the invoice again?",
        "配送先を変更してほしいです。",
    ],
)
def test_requests_without_complaint(text: str) -> None:
    assert triage_object({"text": text}).intent == "request"


def test_time_pressure_raises_a_complaint_to_high_urgency() -> None:
    assert triage_object({"text": "My order was cancelled and I need it tonight"}).urgency == "high"
    assert triage_object({"text": "My order was cancelled last month"}).urgency == "normal"
