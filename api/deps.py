"""Request dependencies: the runtime, and who is acting in which role (the auth seam)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from api.security import AuthFailureLimiter, client_address
from kizuki.core.db import READ_ONLY, Database
from kizuki.core.errors import Unauthorized
from kizuki.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who is acting: the token's name (unique among working tokens, see `api.auth`), role and id."""

    name: str
    role: str
    token_id: int | None = None  # None only for actors that are not API tokens


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

# Identifiers and offsets fit a 32-bit integer column on every database; larger is a 422, not a crash.
MAX_ID = 2_147_483_647
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


# Declares the scheme in OpenAPI (the Authorize button in /docs); the header is checked in `requires`.
_bearer = HTTPBearer(auto_error=False, description="A token from `kizuki token create` or POST /v1/tokens")


def _token_reader(db: Database) -> Engine:
    """The engine for the per-request token read: a plain connection, no ORM session, and no READ ONLY
    transaction on PostgreSQL (each costs a round trip there); on SQLite it begins without the write lock."""
    return db.engine.execution_options(**{READ_ONLY: True})


def requires(*roles: str) -> object:
    """Declare the roles an endpoint accepts (admin always may); resolves to the acting `Actor`.

    The declared roles are kept on the dependency (`.roles`) so a test can walk the whole matrix.
    """
    from api.auth import authenticate, authorise, needs_touch, touch

    def _actor(request: Request, _scheme: Annotated[object, Depends(_bearer)]) -> Actor:
        rt: Runtime = request.app.state.runtime
        header = request.headers.get("authorization")
        limiter: AuthFailureLimiter | None = getattr(request.app.state, "auth_limiter", None)
        client = client_address(request.scope)
        if header and limiter is not None:
            limiter.check(client)  # 429 while this address is over its failure budget, whatever it sends
        # No cache: a revoked or expired token is refused on the next request, in every process.
        try:
            with _token_reader(rt.db).connect() as conn:
                token = authenticate(conn, header)
            actor = Actor(name=token.name, role=token.role, token_id=token.id)
            stale = needs_touch(token)
        except Unauthorized:
            if header and limiter is not None:
                limiter.failed(client)
            raise
        if stale:
            try:
                with rt.db.session() as s:
                    touch(s, token.id)
            except OperationalError:  # a busy database must not fail the request over a last-use time
                log.warning("could not record the last use of token %s", token.id)
        authorise(actor.role, roles)
        request.state.actor = actor
        return actor

    _actor.roles = roles  # type: ignore[attr-defined]
    _actor.__name__ = f"requires_{'_'.join(roles)}"
    return Depends(_actor)
