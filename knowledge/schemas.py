"""Knowledge entry shapes at the edge (REST, import files): validated, with documented limits."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kizuki.core.text import check_storable

Kind = Literal["faq", "policy"]
Status = Literal["draft", "published", "archived"]
Lang = Literal["ja", "en"]

MAX_KEY_CHARS = 128
MAX_TITLE_CHARS = 500
MAX_BODY_CHARS = 10_000
MAX_TAGS = 20
MAX_TAG_CHARS = 64
MAX_EXTRA_NAME_CHARS = 64
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
CORE_FIELDS = {"key", "kind", "title", "body", "lang", "tags", "status", "revision"}


def _clean(value: str, field: str, limit: int) -> str:
    value = check_storable(value, field).strip()
    if not value:
        raise ValueError(f"{field} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value)} characters; the limit is {limit}")
    return value


def _clean_tags(tags: list[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    out: list[str] = []
    for tag in tags:
        tag = _clean(tag, "tag", MAX_TAG_CHARS).lower()
        if tag not in out:
            out.append(tag)
    return out


class _EntryFields(BaseModel):
    @field_validator("title", check_fields=False)
    @classmethod
    def _title(cls, v: str | None) -> str | None:
        return None if v is None else _clean(v, "title", MAX_TITLE_CHARS)

    @field_validator("body", check_fields=False)
    @classmethod
    def _body(cls, v: str | None) -> str | None:
        return None if v is None else _clean(v, "body", MAX_BODY_CHARS)

    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _clean_tags(v)

    @model_validator(mode="after")
    def _extra_names(self) -> Self:
        # Checked while validating, so a bad name is a 422 naming the field (it was a 500 when only
        # `extras()` checked it, after validation).
        for name in self.model_extra or {}:
            if not isinstance(name, str) or not name.strip() or len(name) > MAX_EXTRA_NAME_CHARS:
                shown = name[:40] + "…" if isinstance(name, str) and len(name) > 40 else name
                raise ValueError(
                    f"extra field name {shown!r} is {len(name)} characters; "
                    f"extra field names must be 1-{MAX_EXTRA_NAME_CHARS} characters"
                )
        return self

    def extras(self) -> dict[str, Any]:
        """Fields beyond the contract's, kept with the entry (the contract allows extra fields)."""
        return dict(self.model_extra or {})


class EntryCreate(_EntryFields):
    """A new entry. `status` defaults to `published`; send `draft` to keep it out of replies."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=False)

    key: str = Field(min_length=1, max_length=MAX_KEY_CHARS, examples=["returns-01"])
    kind: Kind
    title: str = Field(description=f"The question (FAQ) or the policy's name; at most {MAX_TITLE_CHARS} chars.")
    body: str = Field(description=f"The answer or policy text; at most {MAX_BODY_CHARS} characters.")
    lang: Lang
    tags: list[str] = Field(default_factory=list)
    status: Literal["draft", "published"] = "published"

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not KEY_PATTERN.match(v):
            raise ValueError("key must be 1-128 characters of A-Z a-z 0-9 . _ - and start with a letter or digit")
        return v


class EntryUpdate(_EntryFields):
    """A change to an entry. `revision` is the revision you edited: a stale one is refused (409)."""

    model_config = ConfigDict(extra="allow")

    revision: int = Field(ge=1, description="The entry's current revision, as you read it.")
    kind: Kind | None = None
    title: str | None = None
    body: str | None = None
    lang: Lang | None = None
    tags: list[str] | None = None
    status: Status | None = None
    note: str | None = Field(default=None, max_length=2000, description="Why it changed (kept with the revision).")

    @model_validator(mode="after")
    def _something(self) -> EntryUpdate:
        fields = {"kind", "title", "body", "lang", "tags", "status"}
        if not any(getattr(self, f) is not None for f in fields) and not self.model_extra:
            raise ValueError("nothing to change: give at least one of kind, title, body, lang, tags, status")
        return self


class EntryPublic(BaseModel):
    key: str
    kind: Kind
    title: str
    body: str
    lang: Lang
    tags: list[str]
    status: Status
    revision: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    extra: dict[str, Any] = Field(default_factory=dict)


class RevisionPublic(BaseModel):
    key: str
    revision: int
    kind: Kind
    title: str
    body: str
    lang: Lang
    tags: list[str]
    status: Status
    extra: dict[str, Any]
    changed_at: datetime
    changed_by: str
    changed_fields: list[str]
    note: str | None


class EntryPage(BaseModel):
    items: list[EntryPublic]
    total: int
    limit: int
    offset: int


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50)
    kind: Kind | None = None
    lang: Lang | None = None
    tag: str | None = Field(default=None, max_length=MAX_TAG_CHARS)
    include_drafts: bool = Field(default=False, description="Also search draft entries (published only by default).")
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"

    @field_validator("query")
    @classmethod
    def _query(cls, v: str) -> str:
        return _clean(v, "query", 2000)


class SearchHit(BaseModel):
    key: str
    revision: int
    kind: str
    lang: str
    title: str
    score: float
    passage: str
    status: str
    dense_score: float | None = None
    lexical_score: float | None = None


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHit]


class RetrievedEntry(BaseModel):
    """One knowledge entry as retrieval returned it, with the revision a citation must name."""

    key: str
    revision: int
    kind: str
    lang: str
    title: str
    body: str
    passage: str
    score: float = Field(description="Fused rank score (reciprocal-rank fusion: compare within one query only)")
    dense_score: float | None = Field(default=None, description="Cosine similarity of the best passage, 0-1")
    lexical_score: float | None = Field(default=None, description="BM25 score, unbounded")
