"""API tokens (admin): create one (shown once), list them (never their secrets), revoke one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from api import auth
from api.deps import Actor, IdPath, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from api.models import ApiToken
from kizuki.core.orm import utcnow

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["admin"])
Admin = Annotated[Actor, requires("admin")]


class TokenCreate(BaseModel):
    name: str = Field(
        min_length=1,
        max_length=auth.MAX_NAME_CHARS,
        description="Who uses it; unique among tokens not revoked, ignoring case, width and spacing",
    )
    role: auth.Role
    expires_in_days: int | None = Field(
        default=None, ge=1, le=auth.MAX_EXPIRY_DAYS, description="Refused after this many days; none = no expiry"
    )


class TokenPublic(BaseModel):
    id: int
    name: str
    role: str
    prefix: str = Field(description="The token's first characters, to recognise it; never the secret")
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description=f"Updated at most every {auth.LAST_USED_EVERY}")
    revoked_at: datetime | None
    revoked_by: str | None
    active: bool = Field(description="Neither revoked nor expired")


class TokenCreated(TokenPublic):
    token: str = Field(description="Shown once; only its hash is stored")


def _public(row: ApiToken, now: datetime) -> TokenPublic:
    return TokenPublic(
        id=row.id,
        name=row.name,
        role=row.role,
        prefix=row.prefix,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        active=auth.is_active(row, now),
    )


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(rt: RuntimeDep, actor: Admin, body: TokenCreate) -> TokenCreated:
    """A 409 names the token that holds the name already."""
    expires_at = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    with rt.db.session() as s:
        row, secret = auth.create_token(s, name=body.name, role=body.role, actor=actor.name, expires_at=expires_at)
        return TokenCreated(**_public(row, utcnow()).model_dump(), token=secret)


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(
    rt: RuntimeDep,
    actor: Admin,
    include_inactive: Annotated[bool, Query(description="Also revoked and expired tokens")] = False,
) -> list[TokenPublic]:
    with rt.db.reading() as s:
        now = utcnow()
        return [_public(r, now) for r in auth.list_tokens(s, include_inactive=include_inactive)]


@router.delete("/tokens/{token_id}", response_model=TokenPublic)
def revoke_token(
    rt: RuntimeDep,
    actor: Admin,
    token_id: IdPath,
    force: Annotated[bool, Query(description="Also revoke the last admin token that works (409 without it)")] = False,
) -> TokenPublic:
    """Revoke a token: the next request with it is refused (401), in every server process. Revoking a
    revoked token changes nothing."""
    with rt.db.session() as s:
        row = auth.find_token(s, str(token_id))
        auth.revoke_token(s, row, actor=actor.name, allow_last_admin=force, note="revoked over REST")
        return _public(row, utcnow())
