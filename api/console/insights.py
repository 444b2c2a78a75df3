"""Console pages for support leads: the daily report (日報), alerts, the posts explorer with exports, departments.

Every page reads through the same `reports` functions and with the same roles as REST (`/v1/reports/daily`,
`/v1/alerts`, `/v1/posts`, `/v1/reports/departments`), and redacts personal data by the same rule: an admin sees
authors and texts as stored, everyone else gets them redacted (downloads included).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.org.schemas import OrgProfile
from agent.posts.lifecycle import DraftStatus
from agent.posts.models import Draft, Post
from agent.posts.privacy import Redactor
from agent.schemas import Intent, Sentiment
from api.console.auth import console_actor, csrf_protect
from api.console.i18n import request_language
from api.console.render import render
from api.deps import Actor, IdPath, RuntimeDep
from api.routers.reports import redactor_for
from kizuki.core.errors import InvalidInput
from kizuki.core.orm import utcnow
from kizuki.runtime import Runtime
from reports import daily as daily_report
from reports.alerts import Alert, AlertPublic, AlertStatus, get_alert, list_alerts
from reports.departments import ESCALATION_DEPARTMENTS, department_names, digest
from reports.explore import (
    MAX_RANGE_DAYS,
    PostFilter,
    RowContext,
    export_lines,
    filter_problem,
    filtered,
    iter_rows,
    page,
)
from reports.query import POST_TIME

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

# The roles REST declares: reports, stats and posts are read by agents; alerts by agents and editors.
ReportReader = Annotated[Actor, console_actor("agent")]
AlertReader = Annotated[Actor, console_actor("agent", "editor")]

PAGE_SIZE = 50
ALERT_PAGE_SIZE = 50
MAX_PAGE_NO = 10_000
ESCALATED_SHOWN = 20
ALERT_POSTS_SHOWN = 50
PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE_NO)]
DateText = Annotated[str, Query(max_length=10)]
Term = Annotated[str, Query(max_length=200)]
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only: \\d also takes "２"
_DRAFT_STATUSES = [s.value for s in DraftStatus]
_EXPORT_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
_REPORT_MEDIA = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
# The downloaded HTML report carries its own <style>; it is a file, never a console page, and runs no script.
_REPORT_FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def _lang(request: Request) -> daily_report.Lang:
    return "ja" if request_language(request) == "ja" else "en"


def _parse_day(raw: str, name: str) -> date | None:
    """A `YYYY-MM-DD` field ('' → None); anything else is a 422 that names the field."""
    raw = raw.strip()
    if not raw:
        return None
    if not _DAY.fullmatch(raw):
        raise InvalidInput(f"{name}: {raw!r} is not a date of the form YYYY-MM-DD")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {raw!r} is not a calendar date") from None
    if not 1970 <= day.year <= 2199:  # the years the reports read (and a local midnight can be computed for)
        raise InvalidInput(f"{name}: {raw!r} is outside the years 1970-2199")
    return day


def _local_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _drafts_of(session: Session, post_ids: Sequence[int]) -> dict[int, int]:
    """post id → its newest draft's id (for links to the draft page)."""
    out: dict[int, int] = {}
    if not post_ids:
        return out
    rows = session.execute(
        select(Draft.post_id, Draft.id)
        .where(Draft.post_id.in_(list(post_ids)))
        .order_by(Draft.post_id, Draft.generation)
    )
    for post_id, draft_id in rows:
        out[post_id] = draft_id  # the newest generation comes last
    return out


def _profile(rt: Runtime) -> OrgProfile | None:
    with rt.db.reading() as s:
        _, profile = rt.org.current(s)
    return profile


# -- the daily report ------------------------------------------------------------------------------------------


def _report_day(rt: Runtime, raw: str) -> tuple[date, date, ZoneInfo]:
    """The day asked for (default: yesterday in the report's time zone), today, and the zone; a future day or one
    more than 400 days ago is refused with the reason, as REST does."""
    tz = daily_report.report_zone(rt.settings)
    today = utcnow().astimezone(tz).date()
    day = _parse_day(raw, "date") or today - timedelta(days=1)
    if day > today:
        raise InvalidInput(f"date {day.isoformat()} is in the future (today is {today.isoformat()} in {tz})")
    if (today - day).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"date {day.isoformat()} is more than {MAX_RANGE_DAYS} days ago")
    return day, today, tz


def _build(rt: Runtime, actor: Actor, day: date, tz: ZoneInfo, lang: daily_report.Lang) -> daily_report.DailyReport:
    redactor = redactor_for(rt, actor)
    with rt.db.reading() as s:
        _, profile = rt.org.current(s)
        return daily_report.build_daily(
            s, day=day, tz=tz, dialect=rt.db.dialect, profile=profile, redactor=redactor, lang=lang
        )


@router.get("/reports/daily")
def daily_page(
    request: Request, rt: RuntimeDep, actor: ReportReader, date_: Annotated[DateText, Query(alias="date")] = ""
) -> Response:
    """One local day's report as a console page: the same numbers and charts as the downloadable file."""
    day, today, tz = _report_day(rt, date_)
    lang = _lang(request)
    report = _build(rt, actor, day, tz, lang)
    with rt.db.reading() as s:
        drafts = _drafts_of(s, [p.id for p in report.examples])
    values: dict[str, Any] = daily_report._context(report)  # the chart geometry the file uses
    values.update(
        day=day,
        today=today,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1) if day < today else None,
        drafts=drafts,
        alerts=[a for a in report.alerts if a.get("status") != AlertStatus.RELATED],
        week_since=(day - timedelta(days=6)).isoformat(),
    )
    return render(request, "insights_daily.html", values)


@router.get("/reports/daily/download")
def daily_download(
    request: Request,
    rt: RuntimeDep,
    actor: ReportReader,
    date_: Annotated[DateText, Query(alias="date")] = "",
    format_: Annotated[Literal["html", "md", "csv"], Query(alias="format")] = "md",
) -> Response:
    """The day's report as a file (Markdown, CSV or HTML), in the console's language, redacted as on REST."""
    day, _, tz = _report_day(rt, date_)
    lang = _lang(request)
    body = daily_report.render(_build(rt, actor, day, tz, lang), format_)
    headers = {
        "Content-Disposition": f'attachment; filename="daily-{day.isoformat()}-{lang}.{format_}"',
        "Cache-Control": "no-store",
    }
    if format_ == "html":
        headers["Content-Security-Policy"] = _REPORT_FILE_CSP
    return Response(body, media_type=_REPORT_MEDIA[format_], headers=headers)


# -- alerts ------------------------------------------------------------------------------------------------------


@router.get("/alerts")
def alerts_page(
    request: Request,
    rt: RuntimeDep,
    actor: AlertReader,
    since: DateText = "",
    show_all: Annotated[bool, Query(alias="all")] = False,
    page_no: Annotated[PageNo, Query(alias="page")] = 1,
) -> Response:
    """Alerts about posts from, or raised since, `since` (default the last 7 days), newest window first."""
    tz = daily_report.report_zone(rt.settings)
    day = _parse_day(since, "since")
    start = _local_start(day, tz) if day else utcnow() - timedelta(days=7)
    with rt.db.reading() as s:
        rows = list_alerts(
            s,
            since=start,
            limit=ALERT_PAGE_SIZE + 1,
            offset=(page_no - 1) * ALERT_PAGE_SIZE,
            include_suppressed=show_all,
            raised_since_too=True,
        )
        items = [AlertPublic.of(a) for a in rows[:ALERT_PAGE_SIZE]]

    def query(**changes: Any) -> str:
        current = {"since": since, "all": "true" if show_all else "", "page": page_no}
        return urlencode({k: v for k, v in {**current, **changes}.items() if v not in ("", None, 1)})

    return render(
        request,
        "insights_alerts.html",
        {
            "items": items,
            "since": since,
            "start": start,
            "show_all": show_all,
            "page": page_no,
            "has_next": len(rows) > ALERT_PAGE_SIZE,
            "query": query,
        },
    )


def _followers(session: Session, alert_id: int) -> list[Alert]:
    """Alerts stored as repeats of, or folded into, this one."""
    return list(session.scalars(select(Alert).where(Alert.repeat_of == alert_id).order_by(Alert.id).limit(50)))


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, rt: RuntimeDep, actor: AlertReader, alert_id: IdPath) -> Response:
    """One alert and what explains it: method and baselines, top terms, sentiment, example posts (redacted, as
    stored), the posts behind it with links to their drafts, related alerts and each channel's sending."""
    with rt.db.reading() as s:
        alert = AlertPublic.of(get_alert(s, alert_id))
        lead = AlertPublic.of(get_alert(s, alert.repeat_of)) if alert.repeat_of else None
        followers = [AlertPublic.of(a) for a in _followers(s, alert_id)]
        drafts = _drafts_of(s, alert.post_ids)
    explanation = alert.explanation
    return render(
        request,
        "insights_alert.html",
        {
            "a": alert,
            "lead": lead,
            "followers": followers,
            "drafts": drafts,
            "examples": explanation.get("examples") or [],
            "top_terms": explanation.get("top_terms") or [],
            "sentiment": explanation.get("sentiment") or {},
            "baselines": explanation.get("baselines") or {},
            "related": explanation.get("related") or [],
            "shown_posts": alert.post_ids[:ALERT_POSTS_SHOWN],
        },
    )


# -- posts -------------------------------------------------------------------------------------------------------


class PostFilterForm(BaseModel):
    """The posts page's filter fields as typed ('' = any); `filter()` turns them into a `PostFilter`."""

    since: str = ""
    until: str = ""
    source: str = ""
    lang: str = ""
    sentiment: str = ""
    intent: str = ""
    product: str = ""
    topic: str = ""
    competitor: str = ""
    department: str = ""
    kept: str = ""
    has_draft: str = ""
    draft_status: str = ""

    def filter(self, tz: ZoneInfo) -> PostFilter:
        """The filter, dates read as local days of the report's time zone (`until` inclusive)."""
        since, until = _parse_day(self.since, "since"), _parse_day(self.until, "until")
        choices = {
            "sentiment": (self.sentiment, get_args(Sentiment)),
            "intent": (self.intent, get_args(Intent)),
            "draft_status": (self.draft_status, _DRAFT_STATUSES),
        }
        for name, (value, allowed) in choices.items():
            if value and value not in allowed:
                raise InvalidInput(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        yes_no = {"": None, "true": True, "false": False}
        for name, value in (("kept", self.kept), ("has_draft", self.has_draft)):
            if value not in yes_no:
                raise InvalidInput(f"{name}: {value!r} must be true, false or empty")
        try:
            return PostFilter(
                since=_local_start(since, tz) if since else None,
                until=_local_start(until + timedelta(days=1), tz) if until else None,
                source=self.source or None,
                lang=self.lang or None,
                sentiment=self.sentiment or None,
                intent=self.intent or None,
                product=self.product or None,
                topic=self.topic or None,
                competitor=self.competitor or None,
                department=self.department or None,
                kept=yes_no[self.kept],
                has_draft=yes_no[self.has_draft],
                draft_status=DraftStatus(self.draft_status) if self.draft_status else None,
            )
        except ValidationError as exc:
            raise InvalidInput(filter_problem(exc)) from None

    def query(self, **extra: Any) -> str:
        values = {k: v for k, v in self.model_dump().items() if v}
        values.update({k: v for k, v in extra.items() if v not in ("", None)})
        return urlencode(values)


def post_filters(
    since: DateText = "",
    until: DateText = "",
    source: Annotated[str, Query(max_length=32)] = "",
    lang: Annotated[str, Query(max_length=8)] = "",
    sentiment: Annotated[str, Query(max_length=16)] = "",
    intent: Annotated[str, Query(max_length=16)] = "",
    product: Term = "",
    topic: Term = "",
    competitor: Term = "",
    department: Annotated[str, Query(max_length=64)] = "",
    kept: Annotated[str, Query(max_length=5)] = "",
    has_draft: Annotated[str, Query(max_length=5)] = "",
    draft_status: Annotated[str, Query(max_length=16)] = "",
) -> PostFilterForm:
    return PostFilterForm(
        since=since.strip(),
        until=until.strip(),
        source=source.strip(),
        lang=lang.strip(),
        sentiment=sentiment,
        intent=intent,
        product=product.strip(),
        topic=topic.strip(),
        competitor=competitor.strip(),
        department=department,
        kept=kept,
        has_draft=has_draft,
        draft_status=draft_status,
    )


Filters = Annotated[PostFilterForm, Depends(post_filters)]


def _checked_filter(rt: Runtime, form: PostFilterForm, profile: OrgProfile | None) -> PostFilter:
    """The filter, checked against the profile too (an unknown product or department is refused with the names)."""
    flt = form.filter(daily_report.report_zone(rt.settings))
    filtered(flt, rt.db.dialect, profile=profile)
    return flt


@router.get("/posts")
def posts_page(
    request: Request,
    rt: RuntimeDep,
    actor: ReportReader,
    form: Filters,
    page_no: Annotated[PageNo, Query(alias="page")] = 1,
) -> Response:
    """Posts with filters, newest first, paged; each row links to its draft; export links keep the filters."""
    profile = _profile(rt)
    tz = daily_report.report_zone(rt.settings)
    today = utcnow().astimezone(tz).date()
    values: dict[str, Any] = {
        "form": form,
        "page": page_no,
        "sentiments": get_args(Sentiment),
        "intents": get_args(Intent),
        "draft_statuses": _DRAFT_STATUSES,
        "products": [p.name for p in profile.products] if profile else [],
        "departments": department_names(profile),
        "zone": str(tz),
        "week_negative": urlencode(
            {
                "since": (today - timedelta(days=6)).isoformat(),
                "until": today.isoformat(),
                "sentiment": "negative",
                "kept": "true",
            }
        ),
    }
    try:
        flt = _checked_filter(rt, form, profile)
    except InvalidInput as exc:
        return render(request, "insights_posts.html", {**values, "error": exc.detail, "result": None}, status_code=422)
    ctx = RowContext(profile, redactor_for(rt, actor))
    with rt.db.reading() as s:
        result = page(s, flt, ctx, dialect=rt.db.dialect, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
        drafts = _drafts_of(s, [r.id for r in result.items])
    values.update(
        result=result,
        drafts=drafts,
        error=None,
        has_next=page_no * PAGE_SIZE < result.total,
        pages=max(1, -(-result.total // PAGE_SIZE)),
    )
    return render(request, "insights_posts.html", values)


@router.get("/posts/export")
def posts_export(
    rt: RuntimeDep,
    actor: ReportReader,
    form: Filters,
    format_: Annotated[Literal["csv", "jsonl"], Query(alias="format")] = "csv",
) -> StreamingResponse:
    """Every post matching the filters as a file (streamed in batches), redacted unless the person is an admin."""
    profile = _profile(rt)
    flt = _checked_filter(rt, form, profile)  # a bad filter is a 422 page before the first byte
    ctx = RowContext(profile, redactor_for(rt, actor))
    now = utcnow()
    since, until = flt.window(now)
    name = f"posts-{since:%Y%m%d%H%M}-{until:%Y%m%d%H%M}.{format_}"
    return StreamingResponse(
        export_lines(iter_rows(rt.db, flt, ctx, now=now), format_),
        media_type=_EXPORT_MEDIA[format_],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


# -- departments ---------------------------------------------------------------------------------------------------


def _escalated(
    session: Session, name: str, since: datetime, until: datetime, redactor: Redactor | None
) -> list[dict[str, Any]]:
    """Pending drafts escalated to a department (highest priority first), with their post's text (redacted)."""
    rows = session.execute(
        select(Draft.id, Draft.priority, Draft.created_at, Post.text, Post.author_handle, Post.author_name)
        .join(Post, Post.id == Draft.post_id)
        .where(
            Draft.escalate_to == name,
            Draft.status == DraftStatus.PENDING,
            POST_TIME >= since,  # noqa: SIM300 - POST_TIME is an expression
            POST_TIME < until,  # noqa: SIM300
        )
        .order_by(Draft.priority.desc(), Draft.id)
        .limit(ESCALATED_SHOWN)
    )
    out = []
    for draft_id, priority, created_at, text, handle, author in rows:
        if redactor is not None:
            text = redactor.redact(text, [t for t in (handle, f"@{handle}" if handle else None, author) if t])
        out.append({"id": draft_id, "priority": priority, "created_at": created_at, "text": text[:280]})
    return out


@router.get("/departments")
def departments_page(
    request: Request, rt: RuntimeDep, actor: ReportReader, since: DateText = "", until: DateText = ""
) -> Response:
    """Per department (routing: docs/reports.md): posts, negatives, pending escalations with links, top topics and
    the riskiest posts, over local days (default the last 7)."""
    tz = daily_report.report_zone(rt.settings)
    today = utcnow().astimezone(tz).date()
    first = _parse_day(since, "since") or today - timedelta(days=6)
    last = _parse_day(until, "until") or today
    if last < first:
        raise InvalidInput("until must not be before since")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InvalidInput(f"the time range is at most {MAX_RANGE_DAYS} days")
    start, end = _local_start(first, tz), _local_start(last + timedelta(days=1), tz)
    redactor = redactor_for(rt, actor)
    with rt.db.reading() as s:
        _, profile = rt.org.current(s)
        rows = digest(s, dialect=rt.db.dialect, profile=profile, since=start, until=end, redactor=redactor)
        escalated = {d.department: _escalated(s, d.department, start, end, redactor) for d in rows}
        drafts = _drafts_of(s, [int(e["id"]) for d in rows for e in d.examples])
    return render(
        request,
        "insights_departments.html",
        {
            "rows": rows,
            "escalated": escalated,
            "drafts": drafts,
            "first": first,
            "last": last,
            "zone": str(tz),
            "queue_departments": ESCALATION_DEPARTMENTS,
            "posts_query": lambda dep: urlencode(
                {"since": first.isoformat(), "until": last.isoformat(), "department": dep, "kept": "true"}
            ),
        },
    )
