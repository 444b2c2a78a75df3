"""REST: the daily report, aggregates over posts (`/v1/stats/...`) and the per-department digest.

Every endpoint takes the same post filters as `GET /v1/posts` (time window capped at 400 days); a bad value is a
422 with the reason. Example posts are redacted unless the caller is an admin.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from agent.org.schemas import OrgProfile
from agent.posts.lifecycle import DraftStatus
from agent.posts.privacy import Redactor
from agent.schemas import Intent, Sentiment
from api.deps import Actor, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from kizuki.core.errors import InvalidInput
from kizuki.core.orm import utcnow
from kizuki.runtime import Runtime
from reports import aggregates
from reports.daily import FORMATS, build_daily, render, report_zone
from reports.departments import digest
from reports.explore import PostFilter, filter_problem, filtered

router = APIRouter(prefix="/v1", tags=["reports"], responses=ERROR_RESPONSES)
Reader = Annotated[Actor, requires("agent")]
PERSONAL_DATA_ROLES = ("admin",)  # who sees authors' handles, names, URLs and unredacted texts


def post_filter(
    since: Annotated[datetime | None, Query(description="From (inclusive), ISO 8601; default until - 30 days")] = None,
    until: Annotated[datetime | None, Query(description="To (exclusive); default now")] = None,
    source: Annotated[str | None, Query(max_length=32)] = None,
    lang: Annotated[str | None, Query(max_length=8)] = None,
    sentiment: Sentiment | None = None,
    intent: Intent | None = None,
    product: Annotated[str | None, Query(max_length=200)] = None,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    competitor: Annotated[str | None, Query(max_length=200)] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    kept: Annotated[bool | None, Query(description="true: kept by the watch rules; false: dropped")] = None,
    has_draft: bool | None = None,
    draft_status: DraftStatus | None = None,
) -> PostFilter:
    try:
        return PostFilter(
            since=since,
            until=until,
            source=source,
            lang=lang,
            sentiment=sentiment,
            intent=intent,
            product=product,
            topic=topic,
            competitor=competitor,
            department=department,
            kept=kept,
            has_draft=has_draft,
            draft_status=draft_status,
        )
    except ValidationError as exc:
        raise InvalidInput(filter_problem(exc)) from None


Filter = Annotated[PostFilter, Depends(post_filter)]


def redactor_for(rt: Runtime, actor: Actor) -> Redactor | None:
    """None when the actor may see personal data; else the redactor with the rules in force."""
    return None if actor.role in PERSONAL_DATA_ROLES else rt.redactor()


def checked(rt: Runtime, flt: PostFilter) -> tuple[OrgProfile | None, str]:
    """The profile in force, after checking the filter against it (unknown product or department → 422)."""
    with rt.db.reading() as s:
        _, profile = rt.org.current(s)
    filtered(flt, rt.db.dialect, profile=profile)
    return profile, rt.db.dialect


class CountPoint(BaseModel):
    start: datetime
    key: str | None
    count: int


class Counts(BaseModel):
    dimension: str | None
    bucket: str
    zone: str
    points: list[CountPoint]


class Total(BaseModel):
    key: str | None
    count: int


class Totals(BaseModel):
    dimension: str
    items: list[Total]


class NegativeShare(BaseModel):
    negative: int
    total: int
    share: float


class Term(BaseModel):
    term: str
    count: int
    previous: int
    change: int


class Terms(BaseModel):
    items: list[Term]


class ResponseTimesOut(BaseModel):
    approved_median_s: float | None
    approved_n: int
    sent_median_s: float | None
    sent_n: int


Dimension = Literal[
    "sentiment", "intent", "urgency", "channel", "source", "lang", "status", "topic", "product", "competitor"
]


@router.get("/stats/counts", response_model=Counts, summary="Posts per hour or local day, optionally by a dimension")
def counts(
    rt: RuntimeDep,
    actor: Reader,
    flt: Filter,
    dimension: Dimension | None = None,
    bucket: Literal["hour", "day"] = "hour",
) -> Counts:
    profile, dialect = checked(rt, flt)
    tz = report_zone(rt.settings)
    with rt.db.reading() as s:
        points = aggregates.series(s, flt, dimension, bucket=bucket, dialect=dialect, tz=tz, profile=profile)
    return Counts(
        dimension=dimension,
        bucket=bucket,
        zone=str(tz),
        points=[CountPoint(start=p.start, key=p.key, count=p.count) for p in points],
    )


@router.get("/stats/totals", response_model=Totals, summary="Posts per value of a dimension, the largest first")
def totals(
    rt: RuntimeDep,
    actor: Reader,
    flt: Filter,
    dimension: Dimension,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Totals:
    profile, dialect = checked(rt, flt)
    with rt.db.reading() as s:
        rows = aggregates.totals(s, flt, dimension, dialect=dialect, profile=profile, limit=limit)
    return Totals(dimension=dimension, items=[Total(key=k, count=n) for k, n in rows])


@router.get("/stats/negative-share", response_model=NegativeShare, summary="Negative posts among the matching posts")
def negative(rt: RuntimeDep, actor: Reader, flt: Filter) -> NegativeShare:
    profile, dialect = checked(rt, flt)
    with rt.db.reading() as s:
        share = aggregates.negative_share(s, flt, dialect=dialect, profile=profile)
    return NegativeShare(negative=share.negative, total=share.total, share=share.share)


@router.get(
    "/stats/top-terms",
    response_model=Terms,
    summary="Words most posts use, with their count in the previous window of the same length",
)
def top_terms(rt: RuntimeDep, actor: Reader, flt: Filter, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> Terms:
    profile, dialect = checked(rt, flt)
    with rt.db.reading() as s:
        rows = aggregates.top_terms(s, flt, dialect=dialect, profile=profile, limit=limit)
    return Terms(items=[Term(term=t.term, count=t.count, previous=t.previous, change=t.change) for t in rows])


@router.get(
    "/stats/response-times",
    response_model=ResponseTimesOut,
    summary="Median seconds from a post to its approved reply and to its sent reply",
)
def response_times(rt: RuntimeDep, actor: Reader, flt: Filter) -> ResponseTimesOut:
    profile, dialect = checked(rt, flt)
    with rt.db.reading() as s:
        r = aggregates.response_times(s, flt, dialect=dialect, profile=profile)
    return ResponseTimesOut(
        approved_median_s=r.approved_median_s,
        approved_n=r.approved_n,
        sent_median_s=r.sent_median_s,
        sent_n=r.sent_n,
    )


_MEDIA = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8", "csv": "text/csv; charset=utf-8"}


@router.get(
    "/reports/daily",
    summary="The daily report (日報) of one local day: HTML with SVG charts, Markdown, CSV or JSON",
    response_class=Response,
    responses={200: {"content": {m.split(";")[0]: {} for m in _MEDIA.values()} | {"application/json": {}}}},
)
def daily(
    rt: RuntimeDep,
    actor: Reader,
    date_: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD; default yesterday")] = None,
    lang: Literal["ja", "en"] = "ja",
    format_: Annotated[Literal["html", "md", "csv", "json"], Query(alias="format")] = "html",
) -> Response:
    tz = report_zone(rt.settings)
    day = date_ or (utcnow().astimezone(tz) - timedelta(days=1)).date()
    today = utcnow().astimezone(tz).date()
    if day > today:
        raise InvalidInput(f"date {day.isoformat()} is in the future (today is {today.isoformat()} in {tz})")
    if (today - day).days > 400:
        raise InvalidInput("date is more than 400 days ago")
    redactor = redactor_for(rt, actor)
    with rt.db.reading() as s:
        _, profile = rt.org.current(s)
        report = build_daily(s, day=day, tz=tz, dialect=rt.db.dialect, profile=profile, redactor=redactor, lang=lang)
    if format_ == "json":
        return Response(json.dumps(report.as_dict(), ensure_ascii=False), media_type="application/json")
    assert format_ in FORMATS
    return Response(render(report, format_), media_type=_MEDIA[format_])


class DepartmentOut(BaseModel):
    department: str
    terms: list[str]
    posts: int
    negative: int
    escalated_pending: int
    top_topics: list[dict[str, object]]
    examples: list[dict[str, object]]


class Digest(BaseModel):
    since: datetime
    until: datetime
    items: list[DepartmentOut]


@router.get(
    "/reports/departments",
    response_model=Digest,
    summary="Per department: its posts (routing: docs/reports.md), negatives, pending escalations, examples",
)
def departments(
    rt: RuntimeDep,
    actor: Reader,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> Digest:
    flt = post_filter(since=since, until=until)
    s_, u_ = flt.window()
    redactor = redactor_for(rt, actor)
    with rt.db.reading() as s:
        _, profile = rt.org.current(s)
        rows = digest(s, dialect=rt.db.dialect, profile=profile, since=s_, until=u_, redactor=redactor)
    return Digest(since=s_, until=u_, items=[DepartmentOut.model_validate(d.as_dict()) for d in rows])
