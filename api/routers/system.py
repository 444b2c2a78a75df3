"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import RuntimeDep
from kizuki import __version__


class Health(BaseModel):
    status: str
    version: str
    database: str
    model: str
    embedding_model: str


router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health)
def healthz(rt: RuntimeDep) -> Health:
    with rt.db.reading() as s:
        s.execute(text("SELECT 1"))
    return Health(
        status="ok",
        version=__version__,
        database=rt.db.dialect,
        model=rt.settings.model,
        embedding_model=rt.settings.embedding_model,
    )
