"""The daily report (日報): one local day of posts as HTML with embedded SVG charts, Markdown and CSV, in Japanese
or English; written by `kizuki report daily`, served by `GET /v1/reports/daily`, and by the daily `report_daily` job.

Charts are SVG written by hand through the Jinja2 templates in `reports/templates/` (bars and one stacked bar):
no chart library, no script, no network; the file opens offline and in a mail client that shows HTML. The
geometry is computed here; the templates only place it.

Every number comes from `reports.aggregates` over the day's window of `POST_TIME` in `KIZUKI_REPORT_TIMEZONE`.
Posts are counted when kept by the watch rules, except the `received`/`dropped` totals. Example posts are redacted.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from agent.org.schemas import OrgProfile
from agent.posts.privacy import Redactor
from kizuki.core import jobs
from kizuki.core.db import Database
from kizuki.core.errors import InvalidInput
from kizuki.core.jobs import Job, JobKind
from kizuki.core.orm import utcnow
from kizuki.core.settings import Settings
from kizuki.core.worker import Handler
from reports.aggregates import (
    ResponseTimes,
    Share,
    TermChange,
    hourly_counts,
    response_times,
    share_of_negative,
    totals,
)
from reports.aggregates import top_terms as aggregate_top_terms
from reports.departments import DepartmentDigest, digest
from reports.explore import PostFilter, PostRow, RowContext, page

__all__ = [
    "DailyReport",
    "Lang",
    "build_daily",
    "daily_report_handlers",
    "render",
    "report_zone",
    "schedule_daily_report",
    "write_daily",
]

log = logging.getLogger(__name__)
Lang = Literal["ja", "en"]
FORMATS = ("html", "md", "csv")
TOP = 10

LABELS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "日報",
        "received": "受信した投稿",
        "kept": "対象の投稿",
        "dropped": "対象外（ウォッチ規則で除外）",
        "negative_share": "ネガティブの割合",
        "volume_by_hour": "時間帯別の件数",
        "negative": "ネガティブ",
        "neutral": "中立",
        "positive": "ポジティブ",
        "unknown": "不明",
        "sentiment": "感情の内訳",
        "topics": "話題の上位",
        "products": "製品",
        "competitors": "競合",
        "intents": "意図",
        "channels": "チャネル",
        "terms": "よく使われた語（前日比）",
        "term": "語",
        "count": "件数",
        "previous": "前日",
        "change": "増減",
        "new": "新規",
        "response": "対応時間（中央値）",
        "to_approved": "投稿から承認まで",
        "to_sent": "投稿から送信まで",
        "departments": "部門別",
        "department": "部門",
        "escalated_pending": "エスカレーション（未対応）",
        "examples": "注意が必要な投稿",
        "alerts": "アラート",
        "none": "なし",
        "hour": "時",
        "zone": "タイムゾーン",
        "generated": "作成",
        "value": "値",
        "section": "区分",
        "key": "項目",
    },
    "en": {
        "title": "Daily report",
        "received": "Posts received",
        "kept": "Posts about us",
        "dropped": "Dropped by the watch rules",
        "negative_share": "Negative share",
        "volume_by_hour": "Volume by hour",
        "negative": "negative",
        "neutral": "neutral",
        "positive": "positive",
        "unknown": "unknown",
        "sentiment": "Sentiment split",
        "topics": "Top topics",
        "products": "Products",
        "competitors": "Competitors",
        "intents": "Intents",
        "channels": "Channels",
        "terms": "Top terms (vs the day before)",
        "term": "term",
        "count": "posts",
        "previous": "day before",
        "change": "change",
        "new": "new",
        "response": "Response times (median)",
        "to_approved": "post to approved reply",
        "to_sent": "post to sent reply",
        "departments": "Departments",
        "department": "department",
        "escalated_pending": "escalated, pending",
        "examples": "Posts that need attention",
        "alerts": "Alerts",
        "none": "none",
        "hour": "h",
        "zone": "time zone",
        "generated": "generated",
        "value": "value",
        "section": "section",
        "key": "key",
    },
}
SENTIMENT_COLOURS = {"negative": "#d64541", "neutral": "#9aa5b1", "positive": "#2e9e5b", "unknown": "#d9d9d9"}


def report_zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.report_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"KIZUKI_REPORT_TIMEZONE {settings.report_timezone!r} is not an IANA time zone") from None


def day_window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day as a UTC window [start, end)."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass
class DailyReport:
    day: date
    zone: str
    lang: Lang
    since: datetime
    until: datetime
    generated_at: datetime
    received: int
    kept: int
    dropped: int
    sentiment: list[tuple[str, int]]
    negative: Share
    volume_by_hour: list[tuple[int, int]]  # local hour 0-23 -> kept posts
    negative_by_hour: list[tuple[int, int]]
    topics: list[tuple[str, int]]
    products: list[tuple[str, int]]
    competitors: list[tuple[str, int]]
    intents: list[tuple[str, int]]
    channels: list[tuple[str, int]]
    terms: list[TermChange]
    response: ResponseTimes
    departments: list[DepartmentDigest]
    examples: list[PostRow]
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "zone": self.zone,
            "lang": self.lang,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "received": self.received,
            "kept": self.kept,
            "dropped": self.dropped,
            "sentiment": dict(self.sentiment),
            "negative": self.negative.negative,
            "negative_share": round(self.negative.share, 4),
            "volume_by_hour": [n for _, n in self.volume_by_hour],
            "negative_by_hour": [n for _, n in self.negative_by_hour],
            "topics": dict(self.topics),
            "products": dict(self.products),
            "competitors": dict(self.competitors),
            "intents": dict(self.intents),
            "channels": dict(self.channels),
            "terms": [{"term": t.term, "count": t.count, "previous": t.previous} for t in self.terms],
            "response": {
                "approved_median_s": self.response.approved_median_s,
                "approved_n": self.response.approved_n,
                "sent_median_s": self.response.sent_median_s,
                "sent_n": self.response.sent_n,
            },
            "departments": [d.as_dict() for d in self.departments],
            "examples": [r.model_dump(mode="json") for r in self.examples],
            "alerts": self.alerts,
        }


def _named(rows: list[tuple[str | None, int]]) -> list[tuple[str, int]]:
    return [(k if k is not None else "unknown", n) for k, n in rows]


def _by_local_hour(counts: dict[tuple[datetime, str | None], int], tz: ZoneInfo) -> list[tuple[int, int]]:
    hours = [0] * 24
    for (hour, _), n in counts.items():
        hours[hour.astimezone(tz).hour] += n
    return list(enumerate(hours))


def _alerts(session: Session, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The day's alerts (reports.alerts: surges and fast-spreading posts), newest first."""
    from reports.alerts import AlertPublic, list_alerts

    return [AlertPublic.of(a).model_dump(mode="json") for a in list_alerts(session, since=since, until=until, limit=50)]


def build_daily(
    session: Session,
    *,
    day: date,
    tz: ZoneInfo,
    dialect: str,
    profile: OrgProfile | None,
    redactor: Redactor | None,
    lang: Lang = "ja",
    now: datetime | None = None,
) -> DailyReport:
    """Every number of one local day's report (examples redacted when `redactor` is given)."""
    since, until = day_window(day, tz)
    now = now or utcnow()
    everything = PostFilter(since=since, until=until)
    kept = PostFilter(since=since, until=until, kept=True)
    by_status = dict(_named(totals(session, everything, "status", dialect=dialect, now=now)))
    received = sum(by_status.values())
    dropped = by_status.get("dropped", 0)

    def top(dimension: str) -> list[tuple[str, int]]:
        return _named(totals(session, kept, dimension, dialect=dialect, profile=profile, limit=TOP, now=now))

    brand = profile.brand_terms() if profile else []
    negatives = PostFilter(since=since, until=until, kept=True, sentiment="negative")
    by_sentiment = totals(session, kept, "sentiment", dialect=dialect, now=now)
    risky = page(session, negatives, RowContext(profile, redactor), dialect=dialect, limit=50, now=now).items
    risky = sorted(risky, key=lambda r: (-(r.flame_risk or 0), -r.author_followers, r.id))[:5]
    return DailyReport(
        day=day,
        zone=str(tz),
        lang=lang,
        since=since,
        until=until,
        generated_at=now,
        received=received,
        kept=received - dropped,
        dropped=dropped,
        sentiment=_named(by_sentiment),
        negative=share_of_negative(by_sentiment),  # `kept` has no sentiment of its own: the same totals
        volume_by_hour=_by_local_hour(hourly_counts(session, kept, dialect=dialect, now=now), tz),
        negative_by_hour=_by_local_hour(hourly_counts(session, negatives, dialect=dialect, now=now), tz),
        topics=top("topic"),
        products=top("product") if profile else [],
        competitors=top("competitor"),
        intents=top("intent"),
        channels=top("channel"),
        terms=aggregate_top_terms(session, kept, dialect=dialect, limit=TOP, exclude=brand, now=now),
        response=response_times(session, kept, dialect=dialect, now=now),
        departments=digest(
            session, dialect=dialect, profile=profile, since=since, until=until, redactor=redactor, examples=0
        ),
        examples=risky,
        alerts=_alerts(session, since, until),
    )


# -- rendering ----------------------------------------------------------------------------------------------------

_env = Environment(
    loader=PackageLoader("reports", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _md(value: str) -> str:
    """Customer text inside Markdown: one line, no HTML, no table breaks."""
    return " ".join(str(value).split()).replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


_env.filters["md"] = _md


def _duration(seconds: float | None, lang: Lang) -> str:
    if seconds is None:
        return LABELS[lang]["none"]
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}分" if lang == "ja" else f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours}時間{rest}分" if lang == "ja" else f"{hours} h {rest} min"


def _column_chart(values: list[tuple[int, int]], highlight: list[tuple[int, int]]) -> dict[str, Any]:
    """Geometry of a 24-column chart (volume, with the negative part drawn over it)."""
    width, height, left, bottom, top = 600, 200, 36, 24, 12
    peak = max([n for _, n in values] + [1])
    step = (width - left) / max(len(values), 1)
    plot = height - bottom - top
    bars = []
    for (hour, n), (_, neg) in zip(values, highlight, strict=True):
        h = plot * n / peak
        hn = plot * neg / peak
        x = left + hour * step + 2
        bars.append(
            {
                "x": round(x, 1),
                "w": round(step - 4, 1),
                "y": round(top + plot - h, 1),
                "h": round(h, 1),
                "ny": round(top + plot - hn, 1),
                "nh": round(hn, 1),
                "n": n,
                "neg": neg,
                "label": hour,
                "lx": round(x + (step - 4) / 2, 1),
            }
        )
    ticks = [{"y": round(top + plot - plot * f, 1), "v": round(peak * f)} for f in (0, 0.5, 1)]
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "base": top + plot, "left": left}


def _bar_chart(rows: list[tuple[str, int]]) -> dict[str, Any]:
    """Geometry of a horizontal bar chart (top topics, competitors)."""
    width, label_w, row_h = 600, 200, 22
    peak = max([n for _, n in rows] + [1])
    bars = [
        {"y": i * row_h, "w": round((width - label_w - 60) * n / peak, 1), "label": k, "n": n}
        for i, (k, n) in enumerate(rows)
    ]
    return {"width": width, "height": max(len(rows), 1) * row_h, "label_w": label_w, "bars": bars, "row_h": row_h}


def _stacked(rows: list[tuple[str, int]], lang: Lang) -> dict[str, Any]:
    """Geometry of the sentiment split: one bar of 100 %."""
    width = 600
    total = sum(n for _, n in rows) or 1
    order = ["negative", "neutral", "positive", "unknown"]
    rows = sorted(rows, key=lambda kn: order.index(kn[0]) if kn[0] in order else len(order))
    parts, x = [], 0.0
    for k, n in rows:
        w = width * n / total
        parts.append(
            {
                "x": round(x, 1),
                "w": round(w, 1),
                "colour": SENTIMENT_COLOURS.get(k, "#cccccc"),
                "label": LABELS[lang].get(k, k),
                "n": n,
                "pct": round(100 * n / total),
            }
        )
        x += w
    return {"width": width, "height": 28, "parts": parts}


def _context(report: DailyReport) -> dict[str, Any]:
    lang = report.lang
    return {
        "r": report,
        "L": LABELS[lang],
        "tz": ZoneInfo(report.zone),
        "share_pct": f"{100 * report.negative.share:.1f}",
        "to_approved": _duration(report.response.approved_median_s, lang),
        "to_sent": _duration(report.response.sent_median_s, lang),
        "hours": _column_chart(report.volume_by_hour, report.negative_by_hour),
        "split": _stacked(report.sentiment, lang),
        "topics_chart": _bar_chart(report.topics),
        "competitors_chart": _bar_chart(report.competitors),
        "colours": SENTIMENT_COLOURS,
        "hour_rows": [
            (h, n, neg) for (h, n), (_, neg) in zip(report.volume_by_hour, report.negative_by_hour, strict=True)
        ],
    }


def _csv(report: DailyReport) -> str:
    """Long format: section, key, value (one number per line; spreadsheet-friendly, UTF-8 with a BOM)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "key", "value"])
    w.writerow(["date", report.day.isoformat(), report.zone])
    for key in ("received", "kept", "dropped"):
        w.writerow(["totals", key, getattr(report, key)])
    w.writerow(["totals", "negative", report.negative.negative])
    w.writerow(["totals", "negative_share", f"{report.negative.share:.4f}"])
    for hour, n in report.volume_by_hour:
        w.writerow(["volume_by_hour", f"{hour:02d}", n])
    for hour, n in report.negative_by_hour:
        w.writerow(["negative_by_hour", f"{hour:02d}", n])
    for section in ("sentiment", "topics", "products", "competitors", "intents", "channels"):
        for k, n in getattr(report, section):
            w.writerow([section, k, n])
    for t in report.terms:
        w.writerow(["terms", t.term, t.count])
        w.writerow(["terms_previous", t.term, t.previous])
    w.writerow(["response", "approved_median_s", report.response.approved_median_s or ""])
    w.writerow(["response", "sent_median_s", report.response.sent_median_s or ""])
    for d in report.departments:
        w.writerow(["departments", d.department, d.posts])
        w.writerow(["departments_escalated_pending", d.department, d.escalated_pending])
    return "\ufeff" + buf.getvalue()


def render(report: DailyReport, fmt: str) -> str:
    """The report as `html`, `md` or `csv`."""
    if fmt == "csv":
        return _csv(report)
    if fmt == "html":
        return _env.get_template("daily.html.j2").render(**_context(report))
    if fmt == "md":
        return _env.get_template("daily.md.j2").render(**_context(report))
    raise InvalidInput(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _build_for(rt: Any, day: date, lang: Lang) -> DailyReport:
    tz = report_zone(rt.settings)
    redactor = rt.redactor()
    with rt.db.reading() as s:
        _, profile = rt.org.current(s)
        return build_daily(s, day=day, tz=tz, dialect=rt.db.dialect, profile=profile, redactor=redactor, lang=lang)


def write_daily(rt: Any, day: date, lang: Lang, out: Path) -> tuple[DailyReport, list[Path]]:
    """Write `daily-DATE-LANG.{html,md,csv}` into `out` (made if needed); returns the report and the paths."""
    report = _build_for(rt, day, lang)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FORMATS:
        path = out / f"daily-{day.isoformat()}-{lang}.{fmt}"
        path.write_text(render(report, fmt), encoding="utf-8")
        paths.append(path)
    return report, paths


def mail_daily(settings: Settings, report: DailyReport, to: list[str] | None = None) -> str:
    """Send the report (HTML with a plain-text Markdown alternative, the CSV attached); returns the Message-ID."""
    from reports.mail import Attachment, MailMessage, send_mail

    subject = f"{LABELS[report.lang]['title']} {report.day.isoformat()}"
    message = MailMessage(
        subject=subject,
        text=render(report, "md"),
        html=render(report, "html"),
        to=to or (),
        attachments=[Attachment(f"daily-{report.day.isoformat()}.csv", render(report, "csv").encode(), "text/csv")],
    )
    return send_mail(settings, message)


# -- the scheduled run -----------------------------------------------------------------------------------------------

RUN_AFTER_MIDNIGHT = timedelta(minutes=10)  # late posts of the day have arrived by then


def _yesterday(settings: Settings, now: datetime) -> date:
    return (now.astimezone(report_zone(settings)) - timedelta(days=1)).date()


def schedule_daily_report(
    db: Database, settings: Settings, *, day: date | None = None, now: datetime | None = None
) -> Job | None:
    """Queue the report of `day` (default: the current local day), to run 10 minutes after the day ends (once,
    whatever the number of processes); None when `KIZUKI_REPORT_DAILY` is off."""
    if not settings.report_daily:
        return None
    tz = report_zone(settings)
    day = day or (now or utcnow()).astimezone(tz).date()
    _, end = day_window(day, tz)
    key = f"{JobKind.REPORT_DAILY}:{day.isoformat()}"
    return jobs.enqueue_once(
        db, JobKind.REPORT_DAILY, {"date": day.isoformat()}, dedupe_key=key, run_after=end + RUN_AFTER_MIDNIGHT
    )


def daily_report_handlers(rt: Any) -> dict[str, Handler]:
    """The `report_daily` job: write the day's report under KIZUKI_HOME/reports (mail it to
    `KIZUKI_REPORT_MAIL_TO` when set), then queue the next day's."""

    def run(payload: dict[str, Any]) -> None:
        settings: Settings = rt.settings
        try:
            day = date.fromisoformat(str(payload.get("date")))
        except ValueError:
            day = _yesterday(settings, utcnow())
        # The next run is queued first: a run that fails for good must not end the daily reports.
        schedule_daily_report(rt.db, settings, day=day + timedelta(days=1))
        report, paths = write_daily(rt, day, settings.report_lang, Path(settings.home) / "reports")
        log.info("daily report %s written: %s", day.isoformat(), ", ".join(p.name for p in paths))
        if settings.report_mail_to:
            mail_daily(settings, report, settings.report_mail_to)

    async def handle(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:
        await asyncio.to_thread(run, payload)

    return {JobKind.REPORT_DAILY: handle}
