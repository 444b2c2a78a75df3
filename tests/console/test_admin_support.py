"""Helpers for the admin page tests: a browser-like client signed in through /signin, and the page's CSRF token.

(No tests here; the module name keeps it among the files the admin pages' tests own.)
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient

from kizuki.runtime import Runtime
from tests.conftest import make_token

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    """The CSRF token a page's forms carry."""
    match = _CSRF.search(page)
    assert match, "the page has no form with a CSRF token"
    return html.unescape(match.group(1))


def sign_in(app: FastAPI, runtime: Runtime, role: str, name: str | None = None) -> TestClient:
    """A client that signed in through the sign-in form with a fresh token of `role` (cookies kept)."""
    client = TestClient(app, follow_redirects=False)
    token = make_token(runtime, role, name or f"console-{role}")
    form = client.get("/signin")
    assert form.status_code == 200, form.text
    res = client.post("/signin", data={"token": token, "next": "/", "csrf_token": csrf_of(form.text)})
    assert res.status_code == 303, res.text
    return client


def texts_of(page: str, testid: str) -> list[str]:
    """The text content of every element with that `data-testid` (tags stripped, entities decoded)."""
    out = []
    pattern = re.compile(rf'<(\w+)[^>]*data-testid="{re.escape(testid)}"[^>]*>(.*?)</\1>', re.S)
    for m in pattern.finditer(page):
        out.append(html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip())
    return out


def signed_in_clients(app: FastAPI, runtime: Runtime) -> Iterator[Callable[[str], TestClient]]:
    """The body of each module's `console_as` fixture: `console_as("editor")` → a signed-in client (one per
    role, reused within the test), all closed afterwards."""
    clients: dict[str, TestClient] = {}

    def _make(role: str) -> TestClient:
        if role not in clients:
            clients[role] = sign_in(app, runtime, role)
        return clients[role]

    yield _make
    for c in clients.values():
        c.close()
