"""API tokens and roles: a token is shown once, stored as a SHA-256 hash, names one role and one person.

A token may expire (`expires_at`) and may be revoked; both take effect on the very next request, in every
process, because each request looks its token up (one indexed read; no per-process cache).

Names are unique among the tokens that are not revoked, compared after normalisation (NFKC, case-folded,
trimmed, inner whitespace collapsed), so 「Ｓａｔｏ」 and "sato " are one name. A name used before keeps its
first spelling when a new token takes it, so the two-person rule, which compares approvers by name, sees
one person as one name across token rotations.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.models import ApiToken
from kizuki.core import audit
from kizuki.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from kizuki.core.orm import utcnow
from kizuki.core.text import check_storable, nfkc

Role = Literal["agent", "editor", "evaluator", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
TOKEN_PREFIX = "kz_"  # noqa: S105 - a visible prefix, not a secret
MAX_NAME_CHARS = 200
MAX_EXPIRY_DAYS = 3650
# `last_used_at` is written when it is older than this: a day's use is visible, a burst costs no writes.
LAST_USED_EVERY = timedelta(minutes=5)
_SPACE = re.compile(r"\s+")


def _hash(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_name(name: str) -> tuple[str, str]:
    """The name as stored (NFKC, trimmed, inner whitespace collapsed) and its key (that, case-folded)."""
    try:
        check_storable(name, "token name")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    display = _SPACE.sub(" ", nfkc(name)).strip()
    if not display or len(display) > MAX_NAME_CHARS:
        raise InvalidInput(f"token name must be 1-{MAX_NAME_CHARS} characters (after trimming)")
    return display, display.casefold()


def is_active(row: ApiToken, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


def _public(row: ApiToken) -> dict[str, object]:
    return {"name": row.name, "role": row.role, "prefix": row.prefix, "expires_at": row.expires_at}


def _revoke(session: Session, row: ApiToken, *, actor: str, now: datetime, note: str | None) -> None:
    row.revoked_at = now
    row.revoked_by = actor
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.revoke",
        subject=f"token:{row.id}",
        before={"revoked_at": None},
        after={**_public(row), "revoked_at": now},
        note=note,
    )


def create_token(
    session: Session, *, name: str, role: str, actor: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Make a token for a person or system; returns the row and the secret (never stored).

    A name held by another token that is not revoked is a 409; one held by an expired token frees it
    (that token is revoked, audited)."""
    display, key = normalise_name(name)
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("expires_at must be in the future")
    holder = session.scalars(
        select(ApiToken).where(ApiToken.name_key == key, ApiToken.revoked_at.is_(None)).with_for_update()
    ).one_or_none()
    if holder is not None:
        if is_active(holder, now):
            raise Conflict(
                f"the name {display!r} is taken by token {holder.id} ({holder.prefix}…, {holder.role}); "
                "names are compared ignoring case, width and spacing. Revoke that token first, or pick another name",
                extra={"token_id": holder.id},
            )
        _revoke(session, holder, actor=actor, now=now, note="expired; its name was taken by a new token")
    # A name used before keeps its first spelling: the two-person rule compares approvers by name.
    earlier = session.scalars(select(ApiToken.name).where(ApiToken.name_key == key).order_by(ApiToken.id)).first()
    display = earlier or display
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=display,
        name_key=key,
        role=role,
        token_hash=_hash(secret),
        prefix=secret[:8],
        created_by=actor,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another process took the name between our read and our write
        raise Conflict(f"the name {display!r} was just taken by another token; pick another name") from None
    audit.record(session, actor=actor, action="token.create", subject=f"token:{row.id}", after=_public(row))
    return row, secret


@dataclass(frozen=True)
class TokenSeen:
    """What a request needs of its token: read as plain columns, no ORM object (this runs on every request)."""

    id: int
    name: str
    role: str
    prefix: str
    revoked_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None


_SEEN = select(
    ApiToken.id,
    ApiToken.name,
    ApiToken.role,
    ApiToken.prefix,
    ApiToken.revoked_at,
    ApiToken.expires_at,
    ApiToken.last_used_at,
)


def authenticate(db: Session | Connection, authorization: str | None, now: datetime | None = None) -> TokenSeen:
    """The token of an `Authorization: Bearer` header; a 401 with the reason otherwise."""
    if not authorization:
        raise Unauthorized("missing Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be 'Bearer <token>'")
    found = db.execute(_SEEN.where(ApiToken.token_hash == _hash(token.strip()))).first()
    row = TokenSeen(*found) if found is not None else None
    if row is None:
        raise Unauthorized("unknown token")
    if row.revoked_at is not None:
        raise Unauthorized(f"this token ({row.prefix}…) was revoked; ask an admin for a new one")
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        raise Unauthorized(
            f"this token ({row.prefix}…) expired at {row.expires_at.isoformat(timespec='seconds')}; "
            "ask an admin for a new one"
        )
    return row


def needs_touch(row: TokenSeen, now: datetime | None = None) -> bool:
    return row.last_used_at is None or row.last_used_at <= (now or utcnow()) - LAST_USED_EVERY


def touch(session: Session, token_id: int, now: datetime | None = None) -> None:
    """Record a use: one conditional UPDATE, a no-op when another request recorded one recently."""
    now = now or utcnow()
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USED_EVERY),
        )
        .values(last_used_at=now)
    )


def authorise(role: str, allowed: tuple[str, ...]) -> None:
    if role != "admin" and role not in allowed:
        raise Forbidden(f"this needs the role {' or '.join(allowed)}; your token has {role}")


def list_tokens(session: Session, *, include_inactive: bool = False) -> list[ApiToken]:
    """Tokens, oldest first; by default only those that still work (not revoked, not expired)."""
    query = select(ApiToken).order_by(ApiToken.id)
    if not include_inactive:
        query = query.where(
            ApiToken.revoked_at.is_(None), or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow())
        )
    return list(session.scalars(query))


def find_token(session: Session, ref: str) -> ApiToken:
    """A token by id, by the prefix `token list` shows (kz_…), or by the name of a token not revoked."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():
        row = session.get(ApiToken, int(ref)) if int(ref) <= 2_147_483_647 else None
        if row is None:
            raise NotFound(f"no token with id {ref}")
        return row
    if ref.startswith(TOKEN_PREFIX):
        leaked = session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(ref))).one_or_none()
        if leaked is not None:  # the whole secret, pasted from wherever it leaked
            return leaked
        rows = list(session.scalars(select(ApiToken).where(ApiToken.prefix == ref.removesuffix("…")[:8])))
        active = [r for r in rows if r.revoked_at is None] or rows
        if not active:
            raise NotFound(f"no token with prefix {ref}")
        if len(active) > 1:
            raise Conflict(f"{len(active)} tokens share the prefix {ref}; revoke by id: {[r.id for r in active]}")
        return active[0]
    _, key = normalise_name(ref)
    row = session.scalars(select(ApiToken).where(ApiToken.name_key == key, ApiToken.revoked_at.is_(None))).first()
    if row is None:
        raise NotFound(f"no token named {ref!r} that is not already revoked")
    return row


def revoke_token(
    session: Session, row: ApiToken, *, actor: str, allow_last_admin: bool, note: str | None = None
) -> ApiToken:
    """Revoke a token (idempotent: revoking a revoked token changes nothing and is not audited again).

    Unless `allow_last_admin`, revoking the last admin token that still works is a 409: over REST that
    would leave nobody able to manage tokens (the command line can always make a new one)."""
    if row.revoked_at is not None:
        return row
    now = utcnow()
    if row.role == "admin" and not allow_last_admin and is_active(row, now):
        others = session.scalar(
            select(func.count())
            .select_from(ApiToken)
            .where(
                ApiToken.role == "admin",
                ApiToken.id != row.id,
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
            )
        )
        if not others:
            raise Conflict(
                f"token {row.id} is the last admin token that works; revoking it leaves nobody able to manage "
                "tokens over the API. Create another admin token first, or pass force=true "
                "(`kizuki token create --role admin` can always make a new one)"
            )
    _revoke(session, row, actor=actor, now=now, note=note)
    return row


def count_tokens(session: Session, *, active_only: bool = True) -> int:
    query = select(func.count()).select_from(ApiToken)
    if active_only:
        query = query.where(
            ApiToken.revoked_at.is_(None), or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow())
        )
    return int(session.scalar(query) or 0)


def count_admins(session: Session) -> int:
    """Admin tokens that still work."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(ApiToken)
            .where(
                ApiToken.role == "admin",
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()),
            )
        )
        or 0
    )


def parse_duration(text: str) -> timedelta:
    """`90d`, `12h`, `2w` or a bare number of days, for `--expires-in`."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([dhw]?)\s*", text.lower())
    if not match:
        raise InvalidInput(f"--expires-in {text!r}: write a number of days, or with a unit: 90d, 12h, 2w")
    n, unit = int(match.group(1)), match.group(2) or "d"
    delta = {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]
    if delta <= timedelta(0) or delta > timedelta(days=MAX_EXPIRY_DAYS):
        raise InvalidInput(f"--expires-in must be more than 0 and at most {MAX_EXPIRY_DAYS} days")
    return delta
