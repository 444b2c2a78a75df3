"""The triage lexicon: a versioned YAML data file (ja + en) and its compiled matchers."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from agent.intake.matching import TermMatcher

DEFAULT_LEXICON_PATH = Path(__file__).parent / "lexicons" / "triage.yaml"
IntentCue = Literal["complaint", "bug", "request", "question", "praise"]
SensitiveTopic = Literal["safety", "legal", "discrimination", "data_leak"]
HostilityKind = Literal["swearing", "boycott"]
MIN_HASHTAG_PART = 4  # an English term at least this long may open or close a hashtag: #poorservice, #companysucks


class Lexicon(BaseModel):
    """Terms per category; each category lists Japanese and English terms (see lexicons/triage.yaml)."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    sentiment: dict[str, dict[str, float]] = Field(default_factory=dict, description="language -> term -> weight")
    negators: list[str] = Field(default_factory=list)
    ja_negation_suffixes: list[str] = Field(default_factory=list)
    intent: dict[IntentCue, dict[str, list[str]]] = Field(default_factory=dict)
    urgency: dict[Literal["high"], dict[str, list[str]]] = Field(default_factory=dict)
    sensitive: dict[SensitiveTopic, dict[str, list[str]]] = Field(default_factory=dict)
    topics: dict[str, list[str]] = Field(default_factory=dict, description="canonical subject -> terms")
    hostility: dict[HostilityKind, dict[str, list[str]]] = Field(
        default_factory=dict, description="swearing and explicit boycotts: they raise flame risk"
    )
    sarcasm: dict[str, list[str]] = Field(
        default_factory=dict, description="phrases that mean the opposite of their words (thanks for nothing)"
    )
    gratitude: dict[str, list[str]] = Field(
        default_factory=dict, description="thanks words: politeness, not praise, in a post that is otherwise angry"
    )
    not_sensitive: dict[str, list[str]] = Field(
        default_factory=dict, description="phrases that contain a sensitive word but are not one (kindle fire)"
    )

    @classmethod
    def load(cls, path: str | Path | None = None) -> Lexicon:
        """Read a lexicon file (the shipped one when no path is given)."""
        source = Path(path) if path is not None else DEFAULT_LEXICON_PATH
        return cls.model_validate(yaml.safe_load(source.read_text(encoding="utf-8")) or {})


def _terms(by_language: dict[str, list[str]]) -> list[str]:
    return [term for terms in by_language.values() for term in terms]


class CompiledLexicon:
    """One Aho-Corasick matcher per lexicon part, built once and shared by every triage call."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.sentiment: TermMatcher[float] = TermMatcher(
            (term, weight) for weights in lexicon.sentiment.values() for term, weight in weights.items()
        )
        self.intent: TermMatcher[IntentCue] = TermMatcher(
            (term, cue) for cue, by_lang in lexicon.intent.items() for term in _terms(by_lang)
        )
        self.urgency_high: TermMatcher[str] = TermMatcher(
            (term, "high") for by_lang in lexicon.urgency.values() for term in _terms(by_lang)
        )
        self.sensitive: TermMatcher[SensitiveTopic] = TermMatcher(
            (term, topic) for topic, by_lang in lexicon.sensitive.items() for term in _terms(by_lang)
        )
        self.topics: TermMatcher[str] = TermMatcher(
            (term, name) for name, terms in lexicon.topics.items() for term in [name, *terms]
        )
        self.hostility: TermMatcher[HostilityKind] = TermMatcher(
            (term, kind) for kind, by_lang in lexicon.hostility.items() for term in _terms(by_lang)
        )
        self.sarcasm: TermMatcher[str] = TermMatcher((term, "sarcasm") for term in _terms(lexicon.sarcasm))
        self.gratitude: TermMatcher[str] = TermMatcher((term, "thanks") for term in _terms(lexicon.gratitude))
        self.not_sensitive: TermMatcher[str] = TermMatcher((term, "mask") for term in _terms(lexicon.not_sensitive))
        # single English words that may stand run together inside a hashtag (see sentiment._hashtag_weights)
        self.hashtag_words: dict[str, float] = {
            term: weight
            for term, weight in lexicon.sentiment.get("en", {}).items()
            if term.isalpha() and len(term) >= MIN_HASHTAG_PART
        }
        self.negators = frozenset(lexicon.negators)
        self.ja_negation_suffixes = tuple(lexicon.ja_negation_suffixes)


@lru_cache(maxsize=1)
def default_lexicon() -> CompiledLexicon:
    """The shipped lexicon, compiled once per process."""
    return CompiledLexicon(Lexicon.load())
