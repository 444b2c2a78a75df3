"""API tokens and roles: a token is shown once, stored as a SHA-256 hash, and names one role."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal, get_args

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import ApiToken
from kizuki.core import audit
from kizuki.core.errors import Forbidden, InvalidInput, Unauthorized

Role = Literal["agent", "editor", "evaluator", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
TOKEN_PREFIX = "kz_"  # noqa: S105 - a visible prefix, not a secret


def _hash(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, *, name: str, role: str, actor: str) -> tuple[ApiToken, str]:
    """Make a token for a person or system; returns the row and the secret (never stored)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("token name must be 1-200 characters")
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, role=role, token_hash=_hash(secret), prefix=secret[:8], created_by=actor)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.create",
        subject=f"token:{row.id}",
        after={"name": name, "role": role, "prefix": row.prefix},
    )
    return row, secret


def authenticate(session: Session, authorization: str | None) -> ApiToken:
    if not authorization:
        raise Unauthorized("missing Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer <token>'")
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token.strip()))).one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("unknown or revoked token")
    return row


def authorise(role: str, allowed: tuple[str, ...]) -> None:
    if role != "admin" and role not in allowed:
        raise Forbidden(f"this needs the role {' or '.join(allowed)}; your token has {role}")


def count_tokens(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))) or 0)
