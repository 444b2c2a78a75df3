"""Retention: personal data of old posts is redacted (text, handle, name, URL, drafts' texts and check matches);
what the audit and the statistics need stays; posts still at work wait; the worker runs it daily."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from agent.checks.rules import default_rules
from agent.posts.models import Draft, Post
from agent.posts.privacy import (
    HANDLE_PLACEHOLDER,
    Redactor,
    author_key,
    privacy_key,
    redact_old_posts,
    schedule_retention,
)
from agent.posts.repository import author_posts
from kizuki.core import audit
from kizuki.core.db import Database
from kizuki.core.jobs import Job, JobKind
from kizuki.core.orm import utcnow
from kizuki.core.settings import Settings
from kizuki.core.worker import Worker
from kizuki.runtime import Runtime
from tests.privacy.conftest import (
    EN_TEXT,
    EN_VALUES,
    JA_TEXT,
    JA_VALUES,
    add_draft,
    add_post,
    audit_dump,
    last_audit_id,
    row,
)

KEY = b"k" * 32
R = Redactor.from_rules(default_rules())


def _seed(db: Database) -> dict[str, int]:
    with db.session() as s:
        old_ja = add_post(s, "1", JA_TEXT)
        add_draft(s, old_ja, status="rejected")
        add_draft(s, old_ja, status="sent", generation=2)
        old_en = add_post(s, "2", EN_TEXT, handle="John_S", name="John Smith")
        recent = add_post(s, "3", JA_TEXT, age_days=10)
        add_draft(s, recent, status="sent")
        in_review = add_post(s, "4", JA_TEXT, age_days=200)
        add_draft(s, in_review, status="pending")
        queued = add_post(s, "5", EN_TEXT, age_days=200, status="queued")
        return {"ja": old_ja.id, "en": old_en.id, "recent": recent.id, "review": in_review.id, "queued": queued.id}


def test_old_posts_lose_their_personal_data_and_keep_what_statistics_need(db: Database) -> None:
    ids = _seed(db)
    before_audit = last_audit_id(db)
    report = redact_old_posts(db, R, KEY, older_than_days=90, actor="test")
    assert (report.posts, report.drafts, report.skipped_in_progress) == (2, 2, 2)
    assert sorted(report.post_ids) == sorted([ids["ja"], ids["en"]])

    with db.reading() as s:
        ja = s.get(Post, ids["ja"])
        en = s.get(Post, ids["en"])
        assert ja is not None and en is not None
        stored = json.dumps(
            [
                {c.name: getattr(p, c.name) for c in Post.__table__.columns}
                | {"drafts": [{c.name: getattr(d, c.name) for c in Draft.__table__.columns} for d in p.drafts]}
                for p in (ja, en)
            ],
            ensure_ascii=False,
            default=str,
        )
        for value in (*JA_VALUES, *EN_VALUES, "taro_123", "John_S", "渋谷区"):
            assert value not in stored, value
        assert "〔電話番号/phone〕" in ja.text and "〔マイナンバー/My Number〕" in ja.text
        assert "〔カード番号/card number〕" in en.text and "〔住所/address〕" in en.text
        assert (
            ja.author_handle == f"{HANDLE_PLACEHOLDER}#{ja.id}" and en.author_handle == f"{HANDLE_PLACEHOLDER}#{en.id}"
        )
        assert ja.author_name is None and ja.url is None and ja.raw == {}
        assert author_posts(s, ja.author_handle, exclude_post_id=ja.id) == []  # no shared "history" of the redacted
        assert ja.redacted_at is not None and ja.author_key == author_key(KEY, "x", "taro_123")
        # kept: ids, source, channel, dates, language, triage, status, metrics, followers
        assert (ja.source, ja.external_id, ja.channel, ja.lang, ja.status) == ("x", "1", "x", "ja", "drafted")
        assert ja.triage is not None and ja.triage["intent"] == "complaint" and ja.metrics == {"likes": 1}
        assert ja.received_at is not None and ja.posted_at is not None and ja.author_followers == 120
        sent = ja.drafts[1]
        assert sent.status == "sent" and "〔氏名/name〕様" in sent.text and "〔電話番号/phone〕" in sent.text
        assert sent.checks["findings"][0]["match"] == "〔電話番号/phone〕"
        assert sent.approvals[0]["by"] == "hana" and "090" not in sent.approvals[0]["note"]

        recent = s.get(Post, ids["recent"])
        review = s.get(Post, ids["review"])
        assert recent is not None and recent.text == JA_TEXT and recent.redacted_at is None
        assert review is not None and review.text == JA_TEXT and review.author_handle == "taro_123"

    # one audit entry for the batch: ids and counts, no personal data
    entries = audit_dump(db, before_audit)
    assert '"privacy.redact"' in entries and str(ids["ja"]) in entries
    for value in (*JA_VALUES, *EN_VALUES, "taro_123"):
        assert value not in entries
    with db.reading() as s:
        assert audit.verify(s) == []

    again = redact_old_posts(db, R, KEY, older_than_days=90, actor="test")
    assert again.posts == 0 and last_audit_id(db) == before_audit + 1


def test_dry_run_counts_and_changes_nothing(db: Database) -> None:
    ids = _seed(db)
    before_audit = last_audit_id(db)
    report = redact_old_posts(db, R, KEY, older_than_days=90, actor="test", dry_run=True)
    assert (report.posts, report.drafts, report.skipped_in_progress) == (2, 2, 2)
    ja = row(db, Post, ids["ja"])
    assert ja.text == JA_TEXT and ja.redacted_at is None and ja.author_handle == "taro_123"
    assert last_audit_id(db) == before_audit


def test_a_post_in_review_is_redacted_once_its_review_ends(db: Database) -> None:
    ids = _seed(db)
    redact_old_posts(db, R, KEY, older_than_days=90, actor="test")
    with db.session() as s:
        draft = s.scalars(select(Draft).where(Draft.post_id == ids["review"])).one()
        draft.status = "rejected"
    report = redact_old_posts(db, R, KEY, older_than_days=90, actor="test")
    assert report.post_ids == [ids["review"]]
    assert "090-1234-5678" not in row(db, Post, ids["review"]).text


def test_the_worker_runs_retention_daily(settings: Settings, db: Database) -> None:
    rt = Runtime(settings, db=db)
    ids = _seed(db)
    first = schedule_retention(db, settings)
    assert first is not None and schedule_retention(db, settings) is not None
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.kind == JobKind.PRIVACY_REDACT)) == 1
    worker = Worker(rt, kinds=(JobKind.PRIVACY_REDACT,))
    asyncio.run(worker.drain())
    assert "090-1234-5678" not in row(db, Post, ids["ja"]).text
    assert row(db, Post, ids["ja"]).author_key == author_key(privacy_key(settings), "x", "taro_123")
    with db.reading() as s:
        queued = s.scalars(select(Job).where(Job.kind == JobKind.PRIVACY_REDACT, Job.status == "queued")).all()
    assert len(queued) == 1 and queued[0].run_after > utcnow() + timedelta(hours=23)
    assert schedule_retention(db, settings.model_copy(update={"retention_days": 0})) is None


def test_a_post_that_changes_while_its_redaction_is_planned_waits(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan is made outside the write transaction; a reviewer acting on the post meanwhile wins."""
    import agent.posts.privacy as privacy

    ids = _seed(db)
    plan = privacy._plan_post

    def plan_then_reviewer_acts(post: Post, *args: object) -> object:
        planned = plan(post, *args)  # type: ignore[arg-type]
        if post.id == ids["ja"]:
            with db.session() as s:
                draft = s.scalars(select(Draft).where(Draft.post_id == post.id, Draft.generation == 1)).one()
                draft.decision_note = "a reviewer's later note"
        return planned

    monkeypatch.setattr(privacy, "_plan_post", plan_then_reviewer_acts)
    report = redact_old_posts(db, R, KEY, older_than_days=90, actor="test")
    assert report.post_ids == [ids["en"]] and report.skipped_in_progress == 3
    assert row(db, Post, ids["ja"]).text == JA_TEXT
    monkeypatch.setattr(privacy, "_plan_post", plan)
    assert redact_old_posts(db, R, KEY, older_than_days=90, actor="test").post_ids == [ids["ja"]]


def test_a_redacted_post_is_neither_regenerated_nor_delivered_again(settings: Settings, db: Database) -> None:
    """Its text is placeholders now: a new reply drafted from it, or a reply sent to a removed handle, is wrong."""
    from kizuki.core.errors import Conflict
    from review import service
    from review.schemas import RedeliverRequest, RegenerateRequest

    rt = Runtime(settings, db=db)
    with db.session() as s:
        post = add_post(s, "9", JA_TEXT, age_days=200)
        rejected = add_draft(s, post, status="rejected")
        given_up = add_draft(s, post, status="delivery_failed", generation=2)
        ids = (rejected.id, given_up.id)
    redact_old_posts(db, R, KEY, older_than_days=90, actor="test")
    with pytest.raises(Conflict, match="redacted"):
        service.regenerate(rt, ids[1], RegenerateRequest(version=row(db, Draft, ids[1]).version), actor="hana")
    with pytest.raises(Conflict, match="redacted"):
        service.redeliver(rt, ids[1], RedeliverRequest(version=row(db, Draft, ids[1]).version), actor="hana")
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_a_run_that_fails_still_queues_tomorrows(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent.posts.privacy as privacy

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    rt = Runtime(settings, db=db)
    schedule_retention(db, settings)
    monkeypatch.setattr(privacy, "redact_old_posts", broken)
    asyncio.run(Worker(rt, kinds=(JobKind.PRIVACY_REDACT,)).drain())
    with db.reading() as s:
        later = s.scalars(select(Job).where(Job.kind == JobKind.PRIVACY_REDACT, Job.run_after > utcnow())).all()
    assert any(j.run_after > utcnow() + timedelta(hours=23) for j in later)
