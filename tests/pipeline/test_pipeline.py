"""The pipeline end to end on the real database and index, with the offline model (and respx for a provider)."""

from __future__ import annotations

import httpx
import pytest
import respx
from sqlalchemy import select

from agent.posts.models import Draft, Post
from kizuki.core import audit, jobs
from kizuki.core.settings import Settings
from kizuki.runtime import Runtime
from tests.pipeline.conftest import make_post


def test_ingest_drafts_with_full_provenance(kb_runtime: Runtime) -> None:
    (out,) = kb_runtime.pipeline.ingest([make_post("KAMADOでE03が出て炊けない…どうすればいい？")])
    assert out.outcome == "drafted", out.reason
    draft = out.draft
    assert draft is not None
    assert draft.model == "offline"
    assert draft.prompt_version
    assert draft.language == "ja"
    assert "E03" in draft.text
    assert any(c["key"].startswith("kamado-e03") for c in draft.citations)
    assert draft.checks["verdict"] in ("pass", "warn")
    assert draft.status == "pending"
    assert draft.triage is not None
    assert draft.triage["language"] == "ja"
    with kb_runtime.db.session() as s:
        row = s.get(Draft, draft.id)
        assert row is not None
        cited = {(c["key"], c["revision"]) for c in row.citations}
        assert cited <= {(r["key"], r["revision"]) for r in row.retrieved}
        actions = [e.action for e in s.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id))]
        assert actions[-3:] == ["post.ingest", "draft.create", "draft.checks"]
        assert audit.verify(s) == []


def test_english_post_gets_english_reply(kb_runtime: Runtime) -> None:
    (out,) = kb_runtime.pipeline.ingest([make_post("My SoraBuds 2 won't pair with my phone anymore, help?")])
    assert out.draft is not None
    assert out.draft.language == "en"
    assert "SoraBuds" in out.draft.text


def test_duplicate_is_idempotent(kb_runtime: Runtime) -> None:
    post = make_post("Kurumi R7がE12で止まる")
    first = kb_runtime.pipeline.ingest([post])[0]
    again = kb_runtime.pipeline.ingest([post])[0]
    assert first.outcome == "drafted"
    assert again.outcome == "duplicate"
    assert again.post_id == first.post_id
    with kb_runtime.db.session() as s:
        assert len(s.scalars(select(Draft)).all()) == 1


def test_noise_is_dropped_but_kept_with_reason(kb_runtime: Runtime) -> None:
    (out,) = kb_runtime.pipeline.ingest([make_post("今夜は流星群！星空がきれいだった🌠")])
    assert out.outcome == "dropped"
    assert out.reason
    with kb_runtime.db.session() as s:
        post = s.get(Post, out.post_id)
        assert post is not None
        assert post.status == "dropped"
        assert post.reason == out.reason
        assert not post.drafts


def test_do_not_engage_gets_no_draft_and_audit_says_why(kb_runtime: Runtime) -> None:
    from agent.intake.models import DoNotEngageEntry

    with kb_runtime.db.session() as s:
        s.add(DoNotEngageEntry(handle="troll_99", reason="harassment of staff", added_by="lead"))
    (out,) = kb_runtime.pipeline.ingest([make_post("KAMADO壊れた", author={"handle": "@Troll_99"})])
    assert out.outcome == "no_engage"
    assert "harassment of staff" in (out.reason or "")
    with kb_runtime.db.session() as s:
        post = s.get(Post, out.post_id)
        assert post is not None
        assert post.triage is not None  # triaged all the same
        entry = s.scalars(select(audit.AuditEntry).where(audit.AuditEntry.subject == f"post:{post.id}")).one()
        assert entry.after["status"] == "no_engage"


def test_personal_data_moves_to_dm_without_echo(kb_runtime: Runtime) -> None:
    (out,) = kb_runtime.pipeline.ingest(
        [make_post("注文番号 HS-2026-118734 の KAMADO がまだ届かない。電話 090-1234-5678 に連絡ください")]
    )
    assert out.draft is not None
    assert out.draft.needs_dm
    assert "090-1234-5678" not in out.draft.text
    assert "118734" not in out.draft.text


def test_model_timeout_leaves_post_stored_and_draft_failed_and_retryable(
    kb_runtime: Runtime, settings: Settings
) -> None:
    rt = Runtime(
        settings.model_copy(
            update={
                "model": "openai/gpt-4.1-mini",
                "api_base": "http://llm.test/v1",
                "model_max_retries": 0,
                "model_timeout_s": 0.5,
            }
        ),
        db=kb_runtime.db,
    )
    with respx.mock(assert_all_called=False) as mock:
        mock.post("http://llm.test/v1/chat/completions").mock(side_effect=httpx.ReadTimeout("slow"))
        (out,) = rt.pipeline.ingest([make_post("SoraBuds 2の片耳だけ聞こえない")])
    assert out.outcome == "failed"
    with rt.db.session() as s:
        post = s.get(Post, out.post_id)
        assert post is not None
        assert post.status == "failed"
        (draft,) = post.drafts
        assert draft.status == "failed"
        assert draft.error
        job = s.scalars(select(jobs.Job).where(jobs.Job.kind == "draft")).one()
        assert job.status == "queued"  # retried later, with backoff
        assert job.last_error
        job.run_after = job.created_at  # due now
    # The provider is back: the queued job drafts the same post, in the same draft row.
    import asyncio

    from kizuki.core.worker import Worker

    asyncio.run(Worker(kb_runtime, concurrency=1).drain())
    with kb_runtime.db.session() as s:
        post = s.get(Post, out.post_id)
        assert post is not None
        (draft,) = post.drafts
        assert draft.status == "pending"
        assert draft.model == "offline"
        assert post.status == "drafted"


def test_post_validation_rejects_bad_input() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        make_post("   ")
    with pytest.raises(ValidationError):
        make_post("ok", source="Has Space")
    with pytest.raises(ValidationError):
        make_post("x" * 10_001)
    with pytest.raises(ValidationError):
        make_post("bad \ud800 surrogate")
    post = make_post("ＦＵＬＬ　ＷＩＤＴＨ　ＫＡＭＡＤＯ　😭", author={"handle": "@Someone"})
    assert post.author.handle == "Someone"
