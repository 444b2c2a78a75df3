"""Aggregates over stored posts: counts over time by a dimension, the negative share, top terms with their change
against the previous period, and the median time from a post to its approved and to its sent reply.

Every function takes a `PostFilter` (its time window bounds the scan) and runs on SQLite and PostgreSQL.
Buckets are counted per UTC hour in SQL and folded into hours or days of the report's time zone here, so a day
is the local day (exact for zones whose offset is whole hours, as Japan's).
"""

from __future__ import annotations

import re
import statistics
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal, get_args

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from agent.org.schemas import OrgProfile
from agent.posts.lifecycle import DraftStatus
from agent.posts.models import Draft, Post
from kizuki.core.errors import InvalidInput
from kizuki.core.orm import utcnow
from kizuki.core.text import nfkc
from reports.explore import PostFilter, filtered
from reports.query import COMPETITORS, POST_TIME, TOPICS, array_elements, json_text

__all__ = [
    "DIMENSIONS",
    "Bucket",
    "Dimension",
    "ResponseTimes",
    "SeriesPoint",
    "Share",
    "TermChange",
    "hourly_counts",
    "negative_share",
    "response_times",
    "series",
    "terms_of",
    "top_terms",
    "totals",
]

Dimension = Literal[
    "sentiment", "intent", "urgency", "channel", "source", "lang", "status", "topic", "product", "competitor"
]
DIMENSIONS: tuple[str, ...] = get_args(Dimension)
Bucket = Literal["hour", "day"]
MAX_HOURLY_DAYS = 31  # a series of hours longer than this is a bucket=day question
TOP_TERMS_SAMPLE = 5000  # the newest posts of each period whose words are counted


@dataclass(frozen=True)
class SeriesPoint:
    start: datetime  # the bucket's start, in the report's time zone
    key: str | None  # the dimension's value (None: volume, or the value is missing)
    count: int


@dataclass(frozen=True)
class Share:
    negative: int
    total: int

    @property
    def share(self) -> float:
        return self.negative / self.total if self.total else 0.0


@dataclass(frozen=True)
class TermChange:
    term: str
    count: int  # posts of this period that use the term
    previous: int  # posts of the previous period (same length) that use it

    @property
    def change(self) -> int:
        return self.count - self.previous

    @property
    def ratio(self) -> float | None:
        """count / previous; None when the term is new."""
        return self.count / self.previous if self.previous else None


@dataclass(frozen=True)
class ResponseTimes:
    approved_median_s: float | None
    approved_n: int
    sent_median_s: float | None
    sent_n: int


def _key_expr(dimension: str, dialect: str, profile: OrgProfile | None) -> tuple[Any, list[Any], list[Any]]:
    """(the value to group by, tables to join, extra conditions)."""
    if dimension in ("sentiment", "intent", "urgency"):
        return json_text("triage", dimension), [], []
    if dimension in ("channel", "source", "lang", "status"):
        return getattr(Post, dimension), [], []
    if dimension in ("topic", "product"):
        elements = array_elements(dialect, TOPICS)
        extra: list[Any] = []
        if dimension == "product":
            names = [p.name for p in profile.products] if profile else []
            extra.append(elements.c.value.in_(names))
        return elements.c.value, [elements], extra
    if dimension == "competitor":
        elements = array_elements(dialect, COMPETITORS)
        return elements.c.value, [elements], []
    raise InvalidInput(f"unknown dimension {dimension!r}; use one of {', '.join(DIMENSIONS)}")


def _from_posts(stmt: Any, joins: list[Any]) -> Any:
    stmt = stmt.select_from(Post)
    for table in joins:
        stmt = stmt.join(table, true())
    return stmt


def totals(
    session: Session,
    flt: PostFilter,
    dimension: str,
    *,
    dialect: str,
    profile: OrgProfile | None = None,
    limit: int | None = None,
    now: datetime | None = None,
) -> list[tuple[str | None, int]]:
    """(value, posts) for each value of `dimension` among the matching posts, the largest first. A post counts
    once per topic or competitor it names."""
    key, joins, extra = _key_expr(dimension, dialect, profile)
    n = func.count().label("n")
    stmt = _from_posts(select(key.label("k"), n), joins)
    stmt = stmt.where(*filtered(flt, dialect, profile=profile, now=now), *extra).group_by(key)
    stmt = stmt.order_by(n.desc(), key)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(None if k is None else str(k), int(c)) for k, c in session.execute(stmt)]


def _hour_expr(dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", POST_TIME), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", POST_TIME)


def hourly_counts(
    session: Session,
    flt: PostFilter,
    dimension: str | None = None,
    *,
    dialect: str,
    profile: OrgProfile | None = None,
    now: datetime | None = None,
) -> dict[tuple[datetime, str | None], int]:
    """{(UTC hour, value): posts}; with no dimension, the value is None (volume)."""
    hour = _hour_expr(dialect)
    key: Any = None
    joins: list[Any] = []
    extra: list[Any] = []
    if dimension is not None:
        key, joins, extra = _key_expr(dimension, dialect, profile)
    columns = [hour.label("h"), *([key.label("k")] if key is not None else []), func.count().label("n")]
    stmt = _from_posts(select(*columns), joins)
    stmt = stmt.where(*filtered(flt, dialect, profile=profile, now=now), *extra)
    stmt = stmt.group_by(hour, *([key] if key is not None else []))
    out: dict[tuple[datetime, str | None], int] = {}
    for row in session.execute(stmt):
        start = datetime.strptime(row.h, "%Y-%m-%d %H").replace(tzinfo=UTC)
        k = None if key is None or row.k is None else str(row.k)
        out[(start, k)] = out.get((start, k), 0) + int(row.n)
    return out


def _bucket_start(t: datetime, bucket: str, tz: tzinfo) -> datetime:
    local = t.astimezone(tz)
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    return datetime(local.year, local.month, local.day, tzinfo=tz)


def _buckets(since: datetime, until: datetime, bucket: str, tz: tzinfo) -> list[datetime]:
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    out: list[datetime] = []
    t = _bucket_start(since, bucket, tz)
    while t < until:
        out.append(t)
        # Days step in local time (a day with a DST change is 23 or 25 hours)
        t = (t + step) if bucket == "hour" else _bucket_start(t + step + timedelta(hours=2), "day", tz)
    return out


def series(
    session: Session,
    flt: PostFilter,
    dimension: str | None = None,
    *,
    bucket: str = "hour",
    dialect: str,
    tz: tzinfo = UTC,
    profile: OrgProfile | None = None,
    now: datetime | None = None,
) -> list[SeriesPoint]:
    """Counts per bucket (hours or local days) and value of `dimension` (None: volume), every bucket of the
    window present (zero when empty), ordered by bucket then value."""
    if bucket not in ("hour", "day"):
        raise InvalidInput("bucket must be hour or day")
    now = now or utcnow()
    since, until = flt.window(now)
    if bucket == "hour" and until - since > timedelta(days=MAX_HOURLY_DAYS):
        raise InvalidInput(f"hourly counts cover at most {MAX_HOURLY_DAYS} days; use bucket=day for longer windows")
    folded: dict[tuple[datetime, str | None], int] = defaultdict(int)
    for (hour, k), n in hourly_counts(session, flt, dimension, dialect=dialect, profile=profile, now=now).items():
        folded[(_bucket_start(hour, bucket, tz), k)] += n
    keys = sorted({k for _, k in folded}, key=lambda k: (k is None, k or "")) or [None]
    return [SeriesPoint(b, k, folded.get((b, k), 0)) for b in _buckets(since, until, bucket, tz) for k in keys]


def negative_share(
    session: Session, flt: PostFilter, *, dialect: str, profile: OrgProfile | None = None, now: datetime | None = None
) -> Share:
    """Negative posts among the matching posts (the filter's own sentiment, if any, is ignored)."""
    by = totals(
        session, flt.model_copy(update={"sentiment": None}), "sentiment", dialect=dialect, profile=profile, now=now
    )
    return share_of_negative(by)


def share_of_negative(by_sentiment: Sequence[tuple[str | None, int]]) -> Share:
    """The negative share of sentiment totals already counted (`totals(..., "sentiment")`)."""
    counts = dict(by_sentiment)
    return Share(negative=counts.get("negative", 0), total=sum(counts.values()))


# -- terms ---------------------------------------------------------------------------------------------------------

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"[@＠#＃][\w.]+")
_PLACEHOLDER = re.compile(r"〔[^〕]*〕(?:#\d+)?")
_ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*[A-Za-z0-9]")
_ASCII = re.compile(r"^[\x00-\x7f]+$")
_STOP_WORDS = (
    "the and for that this with you your are was were have has had not but all any can our out just about from "
    "they them their there what when which who will would could should been being its it's i'm don't can't won't "
    "did does doing get got how why very really also more most some than then too into over only own same such "
    "again still after before because while here where these those each both few other nor off once under until "
    "my me we us he she his her him an as at be by do if in is of on or so to up no yes"
)
_EN_STOP = frozenset(_STOP_WORDS.split())
_JA_NOUNS = frozenset({"普通名詞", "固有名詞"})
_local = threading.local()


def _tokenizer() -> Any:
    tok = getattr(_local, "tok", None)
    if tok is None:  # a Sudachi tokenizer is not thread-safe: one per thread
        from sudachipy import SplitMode

        from agent.checks.matcher import sudachi_dictionary

        tok = sudachi_dictionary().tokenizer(mode=SplitMode.C)
        _local.tok = tok
    return tok


def terms_of(text: str) -> set[str]:
    """The words a post uses, once each: Japanese nouns in their Sudachi normalised form, English words
    lower-cased (no stop words, at least 3 letters); URLs, @handles, #tags and redaction placeholders skipped."""
    text = _PLACEHOLDER.sub(" ", _MENTION.sub(" ", _URL.sub(" ", nfkc(text or ""))))
    out = {w.lower() for w in _ASCII_WORD.findall(text) if len(w) >= 3 and w.lower() not in _EN_STOP}
    tok = _tokenizer()
    for line in text.splitlines():
        for piece in (line[i : i + 4000] for i in range(0, len(line), 4000)):  # Sudachi's input size limit
            if not piece.strip() or _ASCII.match(piece):
                continue
            for m in tok.tokenize(piece):
                surface = m.surface()
                if _ASCII.match(surface):
                    continue
                pos = m.part_of_speech()
                if pos[0] == "名詞" and pos[1] in _JA_NOUNS:
                    norm = m.normalized_form().strip()
                    if len(norm) >= 2 or (norm and not norm.isascii() and len(surface) >= 2):
                        out.add(norm)
    return out


def _term_counts(
    session: Session, flt: PostFilter, dialect: str, profile: OrgProfile | None, now: datetime, sample: int
) -> Counter[str]:
    stmt = (
        select(Post.text)
        .where(*filtered(flt, dialect, profile=profile, now=now))
        .order_by(POST_TIME.desc(), Post.id.desc())
        .limit(sample)
    )
    counts: Counter[str] = Counter()
    for text in session.scalars(stmt):
        counts.update(terms_of(text))
    return counts


def top_terms(
    session: Session,
    flt: PostFilter,
    *,
    dialect: str,
    profile: OrgProfile | None = None,
    limit: int = 20,
    sample: int = TOP_TERMS_SAMPLE,
    exclude: Iterable[str] = (),
    now: datetime | None = None,
) -> list[TermChange]:
    """The terms most posts of the window use (of its newest `sample` posts), with their count in the previous
    window of the same length. `exclude` (e.g. the brand's own names) is left out, compared case-insensitively."""
    now = now or utcnow()
    skip = {nfkc(e).strip().lower() for e in exclude}
    current = _term_counts(session, flt, dialect, profile, now, sample)
    previous = _term_counts(session, flt.previous(now), dialect, profile, now, sample)
    ranked = sorted(
        ((t, c) for t, c in current.items() if t.lower() not in skip),
        key=lambda tc: (-tc[1], -(tc[1] - previous.get(tc[0], 0)), tc[0]),
    )
    return [TermChange(t, c, previous.get(t, 0)) for t, c in ranked[:limit]]


# -- response times -------------------------------------------------------------------------------------------------

_ANSWERED = (DraftStatus.APPROVED, DraftStatus.SENT, DraftStatus.DELIVERY_FAILED)


def response_times(
    session: Session, flt: PostFilter, *, dialect: str, profile: OrgProfile | None = None, now: datetime | None = None
) -> ResponseTimes:
    """Median seconds from a post (its time) to the approval of its reply and to the reply being sent, over the
    matching posts' drafts that were approved (and sent). A reply dated before its post is left out."""
    since, _ = flt.window(now)
    where = [
        *filtered(flt, dialect, profile=profile, now=now),
        Draft.status.in_(_ANSWERED),
        # A draft is made after its post arrived: this bound (a day of slack for posts dated after they were
        # received) lets the database read only the window's drafts through ix_drafts_created_at.
        Draft.created_at >= since - timedelta(days=1),
    ]
    if dialect == "postgresql":  # the medians in SQL: no row crosses the wire
        return _response_times_pg(session, where)
    stmt = (
        select(POST_TIME.label("t"), Draft.decided_at, Draft.delivered_at, Draft.status)
        .select_from(Draft)
        .join(Post, Post.id == Draft.post_id)
        .where(*where)
    )
    approved: list[float] = []
    sent: list[float] = []
    for t, decided, delivered, status in session.execute(stmt):
        t = t if t.tzinfo else t.replace(tzinfo=UTC)
        if decided is not None and (d := (decided - t).total_seconds()) >= 0:
            approved.append(d)
        if status == DraftStatus.SENT and delivered is not None and (d := (delivered - t).total_seconds()) >= 0:
            sent.append(d)
    return ResponseTimes(
        approved_median_s=statistics.median(approved) if approved else None,
        approved_n=len(approved),
        sent_median_s=statistics.median(sent) if sent else None,
        sent_n=len(sent),
    )


def _response_times_pg(session: Session, where: list[Any]) -> ResponseTimes:
    out: list[tuple[float | None, int]] = []
    for end, extra in ((Draft.decided_at, []), (Draft.delivered_at, [Draft.status == DraftStatus.SENT])):
        seconds = func.extract("epoch", end - POST_TIME)
        stmt = (
            select(func.percentile_cont(0.5).within_group(seconds), func.count())
            .select_from(Draft)
            .join(Post, Post.id == Draft.post_id)
            .where(*where, *extra, end.is_not(None), end >= POST_TIME)
        )
        median, n = session.execute(stmt).one()
        out.append((float(median) if median is not None else None, int(n)))
    (approved, approved_n), (sent, sent_n) = out
    return ResponseTimes(approved_median_s=approved, approved_n=approved_n, sent_median_s=sent, sent_n=sent_n)
