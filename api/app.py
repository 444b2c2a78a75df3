"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from api import console, errors
from api.limits import BodySizeLimit
from api.routers import (
    alerts,
    audit,
    checks,
    connectors,
    do_not_engage,
    drafts,
    evals,
    knowledge,
    org,
    posts,
    privacy,
    reports,
    system,
    tokens,
    watch_rules,
)
from api.security import AuthFailureLimiter, SecurityHeaders
from kizuki import __version__
from kizuki.runtime import Runtime

log = logging.getLogger(__name__)
DESCRIPTION = """Kizuki drafts replies to customers' social posts from your FAQ and policies, checks them,
and waits for a person to approve. Errors are `{"error": Name, "detail": "..."}` with a 4xx status."""


def warm_up(runtime: Runtime) -> None:
    """Pay the first-request costs before the server accepts connections.

    Right after a restart every reviewer's browser asks at once; without this, that burst waits on
    opening database connections, compiling the queue queries and building the reply checker
    (~0.1 s), and the first seconds' latency is ten times the steady state's.
    """
    from agent.posts.schemas import draft_public
    from api.auth import authenticate
    from kizuki.core.errors import Unauthorized
    from review.repository import queue

    runtime.checker  # noqa: B018 - builds the cached checker that approvals use
    try:
        pool = runtime.db.engine.pool
        conns = [runtime.db.engine.connect() for _ in range(pool.size() if isinstance(pool, QueuePool) else 1)]
        for conn in conns:
            conn.close()  # back into the pool, open
        with runtime.db.reading() as s:
            rows, _ = queue(s, limit=1)
            for draft in rows:
                draft_public(draft, detail=True, session=s)
            with suppress(Unauthorized):
                authenticate(s, "Bearer warm-up")
    except SQLAlchemyError as exc:
        # Not fatal: the server still starts, /healthz answers, and requests report the problem.
        log.warning("warm-up skipped, the database is not ready: %s", exc.__class__.__name__)


def create_app(runtime: Runtime | None = None, *, warm: bool = False) -> FastAPI:
    """The application. `warm=True` (the served app) does `warm_up` at startup; tests leave it off."""
    runtime = runtime or Runtime()
    rt = runtime

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if warm:
            warm_up(rt)
        yield

    # The docs pages are served from files in a package, not a CDN: they work on a closed network.
    app: FastAPI = FastAPIOffline(title="Kizuki", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.runtime = runtime
    errors.install(app)
    routers = (system, knowledge, posts, drafts, tokens, audit, checks, watch_rules, do_not_engage, org, evals)
    for module in (*routers, privacy, connectors, alerts, reports):
        app.include_router(module.router)
    console.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: a 413 gets the headers too
    app.state.auth_limiter = AuthFailureLimiter(runtime.settings.auth_failures_per_minute)
    return app
