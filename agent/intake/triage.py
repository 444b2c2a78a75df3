"""Triage a post offline with the lexicon rules (sentiment, intent, urgency, flame risk, noise), or with a model."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_ai import Agent
from pydantic_ai.models import Model

from agent.intake.flame import flame_risk, hours_since, reasons_of
from agent.intake.lexicon import CompiledLexicon, IntentCue, Lexicon, SensitiveTopic, default_lexicon
from agent.intake.matching import TermHit, TermMatcher, longest_hits
from agent.intake.noise import detect_noise
from agent.intake.normalise import detect_language, normalise
from agent.intake.sentiment import SentimentReading, label_of, read_sentiment
from agent.org.schemas import OrgProfile
from agent.schemas import MAX_POST_CHARS, Author, Intent, Metrics, PostIn, Sentiment, TriageResult, Urgency

PROMPT_VERSION = "triage-v2"
PROMPT_PATH = Path(__file__).parent / "prompts" / f"{PROMPT_VERSION}.md"

_TROUBLE_FLOOR = -0.25  # a complaint or a malfunction is at least mildly negative, whatever its words
_ERROR_CODE = re.compile(r"(?<![a-z0-9])e-?\d{2,3}(?![0-9])")
_QUESTION_MARK = re.compile(r"\?")
# An English question opens with a question word followed by a verb or a question phrase; "What a great
# example …" and "How nice" are exclamations, not questions.
_EN_QUESTION = re.compile(
    r"(?:^|[.!?…:;]\s*|\n)(?:how|what|when|where|which|why|who)(?:'s|'re)?\s+"
    r"(?:is|are|was|were|do|does|did|can|could|should|would|will|to|long|much|many|often|come|about|time|day|"
    r"kind|type|size|version|happens|happened|if|exactly|i|we|you|my|the|your)\b"
)
# Handles and links are addresses, not content: "@acme_support" must not read as the topic "support".
_NOT_CONTENT = re.compile(r"https?://\S+|[@＠][A-Za-z0-9_.]+")


@dataclass(frozen=True)
class _Signals:
    reading: SentimentReading
    cues: dict[IntentCue, list[str]]
    sensitive: dict[str, list[str]]
    urgent_terms: list[str]
    topics: list[str]
    swearing: list[str]
    boycott: list[str]

    @property
    def score(self) -> float:
        return self.reading.score

    @property
    def sentiment(self) -> Sentiment:
        return self.reading.label


def _grouped(hits: Sequence[TermHit[SensitiveTopic]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for hit in hits:
        terms = grouped.setdefault(hit.payload, [])
        if hit.term not in terms:
            terms.append(hit.term)
    return grouped


def _outside(hits: Sequence[TermHit[Any]], spans: Sequence[tuple[int, int]]) -> list[TermHit[Any]]:
    return [h for h in hits if not any(s <= h.start and h.end <= e for s, e in spans)]


def _signals(
    text: str, original: str, lang: str, compiled: CompiledLexicon, masked: Sequence[tuple[int, int]] = ()
) -> _Signals:
    reading = read_sentiment(text, original, lang, compiled)
    cues: dict[IntentCue, list[str]] = {}
    for hit in longest_hits(compiled.intent.find(text)):
        cues.setdefault(hit.payload, []).append(hit.term)
    if _ERROR_CODE.search(text):
        cues.setdefault("bug", []).append("error code")
    if _QUESTION_MARK.search(text) or _EN_QUESTION.search(text):
        cues.setdefault("question", []).append("?")
    topics = list(dict.fromkeys(hit.payload for hit in compiled.topics.find(text)))
    urgent = [hit.term for hit in compiled.urgency_high.find(text)]
    # A product or an idiom holding a sensitive word (Kindle Fire, 炎上) is not that topic.
    spans = [*masked, *((h.start, h.end) for h in compiled.not_sensitive.find(text))]
    sensitive = _grouped(_outside(longest_hits(compiled.sensitive.find(text)), spans))
    # one term per place: クソ and くそ are the same word once normalised
    by_place: dict[tuple[int, int], TermHit[Any]] = {}
    for hostile_hit in longest_hits(compiled.hostility.find(text)):
        by_place.setdefault((hostile_hit.start, hostile_hit.end), hostile_hit)  # the first spelling listed
    hostile = list(by_place.values())
    swearing = [h.term for h in hostile if h.payload == "swearing"]
    boycott = [h.term for h in hostile if h.payload == "boycott"]
    return _Signals(reading, cues, sensitive, urgent, topics, swearing, boycott)


def _intent(s: _Signals) -> Intent:
    """First rule that fires: anger > malfunction > negative tone > request > question > praise."""
    if ("complaint" in s.cues or s.reading.sarcasm or s.boycott) and s.score < 0.2:
        return "complaint"
    if "bug" in s.cues and s.score < 0.5:
        return "bug_report"
    if s.sentiment == "negative":
        return "complaint"  # a negative post that asks is still a complaint: the anger comes first
    if "request" in s.cues:
        return "request"
    if "question" in s.cues:
        return "question"
    if s.sentiment == "positive" or ("praise" in s.cues and s.score >= 0):
        return "praise"
    return "other"


def _urgency(s: _Signals, intent: Intent, flame_risk: int) -> Urgency:
    trouble = intent in ("complaint", "bug_report")
    if "safety" in s.sensitive and (trouble or s.sentiment != "positive"):
        return "critical"
    if flame_risk >= 60 or s.sensitive:
        return "high"
    if trouble and (s.urgent_terms or s.score <= -0.6):
        return "high"
    if intent in ("praise", "other"):
        return "low"
    return "normal"


def _compiled(lexicon: Lexicon | CompiledLexicon | None) -> CompiledLexicon:
    if lexicon is None:
        return default_lexicon()
    if isinstance(lexicon, Lexicon):
        return CompiledLexicon(lexicon)
    return lexicon


@lru_cache(maxsize=8)
def _product_matcher(products: tuple[tuple[str, tuple[str, ...]], ...]) -> TermMatcher[str]:
    return TermMatcher((term, name) for name, aliases in products for term in (name, *aliases))


def _product_hits(text: str, org: OrgProfile | None) -> list[TermHit[str]]:
    """The organisation's products the (normalised) text names (payload: the canonical name)."""
    if org is None or not org.products:
        return []
    matcher = _product_matcher(tuple((p.name, tuple(p.aliases)) for p in org.products))
    return longest_hits(matcher.find(text))


def triage(
    post: PostIn,
    *,
    now: datetime | None = None,
    lexicon: Lexicon | CompiledLexicon | None = None,
    org: OrgProfile | None = None,
) -> TriageResult:
    """Rule-based triage of one post (deterministic; `now` fixes the clock for velocity); `org` names the
    company's products among the topics."""
    compiled = _compiled(lexicon)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    original = _NOT_CONTENT.sub(" ", post.text)
    text = normalise(original)
    language = (post.lang or detect_language(post.text)).lower()
    products = _product_hits(text, org)
    s = _signals(text, original, language, compiled, [(h.start, h.end) for h in products])
    s = replace(s, topics=list(dict.fromkeys([*(h.payload for h in products), *s.topics])))
    intent = _intent(s)
    if intent == "other" and "safety" in s.sensitive:
        intent = "bug_report"  # smoke, fire, a shock: a product malfunction whatever the words
    if intent in ("complaint", "bug_report") and s.score > _TROUBLE_FLOOR:
        s = replace(s, reading=replace(s.reading, score=_TROUBLE_FLOOR, label=label_of(_TROUBLE_FLOOR)))
    risk, parts = flame_risk(
        post,
        score=s.score,
        intent=intent,
        sensitive=s.sensitive,
        swearing=s.swearing,
        boycott=s.boycott,
        now=now,
    )
    method = f"rules-v{compiled.lexicon.version}" + ("+vader" if s.reading.vader is not None else "")
    return TriageResult(
        language=language,
        sentiment=s.sentiment,
        sentiment_score=round(s.score, 3),
        intent=intent,
        urgency=_urgency(s, intent, risk),
        flame_risk=risk,
        flame_reasons=reasons_of(parts),
        flame_parts=parts,
        topics=s.topics,
        sensitive=list(s.sensitive),
        method=method,
    )


class TriageInput(BaseModel):
    """A post object as `kizuki triage --jsonl` reads it: only `text` is required."""

    model_config = ConfigDict(extra="allow")

    text: str = Field(min_length=1, max_length=MAX_POST_CHARS)
    author: Author | str | None = None
    metrics: Metrics = Field(default_factory=Metrics)
    lang: str | None = Field(default=None, max_length=8)
    created_at: datetime | None = None
    source: str = "x"
    external_id: str = "triage"

    def to_post(self) -> PostIn:
        author = self.author
        if author is None:
            author = Author(handle="unknown")
        elif isinstance(author, str):
            author = Author(handle=author)
        return PostIn(
            source=self.source,
            external_id=self.external_id,
            author=author,
            text=self.text,
            lang=self.lang,
            created_at=self.created_at,
            metrics=self.metrics,
        )


def triage_object(
    obj: dict[str, Any] | TriageInput,
    *,
    now: datetime | None = None,
    org: OrgProfile | None = None,
    lexicon: Lexicon | CompiledLexicon | None = None,
) -> TriageResult:
    """Triage a post object (`text`, optional `author`, `metrics`, `lang`, `created_at`) with the rules and
    the noise rules that need no history (reposts, ads); raises `pydantic.ValidationError` on a bad object."""
    item = obj if isinstance(obj, TriageInput) else TriageInput.model_validate(obj)
    post = item.to_post()
    result = triage(post, now=now, org=org, lexicon=lexicon)
    return result.model_copy(update={"noise": detect_noise(post)})


# --- with a model ---------------------------------------------------------------------------------

_FENCE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "＜": "&#xff1c;", "＞": "&#xff1e;"})


def escape_untrusted(text: str) -> str:
    """Escape the characters that could close or fake a fence (<, >, their full-width forms, &)."""
    return text.translate(_FENCE_ESCAPES)


def render_post(post: PostIn, *, now: datetime | None = None) -> str:
    """The user message for the model: facts we measured, then the post's own words fenced as data."""
    now = now or datetime.now(UTC)
    hours = hours_since(post.created_at, now)
    facts = [
        f"source: {post.source}",
        f"followers: {post.author.followers}",
        f"likes: {post.metrics.likes}, reposts: {post.metrics.reposts}, replies: {post.metrics.replies}",
        "hours since posted: unknown" if hours is None else f"hours since posted: {hours:.1f}",
    ]
    author = escape_untrusted(f"@{post.author.handle}" + (f" ({post.author.name})" if post.author.name else ""))
    return "\n".join([*facts, f"<author>{author}</author>", "<post>", escape_untrusted(post.text), "</post>"])


def load_prompt(org: OrgProfile | None = None) -> str:
    """The versioned triage instructions (agent/intake/prompts/triage-v2.md), filled from the profile."""
    from agent.prompts import Prompt, render

    return render(Prompt(PROMPT_VERSION, PROMPT_VERSION, PROMPT_PATH.read_text(encoding="utf-8")), org)


async def triage_with_model(
    post: PostIn, model: Model | str, *, now: datetime | None = None, org: OrgProfile | None = None
) -> TriageResult:
    """Triage with a language model: same output type; `method` records the model that produced it."""
    agent = Agent(model, output_type=TriageResult, instructions=load_prompt(org), name=PROMPT_VERSION)
    result = await agent.run(render_post(post, now=now))
    model_name = model if isinstance(model, str) else model.model_name
    return result.output.model_copy(update={"method": model_name})
