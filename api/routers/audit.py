"""The audit log (admin): who did what, when, with before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import Actor, Offset, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from kizuki.core import audit
from kizuki.core.errors import InvalidInput

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


class ChainProblemPublic(BaseModel):
    entry_id: int | None
    problem: str


class CheckpointPublic(BaseModel):
    line: int
    entry_id: int
    hash: str
    count: int
    at: str
    signed: bool


class AuditVerifyPublic(BaseModel):
    ok: bool
    entries: int
    signed: bool
    unsigned_entries: int
    problems: list[ChainProblemPublic]
    warnings: list[str]
    checkpoint_file: str | None
    checkpoints: int
    last_checkpoint: CheckpointPublic | None


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: Any
    after: Any
    note: str | None
    hash: str


@router.get("/audit", response_model=list[AuditPublic], tags=["admin"], summary="Who did what, when")
def list_audit(
    rt: RuntimeDep,
    actor: Annotated[Actor, requires("admin")],
    subject: Annotated[str | None, Query(max_length=300, description="e.g. draft:12, knowledge:returns-01")] = None,
    actor_: Annotated[str | None, Query(alias="actor", max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[AuditPublic]:
    if since is not None and since.tzinfo is None:
        raise InvalidInput("since needs a time zone, e.g. 2026-11-20T10:00:00+09:00")
    with rt.db.reading() as s:
        rows = audit.search(s, subject=subject, actor=actor_, action=action, since=since, limit=limit, offset=offset)
        return [AuditPublic.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/audit/verify",
    response_model=AuditVerifyPublic,
    tags=["admin"],
    summary="Check the audit log for tampering (chain, signatures, checkpoints)",
)
def verify_audit(rt: RuntimeDep, actor: Annotated[Actor, requires("admin")]) -> AuditVerifyPublic:
    """What `kizuki audit verify` reports: `ok` is false when an entry was changed, forged or deleted."""
    guard = audit.guard_from(rt.settings)
    with rt.db.reading() as s:
        report = audit.verify_all(s, guard)
    return AuditVerifyPublic.model_validate(report.as_dict())
