"""REST: surge and spreading-post alerts (read-only; `kizuki alerts scan` and the worker raise them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Actor, IdPath, Offset, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from kizuki.core.errors import InvalidInput
from reports.alerts import AlertPublic, get_alert, list_alerts

router = APIRouter(prefix="/v1", tags=["alerts"], responses=ERROR_RESPONSES)


@router.get("/alerts", response_model=list[AlertPublic], summary="Alerts, newest window first")
def alerts_index(
    rt: RuntimeDep,
    actor: Annotated[Actor, requires("agent", "editor")],
    since: Annotated[
        datetime | None,
        Query(description="Alerts about posts from, or raised since, this time (with a time zone; default 7 days ago)"),
    ] = None,
    until: Annotated[datetime | None, Query(description="Windows starting before this (with a time zone)")] = None,
    include_suppressed: Annotated[bool, Query(description="Also repeats suppressed by the cool-down")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[AlertPublic]:
    """Each alert explains itself: top terms, sentiment split, example posts (personal data redacted), the ids of
    the posts behind it, and each channel's sending state."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone, e.g. 2026-11-20T10:00:00+09:00")
    start = since or datetime.now(UTC) - timedelta(days=7)
    with rt.db.reading() as s:
        rows = list_alerts(
            s,
            since=start,
            until=until,
            limit=limit,
            offset=offset,
            include_suppressed=include_suppressed,
            raised_since_too=True,
        )
        return [AlertPublic.of(a) for a in rows]


@router.get("/alerts/{alert_id}", response_model=AlertPublic, summary="One alert")
def alert_detail(rt: RuntimeDep, actor: Annotated[Actor, requires("agent", "editor")], alert_id: IdPath) -> AlertPublic:
    with rt.db.reading() as s:
        return AlertPublic.of(get_alert(s, alert_id))
