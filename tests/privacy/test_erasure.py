"""Erasure on request: one author's posts, drafts and jobs go (CLI and REST, admin only); the audit entry names the
author by a keyed hash only; a queued job recreates nothing; handles are compared NFKC, case-folded, without '@'."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from agent.checks.rules import default_rules
from agent.posts.models import Draft, Post
from agent.posts.privacy import Redactor, author_key, forget_author, privacy_key, redact_old_posts
from kizuki.core import audit, jobs
from kizuki.core.db import Database
from kizuki.core.jobs import Job, JobKind
from kizuki.core.settings import get_settings
from kizuki.core.worker import Worker
from kizuki.runtime import Runtime
from tests.privacy.conftest import EN_TEXT, JA_TEXT, add_draft, add_post, audit_dump, last_audit_id

KEY = b"k" * 32


def _seed(db: Database, key: bytes = KEY) -> dict[str, list[int]]:
    """taro's posts under three spellings (one already redacted by retention), hana's post, queued and done jobs."""
    with db.session() as s:
        a = add_post(s, "1", JA_TEXT, handle="taro_123")
        d1 = add_draft(s, a, status="approved")
        b = add_post(s, "2", EN_TEXT, handle="TARO_123", age_days=1, status="queued")
        c = add_post(s, "3", JA_TEXT, handle="ｔａｒｏ＿１２３", age_days=200)
        other = add_post(s, "4", JA_TEXT, handle="hana_88", name="花子")
        add_draft(s, other, status="sent")
        elsewhere = add_post(s, "5", JA_TEXT, handle="taro_123", source="instagram")
        jobs.enqueue(s, JobKind.DRAFT, {"post_id": b.id, "generation": 1}, dedupe_key=f"draft:{b.id}:1")
        jobs.enqueue(s, JobKind.DELIVER, {"draft_id": d1.id}, dedupe_key=f"deliver:{d1.id}")
        done = jobs.enqueue(s, JobKind.DRAFT, {"post_id": a.id, "generation": 2, "instructions": "call 090-1234-5678"})
        done.status = "done"
        jobs.enqueue(s, JobKind.DRAFT, {"post_id": other.id, "generation": 2}, dedupe_key=f"draft:{other.id}:2")
        ids = {"taro": [a.id, b.id, c.id], "drafts": [d1.id], "other": [other.id, elsewhere.id]}
    # the oldest was redacted by retention: its handle is gone, its keyed hash stands for it
    report = redact_old_posts(db, Redactor.from_rules(default_rules()), key, older_than_days=150, actor="test")
    assert report.post_ids == [ids["taro"][2]]
    return ids


def _count(db: Database, model: type, *where: object) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_forget_deletes_every_post_draft_and_job_of_the_author_only(db: Database) -> None:
    ids = _seed(db)
    before_audit = last_audit_id(db)
    with db.session() as s:
        report = forget_author(s, KEY, "X", "＠Ｔａｒｏ_123", actor="admin:hana")
    assert (report.posts, report.drafts, report.jobs) == (3, 1, 3)
    assert report.post_ids == sorted(ids["taro"])
    assert _count(db, Post, Post.id.in_(ids["taro"])) == 0
    assert _count(db, Draft, Draft.id.in_(ids["drafts"])) == 0
    assert _count(db, Post, Post.id.in_(ids["other"])) == 2  # hana, and taro on another network
    assert _count(db, Job) == 1  # hana's job only
    entries = audit_dump(db, before_audit)
    assert '"privacy.forget"' in entries and author_key(KEY, "x", "taro_123") in entries
    assert "taro" not in entries.lower() and "ｔａｒｏ" not in entries
    with db.reading() as s:
        assert audit.verify(s) == []
    with db.session() as s:
        assert forget_author(s, KEY, "x", "taro_123", actor="admin:hana").posts == 0


def test_dry_run_counts_and_deletes_nothing(db: Database) -> None:
    ids = _seed(db)
    before_audit = last_audit_id(db)
    with db.reading() as s:
        report = forget_author(s, KEY, "x", "@taro_123", actor="admin", dry_run=True)
    assert (report.posts, report.drafts, report.jobs) == (3, 1, 3)
    assert _count(db, Post, Post.id.in_(ids["taro"])) == 3 and last_audit_id(db) == before_audit


def test_a_queued_draft_job_recreates_nothing(runtime: Runtime) -> None:
    db, key = runtime.db, privacy_key(runtime.settings)
    ids = _seed(db, key)
    with db.session() as s:
        assert forget_author(s, key, "x", "taro_123", actor="admin").posts == 3
        # a job enqueued before the erasure by some other path still points at the post
        jobs.enqueue(s, JobKind.DRAFT, {"post_id": ids["taro"][0], "generation": 3})
    asyncio.run(Worker(runtime, kinds=(JobKind.DRAFT,)).drain())
    assert _count(db, Post, Post.id.in_(ids["taro"])) == 0
    assert _count(db, Draft, Draft.post_id.in_(ids["taro"])) == 0


@pytest.mark.parametrize("handle", ["", "@", "  ＠ "])
def test_an_empty_handle_is_refused(client: TestClient, handle: str) -> None:
    res = client.post("/v1/privacy/erasures", json={"source": "x", "handle": handle})
    assert res.status_code == 422, res.text


def test_rest_erasure_is_admin_only_and_audited(
    runtime: Runtime, client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    ids = _seed(runtime.db, privacy_key(runtime.settings))
    assert (
        client_as("agent").post("/v1/privacy/erasures", json={"source": "x", "handle": "taro_123"}).status_code == 403
    )
    res = client.post("/v1/privacy/erasures", json={"source": "x", "handle": "@Taro_123", "dry_run": True})
    assert res.status_code == 200 and res.json()["posts"] == 3 and res.json()["dry_run"] is True
    assert _count(runtime.db, Post, Post.id.in_(ids["taro"])) == 3
    res = client.post("/v1/privacy/erasures", json={"source": "x", "handle": "@Taro_123"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["posts"], body["drafts"], body["jobs"]) == (3, 1, 3)
    assert body["author_key"] == author_key(privacy_key(runtime.settings), "x", "taro_123")
    assert _count(runtime.db, Post, Post.id.in_(ids["taro"])) == 0
    audit_res = client.get("/v1/audit", params={"subject": f"author:{body['author_key']}"})
    assert audit_res.status_code == 200 and "taro" not in audit_res.text.lower()


def test_rest_redaction_runs_retention_now(runtime: Runtime, client: TestClient) -> None:
    with runtime.db.session() as s:
        post = add_post(s, "9", JA_TEXT, age_days=40)
    res = client.post("/v1/privacy/redactions", json={"older_than_days": 30})
    assert res.status_code == 200, res.text
    assert res.json()["posts"] == 1
    with runtime.db.reading() as s:
        assert "090-1234-5678" not in (s.get(Post, post.id) or Post(text="")).text
    assert client.post("/v1/privacy/redactions", json={"older_than_days": 0}).status_code == 422


def test_cli_forget_asks_for_yes_then_erases(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from kizuki.cli import app

    monkeypatch.setenv("KIZUKI_DATABASE_URL", db.url)
    ids = _seed(db, privacy_key(get_settings()))  # the key the CLI reads: KIZUKI_HOME/privacy.key
    runner = CliRunner()
    res = runner.invoke(app, ["privacy", "forget", "--source", "x", "--author", "@taro_123"])
    assert res.exit_code == 2 and "--yes" in res.stderr
    assert _count(db, Post, Post.id.in_(ids["taro"])) == 3
    res = runner.invoke(app, ["privacy", "forget", "--source", "x", "--author", "@taro_123", "--yes", "--json"])
    assert res.exit_code == 0, res.stderr
    assert '"posts": 3' in res.stdout and "taro" not in res.stdout.lower()
    assert _count(db, Post, Post.id.in_(ids["taro"])) == 0


def test_cli_redact_dry_run_then_redact(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from kizuki.cli import app

    monkeypatch.setenv("KIZUKI_DATABASE_URL", db.url)
    with db.session() as s:
        old = add_post(s, "1", JA_TEXT, age_days=100)
        add_post(s, "2", EN_TEXT, age_days=5)
    runner = CliRunner()
    res = runner.invoke(app, ["privacy", "redact", "--older-than", "30", "--dry-run"])
    assert res.exit_code == 0, res.stderr
    assert "would redact 1 posts" in res.stdout
    res = runner.invoke(app, ["privacy", "redact", "--json"])  # KIZUKI_RETENTION_DAYS: 90 by default
    assert res.exit_code == 0, res.stderr
    assert '"posts": 1' in res.stdout
    with db.reading() as s:
        assert "090-1234-5678" not in (s.get(Post, old.id) or Post(text="")).text
