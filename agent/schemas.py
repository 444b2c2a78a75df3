"""Shared shapes of the drafting flow: posts as they arrive, triage, retrieved knowledge, the reply."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kizuki.core.text import check_storable
from knowledge.schemas import RetrievedEntry

MAX_POST_CHARS = 10_000
SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,31}$")

Sentiment = Literal["positive", "neutral", "negative"]
Intent = Literal["question", "complaint", "bug_report", "praise", "request", "other"]
Urgency = Literal["low", "normal", "high", "critical"]
Action = Literal["reply", "reply_and_dm", "like_only", "escalate", "ignore"]
Department = Literal["support", "quality", "pr", "legal", "sales"]


# Counts are stored in 32-bit integer columns; no account on any network comes near this.
MAX_COUNT = 2_147_483_647


class Author(BaseModel):
    model_config = ConfigDict(extra="allow")

    handle: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    followers: int = Field(default=0, ge=0, le=MAX_COUNT)

    @field_validator("handle")
    @classmethod
    def _handle(cls, v: str) -> str:
        v = check_storable(v, "author.handle").strip().lstrip("@")
        if not v:
            raise ValueError("author.handle must not be empty")
        return v


class Metrics(BaseModel):
    model_config = ConfigDict(extra="allow")

    likes: int = Field(default=0, ge=0, le=MAX_COUNT)
    reposts: int = Field(default=0, ge=0, le=MAX_COUNT)
    replies: int = Field(default=0, ge=0, le=MAX_COUNT)


class PostIn(BaseModel):
    """A post as it arrives (file import, REST, connectors). Extra fields are kept."""

    model_config = ConfigDict(extra="allow")

    source: str = Field(min_length=1, max_length=32, examples=["x"])
    external_id: str = Field(min_length=1, max_length=128)
    author: Author
    text: str = Field(min_length=1, max_length=MAX_POST_CHARS)
    url: str | None = Field(default=None, max_length=2000)
    created_at: datetime | None = Field(default=None, description="ISO 8601 with zone; naive is taken as UTC")
    lang: str | None = Field(default=None, max_length=8)
    metrics: Metrics = Field(default_factory=Metrics)
    channel: str | None = Field(default=None, description="Reply channel (default: the source)")

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        v = v.strip().lower()
        if not SOURCE_PATTERN.match(v):
            raise ValueError("source must be 1-32 characters of a-z 0-9 _ . -")
        return v

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        v = check_storable(v, "text")
        if not v.strip():
            raise ValueError("text must not be blank")
        return v

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, v: str) -> str:
        return check_storable(v, "external_id").strip()

    @field_validator("created_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        return v


class FlamePart(BaseModel):
    """One part of the flame-risk score: how much of it there is (0-1) and why."""

    name: str = Field(description="negativity, hostility, reach, velocity, sensitivity or floor")
    value: float = Field(ge=0.0, le=1.0)
    reason: str = ""


NoiseKind = Literal["repost", "ad", "bot"]


class Noise(BaseModel):
    """Why a post is noise (a repost, an ad or affiliate post, a bot-like account): dropped at intake with this."""

    kind: NoiseKind
    reason: str


class DoNotEngageSuggestion(BaseModel):
    """A suggestion (never imposed) to put the author on the do-not-engage list: many complaints lately."""

    count: int = Field(ge=1, description="Complaints by this author in the window, this post included")
    window_hours: float = Field(gt=0)
    reason: str = ""


class TriageResult(BaseModel):
    """What a post is and how risky answering it is (rules offline; the same type from a model)."""

    language: str = Field(description="ISO 639-1 code, e.g. ja or en; 'und' when unknown")
    sentiment: Sentiment
    sentiment_score: float = Field(ge=-1.0, le=1.0)
    intent: Intent
    urgency: Urgency
    flame_risk: int = Field(ge=0, le=100, description="0-100: negativity x reach x velocity x sensitive topics")
    flame_reasons: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list, description="Products or subjects the post names")
    sensitive: list[str] = Field(default_factory=list, description="Sensitive topics found (safety, legal, ...)")
    method: str = Field(default="rules", description="'rules' or the model id that produced it")
    flame_parts: list[FlamePart] = Field(default_factory=list, description="The flame-risk score's parts, explained")
    noise: Noise | None = Field(default=None, description="Set when the post is noise (repost, ad, bot)")
    suggest_do_not_engage: DoNotEngageSuggestion | None = Field(
        default=None, description="Set when the author sent many complaints in a short time (a suggestion only)"
    )


class Citation(BaseModel):
    key: str
    revision: int = Field(ge=1)


class Retriever(Protocol):
    def retrieve(self, query: str, *, lang: str | None = None, k: int = 5) -> list[RetrievedEntry]: ...


class ReplyDraft(BaseModel):
    """The drafting agent's structured output."""

    text: str = Field(description="The public reply, in the post's language and register")
    language: str = Field(description="ISO 639-1 code of the reply")
    citations: list[Citation] = Field(default_factory=list, description="Knowledge entries the reply rests on")
    needs_dm: bool = Field(description="True when the matter must move to direct messages")
    action: Action
    escalate_to: Department | None = Field(default=None, description="The department to hand over to, if any")
    rationale: str = Field(default="", description="Internal: why this reply (never shown to the customer)")
