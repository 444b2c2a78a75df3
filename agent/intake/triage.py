"""Triage a post offline with the lexicon rules (sentiment, intent, urgency, flame risk), or with a model."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from pydantic_ai import Agent
from pydantic_ai.models import Model

from agent.intake.lexicon import CompiledLexicon, IntentCue, Lexicon, SensitiveTopic, default_lexicon
from agent.intake.matching import TermHit, TermMatcher, longest_hits
from agent.intake.normalise import detect_language, normalise
from agent.org.schemas import OrgProfile
from agent.schemas import Intent, PostIn, Sentiment, TriageResult, Urgency

PROMPT_VERSION = "triage-v2"
PROMPT_PATH = Path(__file__).parent / "prompts" / f"{PROMPT_VERSION}.md"

# Sentiment: raw lexicon sum squashed into (-1, 1); a label needs |score| past the threshold.
_SQUASH = 2.0
_LABEL_THRESHOLD = 0.25
_NEGATION_WINDOW = 3  # English words before a term that may negate it
_NEGATED_FACTOR = -0.6  # "not good" is bad, but "not bad" is only mildly good
_ERROR_CODE = re.compile(r"(?<![a-z0-9])e-?\d{2,3}(?![0-9])")
_LATIN_WORD = re.compile(r"[a-z']+")
_QUESTION_MARK = re.compile(r"\?")
# Handles and links are addresses, not content: "@acme_support" must not read as the topic "support".
_NOT_CONTENT = re.compile(r"https?://\S+|[@＠][A-Za-z0-9_.]+")


@dataclass(frozen=True)
class _Signals:
    score: float
    sentiment: Sentiment
    cues: dict[IntentCue, list[str]]
    sensitive: dict[str, list[str]]
    urgent_terms: list[str]
    topics: list[str]


def _negated(text: str, hit: TermHit[float], compiled: CompiledLexicon) -> bool:
    before = _LATIN_WORD.findall(text[max(0, hit.start - 40) : hit.start])[-_NEGATION_WINDOW:]
    if any(word in compiled.negators or word.endswith("n't") for word in before):
        return True
    after = text[hit.end : hit.end + 6]
    return hit.payload > 0 and after.startswith(compiled.ja_negation_suffixes)


def _sentiment(text: str, compiled: CompiledLexicon) -> float:
    raw = 0.0
    for hit in longest_hits(compiled.sentiment.find(text)):
        weight = hit.payload
        if _negated(text, hit, compiled):
            weight *= _NEGATED_FACTOR
        raw += weight
    return raw / (abs(raw) + _SQUASH)


def _grouped(hits: Sequence[TermHit[SensitiveTopic]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for hit in hits:
        terms = grouped.setdefault(hit.payload, [])
        if hit.term not in terms:
            terms.append(hit.term)
    return grouped


def _signals(text: str, compiled: CompiledLexicon) -> _Signals:
    score = _sentiment(text, compiled)
    sentiment: Sentiment = "neutral"
    if score >= _LABEL_THRESHOLD:
        sentiment = "positive"
    elif score <= -_LABEL_THRESHOLD:
        sentiment = "negative"
    cues: dict[IntentCue, list[str]] = {}
    for hit in longest_hits(compiled.intent.find(text)):
        cues.setdefault(hit.payload, []).append(hit.term)
    if _ERROR_CODE.search(text):
        cues.setdefault("bug", []).append("error code")
    if _QUESTION_MARK.search(text):
        cues.setdefault("question", []).append("?")
    topics = list(dict.fromkeys(hit.payload for hit in compiled.topics.find(text)))
    urgent = [hit.term for hit in compiled.urgency_high.find(text)]
    return _Signals(score, sentiment, cues, _grouped(compiled.sensitive.find(text)), urgent, topics)


def _intent(s: _Signals) -> Intent:
    """First rule that fires: anger > malfunction > request > question > praise > tone."""
    if "complaint" in s.cues and s.score < 0.2:
        return "complaint"
    if "bug" in s.cues and s.sentiment != "positive":
        return "bug_report"
    if "request" in s.cues:
        return "request"
    if "question" in s.cues:
        return "question"
    if s.sentiment == "positive" or ("praise" in s.cues and s.score >= 0):
        return "praise"
    if s.sentiment == "negative":
        return "complaint"
    return "other"


def _hours_since(created_at: datetime | None, now: datetime) -> float | None:
    if created_at is None:
        return None
    return max(0.25, (now - created_at).total_seconds() / 3600)


def _flame_risk(post: PostIn, s: _Signals, intent: Intent, now: datetime) -> tuple[int, list[str]]:
    """negativity x reach x velocity x sensitive topics, each factor explained in a reason."""
    negativity = max(0.0, -s.score)
    if intent == "complaint":
        negativity = max(negativity, 0.4)
    if s.sensitive:
        negativity = max(negativity, 0.5)
    followers, reposts = post.author.followers, post.metrics.reposts
    reach = min(1.0, math.log10(1 + followers + 20 * reposts) / 6)
    engagements = post.metrics.likes + 3 * reposts + 2 * post.metrics.replies
    hours = _hours_since(post.created_at, now)
    velocity = 0.0 if hours is None else min(1.0, math.log10(1 + engagements / hours) / 3)
    sensitive_factor = min(2.0, 1.0 + 0.5 * len(s.sensitive))
    risk = 100 * negativity * (0.25 + 0.75 * reach) * (0.5 + 0.5 * velocity) * sensitive_factor
    reasons = [
        f"negativity {negativity:.2f} (sentiment {s.score:+.2f}, intent {intent})",
        f"reach {reach:.2f} ({followers:,} followers, {reposts:,} reposts)",
        (
            "velocity unknown (no created_at)"
            if hours is None
            else f"velocity {velocity:.2f} ({engagements / hours:.1f} engagements/hour over {hours:.1f} h)"
        ),
    ]
    if s.sensitive:
        named = "; ".join(f"{topic} ({', '.join(terms[:3])})" for topic, terms in s.sensitive.items())
        reasons.append(f"sensitive x{sensitive_factor:.1f}: {named}")
    return max(0, min(100, round(risk))), reasons


def _urgency(s: _Signals, intent: Intent, flame_risk: int) -> Urgency:
    trouble = intent in ("complaint", "bug_report")
    if "safety" in s.sensitive and (trouble or s.sentiment == "negative"):
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


def _products_named(text: str, org: OrgProfile | None) -> list[str]:
    """The organisation's products the (normalised) text names, by their canonical names."""
    if org is None or not org.products:
        return []
    matcher = _product_matcher(tuple((p.name, tuple(p.aliases)) for p in org.products))
    return [hit.payload for hit in longest_hits(matcher.find(text))]


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
    text = normalise(_NOT_CONTENT.sub(" ", post.text))
    s = _signals(text, compiled)
    s = replace(s, topics=list(dict.fromkeys([*_products_named(text, org), *s.topics])))
    intent = _intent(s)
    flame_risk, reasons = _flame_risk(post, s, intent, now)
    return TriageResult(
        language=(post.lang or detect_language(post.text)).lower(),
        sentiment=s.sentiment,
        sentiment_score=round(s.score, 3),
        intent=intent,
        urgency=_urgency(s, intent, flame_risk),
        flame_risk=flame_risk,
        flame_reasons=reasons,
        topics=s.topics,
        sensitive=list(s.sensitive),
        method=f"rules-v{compiled.lexicon.version}",
    )


# --- with a model ---------------------------------------------------------------------------------

_FENCE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "＜": "&#xff1c;", "＞": "&#xff1e;"})


def escape_untrusted(text: str) -> str:
    """Escape the characters that could close or fake a fence (<, >, their full-width forms, &)."""
    return text.translate(_FENCE_ESCAPES)


def render_post(post: PostIn, *, now: datetime | None = None) -> str:
    """The user message for the model: facts we measured, then the post's own words fenced as data."""
    now = now or datetime.now(UTC)
    hours = _hours_since(post.created_at, now)
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
