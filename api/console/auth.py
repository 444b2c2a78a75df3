"""Console sessions: sign in with an API token, a signed session cookie, CSRF tokens, roles as in REST.

The cookie holds `v1.<token id>.<issued at>.<nonce>.<HMAC>` signed with the session key (`KIZUKI_SESSION_KEY`,
else a key derived from the privacy key), never the token itself. Every request reads the token's row again
together with the session's row in `console_sessions` (one indexed read, like the REST API), so a revoked or
expired token signs its sessions out at once, in every process. A session ends `SESSION_HOURS` after sign-in, after
`IDLE_HOURS` without a request, or at sign-out: sign-out ends the row on the server, so a copied cookie stops
working too (a signature alone cannot be recalled).

CSRF: each session has one token, an HMAC of the cookie value; every unsafe request to a console route must
carry it (form field `csrf_token` or header `X-CSRF-Token`). The sign-in form, before there is a session, uses
a double-submit cookie signed the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError
from starlette.datastructures import FormData

from api.auth import LAST_USED_EVERY, authenticate, authorise, touch
from api.console.models import ConsoleSessionRow
from api.deps import Actor, _token_reader
from api.models import ApiToken
from api.security import AuthFailureLimiter, client_address
from kizuki.core.errors import Forbidden, Unauthorized
from kizuki.core.orm import utcnow
from kizuki.runtime import Runtime

log = logging.getLogger(__name__)

SESSION_COOKIE = "kizuki_session"
SIGNIN_COOKIE = "kizuki_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_HOURS = 12
IDLE_HOURS = 2  # an open queue polls every 15 s, so only a page left closed (or a copied cookie) goes idle
SEEN_EVERY = timedelta(minutes=1)  # how often a session's last-seen time is written
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No valid session: the console answers with a redirect to the sign-in page (or 401 to htmx)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class ConsoleForbidden(Exception):
    """A 403 page with a reason: a missing role, or a missing/wrong CSRF token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in person: who, and the session's CSRF token."""

    actor: Actor
    cookie: str
    csrf: str


def session_key(request: Request) -> bytes:
    """The key that signs cookies and CSRF tokens (computed once per app)."""
    cached: bytes | None = getattr(request.app.state, "console_session_key", None)
    if cached is not None:
        return cached
    rt: Runtime = request.app.state.runtime
    if rt.settings.session_key is not None:
        key = hashlib.sha256(rt.settings.session_key.get_secret_value().encode("utf-8")).digest()
    else:
        from agent.posts.privacy import privacy_key

        # A separate key for a separate purpose, derived so that no new file has to be kept.
        key = hmac.new(privacy_key(rt.settings), b"kizuki console session v1", hashlib.sha256).digest()
    request.app.state.console_session_key = key
    return key


def _sign(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def make_cookie(key: bytes, token_id: int, now: float | None = None) -> str:
    body = f"v1.{token_id}.{int(now if now is not None else time.time())}.{secrets.token_urlsafe(12)}"
    return f"{body}.{_sign(key, body)}"


def read_cookie(key: bytes, value: str, now: float | None = None) -> int | None:
    """The token id of a well-signed, unexpired session cookie; None otherwise."""
    body, _, signature = value.rpartition(".")
    if not hmac.compare_digest(_sign(key, body), signature):
        return None
    parts = body.split(".")
    if len(parts) != 4 or parts[0] != "v1" or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    issued = int(parts[2])
    current = now if now is not None else time.time()
    if issued > current + 60 or current - issued > SESSION_HOURS * 3600:
        return None
    return int(parts[1])


def session_id(cookie: str) -> str:
    """The row id of a cookie's session: a hash of its nonce (the table cannot be turned back into cookies)."""
    parts = cookie.rpartition(".")[0].split(".")
    nonce = parts[3] if len(parts) == 4 else ""
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


def start_session(rt: Runtime, key: bytes, token_id: int) -> str:
    """A new session for a token: its row on the server, and the cookie that names it."""
    cookie = make_cookie(key, token_id)
    now = utcnow()
    with rt.db.session() as s:
        # Housekeeping: rows past their longest life are of no use to anyone.
        s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.created_at < now - timedelta(hours=SESSION_HOURS)))
        s.add(ConsoleSessionRow(id=session_id(cookie), token_id=token_id, created_at=now, last_seen_at=now))
    return cookie


def end_session(rt: Runtime, cookie: str) -> None:
    """Sign-out: the session ends on the server, whoever holds a copy of its cookie."""
    with rt.db.session() as s:
        s.execute(
            update(ConsoleSessionRow)
            .where(ConsoleSessionRow.id == session_id(cookie), ConsoleSessionRow.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def csrf_for(key: bytes, cookie: str) -> str:
    return _sign(key, "csrf:" + cookie)[:40]


def safe_next(target: str | None) -> str:
    """Only a local path is a place to go after sign-in; anything else (other hosts, `//x`, `\\x`) is `/`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t\\"):
        return "/"
    return target


def signin_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/signin?next=" + quote(safe_next(here), safe="")


def _limiter(request: Request) -> AuthFailureLimiter | None:
    limiter: AuthFailureLimiter | None = getattr(request.app.state, "auth_limiter", None)
    return limiter


def check_token(request: Request, token: str) -> Actor:
    """Verify a token typed into the sign-in form exactly as a REST request's token (expiry, revocation,
    the failure limiter); a 401 (`Unauthorized`) with the reason, or 429, otherwise."""
    rt: Runtime = request.app.state.runtime
    limiter, client = _limiter(request), client_address(request.scope)
    if limiter is not None:
        limiter.check(client)
    try:
        with _token_reader(rt.db).connect() as conn:
            row = authenticate(conn, f"Bearer {token.strip()}")
    except Unauthorized:
        if limiter is not None:
            limiter.failed(client)
        raise
    return Actor(name=row.name, role=row.role, token_id=row.id)


def _session(request: Request) -> ConsoleSession:
    cached: ConsoleSession | None = getattr(request.state, "console_session", None)
    if cached is not None:
        return cached
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        raise SignInRequired()
    key = session_key(request)
    token_id = read_cookie(key, value)
    if token_id is None:
        # Not counted by the failure limiter: an HMAC cannot be guessed, and after a change of the session key
        # every reviewer behind one office address would otherwise lock that address out.
        raise SignInRequired("expired")
    rt: Runtime = request.app.state.runtime
    with _token_reader(rt.db).connect() as conn:
        row = conn.execute(
            select(
                ApiToken.id,
                ApiToken.name,
                ApiToken.role,
                ApiToken.revoked_at,
                ApiToken.expires_at,
                ApiToken.last_used_at,
                ConsoleSessionRow.id.label("session_id"),
                ConsoleSessionRow.created_at.label("session_created_at"),
                ConsoleSessionRow.last_seen_at,
                ConsoleSessionRow.ended_at,
            )
            .join(ConsoleSessionRow, ConsoleSessionRow.token_id == ApiToken.id)
            .where(ApiToken.id == token_id, ConsoleSessionRow.id == session_id(value))
        ).first()
    now = utcnow()
    if row is None or row.ended_at is not None:
        raise SignInRequired("ended")  # signed out (or never a session of this server)
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise SignInRequired("revoked")
    if row.session_created_at <= now - timedelta(hours=SESSION_HOURS) or row.last_seen_at <= now - timedelta(
        hours=IDLE_HOURS
    ):
        raise SignInRequired("expired")
    session = ConsoleSession(Actor(name=row.name, role=row.role, token_id=row.id), value, csrf_for(key, value))
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_EVERY:
        _touch(rt, row.id)
    if row.last_seen_at <= now - SEEN_EVERY:
        _seen(rt, row.session_id, now)
    request.state.console_session = session
    request.state.actor = session.actor
    return session


def _touch(rt: Runtime, token_id: int) -> None:
    try:
        with rt.db.session() as s:
            touch(s, token_id)
    except OperationalError:  # a busy database must not fail the page over a last-use time
        log.warning("could not record the last use of token %s", token_id)


def _seen(rt: Runtime, sid: str, now: datetime) -> None:
    try:
        with rt.db.session() as s:
            s.execute(
                update(ConsoleSessionRow)
                .where(ConsoleSessionRow.id == sid, ConsoleSessionRow.last_seen_at <= now - SEEN_EVERY)
                .values(last_seen_at=now)
            )
    except OperationalError:  # as for the token's last use: a busy database must not fail the page
        log.warning("could not record the last use of a console session")


def current_session(request: Request) -> ConsoleSession:
    """The signed-in session (dependency); `SignInRequired` → redirect to /signin."""
    return _session(request)


def optional_session(request: Request) -> ConsoleSession | None:
    try:
        return _session(request)
    except SignInRequired:
        return None


def can(actor: Actor | None, *roles: str) -> bool:
    """Whether the actor's role passes the REST policy for `roles` (the same `authorise`)."""
    if actor is None:
        return False
    try:
        authorise(actor.role, roles)
    except Forbidden:
        return False
    return True


def console_actor(*roles: str) -> Any:
    """Declare the roles a console route accepts (admin always may), as `api.deps.requires` does for REST;
    resolves to the acting `Actor`. Signed out → redirect to sign-in; wrong role → 403 page."""

    def _actor(session: Annotated[ConsoleSession, Depends(current_session)]) -> Actor:
        try:
            authorise(session.actor.role, roles)
        except Forbidden as exc:
            raise ConsoleForbidden(exc.detail) from None
        return session.actor

    _actor.roles = roles  # type: ignore[attr-defined]
    _actor.__name__ = f"console_requires_{'_'.join(roles) or 'any'}"
    return Depends(_actor)


async def csrf_protect(request: Request) -> None:
    """Router dependency: every unsafe method needs the session's CSRF token (form field or header)."""
    request.state.console = True
    if request.method in _SAFE_METHODS:
        return
    if request.url.path == "/signin":
        return  # the sign-in form has its own double-submit check (there is no session yet)
    sent = request.headers.get(CSRF_HEADER)
    form: FormData | None = None
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
    try:
        session = _session(request)
        if not sent:
            raise ConsoleForbidden("csrf_missing")
        if not hmac.compare_digest(sent.encode("utf-8"), session.csrf.encode("utf-8")):
            raise ConsoleForbidden("csrf_wrong")
    except (SignInRequired, ConsoleForbidden):
        if form is not None:
            await form.close()  # a refused upload's temporary files: the route that would close them never runs
        raise


def signin_csrf(key: bytes, nonce: str) -> str:
    return _sign(key, "signin:" + nonce)[:40]


def check_signin_csrf(request: Request, sent: str | None) -> bool:
    nonce = request.cookies.get(SIGNIN_COOKIE)
    if not nonce or not sent:
        return False
    return hmac.compare_digest(sent.encode("utf-8"), signin_csrf(session_key(request), nonce).encode("utf-8"))


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


SessionDep = Annotated[ConsoleSession, Depends(current_session)]
