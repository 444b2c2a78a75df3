"""The reviewer console: server-rendered pages at `/` (Jinja2 + htmx, no build step)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from kizuki.core.errors import KizukiError

STATIC = Path(__file__).parent / "static"


def _is_console(request: Request) -> bool:
    return bool(getattr(request.state, "console", False))


async def _call(handler: Any, request: Request, exc: Exception) -> Any:
    """Call an exception handler that Starlette allows to be sync or async."""
    result = handler(request, exc)
    return await result if inspect.isawaitable(result) else result


def install(app: FastAPI) -> None:
    """Mount the console's routes and static files on the app, and render errors on its routes as pages."""
    from api.console import admin, insights, review, signin
    from api.console.auth import ConsoleForbidden, SignInRequired, safe_next, signin_url
    from api.console.i18n import request_language, translate
    from api.console.render import error_page

    app.include_router(signin.router)
    app.include_router(review.router)
    app.include_router(admin.router)
    app.include_router(insights.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def _signin_required(request: Request, exc: Exception) -> Response:
        if request.method == "GET":
            target = signin_url(request)
        else:  # a form posted after the session ended: sign in, then back to the page it came from
            referer = urlsplit(request.headers.get("referer", ""))
            here = referer.path + (f"?{referer.query}" if referer.query else "")
            target = "/signin?next=" + quote(safe_next(here), safe="")
        if request.headers.get("hx-request") and request.url.path.endswith("/check"):
            # The live check while the reviewer types: leaving the page would lose the edit. Say nothing here;
            # the next decision they post leads them to sign in and back.
            return Response(status_code=401)
        if request.headers.get("hx-request"):
            # Back to the page the request came from (a polled partial is no page to land on).
            page = urlsplit(request.headers.get("hx-current-url", ""))
            here = page.path + (f"?{page.query}" if page.query else "")
            target = "/signin?next=" + quote(safe_next(here), safe="")
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def _forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConsoleForbidden)
        lang = request_language(request)
        return error_page(request, 403, translate(lang, "error.forbidden"), translate(lang, f"error.{exc.reason}"))

    previous_domain = app.exception_handlers[KizukiError]
    previous_validation = app.exception_handlers[RequestValidationError]

    async def _domain(request: Request, exc: Exception) -> Any:
        if not _is_console(request) or not isinstance(exc, KizukiError):
            return await _call(previous_domain, request, exc)
        lang = request_language(request)
        return error_page(request, exc.status_code, translate(lang, "error.title"), exc.detail)

    async def _validation(request: Request, exc: Exception) -> Any:
        if not _is_console(request) or not isinstance(exc, RequestValidationError):
            return await _call(previous_validation, request, exc)
        lang = request_language(request)
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors())
        return error_page(request, 422, translate(lang, "error.title"), detail)

    app.add_exception_handler(SignInRequired, _signin_required)
    app.add_exception_handler(ConsoleForbidden, _forbidden)
    app.add_exception_handler(KizukiError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
