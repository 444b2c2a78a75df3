"""REST: network connectors (admin): their configuration, status and budget, a run now, and what they sent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import MAX_ID, Actor, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from delivery.connectors import service
from delivery.connectors.base import ConnectorConfig

router = APIRouter(prefix="/v1", tags=["connectors"], responses=ERROR_RESPONSES)

Admin = Annotated[Actor, requires("admin")]


class ConnectorsPublic(BaseModel):
    version: int = Field(description="0: none set yet")
    connectors: list[ConnectorConfig]
    created_at: datetime | None = None
    created_by: str | None = None
    note: str | None = None


class ConnectorsUpdate(BaseModel):
    connectors: list[dict[str, Any]] = Field(
        max_length=200, description="The YAML list as JSON: name, kind, base_url, options, interval_s, budget, enabled"
    )
    version: int = Field(ge=0, description="The version you edited (0 = none set yet); stale → 409")
    note: str | None = Field(default=None, max_length=2000)


def _public(row: Any) -> ConnectorsPublic:
    if row is None:
        return ConnectorsPublic(version=0, connectors=[])
    return ConnectorsPublic(
        version=row.version,
        connectors=[ConnectorConfig.model_validate(c) for c in row.connectors],
        created_at=row.created_at,
        created_by=row.created_by,
        note=row.note,
    )


@router.get("/connectors", response_model=ConnectorsPublic, summary="The connectors in force")
def get_connectors(rt: RuntimeDep, actor: Admin) -> ConnectorsPublic:
    with rt.db.reading() as s:
        return _public(service.current_row(s))


@router.put("/connectors", response_model=ConnectorsPublic, summary="Save a new version (no secrets: 422)")
def put_connectors(rt: RuntimeDep, actor: Admin, body: ConnectorsUpdate) -> ConnectorsPublic:
    service.parse_connectors(body.connectors)  # before the transaction: a bad document never waits on the lock
    with rt.db.session() as s:
        row = service.save(s, body.connectors, edited_version=body.version, actor=actor.name, note=body.note)
        return _public(row)


@router.get("/connectors/status", response_model=list[service.ConnectorStatus], summary="Runs, errors, budget")
def connector_status(rt: RuntimeDep, actor: Admin) -> list[service.ConnectorStatus]:
    with rt.db.reading() as s:
        return service.statuses(s)


@router.get("/connectors/sent", response_model=list[service.SentPublic], summary="Replies, likes and DMs sent")
def connector_sent(
    rt: RuntimeDep,
    actor: Annotated[Actor, requires("agent")],
    draft_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[service.SentPublic]:
    with rt.db.reading() as s:
        return service.sent_for(s, draft_id)


@router.post("/connectors/{name}/run", response_model=service.RunReport, summary="Poll one connector now")
async def run_connector(rt: RuntimeDep, actor: Admin, name: Annotated[str, Path(max_length=32)]) -> service.RunReport:
    (report,) = await service.listen_once(rt, [name])
    return report
