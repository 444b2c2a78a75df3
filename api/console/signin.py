"""Sign-in, sign-out, the language switch and the console's home."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.auth import (
    SESSION_COOKIE,
    SESSION_HOURS,
    SIGNIN_COOKIE,
    can,
    check_signin_csrf,
    check_token,
    csrf_protect,
    current_session,
    end_session,
    is_https,
    optional_session,
    safe_next,
    session_key,
    signin_csrf,
    start_session,
)
from api.console.i18n import LANG_COOKIE, LANGUAGES
from api.console.render import NAV, render
from api.security import TooManyRequests
from kizuki.core.errors import Unauthorized

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _signin_page(request: Request, next_: str, *, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    nonce = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(16)
    response = render(
        request,
        "signin.html",
        {"next": safe_next(next_), "signin_csrf": signin_csrf(session_key(request), nonce), "error": error},
        status_code=status_code,
    )
    response.set_cookie(
        SIGNIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict", secure=is_https(request), path="/signin"
    )
    return response


@router.get("/signin")
def signin_form(request: Request, next_: Annotated[str, Query(alias="next", max_length=2000)] = "/") -> Response:
    if optional_session(request) is not None:
        return RedirectResponse(safe_next(next_), status_code=303)
    return _signin_page(request, next_)


@router.post("/signin")
def signin(
    request: Request,
    token: Annotated[str, Form(max_length=500)] = "",
    next_: Annotated[str, Form(alias="next", max_length=2000)] = "/",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not check_signin_csrf(request, csrf_token):
        return _signin_page(request, next_, error="signin.error_form", status_code=403)
    try:
        actor = check_token(request, token)
    except TooManyRequests as exc:
        limited = _signin_page(request, next_, error="signin.error_limited", status_code=429)
        limited.headers.update(exc.headers)
        return limited
    except Unauthorized:
        return _signin_page(request, next_, error="signin.error_token", status_code=401)
    assert actor.token_id is not None
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # a new sign-in in the same browser ends the session it had (its cookie is replaced below)
        end_session(request.app.state.runtime, previous)
    response = RedirectResponse(safe_next(next_), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        start_session(request.app.state.runtime, session_key(request), actor.token_id),
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    """End the session on the server (a copy of the cookie stops working too), then forget the cookie."""
    end_session(request.app.state.runtime, current_session(request).cookie)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(request))
    return response


@router.get("/lang/{code}")
def switch_language(
    request: Request, code: str, next_: Annotated[str, Query(alias="next", max_length=2000)] = "/"
) -> Response:
    """Remember a language in a cookie (a preference, not a change of data: a plain link may set it)."""
    response = RedirectResponse(safe_next(next_), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, code, max_age=365 * 86400, httponly=True, samesite="lax", secure=is_https(request)
        )
    return response


@router.get("/")
def home(request: Request) -> Response:
    """The queue for reviewers; for others the first page their role may use."""
    session = optional_session(request)
    if session is None:
        return RedirectResponse("/signin?next=%2Fqueue", status_code=303)
    for href, _, roles in NAV:
        if can(session.actor, *roles):
            return RedirectResponse(href, status_code=303)
    return RedirectResponse("/queue", status_code=303)
