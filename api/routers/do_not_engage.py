"""The do-not-engage list: authors we record and triage but never draft replies to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from agent.intake import service
from api.deps import Actor, RuntimeDep, requires
from api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


class DoNotEngageIn(BaseModel):
    handle: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: datetime | None = None


class DoNotEngagePublic(BaseModel):
    handle: str
    reason: str
    expires_at: datetime | None
    added_by: str
    added_at: datetime


@router.get("/do-not-engage", response_model=list[DoNotEngagePublic], tags=["watch rules"])
def list_dne(rt: RuntimeDep, actor: Annotated[Actor, requires("agent", "editor")]) -> list[DoNotEngagePublic]:
    with rt.db.reading() as s:
        return [DoNotEngagePublic.model_validate(r, from_attributes=True) for r in service.do_not_engage_entries(s)]


@router.post("/do-not-engage", response_model=DoNotEngagePublic, status_code=201, tags=["watch rules"])
def add_dne(
    rt: RuntimeDep, actor: Annotated[Actor, requires("agent", "editor")], body: DoNotEngageIn
) -> DoNotEngagePublic:
    with rt.db.session() as s:
        row = service.add_do_not_engage(s, body.handle, body.reason, body.expires_at, actor=actor.name)
        return DoNotEngagePublic.model_validate(row, from_attributes=True)


@router.delete("/do-not-engage/{handle}", status_code=204, tags=["watch rules"])
def remove_dne(rt: RuntimeDep, actor: Annotated[Actor, requires("agent", "editor")], handle: str) -> None:
    with rt.db.session() as s:
        service.remove_do_not_engage(s, handle, actor=actor.name)
