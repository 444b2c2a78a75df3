"""Rendering console pages: one Jinja2 environment (autoescaped), the context every page gets, and headers.

Every page gets: `request`, `lang`, `t(key, **values)`, `session`/`actor` (None when signed out),
`can(*roles)` (the REST policy), `csrf_token`, `csrf_input()`, `nav` (the links the actor may use) and
`path`. Pages carry their own Content-Security-Policy (scripts and styles only from /static, forms only to
this site), which the security middleware keeps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from api.console.auth import CSRF_FIELD, ConsoleSession, can, optional_session
from api.console.i18n import LANGUAGES, request_language, translate

TEMPLATES = Path(__file__).parent / "templates"
# Console pages: everything from this site, no inline script, forms post only here, never framed.
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# (path, message key, roles as in the REST policy for reading that resource); admin sees all.
NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/queue", "nav.queue", ("agent",)),
    ("/reports/daily", "nav.reports", ("agent",)),
    ("/alerts", "nav.alerts", ("agent", "editor")),
    ("/knowledge", "nav.knowledge", ("agent", "editor")),
    ("/watch-rules", "nav.watch_rules", ("agent", "editor")),
    ("/profile", "nav.profile", ("agent", "editor")),
    ("/evals", "nav.evaluations", ("evaluator",)),
    ("/audit", "nav.audit", ()),
)


def _age(value: datetime | None, lang: str) -> str:
    """A short age: 5m, 3h, 2d (`5分`, `3時間`, `2日` in Japanese)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = max(0, int((datetime.now(UTC) - value).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return translate(lang, f"age.{unit}", n=seconds // size)
    return translate(lang, "age.now")


def web_url(value: object) -> str:
    """A link target only when it is an http(s) URL: post and sent-post URLs come from customers, networks and
    reviewers, and a `javascript:` or `data:` one must never become a link."""
    text = str(value or "").strip()
    return text if re.match(r"(?i)https?://[^\s]", text) else ""


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["web_url"] = web_url
    return env


def context(request: Request, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    lang = request_language(request)
    session: ConsoleSession | None = optional_session(request)
    actor = session.actor if session else None
    csrf = session.csrf if session else ""

    def t(key: str, **kw: Any) -> str:
        return translate(lang, key, **kw)

    def csrf_input() -> Markup:
        return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf)

    return {
        "request": request,
        "lang": lang,
        "languages": LANGUAGES,
        "t": t,
        "age": lambda v: _age(v, lang),
        "session": session,
        "actor": actor,
        "can": lambda *roles: can(actor, *roles),
        "csrf_token": csrf,
        "csrf_input": csrf_input,
        "nav": [(href, t(key)) for href, key, roles in NAV if can(actor, *roles)],
        "path": request.url.path,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **(values or {}),
    }


def render(
    request: Request,
    name: str,
    values: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A template rendered with the console context, with the console's CSP and no caching."""
    html = environment().get_template(name).render(context(request, values))
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Cookie, Accept-Language"
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def error_page(request: Request, status_code: int, title: str, detail: str) -> HTMLResponse:
    """A page for an error (403, 404, 409, 422 ...) with a reason a person can act on."""
    return render(request, "error.html", {"title": title, "detail": detail}, status_code=status_code)


def highlight(text: str, findings: list[dict[str, Any]]) -> Markup:
    """The text with the spans of findings (offsets into the original text) in `<mark>`s. Where findings overlap,
    the stronger severity colours the characters (block over warn) and the mark's title lists every message."""
    rank = {"warn": 1, "block": 2}
    level = [0] * len(text)
    notes: list[tuple[str, ...]] = [()] * len(text)
    for f in findings:
        start, end = f.get("start"), f.get("end")
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        severity = rank.get(str(f.get("severity")), 1)
        message = str(f.get("message", ""))
        for i in range(max(0, start), min(end, len(text))):
            level[i] = max(level[i], severity)
            if message not in notes[i]:
                notes[i] = (*notes[i], message)
    out: list[str] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and level[j] == level[i] and notes[j] == notes[i]:
            j += 1
        if level[i]:
            out.append(
                Markup('<mark class="finding-{}" title="{}">{}</mark>').format(
                    "block" if level[i] == 2 else "warn", " / ".join(notes[i]), text[i:j]
                )
            )
        else:
            out.append(str(escape(text[i:j])))
        i = j
    return Markup("".join(out))  # noqa: S704 - every part above was escaped or built by Markup.format
