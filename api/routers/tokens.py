"""API tokens (admin): create one; it is shown once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from api import auth
from api.deps import Actor, RuntimeDep, requires
from api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: auth.Role


class TokenCreated(BaseModel):
    id: int
    name: str
    role: str
    token: str = Field(description="Shown once; only its hash is stored")


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_token(rt: RuntimeDep, actor: Annotated[Actor, requires("admin")], body: TokenCreate) -> TokenCreated:
    with rt.db.session() as s:
        row, secret = auth.create_token(s, name=body.name, role=body.role, actor=actor.name)
        return TokenCreated(id=row.id, name=row.name, role=row.role, token=secret)
