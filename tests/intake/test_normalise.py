"""Normalisation for matching and language detection, on Japanese and English, clean and messy."""

from __future__ import annotations

import pytest

from agent.intake.normalise import detect_language, normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＫＡＭＡＤＯ　Ｋ－３", "kamado k-3"),  # full-width Latin, digits, ideographic space
        ("ｶﾏﾄﾞ", "かまど"),  # half-width katakana with a voiced mark
        ("カマド", "かまど"),  # katakana folds to hiragana
        ("SoraBuds", "sorabuds"),
        ("壊\u200bれ\u200dた", "壊れた"),  # zero-width space and joiner
        ("\ufeffbroken", "broken"),  # byte-order mark
        ("すご〜〜い", "すごーい"),  # wave dashes stretching a kana vowel
        ("すごーーーい", "すごーい"),
        ("最高ーーーー！！", "最高ー!!"),
        ("ス−パ−", "すーぱー"),  # minus signs used as long-vowel marks
        ("brokennnn sooo", "broken so"),
        ("やばっっっ", "やばっ"),
        ("は゛", "ば"),  # spacing dakuten
        ("  many \n\t spaces  ", "many spaces"),
    ],
)
def test_normalise_folds_variants(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_keeps_digits_and_emoji() -> None:
    assert normalise("1000円 E003 🍚✨") == "1000円 e003 🍚✨"


def test_normalise_is_idempotent() -> None:
    text = "ＳｏｒａＢｕｄｓ２最高ーーー😭ｗｗｗ Hoshizora\u200bアプリ"
    assert normalise(normalise(text)) == normalise(text)


def test_normalise_empty_and_whitespace() -> None:
    assert normalise("") == ""
    assert normalise("\u200b \u3000") == ""


def test_normalise_very_long_input() -> None:
    text = "KAMADOが壊れた。" * 5_000
    out = normalise(text)
    assert out.startswith("kamadoが壊れた。")
    assert out.count("kamado") == 5_000


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("KAMADOでE03が出て炊けない…", "ja"),
        ("ログインできない😢", "ja"),
        ("ｶﾏﾄﾞ最高", "ja"),  # half-width kana only
        ("故障", "ja"),  # kanji only: Japanese unless the model is sure of Chinese
        ("返金希望", "ja"),
        ("这个耳机坏了怎么办", "zh"),
        ("My SoraBuds 2 stopped connecting after the update.", "en"),
        ("OMG THE APP IS BROKEN AGAIN", "en"),
        ("Can't log in", "en"),
        ("Ça ne marche pas du tout, je suis très déçu du service", "fr"),
        ("이어폰이 고장났어요", "ko"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", "   ", "😊😊😊", "1000", "E03", "@hoshizora_support", "https://example.com/x"])
def test_detect_language_undetermined(text: str) -> None:
    assert detect_language(text) == "und"


def test_detect_language_ignores_mentions_urls_and_hashtags() -> None:
    assert detect_language("@hoshizora_support https://x.example/a #SoraBuds 片耳だけ音が出ない") == "ja"
    assert detect_language("#星空電機 @星空 my earbuds died after the firmware update") == "en"


def test_detect_language_long_input() -> None:
    assert detect_language("The vacuum keeps stopping in the hallway. " * 2_000) == "en"
