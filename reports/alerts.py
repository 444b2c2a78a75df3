"""Surge and risk alerts: scan the posts for surges (reports/surge.py) and fast-spreading posts, store each alert
with what explains it, and send it through a webhook (Slack/Teams-compatible JSON) and by mail.

- An alert is stored, with its audit entry, in one transaction before anything is sent; each channel's sending is
  recorded on the alert (attempts, time, error) and retried by later scans until it is sent or gives up
  (`KIZUKI_ALERTS_SEND_MAX_ATTEMPTS`), so a failing channel loses nothing.
- De-duplication: one alert per (kind, scope, subject, bucket) (`dedupe_key`, unique), however many scans or
  workers look at the same hour; a fast-spreading post alerts once. Cool-down: a subject that alerted within
  `KIZUKI_ALERTS_COOLDOWN_MINUTES` of the new bucket (by post time) gets a `suppressed` alert (stored, listed with
  `--all`, never sent).
- Example posts carry redacted text (`agent.posts.privacy.Redactor`): the alert row, the webhook and the mail never
  hold a customer's personal data. Logs hold ids and counts only.
- The `alerts_scan` job runs a scan every `KIZUKI_ALERTS_SCAN_MINUTES`, then sends what is due; each run queues the
  next one first. A scan looks at the hours of the posts received since the previous scan (the first one: in the
  last week), so posts imported late are judged at the hour they were posted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import Float, Index, Integer, String, Text, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from agent.intake.service import WatchRulesInForce
from agent.org.schemas import OrgProfile
from agent.org.service import ProfileInForce
from agent.posts.lifecycle import PostStatus
from agent.posts.models import Post
from agent.posts.privacy import Redactor
from kizuki.core import audit, jobs
from kizuki.core.db import Database
from kizuki.core.errors import NotFound
from kizuki.core.jobs import Job, JobKind
from kizuki.core.orm import Base, JSONType, utcnow
from kizuki.core.settings import Settings
from kizuki.core.worker import Handler
from reports import surge
from reports.mail import Mailer, MailError, MailMessage
from reports.query import POST_TIME
from reports.surge import BRAND, PRESETS, Preset, Subject, Surge

log = logging.getLogger(__name__)

ACTOR = "alerts"
FIRST_SCAN_LOOKBACK = timedelta(days=7)
MAX_BUCKETS_PER_SCAN = 1000
EXAMPLES = 3
MAX_POST_IDS = 500
EXAMPLE_CHARS = 280


class AlertStatus:
    PENDING = "pending"  # stored, to be sent (some channel not yet done)
    SENT = "sent"  # every channel took it
    FAILED = "failed"  # a channel gave up after its attempts (the others may have sent it)
    SUPPRESSED = "suppressed"  # a repeat inside the cool-down: stored, never sent
    RELATED = "related"  # the same posts as a stronger alert of the same hour (listed in its explanation): not sent
    NOT_SENT = "not_sent"  # no channel configured, or about posts too old to send (stored, listed)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_subject_window", "kind", "scope", "subject", "window_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # volume | negative | spread
    scope: Mapped[str] = mapped_column(String(16))  # brand | product | term | post
    subject: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[datetime] = mapped_column(index=True)
    window_end: Mapped[datetime] = mapped_column()
    count: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)
    preset: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    repeat_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    title: Mapped[str] = mapped_column(Text)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    post_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    deliveries: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    send_lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertNotFound(NotFound):
    """No alert has this id."""


class ExamplePost(BaseModel):
    post_id: int
    text: str = Field(description="The post's text with personal data replaced by placeholders")


class AlertPublic(BaseModel):
    """An alert as the CLI and the REST API show it."""

    id: int
    kind: str = Field(description="volume, negative (negative volume) or spread (one post spreading fast)")
    scope: str = Field(description="brand, product, term or post")
    subject: str = Field(description="'*' for the brand, a product name, a term, or a post id")
    title: str
    window_start: datetime
    window_end: datetime
    count: int = Field(description="Posts in the window (reposts for a spreading post)")
    baseline: float = Field(description="The expected count (reposts per hour threshold for a spreading post)")
    score: float = Field(description="Sigma-equivalent of the Poisson tail (reposts per hour for a spreading post)")
    p_value: float
    preset: str
    status: str
    repeat_of: int | None
    explanation: dict[str, Any]
    post_ids: list[int]
    deliveries: dict[str, Any]
    detected_at: datetime

    @classmethod
    def of(cls, alert: Alert) -> AlertPublic:
        return cls.model_validate(alert, from_attributes=True)


def list_alerts(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    include_suppressed: bool = False,
    raised_since_too: bool = False,
) -> list[Alert]:
    """Alerts whose window starts in [since, until), newest window first; with `raised_since_too`, also those
    raised since `since` about earlier posts (a late import, the demo's first scan)."""
    stmt = select(Alert)
    if since is not None:
        stmt = stmt.where(
            or_(Alert.window_start >= since, Alert.detected_at >= since)
            if raised_since_too
            else Alert.window_start >= since
        )
    if until is not None:
        stmt = stmt.where(Alert.window_start < until)
    if not include_suppressed:
        stmt = stmt.where(Alert.status != AlertStatus.SUPPRESSED)
    stmt = stmt.order_by(Alert.window_start.desc(), Alert.score.desc(), Alert.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id}")
    return alert


# -- scanning -------------------------------------------------------------------------------------------------


class AlertHost(Protocol):
    """What a scan needs of the runtime (`kizuki.runtime.Runtime` is one)."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def org(self) -> ProfileInForce: ...

    @property
    def watch_rules(self) -> WatchRulesInForce: ...

    def redactor(self) -> Redactor: ...


@dataclass(frozen=True)
class ScanContext:
    """The organisation's words, read once per scan: products (canonical names) and the names terms leave out."""

    products: frozenset[str] = frozenset()
    exclude_terms: frozenset[str] = frozenset()

    @classmethod
    def of(cls, org: OrgProfile | None, brand_terms: Iterable[str] = ()) -> ScanContext:
        names: set[str] = set(brand_terms)
        products: set[str] = set()
        if org is not None:
            names.update(org.names)
            for p in org.products:
                products.add(p.name)
                names.add(p.name)
                names.update(p.aliases)
        exclude = {surge.normalise_term(n) for n in names}
        # a multi-word name also hides its words ("Tsuki Fan" -> tsuki): the product subject already counts them
        exclude |= {w for n in list(exclude) for w in n.split() if len(w) >= 3}
        return cls(products=frozenset(products), exclude_terms=frozenset(exclude))

    @classmethod
    def of_host(cls, host: AlertHost) -> ScanContext:
        with host.db.reading() as s:
            _, org = host.org.current(s)
            _, rules = host.watch_rules.current(s)
        return cls.of(org, rules.brand)


@dataclass
class _Row:
    id: int
    at: datetime
    received_at: datetime
    posted_at: datetime | None
    text: str
    sentiment: str
    products: tuple[str, ...]
    reposts: int
    engagement: int
    terms: frozenset[str]
    author_terms: tuple[str, ...]


@dataclass
class ScanReport:
    buckets: int = 0
    posts: int = 0
    raised: list[int] = field(default_factory=list)
    related: list[int] = field(default_factory=list)
    suppressed: list[int] = field(default_factory=list)
    duplicates: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "buckets": self.buckets,
            "posts": self.posts,
            "raised": self.raised,
            "related": self.related,
            "suppressed": self.suppressed,
            "duplicates": self.duplicates,
        }


_tokenizer: Any = None


def _terms_tokenizer() -> surge.NounPhrases:
    global _tokenizer
    if _tokenizer is None:
        from knowledge.lexical import Tokenizer

        _tokenizer = Tokenizer()
    return _tokenizer  # type: ignore[no-any-return]


def _event_time(posted_at: datetime | None, received_at: datetime) -> datetime:
    """When a post counts: when it was posted, unless the network gave no time or one after we received it."""
    return posted_at if posted_at is not None and posted_at <= received_at else received_at


_STORE_LOCK = sql_text("SELECT pg_advisory_xact_lock(7431019)")
_KEPT = Post.status != PostStatus.DROPPED


_NOT_TERMS = re.compile(r"https?://\S+|[@＠][A-Za-z0-9_]{1,30}|〔[^〕]{1,40}〕(?:#\d+)?")


_TERMS_CACHE: dict[tuple[int, str, frozenset[str]], frozenset[str]] = {}
_TERMS_CACHE_SIZE = 200_000


def _terms(
    post_id: int, text: str, author_terms: Sequence[str], ctx: ScanContext, redactor: Redactor
) -> frozenset[str]:
    """The post's terms, taken from its redacted text without links, mentions and placeholders: a term never
    carries personal data into an alert. Kept per process (each scan reads a week of posts; tokenising one costs
    about 2 ms), keyed by the text's hash so a post redacted since is tokenised again."""
    key = (post_id, hashlib.blake2b(text.encode(), digest_size=8).hexdigest(), ctx.exclude_terms)
    found = _TERMS_CACHE.get(key)
    if found is None:
        clean = _NOT_TERMS.sub(" ", redactor.redact(text, author_terms))
        found = frozenset(surge.terms_of(clean, _terms_tokenizer(), ctx.exclude_terms))
        if len(_TERMS_CACHE) >= _TERMS_CACHE_SIZE:
            _TERMS_CACHE.clear()
        _TERMS_CACHE[key] = found
    return found


def _load_rows(session: Session, start: datetime, end: datetime, ctx: ScanContext, redactor: Redactor) -> list[_Row]:
    stmt = (
        select(
            Post.id,
            Post.posted_at,
            Post.received_at,
            Post.text,
            Post.triage,
            Post.metrics,
            Post.author_handle,
            Post.author_name,
        )
        .where(_KEPT, or_(start <= POST_TIME, Post.received_at >= start), end > POST_TIME)
        .order_by(Post.id)
    )
    rows: list[_Row] = []
    for pid, posted, received, text, triage, metrics, handle, name in session.execute(stmt):
        at = _event_time(posted, received)
        if not start <= at < end:
            continue
        tri = triage if isinstance(triage, dict) else {}
        raw_topics = tri.get("topics")
        topics: list[Any] = raw_topics if isinstance(raw_topics, list) else []
        m = metrics if isinstance(metrics, dict) else {}
        reposts = _int(m.get("reposts"))
        authors = tuple(t for t in (handle, name) if t)
        rows.append(
            _Row(
                id=pid,
                at=at,
                received_at=received,
                posted_at=posted,
                text=text or "",
                sentiment=str(tri.get("sentiment") or "neutral"),
                products=tuple(sorted({t for t in topics if isinstance(t, str) and t in ctx.products})),
                reposts=reposts,
                engagement=reposts + _int(m.get("likes")) + _int(m.get("replies")),
                terms=_terms(pid, text or "", authors, ctx, redactor),
                author_terms=authors,
            )
        )
    return rows


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _subjects(row: _Row) -> Iterator[Subject]:
    yield Subject("volume", "brand", BRAND)
    negative = row.sentiment == "negative"
    if negative:
        yield Subject("negative", "brand", BRAND)
    for p in row.products:
        yield Subject("volume", "product", p)
        if negative:
            yield Subject("negative", "product", p)
    for t in row.terms:
        yield Subject("volume", "term", t)


def count_rows(rows: Iterable[_Row], bucket_minutes: int = 60) -> dict[Subject, dict[int, int]]:
    counts: dict[Subject, dict[int, int]] = {}
    for row in rows:
        b = surge.bucket_of(row.at, bucket_minutes)
        for subj in _subjects(row):
            series = counts.setdefault(subj, {})
            series[b] = series.get(b, 0) + 1
    return counts


def scan(
    host: AlertHost,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    preset: Preset | None = None,
    actor: str = ACTOR,
) -> ScanReport:
    """Look for surges in the hours of the posts received after `since` (default: the last week) and for
    posts spreading fast among them; store new alerts (each with its audit entry). Sends nothing."""
    settings = host.settings
    now = now or utcnow()
    since = since or now - FIRST_SCAN_LOOKBACK
    preset = preset or PRESETS[settings.alerts_sensitivity]
    minutes = 60
    report = ScanReport()
    ctx = ScanContext.of_host(host)
    with host.db.reading() as s:
        new = s.execute(select(Post.id, Post.posted_at, Post.received_at).where(_KEPT, Post.received_at > since)).all()
    buckets = {surge.bucket_of(_event_time(p, r), minutes) for _, p, r in new}
    if not buckets:
        return report
    buckets = set(sorted(buckets)[-MAX_BUCKETS_PER_SCAN:])
    report.buckets = len(buckets)
    lookback = timedelta(days=7, minutes=minutes * (surge.SEASONAL_HALF_WIDTH + 1))
    start = surge.bucket_start(min(buckets), minutes) - lookback
    end = surge.bucket_start(max(buckets) + 1, minutes)
    new_ids = {pid for pid, _, _ in new}
    redactor = host.redactor()
    with host.db.reading() as s:
        rows = _load_rows(s, start, end, ctx, redactor)
    report.posts = len(rows)
    surges = surge.detect(count_rows(rows, minutes), buckets, preset, minutes)
    spreading = [
        r
        for r in rows
        if r.id in new_ids
        and r.posted_at is not None
        and surge.spreads_fast(r.reposts, r.at, r.received_at, settings.alerts_spread_reposts_per_hour)
    ]
    if not surges and not spreading:
        return report
    by_bucket: dict[int, list[_Row]] = {}
    for r in rows:
        by_bucket.setdefault(surge.bucket_of(r.at, minutes), []).append(r)
    with host.db.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            # One scan stores at a time: otherwise two scans inserting the same alerts in different orders could
            # each wait for the other (a unique key held by one, the audit chain's lock by the other).
            s.execute(_STORE_LOCK)
        for found in surges:
            _store(s, settings, report, _surge_alert(found, by_bucket, redactor, preset, ctx, minutes, now), actor)
        for r in spreading:
            _store(s, settings, report, _spread_alert(r, redactor, settings, preset, now), actor)
    log.info(
        "alert scan: %d bucket(s), %d post(s), %d raised, %d suppressed",
        report.buckets,
        report.posts,
        len(report.raised),
        len(report.suppressed),
    )
    return report


def _in_subject(row: _Row, subj: Subject) -> bool:
    if subj.kind == "negative" and row.sentiment != "negative":
        return False
    if subj.scope == "product":
        return subj.key in row.products
    if subj.scope == "term":
        return subj.key in row.terms
    return True


def _examples(rows: Sequence[_Row], redactor: Redactor) -> list[dict[str, Any]]:
    chosen = sorted(rows, key=lambda r: (-r.engagement, r.id))[:EXAMPLES]
    out = []
    for r in chosen:
        text = redactor.redact(r.text, r.author_terms)
        if len(text) > EXAMPLE_CHARS:
            text = text[: EXAMPLE_CHARS - 1] + "…"
        out.append(ExamplePost(post_id=r.id, text=text).model_dump())
    return out


def _window(bucket: int, minutes: int) -> tuple[datetime, datetime]:
    start = surge.bucket_start(bucket, minutes)
    return start, start + timedelta(minutes=minutes)


def _fmt_window(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"


_KIND_LABEL = {"volume": "急増 / Surge", "negative": "ネガティブ急増 / Negative surge", "spread": "拡散 / Spreading"}


def _surge_alert(
    found: Surge,
    by_bucket: Mapping[int, list[_Row]],
    redactor: Redactor,
    preset: Preset,
    ctx: ScanContext,
    minutes: int,
    now: datetime,
) -> Alert:
    subj = found.subject
    posts = [r for r in by_bucket.get(found.bucket, []) if _in_subject(r, subj)]
    before = [
        r
        for b in range(found.bucket - surge.RECENT_BUCKETS, found.bucket)
        for r in by_bucket.get(b, [])
        if _in_subject(r, subj)
    ]
    start, end = _window(found.bucket, minutes)
    top = surge.top_terms([r.terms for r in posts], [r.terms for r in before])
    sentiment = Counter(r.sentiment for r in posts)
    b = found.baseline
    title = (
        f"【{_KIND_LABEL[subj.kind]}】{subj.label()} — {found.count} posts {_fmt_window(start, end)} "
        f"(expected {b.expected:.1f}, {found.score:.1f}σ)"
    )
    return Alert(
        dedupe_key=_dedupe_key(subj, start),
        kind=subj.kind,
        scope=subj.scope,
        subject=subj.key[:200],
        window_start=start,
        window_end=end,
        count=found.count,
        baseline=round(b.expected, 3),
        score=found.score,
        p_value=found.p_value,
        preset=preset.name,
        title=title,
        explanation={
            "method": f"Poisson tail against max(recent {surge.RECENT_BUCKETS} h, same hour 1 day and 7 days "
            f"before); preset {preset.name}: p <= {preset.p_value:.3g}, count >= {preset.min_count}, "
            f"ratio >= {preset.min_ratio:g}",
            "baselines": {"recent": round(b.recent, 3), "day": round(b.day, 3), "week": round(b.week, 3)},
            "top_terms": top,
            "sentiment": {k: sentiment.get(k, 0) for k in ("negative", "neutral", "positive")},
            "examples": _examples(posts, redactor),
        },
        post_ids=[r.id for r in sorted(posts, key=lambda r: r.id)][:MAX_POST_IDS],
        detected_at=now,
        updated_at=now,
    )


def _spread_alert(row: _Row, redactor: Redactor, settings: Settings, preset: Preset, now: datetime) -> Alert:
    rate = surge.spread_rate(row.reposts, row.at, row.received_at)
    subj = Subject("spread", "post", str(row.id))
    title = (
        f"【{_KIND_LABEL['spread']}】post {row.id} — {row.reposts} reposts, {rate:.0f}/h "
        f"(threshold {settings.alerts_spread_reposts_per_hour:g}/h), posted {row.at:%Y-%m-%d %H:%M} UTC"
    )
    return Alert(
        dedupe_key=_dedupe_key(subj, None),
        kind="spread",
        scope="post",
        subject=str(row.id),
        window_start=row.at,
        window_end=row.received_at,
        count=row.reposts,
        baseline=settings.alerts_spread_reposts_per_hour,
        score=round(rate, 2),
        p_value=0.0,
        preset=preset.name,
        title=title,
        explanation={
            "method": "reposts per hour between posting and when we saw it (over the first day for a post seen "
            f"later) >= KIZUKI_ALERTS_SPREAD_REPOSTS_PER_HOUR ({settings.alerts_spread_reposts_per_hour:g})",
            "top_terms": [{"term": t, "count": 1, "baseline": 0} for t in sorted(row.terms)[:5]],
            "sentiment": {k: int(row.sentiment == k) for k in ("negative", "neutral", "positive")},
            "examples": _examples([row], redactor),
        },
        post_ids=[row.id],
        detected_at=now,
        updated_at=now,
    )


def _dedupe_key(subj: Subject, start: datetime | None) -> str:
    key = subj.key if len(subj.key) <= 120 else hashlib.sha256(subj.key.encode()).hexdigest()
    when = start.isoformat() if start is not None else "once"
    return f"{subj.kind}:{subj.scope}:{key}:{when}"


def _channels(settings: Settings) -> list[str]:
    out = []
    if settings.alerts_webhook_url is not None:
        out.append("webhook")
    if settings.smtp_host and (settings.alerts_mail_to or settings.smtp_to):
        out.append("email")
    return out


def _store(session: Session, settings: Settings, report: ScanReport, alert: Alert, actor: str) -> None:
    if session.scalar(select(Alert.id).where(Alert.dedupe_key == alert.dedupe_key)) is not None:
        report.duplicates += 1
        return
    cooldown = timedelta(minutes=settings.alerts_cooldown_minutes)
    earlier = None
    if cooldown and alert.kind != "spread":
        earlier = session.scalar(
            select(Alert.id)
            .where(
                Alert.kind == alert.kind,
                Alert.scope == alert.scope,
                Alert.subject == alert.subject,
                Alert.status != AlertStatus.SUPPRESSED,
                Alert.window_start > alert.window_start - cooldown,
                Alert.window_start < alert.window_start + cooldown,
            )
            .order_by(Alert.window_start)
            .limit(1)
        )
    lead = _lead_for(session, alert) if earlier is None else None
    if earlier is not None:
        alert.status = AlertStatus.SUPPRESSED
        alert.repeat_of = earlier
    elif lead is not None:
        alert.status = AlertStatus.RELATED
        alert.repeat_of = lead.id
    else:
        channels = _channels(settings)
        # a surge is as old as its hour's end; a spreading post as old as the post (seen late, it is old news)
        as_of = alert.window_start if alert.kind == "spread" else alert.window_end
        stale = as_of < alert.detected_at - timedelta(hours=settings.alerts_send_max_age_hours)
        if not channels or stale:
            alert.status = AlertStatus.NOT_SENT
            alert.deliveries = {"note": "about posts too old to send" if stale else "no channel configured"}
        else:
            alert.status = AlertStatus.PENDING
            alert.deliveries = {c: {"status": "pending", "attempts": 0, "error": None, "at": None} for c in channels}
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:  # another scan stored the same alert a moment ago
        report.duplicates += 1
        return
    audit.record(
        session,
        actor=actor,
        action={AlertStatus.SUPPRESSED: "alert.suppressed", AlertStatus.RELATED: "alert.related"}.get(
            alert.status, "alert.raised"
        ),
        subject=f"alert:{alert.id}",
        after={
            "kind": alert.kind,
            "scope": alert.scope,
            "subject": alert.subject,
            "window_start": alert.window_start.isoformat(),
            "count": alert.count,
            "baseline": alert.baseline,
            "score": alert.score,
            "preset": alert.preset,
            "status": alert.status,
            "repeat_of": alert.repeat_of,
            "post_ids": alert.post_ids[:50],
        },
        note=alert.title,
    )
    if lead is not None:  # the lead lists what else its posts set off
        entry = {"id": alert.id, "kind": alert.kind, "scope": alert.scope, "subject": alert.subject}
        entry |= {"count": alert.count, "score": alert.score}
        lead.explanation = {**lead.explanation, "related": [*lead.explanation.get("related", []), entry]}
    {AlertStatus.SUPPRESSED: report.suppressed, AlertStatus.RELATED: report.related}.get(
        alert.status, report.raised
    ).append(alert.id)


def _lead_for(session: Session, alert: Alert) -> Alert | None:
    """A stronger alert of the same hour about mostly the same posts (half of this one's or more): this one is
    then part of it, not news of its own (one burst raises its brand, product and term alerts at once)."""
    if alert.kind == "spread" or not alert.post_ids:
        return None
    mine = set(alert.post_ids)
    candidates = session.scalars(
        select(Alert)
        .where(
            Alert.window_start == alert.window_start,
            Alert.kind != "spread",
            Alert.status.not_in((AlertStatus.SUPPRESSED, AlertStatus.RELATED)),
        )
        .order_by(Alert.score.desc(), Alert.id)
    )
    for other in candidates:
        if len(mine & set(other.post_ids)) * 2 >= len(mine):
            return other
    return None


# -- sending --------------------------------------------------------------------------------------------------


def _esc(text: str) -> str:
    """Slack mrkdwn escaping (the three characters it reserves)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _related_text(explanation: dict[str, Any]) -> str:
    """The other subjects the same posts set off (folded into this alert), e.g. "negative product:X (20)"."""
    items = explanation.get("related") or []
    return ", ".join(f"{r['kind']} {r['scope']}:{r['subject']} ({r['count']})" for r in items if isinstance(r, dict))


def webhook_payload(alert: AlertPublic) -> dict[str, Any]:
    """Slack-compatible JSON (`text` for Teams and notifications, `blocks` for Slack)."""
    ex = alert.explanation
    sentiment = ex.get("sentiment") or {}
    terms = ", ".join(f"{t['term']} ({t['count']})" for t in ex.get("top_terms") or []) or "—"
    split = " / ".join(f"{k} {sentiment.get(k, 0)}" for k in ("negative", "neutral", "positive"))
    examples = "\n".join(f"• #{e['post_id']}: {_esc(e['text'])}" for e in ex.get("examples") or []) or "—"
    related = _related_text(ex)
    text = f"{alert.title}\nTop terms: {terms}\nSentiment: {split}" + (f"\nAlso: {related}" if related else "")
    return {
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Posts / 件数*\n{alert.count} (expected {alert.baseline:g})"},
                    {"type": "mrkdwn", "text": f"*Score*\n{alert.score:g} ({alert.preset})"},
                    {"type": "mrkdwn", "text": f"*Top terms / 話題*\n{_esc(terms)}"},
                    {"type": "mrkdwn", "text": f"*Sentiment / 感情*\n{split}"},
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Examples / 投稿例*\n{examples}"[:2900]}},
            *(
                [{"type": "section", "text": {"type": "mrkdwn", "text": f"*Also / 関連*\n{_esc(related)}"[:2900]}}]
                if related
                else []
            ),
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Kizuki alert {alert.id} · posts {len(alert.post_ids)}"}],
            },
        ],
    }


def mail_message(alert: AlertPublic, to: Sequence[str]) -> MailMessage:
    import html as _html

    ex = alert.explanation
    terms = [f"{t['term']} ({t['count']}, before {t['baseline']})" for t in ex.get("top_terms") or []]
    sentiment = ex.get("sentiment") or {}
    examples = ex.get("examples") or []
    lines = [
        alert.title,
        "",
        f"Posts / 件数: {alert.count} (expected {alert.baseline:g}); score {alert.score:g} ({alert.preset})",
        "Top terms / 話題: " + (", ".join(terms) or "—"),
        "Sentiment / 感情: " + ", ".join(f"{k} {v}" for k, v in sentiment.items()),
        "Also / 関連: " + (_related_text(ex) or "—"),
        "",
        "Examples / 投稿例 (personal data redacted):",
        *(f"- #{e['post_id']}: {e['text']}" for e in examples),
        "",
        f"Method: {ex.get('method', '')}",
        f"Kizuki alert {alert.id}",
    ]
    h = _html.escape
    body = (
        f"<html><body><h2>{h(alert.title)}</h2>"
        f"<p>Posts / 件数: <b>{alert.count}</b> (expected {alert.baseline:g}); score {alert.score:g} "
        f"({h(alert.preset)})</p>"
        f"<p>Top terms / 話題: {h(', '.join(terms) or '—')}</p>"
        f"<p>Sentiment / 感情: {h(', '.join(f'{k} {v}' for k, v in sentiment.items()))}</p>"
        f"<p>Also / 関連: {h(_related_text(ex) or '—')}</p>"
        "<h3>Examples / 投稿例</h3><ul>"
        + "".join(f"<li>#{e['post_id']}: {h(e['text'])}</li>" for e in examples)
        + f"</ul><p style='color:#666'>{h(str(ex.get('method', '')))}<br>Kizuki alert {alert.id}</p></body></html>"
    )
    return MailMessage(subject=f"[Kizuki] {alert.title}"[:200], text="\n".join(lines), html=body, to=tuple(to))


@dataclass
class Senders:
    """How alerts leave: a webhook poster and a mail sender (replaced in tests by ones on local servers)."""

    post_webhook: Callable[[str, dict[str, Any]], None]
    send_mail: Callable[[MailMessage], None]

    @classmethod
    def from_settings(cls, settings: Settings) -> Senders:
        def post_webhook(url: str, payload: dict[str, Any]) -> None:
            with httpx.Client(timeout=settings.webhook_timeout_s) as client:
                resp = client.post(url, json=payload)
            if resp.status_code >= 300:
                raise ChannelError(f"webhook answered HTTP {resp.status_code}")

        def send_mail(message: MailMessage) -> None:
            Mailer.from_settings(settings, attempts=2, backoff_s=1.0).send(message)

        return cls(post_webhook, send_mail)


class ChannelError(Exception):
    """A channel did not take the alert (the message names no secret and no personal data)."""


def _send_one(channel: str, alert: AlertPublic, settings: Settings, senders: Senders) -> None:
    if channel == "webhook":
        if settings.alerts_webhook_url is None:
            raise ChannelError("KIZUKI_ALERTS_WEBHOOK_URL is no longer set")
        senders.post_webhook(settings.alerts_webhook_url.get_secret_value(), webhook_payload(alert))
    elif channel == "email":
        to = settings.alerts_mail_to or settings.smtp_to
        if not settings.smtp_host or not to:
            raise ChannelError("KIZUKI_SMTP_HOST or the recipients are no longer set")
        senders.send_mail(mail_message(alert, to))
    else:
        raise ChannelError(f"unknown channel {channel}")


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def _due(alert: Alert, now: datetime) -> list[str]:
    due = []
    for channel, state in alert.deliveries.items():
        if not isinstance(state, dict) or state.get("status") != "pending":
            continue
        nxt = state.get("next_at")
        if nxt is None or datetime.fromisoformat(nxt) <= now:
            due.append(channel)
    return due


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)


def send_pending(
    db: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    senders: Senders | None = None,
    lease: timedelta = timedelta(minutes=5),
    limit: int = 50,
) -> SendReport:
    """Send every pending alert whose channels are due; record each attempt on the alert (and the outcome in the
    audit log). An alert is claimed for a while (`send_lease_until`) so two workers never send it at once."""
    now = now or utcnow()
    senders = senders or Senders.from_settings(settings)
    report = SendReport()
    with db.reading() as s:
        candidates = list(
            s.scalars(
                select(Alert)
                .where(
                    Alert.status == AlertStatus.PENDING,
                    or_(Alert.send_lease_until.is_(None), Alert.send_lease_until < now),
                )
                .order_by(Alert.id)
                .limit(limit)
            )
        )
        due = {a.id: _due(a, now) for a in candidates}
        public = {a.id: AlertPublic.of(a) for a in candidates if due[a.id]}
    for alert_id, channels in due.items():
        if not channels:
            continue
        with db.session() as s:
            claimed = s.execute(
                update(Alert)
                .where(
                    Alert.id == alert_id,
                    Alert.status == AlertStatus.PENDING,
                    or_(Alert.send_lease_until.is_(None), Alert.send_lease_until < now),
                )
                .values(send_lease_until=now + lease)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            continue
        results: dict[str, str | None] = {}
        for channel in channels:
            try:
                _send_one(channel, public[alert_id], settings, senders)
                results[channel] = None
            except (ChannelError, MailError, httpx.HTTPError, OSError) as exc:
                results[channel] = str(exc) if isinstance(exc, ChannelError | MailError) else type(exc).__name__
            except Exception as exc:  # e.g. invalid settings: recorded as a failed attempt, never lost
                results[channel] = type(exc).__name__
        outcome = _record(db, settings, alert_id, results, now)
        getattr(report, outcome).append(alert_id)
    return report


def _record(db: Database, settings: Settings, alert_id: int, results: Mapping[str, str | None], now: datetime) -> str:
    with db.session() as s:
        alert = s.get(Alert, alert_id, with_for_update=True)
        assert alert is not None
        deliveries = {k: dict(v) if isinstance(v, dict) else v for k, v in alert.deliveries.items()}
        for channel, error in results.items():
            state = deliveries[channel]
            state["attempts"] = int(state.get("attempts", 0)) + 1
            state["at"] = now.isoformat()
            state["error"] = error
            if error is None:
                state["status"] = "sent"
                state.pop("next_at", None)
            elif state["attempts"] >= settings.alerts_send_max_attempts:
                state["status"] = "failed"
                state.pop("next_at", None)
            else:
                state["next_at"] = (now + _backoff(state["attempts"])).isoformat()
        states = [v.get("status") for v in deliveries.values() if isinstance(v, dict)]
        alert.deliveries = deliveries
        alert.send_lease_until = None
        alert.updated_at = now
        if all(st == "sent" for st in states):
            alert.status, outcome = AlertStatus.SENT, "sent"
        elif "pending" in states:
            outcome = "retrying"
        else:
            alert.status, outcome = AlertStatus.FAILED, "failed"
        if outcome != "retrying":
            audit.record(
                s,
                actor=ACTOR,
                action=f"alert.{outcome}",
                subject=f"alert:{alert_id}",
                after={
                    k: {"status": v["status"], "attempts": v["attempts"], "error": v["error"]}
                    for k, v in deliveries.items()
                    if isinstance(v, dict)
                },
            )
    return outcome


def send_test(settings: Settings, senders: Senders | None = None) -> dict[str, str]:
    """Send a sample alert (no customer data) through every configured channel; channel -> "sent" or the error."""
    senders = senders or Senders.from_settings(settings)
    now = utcnow()
    sample = AlertPublic(
        id=0,
        kind="volume",
        scope="brand",
        subject=BRAND,
        title="【テスト / Test】Kizuki alert channel check",
        window_start=now,
        window_end=now,
        count=0,
        baseline=0.0,
        score=0.0,
        p_value=1.0,
        preset=settings.alerts_sensitivity,
        status=AlertStatus.PENDING,
        repeat_of=None,
        explanation={
            "top_terms": [],
            "sentiment": {},
            "examples": [{"post_id": 0, "text": "これはテストです。 This is a test."}],
        },
        post_ids=[],
        deliveries={},
        detected_at=now,
    )
    out: dict[str, str] = {}
    for channel in _channels(settings):
        try:
            _send_one(channel, sample, settings, senders)
            out[channel] = "sent"
        except (ChannelError, MailError, httpx.HTTPError, OSError) as exc:
            out[channel] = str(exc) if isinstance(exc, ChannelError | MailError) else type(exc).__name__
    return out


# -- the scheduled job ----------------------------------------------------------------------------------------


def schedule_scan(
    db: Database, settings: Settings, *, now: datetime | None = None, since: datetime | None = None
) -> Job | None:
    """Queue the scan of the current interval (once, whatever the number of processes); None when scans are off."""
    minutes = settings.alerts_scan_minutes
    if not minutes:
        return None
    now = now or utcnow()
    slot = int(now.timestamp() // (minutes * 60))
    key = f"{JobKind.ALERTS_SCAN}:{minutes}:{slot}"
    payload = {"since": since.isoformat()} if since is not None else {}
    return jobs.enqueue_once(db, JobKind.ALERTS_SCAN, payload, dedupe_key=key, run_after=now, max_attempts=3)


def alert_handlers(host: AlertHost) -> dict[str, Handler]:
    """The `alerts_scan` job: queue the next scan, scan the posts received since the previous one, send."""

    def run(payload: dict[str, Any]) -> None:
        settings = host.settings
        now = utcnow()
        since_raw = payload.get("since")
        since = datetime.fromisoformat(since_raw) if isinstance(since_raw, str) else None
        if settings.alerts_scan_minutes:
            # The next scan first: a scan that fails for good must not end the scanning.
            schedule_scan(host.db, settings, now=now + timedelta(minutes=settings.alerts_scan_minutes), since=now)
        scan(host, since=since, now=now)
        send_pending(host.db, settings, now=now)

    async def handle(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        await asyncio.to_thread(run, payload)

    return {JobKind.ALERTS_SCAN: handle}
