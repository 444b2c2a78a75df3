"""Watch rules: the version in force, a new version (editor), every version."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from agent.intake import service
from api.deps import Actor, RuntimeDep, requires
from api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


class WatchRulesPublic(BaseModel):
    version: int
    rules: dict[str, Any]
    created_at: datetime | None = None
    created_by: str | None = None
    note: str | None = None


class WatchRulesUpdate(BaseModel):
    rules: dict[str, Any]
    version: int = Field(ge=0, description="The version you edited (0 = the shipped defaults); stale → 409")
    note: str | None = Field(default=None, max_length=2000)


@router.get("/watch-rules", response_model=WatchRulesPublic, tags=["watch rules"])
def get_watch_rules(rt: RuntimeDep, actor: Annotated[Actor, requires("editor", "agent")]) -> WatchRulesPublic:
    with rt.db.reading() as s:
        version, rules = rt.watch_rules.current(s)
        row = service.watch_rules_row(s, version)
        return WatchRulesPublic(
            version=version,
            rules=rules.model_dump(),
            created_at=row.created_at if row else None,
            created_by=row.created_by if row else None,
            note=row.note if row else "shipped defaults",
        )


@router.put("/watch-rules", response_model=WatchRulesPublic, tags=["watch rules"], summary="Save a new version")
def put_watch_rules(
    rt: RuntimeDep, actor: Annotated[Actor, requires("editor")], body: WatchRulesUpdate
) -> WatchRulesPublic:
    service.validate_watch_rules(body.rules)  # before the transaction: a bad file never waits on the lock
    with rt.db.session() as s:
        row = service.save_watch_rules(
            s, rt.watch_rules, body.rules, edited_version=body.version, actor=actor.name, note=body.note
        )
        return WatchRulesPublic(
            version=row.version, rules=row.rules, created_at=row.created_at, created_by=row.created_by, note=row.note
        )


@router.get("/watch-rules/versions", response_model=list[WatchRulesPublic], tags=["watch rules"])
def watch_rule_versions(rt: RuntimeDep, actor: Annotated[Actor, requires("editor", "agent")]) -> list[WatchRulesPublic]:
    with rt.db.reading() as s:
        return [
            WatchRulesPublic(
                version=r.version, rules=r.rules, created_at=r.created_at, created_by=r.created_by, note=r.note
            )
            for r in service.watch_rule_versions(s)
        ]
