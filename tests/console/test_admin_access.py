"""Every admin page: rendered for the roles REST allows, refused (403 page) for the others, sign-in for nobody."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kizuki.runtime import Runtime
from tests.console.test_admin_support import csrf_of, signed_in_clients


@pytest.fixture
def console_as(app: FastAPI, runtime: Runtime) -> Iterator[Callable[[str], TestClient]]:
    yield from signed_in_clients(app, runtime)


ROLES = ("agent", "editor", "evaluator", "admin")
# (path, roles that may read it besides admin) — the REST policy of the same resource.
PAGES: list[tuple[str, tuple[str, ...]]] = [
    ("/knowledge", ("agent", "editor")),
    ("/knowledge/-/new", ("editor",)),
    ("/knowledge/-/import", ("editor",)),
    ("/knowledge/faq-1", ("agent", "editor")),
    ("/knowledge/faq-1/revisions", ("agent", "editor")),
    ("/knowledge/faq-1/revisions/1", ("agent", "editor")),
    ("/knowledge/faq-1/diff?a=1&b=1", ("agent", "editor")),
    ("/watch-rules", ("agent", "editor")),
    ("/profile", ("agent", "editor")),
    ("/evals", ("evaluator",)),
    ("/audit", ()),
    ("/audit?subject=knowledge:faq-1", ()),
]


@pytest.fixture
def entry(runtime: Runtime) -> str:
    from knowledge.schemas import EntryCreate

    runtime.knowledge.create(
        EntryCreate(key="faq-1", kind="faq", title="保証期間は？", body="保証は1年です。", lang="ja"), actor="setup"
    )
    return "faq-1"


@pytest.mark.parametrize("role", ROLES)
def test_each_page_renders_for_allowed_roles_and_is_refused_for_others(
    role: str, entry: str, console_as: Callable[[str], TestClient]
) -> None:
    client = console_as(role)
    for path, allowed in PAGES:
        res = client.get(path)
        if role == "admin" or role in allowed:
            assert res.status_code == 200, (path, role, res.text[:500])
            assert res.headers["content-type"].startswith("text/html")
        else:
            assert res.status_code == 403, (path, role, res.status_code)
            assert 'data-testid="error-detail"' in res.text


@pytest.mark.parametrize("role", ["agent", "editor"])
def test_eval_runs_are_refused_before_they_are_looked_up(role: str, console_as: Callable[[str], TestClient]) -> None:
    """A role that may not read runs learns nothing about which exist: 403, never 404."""
    client = console_as(role)
    for path in ("/evals/1", "/evals/compare?a=1&b=2"):
        assert client.get(path).status_code == 403, path
    assert console_as("evaluator").get("/evals/1").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(entry: str, anon_client: TestClient) -> None:
    for path, _ in PAGES:
        res = anon_client.get(path, follow_redirects=False)
        assert res.status_code == 303, path
        assert res.headers["location"].startswith("/signin?next=")


def test_a_bearer_token_does_not_open_console_pages(entry: str, client: TestClient) -> None:
    """The console trusts only its session cookie: an API token in a header is not a session."""
    res = client.get("/knowledge", follow_redirects=False)
    assert res.status_code == 303


POSTS = [
    ("/knowledge/-/new", {"key": "x-1", "kind": "faq", "title": "t", "body": "b", "lang": "en"}),
    ("/knowledge/faq-1", {"revision": "1", "title": "new", "body": "b", "kind": "faq", "lang": "ja"}),
    ("/knowledge/faq-1/status", {"revision": "1", "status": "draft"}),
    ("/watch-rules", {"version": "1", "yaml": "brand: [x]\n"}),
    ("/profile", {"version": "0", "yaml": "name: X\n"}),
    ("/evals/runs", {"suite": "scope"}),
]


@pytest.mark.parametrize(("path", "data"), POSTS)
def test_every_form_needs_the_csrf_token(
    path: str, data: dict[str, str], entry: str, console_as: Callable[[str], TestClient], runtime: Runtime
) -> None:
    admin = console_as("admin")
    token = csrf_of(admin.get("/knowledge").text)
    missing = admin.post(path, data=data)
    assert missing.status_code == 403 and "security token" in missing.text
    wrong = admin.post(path, data={**data, "csrf_token": token[:-4] + "0000"})
    assert wrong.status_code == 403
    with runtime.db.reading() as s:
        from knowledge import repository

        assert repository.get_entry(s, "faq-1").revision == 1  # nothing changed
        assert repository.count_entries(s) == 1


def test_the_import_form_needs_the_csrf_token(entry: str, console_as: Callable[[str], TestClient]) -> None:
    admin = console_as("admin")
    files = {"file": ("kb.jsonl", b'{"key":"k-1","kind":"faq","title":"t","body":"b","lang":"en"}\n')}
    assert admin.post("/knowledge/-/import", files=files).status_code == 403
    token = csrf_of(admin.get("/knowledge/-/import").text)
    ok = admin.post("/knowledge/-/import", files=files, data={"csrf_token": token})
    assert ok.status_code == 200 and 'data-testid="kb-import-report"' in ok.text


@pytest.mark.parametrize("role", ["agent", "evaluator"])
def test_roles_that_may_not_edit_are_refused_on_post(
    role: str, entry: str, console_as: Callable[[str], TestClient], runtime: Runtime
) -> None:
    """An agent may read knowledge, watch rules and the profile, and may change none of them (as in REST)."""
    client = console_as(role)
    token = csrf_of(client.get("/signin?next=/", follow_redirects=True).text)
    for path, data in POSTS[:5]:
        res = client.post(path, data={**data, "csrf_token": token})
        assert res.status_code == 403, (path, res.status_code)
    with runtime.db.reading() as s:
        from knowledge import repository

        assert repository.get_entry(s, "faq-1").revision == 1
