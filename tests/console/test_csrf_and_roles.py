"""CSRF on every unsafe console route, and roles exactly as the REST policy."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from kizuki.runtime import Runtime
from tests.console.conftest import Person, store_draft

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def console_unsafe_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every unsafe console route (the JSON API under /v1 has its own bearer-token rules)."""
    found = []
    for route in _routes(app.routes):
        if route.path.startswith("/v1") or route.path == "/signin":
            continue
        for method in sorted(route.methods & UNSAFE):
            found.append((method, route.path))
    return found


def _routes(routes: list[Any]) -> list[APIRoute]:
    """The API routes, also inside included routers (FastAPI keeps an included router as one entry)."""
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):
            out.extend(_routes(route.original_router.routes))
    return out


def _fill(path: str, draft_id: int) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: str(draft_id) if "id" in m.group(0) else "x", path)


def test_the_console_has_unsafe_routes_to_protect(app: FastAPI) -> None:
    paths = {p for _, p in console_unsafe_routes(app)}
    assert {"/signout", "/drafts/{draft_id}/approve", "/drafts/{draft_id}/reject", "/queue/{draft_id}/approve"} <= paths


@pytest.mark.parametrize("sent", [None, "", "0" * 40, "forged-token"])
def test_every_unsafe_console_route_needs_the_session_csrf_token(
    app: FastAPI, runtime: Runtime, person: Callable[..., Person], sent: str | None
) -> None:
    admin = person("admin", "root")
    draft_id = store_draft(runtime)
    failures = []
    for method, path in console_unsafe_routes(app):
        data = {"version": "1", "text": "ok", "reason": "tone"}
        if sent is not None:
            data["csrf_token"] = sent
        res = admin.request(method, _fill(path, draft_id), data=data, follow_redirects=False)
        if res.status_code != 403:
            failures.append(f"{method} {path}: {res.status_code}")
    assert not failures, failures
    assert admin.get(f"/drafts/{draft_id}").status_code == 200  # still signed in, the draft untouched
    page = admin.get(f"/drafts/{draft_id}").text
    assert 'data-testid="status">pending' in page


def test_csrf_header_is_accepted_and_a_wrong_one_refused(runtime: Runtime, person: Callable[..., Person]) -> None:
    hana = person("agent", "hana")
    draft_id = store_draft(runtime)
    wrong = hana.post(f"/drafts/{draft_id}/check", data={"text": "x"}, headers={"X-CSRF-Token": "f" * 40})
    assert wrong.status_code == 403
    assert "security token" in wrong.text
    ok = hana.post(
        f"/drafts/{draft_id}/check", data={"text": "ありがとうございます"}, headers={"X-CSRF-Token": hana.csrf}
    )
    assert ok.status_code == 200 and 'data-testid="findings"' in ok.text


def test_a_csrf_token_of_another_session_is_refused(runtime: Runtime, person: Callable[..., Person]) -> None:
    hana, ken = person("agent", "hana"), person("agent", "ken")
    draft_id = store_draft(runtime)
    res = hana.post(f"/drafts/{draft_id}/reject", data={"version": 1, "reason": "tone", "csrf_token": ken.csrf})
    assert res.status_code == 403
    assert 'data-testid="status">pending' in hana.get(f"/drafts/{draft_id}").text


def test_an_editor_cannot_review(runtime: Runtime, person: Callable[..., Person]) -> None:
    eri = person("editor", "eri")
    draft_id = store_draft(runtime)
    assert eri.get("/queue").status_code == 403
    assert eri.get(f"/drafts/{draft_id}").status_code == 403
    res = eri.post(f"/drafts/{draft_id}/approve", data={"version": 1, "csrf_token": eri.csrf})
    assert res.status_code == 403
    assert "agent" in res.text  # the reason names the role needed
    res = eri.post(f"/queue/{draft_id}/approve", data={"version": 1, "csrf_token": eri.csrf})
    assert res.status_code == 403


def test_an_evaluator_cannot_review_and_sees_only_evaluations(runtime: Runtime, person: Callable[..., Person]) -> None:
    eve = person("evaluator", "eve")
    assert eve.get("/queue").status_code == 403
    home = eve.get("/", follow_redirects=False)
    assert home.headers["location"] == "/evals"
    nav = eve.get("/queue").text
    assert 'href="/evals"' in nav and 'href="/queue"' not in nav and 'href="/knowledge"' not in nav


def test_navigation_follows_the_rest_roles(person: Callable[..., Person]) -> None:
    agent = person("agent").get("/queue").text
    assert 'href="/queue"' in agent and 'href="/knowledge"' in agent
    assert 'href="/audit"' not in agent and 'href="/evals"' not in agent  # audit is admin-only in REST
    admin = person("admin").get("/queue").text
    for href in ("/queue", "/knowledge", "/watch-rules", "/profile", "/evals", "/audit"):
        assert f'href="{href}"' in admin


def test_an_agent_cannot_edit_knowledge(person: Callable[..., Person], app: FastAPI) -> None:
    """REST lets agents read knowledge but not write it; every unsafe knowledge page refuses an agent too."""
    hana = person("agent", "hana")
    writes = [(m, p) for m, p in console_unsafe_routes(app) if p.startswith("/knowledge")]
    assert writes, "the console has knowledge edit routes"
    for method, path in writes:
        res = hana.request(method, _fill(path, 1), data={"csrf_token": hana.csrf}, follow_redirects=False)
        assert res.status_code == 403, (method, path, res.status_code)


def test_the_api_is_not_opened_by_a_console_cookie(person: Callable[..., Person]) -> None:
    """The session cookie is for the console: the JSON API still asks for a bearer token."""
    hana = person("agent", "hana")
    assert hana.get("/v1/drafts").status_code == 401
