"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api import errors
from api.limits import BodySizeLimit
from api.routers import admin, drafts, knowledge, posts, system
from evals.api import router as evals_router
from kizuki import __version__
from kizuki.runtime import Runtime

DESCRIPTION = """Kizuki drafts replies to customers' social posts from your FAQ and policies, checks them,
and waits for a person to approve. Errors are `{"error": Name, "detail": "..."}` with a 4xx status."""


def create_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or Runtime()
    # The docs pages are served from files in a package, not a CDN: they work on a closed network.
    app: FastAPI = FastAPIOffline(title="Kizuki", version=__version__, description=DESCRIPTION)
    app.state.runtime = runtime
    errors.install(app)
    app.include_router(system.router)
    app.include_router(knowledge.router)
    app.include_router(posts.router)
    app.include_router(drafts.router)
    app.include_router(admin.router)
    app.include_router(evals_router)
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_body_bytes)
    return app
