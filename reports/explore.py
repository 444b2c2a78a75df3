"""Exploring stored posts: one validated filter, the SQL it becomes, pages, and exports that stream (CSV, JSONL).

The time of a post is when it was written (`posted_at`), or when we received it when the network gave no date
(`POST_TIME`, indexed by migration 0012). Every query here is bounded by a time window of at most
`MAX_RANGE_DAYS`; an export reads the window in keyset batches, never the whole table at once.

Personal data: a row is built `redacted` unless the caller may see it (the API: admin only; the CLI: on request);
a redacted row has no handle, name or URL and its text passes through `agent.posts.privacy.Redactor`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from agent.org.schemas import OrgProfile
from agent.posts.lifecycle import DraftStatus, PostStatus
from agent.posts.models import Draft, Post
from agent.posts.privacy import HANDLE_PLACEHOLDER, Redactor
from agent.schemas import SOURCE_PATTERN, Intent, Sentiment
from kizuki.core.db import Database
from kizuki.core.errors import InvalidInput
from kizuki.core.orm import utcnow
from kizuki.core.text import check_storable, nfkc
from reports.query import (
    COMPETITORS,
    POST_TIME,
    TOPICS,
    array_contains,
    array_elements,
    department_condition,
    department_terms,
    departments_of,
    json_text,
)

__all__ = [
    "COMPETITORS",
    "DEFAULT_RANGE_DAYS",
    "MAX_PAGE",
    "MAX_RANGE_DAYS",
    "POST_TIME",
    "TOPICS",
    "ExportFormat",
    "PostFilter",
    "PostPage",
    "PostRow",
    "RowContext",
    "array_contains",
    "array_elements",
    "export_lines",
    "filtered",
    "iter_rows",
    "json_text",
    "page",
    "post_row",
]

MAX_RANGE_DAYS = 400  # a little more than a year: a year-on-year comparison fits, a scan of all history does not
DEFAULT_RANGE_DAYS = 30  # when no `since` is given
MAX_PAGE = 200
MIN_YEAR, MAX_YEAR = 1970, 2199
EXPORT_BATCH = 500
ExportFormat = Literal["csv", "jsonl"]

_DROPPED = (PostStatus.DROPPED,)


def _term(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    value = nfkc(check_storable(value, field)).strip()
    return value or None


def filter_problem(exc: ValidationError) -> str:
    """A `PostFilter` refusal in one line, each part naming its field (for a 422 or a CLI error)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'filter'}: {str(e['msg']).removeprefix('Value error, ')}"
        for e in exc.errors()
    )


class PostFilter(BaseModel):
    """Which posts: every field optional; a time window is always applied (default: the last 30 days)."""

    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(default=None, description="From (inclusive), ISO 8601; naive = UTC")
    until: datetime | None = Field(default=None, description="To (exclusive); default now")
    source: str | None = Field(default=None, max_length=32)
    lang: str | None = Field(default=None, max_length=8)
    sentiment: Sentiment | None = None
    intent: Intent | None = None
    product: str | None = Field(default=None, max_length=200, description="A product of the profile (its name)")
    topic: str | None = Field(default=None, max_length=200, description="A triage topic (products are topics too)")
    competitor: str | None = Field(default=None, max_length=200, description="A competitor term the watch matched")
    department: str | None = Field(default=None, max_length=64, description="See reports/departments.py")
    kept: bool | None = Field(default=None, description="true: kept by the watch rules; false: dropped")
    has_draft: bool | None = None
    draft_status: DraftStatus | None = Field(default=None, description="Posts with a draft in this status")

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return None
        if v.tzinfo is None:
            v = v.replace(tzinfo=UTC)
        if not MIN_YEAR <= v.astimezone(UTC).year <= MAX_YEAR:  # also keeps window arithmetic from overflowing
            raise ValueError(f"dates must be between {MIN_YEAR} and {MAX_YEAR}")
        return v

    @field_validator("source")
    @classmethod
    def _source(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().lower()
        if not SOURCE_PATTERN.match(v):
            raise ValueError("source must be 1-32 characters of a-z 0-9 _ . -")
        return v

    @field_validator("lang")
    @classmethod
    def _lang(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().lower()
        if not v.replace("-", "").isalpha() or not v.isascii():
            raise ValueError("lang must be a language code such as ja or en")
        return v

    @field_validator("product", "topic", "competitor", "department")
    @classmethod
    def _terms(cls, v: str | None) -> str | None:
        return _term(v, "filter")

    @model_validator(mode="after")
    def _window(self) -> PostFilter:
        if self.since is not None and self.until is not None:
            if self.until <= self.since:
                raise ValueError("until must be after since")
            if self.until - self.since > timedelta(days=MAX_RANGE_DAYS):
                raise ValueError(f"the time range is at most {MAX_RANGE_DAYS} days")
        return self

    def window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """(since, until), with the defaults filled in (until: now; since: 30 days before until)."""
        until = self.until or (now or utcnow())
        since = self.since or until - timedelta(days=DEFAULT_RANGE_DAYS)
        if until <= since:
            raise InvalidInput("until must be after since")
        if until - since > timedelta(days=MAX_RANGE_DAYS):
            raise InvalidInput(f"the time range is at most {MAX_RANGE_DAYS} days")
        return since, until

    def previous(self, now: datetime | None = None) -> PostFilter:
        """The same filter over the window just before this one, of the same length."""
        since, until = self.window(now)
        return self.model_copy(update={"since": since - (until - since), "until": since})


def _profile_products(profile: OrgProfile | None) -> dict[str, str]:
    """casefolded name or alias -> the product's name."""
    out: dict[str, str] = {}
    for p in profile.products if profile else []:
        for term in (p.name, *p.aliases):
            out.setdefault(nfkc(term).casefold(), p.name)
    return out


def filtered(
    flt: PostFilter, dialect: str, *, profile: OrgProfile | None = None, now: datetime | None = None
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of `flt` on `posts` (the time window always among them)."""
    since, until = flt.window(now)
    where: list[ColumnElement[bool]] = [POST_TIME >= since, POST_TIME < until]  # noqa: SIM300 - an expression
    if flt.source:
        where.append(Post.source == flt.source)
    if flt.lang:
        where.append(Post.lang == flt.lang)
    if flt.sentiment:
        where.append(json_text("triage", "sentiment") == flt.sentiment)
    if flt.intent:
        where.append(json_text("triage", "intent") == flt.intent)
    if flt.topic:
        where.append(array_contains(dialect, TOPICS, flt.topic))
    if flt.product:
        name = _profile_products(profile).get(flt.product.casefold())
        if profile is not None and name is None:
            known = ", ".join(p.name for p in profile.products) or "none"
            raise InvalidInput(f"unknown product {flt.product!r}; the profile names: {known}")
        where.append(array_contains(dialect, TOPICS, name or flt.product))
    if flt.competitor:
        where.append(array_contains(dialect, COMPETITORS, flt.competitor))
    if flt.kept is not None:
        dropped = Post.status.in_(_DROPPED)
        where.append(~dropped if flt.kept else dropped)
    if flt.has_draft is not None:
        has = exists(select(1).where(Draft.post_id == Post.id))
        where.append(has if flt.has_draft else ~has)
    if flt.draft_status is not None:
        where.append(exists(select(1).where(Draft.post_id == Post.id, Draft.status == flt.draft_status)))
    if flt.department:
        where.append(department_condition(flt.department, dialect, profile))
    return where


# -- rows ---------------------------------------------------------------------------------------------------------


class PostRow(BaseModel):
    """A post as the list and the exports show it (flat: one CSV line)."""

    id: int
    time: datetime = Field(description="When it was written (received, when the network gave no date)")
    received_at: datetime
    source: str
    external_id: str | None  # None when redacted: it rebuilds the post's address
    channel: str
    lang: str | None
    status: str
    kept: bool
    author_handle: str | None = Field(description="None when redacted")
    author_name: str | None
    author_followers: int
    text: str
    url: str | None
    sentiment: str | None
    intent: str | None
    urgency: str | None
    flame_risk: int | None
    topics: list[str]
    products: list[str]
    competitors: list[str]
    departments: list[str]
    draft_status: str | None = Field(description="The newest draft's status")
    escalate_to: str | None
    redacted: bool


class PostPage(BaseModel):
    items: list[PostRow]
    total: int
    limit: int
    offset: int
    since: datetime
    until: datetime


_ROW_COLUMNS = (
    Post.id,
    POST_TIME.label("time"),
    Post.received_at,
    Post.source,
    Post.external_id,
    Post.channel,
    Post.lang,
    Post.status,
    Post.author_handle,
    Post.author_name,
    Post.author_followers,
    Post.text,
    Post.url,
    Post.triage,
    Post.watch,
    Post.redacted_at,
)


@dataclass(frozen=True)
class RowContext:
    """What turning a database row into a `PostRow` needs besides the row."""

    profile: OrgProfile | None
    redactor: Redactor | None  # None: personal data shown

    @cached_property
    def products(self) -> dict[str, str]:
        return _profile_products(self.profile)

    @cached_property
    def department_terms(self) -> dict[str, list[str]]:
        return department_terms(self.profile)


def _newest_drafts(session: Session, post_ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    out: dict[int, tuple[str, str | None]] = {}
    if not post_ids:
        return out
    rows = session.execute(
        select(Draft.post_id, Draft.status, Draft.escalate_to)
        .where(Draft.post_id.in_(list(post_ids)))
        .order_by(Draft.post_id, Draft.generation)
    )
    for post_id, status, escalate_to in rows:
        out[post_id] = (status, escalate_to)  # the newest generation comes last
    return out


def post_row(row: Any, draft: tuple[str, str | None] | None, ctx: RowContext) -> PostRow:
    """One `PostRow` from a row of `_ROW_COLUMNS` and its newest draft's (status, escalate_to)."""
    triage: dict[str, Any] = row.triage or {}
    watch: dict[str, Any] = row.watch or {}
    topics = [str(t) for t in triage.get("topics") or []]
    products_by_term = ctx.products
    products = list(dict.fromkeys(products_by_term[t.casefold()] for t in topics if t.casefold() in products_by_term))
    competitors = [str(c) for c in (watch.get("matched") or {}).get("competitor") or []]
    escalate_to = draft[1] if draft else None
    departments = departments_of(
        ctx.profile,
        text=row.text,
        topics=[*topics, *[str(s) for s in triage.get("sensitive") or []]],
        escalate_to=escalate_to,
        terms=ctx.department_terms,
    )
    handle, name, text, url = row.author_handle, row.author_name, row.text, row.url
    redacted = row.redacted_at is not None
    external_id: str | None = row.external_id
    if ctx.redactor is not None:
        text = ctx.redactor.redact(text, [t for t in (handle, f"@{handle}", name) if t])
        # the network's post id rebuilds the post's address (and names the author on Bluesky): like the URL
        handle, name, url, external_id, redacted = None, None, None, None, True
    elif redacted:
        handle = None if handle and handle.startswith(HANDLE_PLACEHOLDER) else handle
    flame = triage.get("flame_risk")
    return PostRow(
        id=row.id,
        time=row.time if row.time.tzinfo else row.time.replace(tzinfo=UTC),
        received_at=row.received_at,
        source=row.source,
        external_id=external_id,
        channel=row.channel,
        lang=row.lang,
        status=row.status,
        kept=row.status not in _DROPPED,
        author_handle=handle,
        author_name=name,
        author_followers=row.author_followers,
        text=text,
        url=url,
        sentiment=triage.get("sentiment"),
        intent=triage.get("intent"),
        urgency=triage.get("urgency"),
        flame_risk=int(flame) if isinstance(flame, int | float) else None,
        topics=topics,
        products=products,
        competitors=competitors,
        departments=departments,
        draft_status=draft[0] if draft else None,
        escalate_to=escalate_to,
        redacted=redacted,
    )


def _rows(session: Session, stmt: Select[Any], ctx: RowContext) -> list[PostRow]:
    rows = session.execute(stmt).all()
    drafts = _newest_drafts(session, [r.id for r in rows])
    return [post_row(r, drafts.get(r.id), ctx) for r in rows]


def page(
    session: Session,
    flt: PostFilter,
    ctx: RowContext,
    *,
    dialect: str,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> PostPage:
    """One page of matching posts, newest first, with the total."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1-{MAX_PAGE}")
    if offset < 0:
        raise InvalidInput("offset must not be negative")
    now = now or utcnow()
    since, until = flt.window(now)
    where = filtered(flt, dialect, profile=ctx.profile, now=now)
    total = int(session.scalar(select(func.count()).select_from(Post).where(*where)) or 0)
    stmt = select(*_ROW_COLUMNS).where(*where).order_by(POST_TIME.desc(), Post.id.desc()).limit(limit).offset(offset)
    return PostPage(items=_rows(session, stmt, ctx), total=total, limit=limit, offset=offset, since=since, until=until)


def iter_rows(
    db: Database, flt: PostFilter, ctx: RowContext, *, batch: int = EXPORT_BATCH, now: datetime | None = None
) -> Iterator[PostRow]:
    """Every matching post, newest first, read in keyset batches, each in its own short read transaction (a long
    export never holds a connection or a snapshot while its reader is slow)."""
    now = now or utcnow()
    flt.window(now)  # refuse a bad window before the first byte is sent
    last: tuple[datetime, int] | None = None
    while True:
        with db.reading() as s:
            where = filtered(flt, db.dialect, profile=ctx.profile, now=now)
            if last is not None:
                t, i = last
                where.append(or_(POST_TIME < t, and_(POST_TIME == t, Post.id < i)))  # noqa: SIM300
            stmt = select(*_ROW_COLUMNS).where(*where).order_by(POST_TIME.desc(), Post.id.desc()).limit(batch)
            raw = s.execute(stmt).all()
            if not raw:
                return
            drafts = _newest_drafts(s, [r.id for r in raw])
            rows = [post_row(r, drafts.get(r.id), ctx) for r in raw]
        yield from rows
        if len(raw) < batch:
            return
        last = (raw[-1].time, raw[-1].id)


CSV_FIELDS = list(PostRow.model_fields)
_LIST_FIELDS = ("topics", "products", "competitors", "departments")


def _csv_line(values: Sequence[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def export_lines(rows: Iterator[PostRow], fmt: ExportFormat) -> Iterator[str]:
    """The rows as CSV (a header line first; lists joined with `|`) or JSONL, one line at a time."""
    if fmt == "csv":
        yield "\ufeff" + _csv_line(CSV_FIELDS)  # the BOM makes Excel read the UTF-8 (Japanese) correctly
        for row in rows:
            data = row.model_dump(mode="json")
            yield _csv_line(["|".join(data[f]) if f in _LIST_FIELDS else data[f] for f in CSV_FIELDS])
    elif fmt == "jsonl":
        for row in rows:
            yield json.dumps(row.model_dump(mode="json"), ensure_ascii=False) + "\n"
    else:
        raise InvalidInput(f"unknown format {fmt!r}; use csv or jsonl")
