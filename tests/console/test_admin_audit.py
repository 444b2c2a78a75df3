"""Audit page (admin, as GET /v1/audit): entries by subject or actor, with who, what, when, before and after."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.posts.models import Draft, Post
from kizuki.core import audit
from kizuki.runtime import Runtime
from knowledge.schemas import EntryCreate, EntryUpdate
from tests.console.test_admin_support import signed_in_clients, texts_of


@pytest.fixture
def console_as(app: FastAPI, runtime: Runtime) -> Iterator[Callable[[str], TestClient]]:
    yield from signed_in_clients(app, runtime)


Console = Callable[[str], TestClient]


def _pending_draft(runtime: Runtime) -> int:
    with runtime.db.session() as s:
        post = Post(
            source="x",
            external_id="audit-1",
            author_handle="yamada_hanako",
            text="注文した商品が届きません",
            lang="ja",
            channel="x",
            status="drafted",
            metrics={},
            raw={},
        )
        s.add(post)
        s.flush()
        draft = Draft(
            post_id=post.id,
            generation=1,
            status="pending",
            text="ご不便をおかけしております。DMで詳しくお伺いします。",
            original_text="",
            channel="x",
            model="offline",
            prompt_version="test",
        )
        s.add(draft)
        s.flush()
        return draft.id


def _subjects(page: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="audit-entry" data-action="([^"]+)" data-subject="([^"]+)"', page)


def test_a_drafts_log_shows_who_did_what_with_before_and_after(
    console_as: Console, client: TestClient, runtime: Runtime
) -> None:
    draft_id = _pending_draft(runtime)
    res = client.post(f"/v1/drafts/{draft_id}/reject", json={"reason": "tone", "note": "冷たい印象"})
    assert res.status_code == 200, res.text
    page = console_as("admin").get("/audit", params={"subject": f"draft:{draft_id}"}).text
    assert _subjects(page) == [("draft.reject", f"draft:{draft_id}")]
    (row,) = texts_of(page, "audit-entry")
    assert "test-admin" in row and "冷たい印象" in row
    assert re.search(r"<code>status</code></th><td class=\"del\">pending</td><td class=\"ins\">rejected</td>", page)
    assert f'href="/drafts/{draft_id}"' in page  # the subject's own page


def test_filter_by_actor_and_newest_first_without_a_filter(console_as: Console, runtime: Runtime) -> None:
    runtime.knowledge.create(
        EntryCreate(key="hours", kind="faq", title="営業時間は？", body="9時から18時です。", lang="ja"), actor="sato"
    )
    runtime.knowledge.update("hours", EntryUpdate(revision=1, body="9時から20時です。"), actor="suzuki")
    admin = console_as("admin")
    by_sato = admin.get("/audit", params={"actor": "sato"}).text
    assert _subjects(by_sato) == [("knowledge.create", "knowledge:hours")]
    by_subject = admin.get("/audit", params={"subject": "knowledge:hours"}).text
    assert [a for a, _ in _subjects(by_subject)] == ["knowledge.create", "knowledge.update"]  # oldest first
    assert "9時から20時です。" in by_subject and "9時から18時です。" in by_subject
    newest = admin.get("/audit").text
    actions = [a for a, _ in _subjects(newest)]
    assert actions.index("knowledge.update") < actions.index("knowledge.create")
    assert admin.get("/audit", params={"actor": "nobody"}).text.count('data-testid="audit-empty"') == 1


def test_audit_pages(console_as: Console, runtime: Runtime) -> None:
    with runtime.db.session() as s:
        for n in range(60):
            audit.record(s, actor="bulk", action="test.bulk", subject=f"bulk:{n}", after={"n": n})
    admin = console_as("admin")
    first = admin.get("/audit", params={"actor": "bulk"}).text
    second = admin.get("/audit", params={"actor": "bulk", "page": 2}).text
    subjects = [s for _, s in _subjects(first)] + [s for _, s in _subjects(second)]
    assert subjects == [f"bulk:{n}" for n in range(60)]
    assert 'rel="next"' in first and 'rel="next"' not in second and 'rel="prev"' in second


def test_audit_in_japanese(console_as: Console) -> None:
    page = console_as("admin").get("/audit", headers={"Accept-Language": "ja"}).text
    assert "<h1>監査ログ</h1>" in page
