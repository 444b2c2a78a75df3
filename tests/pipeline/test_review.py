"""The review queue over REST: decisions, edits re-checked, 409s, two-person rule, races, outbox, audit."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import respx
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, update

from agent.posts.models import Draft
from kizuki.core import audit
from kizuki.core.orm import utcnow
from kizuki.core.settings import Settings
from kizuki.core.worker import Worker
from kizuki.runtime import Runtime
from tests.core.audit_tamper import switch_off_append_only
from tests.pipeline.conftest import make_post


def _draft(rt: Runtime, text: str = "KAMADOでE03が出て炊けない", **kw: Any) -> int:
    (out,) = rt.pipeline.ingest([make_post(text, **kw)])
    assert out.draft is not None, out.reason
    return out.draft.id


def _set(rt: Runtime, draft_id: int, **values: Any) -> None:
    with rt.db.session() as s:
        s.execute(update(Draft).where(Draft.id == draft_id).values(**values))


def test_queue_is_ordered_by_priority_then_age(kb_runtime: Runtime, client_as: Callable[..., TestClient]) -> None:
    low = _draft(kb_runtime, "SoraBuds 2のバッテリーはどのくらい持ちますか？")
    high = _draft(kb_runtime, "Kurumi R7が壊れた")
    _set(kb_runtime, low, priority=1000)
    _set(kb_runtime, high, priority=3500)
    agent = client_as("agent")
    items = agent.get("/v1/drafts").json()["items"]
    assert [d["id"] for d in items[:2]] == [high, low]
    detail = agent.get(f"/v1/drafts/{high}").json()
    assert detail["post"]["text"] == "Kurumi R7が壊れた"
    assert detail["triage"]["intent"]
    assert detail["retrieved"]
    assert detail["prompt_version"]
    assert "author_posts" in detail


def test_approve_unedited_then_409_for_everyone_after(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    d = _draft(kb_runtime)
    agent = client_as("agent", "hana")
    version = agent.get(f"/v1/drafts/{d}").json()["version"]
    res = agent.post(f"/v1/drafts/{d}/approve", json={"version": version, "acknowledge_warnings": True})
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "approved"
    assert res.json()["delivery_status"] == "awaiting_manual"
    again = client_as("agent", "ken").post(f"/v1/drafts/{d}/approve", json={"acknowledge_warnings": True})
    assert again.status_code == 409
    assert again.json()["error"] == "DraftAlreadyDecided"


def test_stale_version_is_409(kb_runtime: Runtime, client_as: Callable[..., TestClient]) -> None:
    d = _draft(kb_runtime)
    res = client_as("agent").post(f"/v1/drafts/{d}/reject", json={"reason": "tone", "version": 99})
    assert res.status_code == 409
    assert res.json()["error"] == "StaleVersion"
    assert res.json()["current_version"] == 1


def test_blocked_edit_is_refused_with_findings(kb_runtime: Runtime, client_as: Callable[..., TestClient]) -> None:
    d = _draft(kb_runtime)
    agent = client_as("agent")
    res = agent.post(f"/v1/drafts/{d}/approve", json={"text": "090-1234-5678にお電話ください、バカ", "version": 1})
    assert res.status_code == 422
    body = res.json()
    assert body["error"] == "ReplyBlocked"
    assert {"pii", "ng_word"} <= {f["category"] for f in body["findings"]}
    assert agent.get(f"/v1/drafts/{d}").json()["status"] == "pending"


def test_warnings_need_acknowledgement_and_edit_is_audited_with_diff(
    kb_runtime: Runtime, client_as: Callable[..., TestClient], client: TestClient
) -> None:
    d = _draft(kb_runtime)
    agent = client_as("agent", "hana")
    edited = "E03はふたのセンサーの表示です。たぶんパッキンの汚れが原因だと思います。"
    res = agent.post(f"/v1/drafts/{d}/approve", json={"text": edited, "version": 1})
    assert res.status_code == 422
    assert res.json()["error"] == "WarningsNotAcknowledged"
    assert "uncertain" in {f["category"] for f in res.json()["findings"]}
    ok = agent.post(
        f"/v1/drafts/{d}/approve", json={"text": edited, "version": 1, "acknowledge_warnings": True, "note": "ok"}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["text"] == edited
    assert ok.json()["original_text"] != edited
    entries = client.get("/v1/audit", params={"subject": f"draft:{d}"}).json()
    actions = [e["action"] for e in entries]
    assert "draft.edit" in actions
    assert "draft.approve" in actions
    edit = next(e for e in entries if e["action"] == "draft.edit")
    assert "+E03はふたのセンサーの表示です。" in edit["after"]["diff"]
    assert edit["actor"] == "hana"


def test_reject_and_regenerate_keep_the_old_draft(kb_runtime: Runtime, client_as: Callable[..., TestClient]) -> None:
    d = _draft(kb_runtime, "Hoshizoraアプリにログインできない")
    agent = client_as("agent")
    bad = agent.post(f"/v1/drafts/{d}/reject", json={"reason": "because"})
    assert bad.status_code == 422
    res = agent.post(f"/v1/drafts/{d}/regenerate", json={"instructions": "二段階認証にも触れてください"})
    assert res.status_code == 202, res.text
    assert res.json()["superseded"]["status"] == "superseded"
    assert res.json()["generation"] == 2
    asyncio.run(Worker(kb_runtime, concurrency=1).drain())
    with kb_runtime.db.session() as s:
        rows = s.scalars(select(Draft).order_by(Draft.generation)).all()
        assert [(r.generation, r.status) for r in rows] == [(1, "superseded"), (2, "pending")]
        assert rows[1].instructions == "二段階認証にも触れてください"
        new_id = rows[1].id
    rejected = agent.post(f"/v1/drafts/{new_id}/reject", json={"reason": "wrong_facts", "note": "old firmware"})
    assert rejected.status_code == 200
    assert rejected.json()["decision_reason"] == "wrong_facts"
    assert agent.post(f"/v1/drafts/{d}/regenerate", json={}).status_code == 409  # superseded already


def test_two_person_rule_for_high_risk(kb_runtime: Runtime, client_as: Callable[..., TestClient]) -> None:
    d = _draft(kb_runtime)
    _set(kb_runtime, d, flame_risk=90)
    hana, ken = client_as("agent", "hana"), client_as("agent", "ken")
    first = hana.post(f"/v1/drafts/{d}/approve", json={"acknowledge_warnings": True})
    assert first.status_code == 200
    assert first.json()["status"] == "pending"
    assert len(first.json()["approvals"]) == 1
    version = first.json()["version"]  # the second approver decides on the draft as it is now
    same = hana.post(f"/v1/drafts/{d}/approve", json={"version": version, "acknowledge_warnings": True})
    assert same.status_code == 409
    assert same.json()["error"] == "SecondApproverRequired"
    second = ken.post(f"/v1/drafts/{d}/approve", json={"version": version, "acknowledge_warnings": True})
    assert second.status_code == 200
    assert second.json()["status"] == "approved"
    assert [a["by"] for a in second.json()["approvals"]] == ["hana", "ken"]


def test_eight_reviewers_at_once_exactly_one_wins(kb_runtime: Runtime, client_as: Callable[..., TestClient]) -> None:
    d = _draft(kb_runtime)
    clients = [client_as("agent", f"reviewer-{i}") for i in range(8)]
    barrier = threading.Barrier(8)
    codes: list[int] = []
    lock = threading.Lock()

    def decide(c: TestClient) -> None:
        barrier.wait()
        res = c.post(f"/v1/drafts/{d}/approve", json={"version": 1, "acknowledge_warnings": True})
        with lock:
            codes.append(res.status_code)

    threads = [threading.Thread(target=decide, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] + [409] * 7
    with kb_runtime.db.session() as s:
        approvals = s.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "draft.approve")).all()
        assert len(approvals) == 1
        assert audit.verify(s) == []


def test_manual_channel_mark_sent(kb_runtime: Runtime, client_as: Callable[..., TestClient]) -> None:
    d = _draft(kb_runtime)
    agent = client_as("agent")
    assert agent.post(f"/v1/drafts/{d}/mark-sent", json={}).status_code == 409  # not approved yet
    agent.post(f"/v1/drafts/{d}/approve", json={"acknowledge_warnings": True})
    res = agent.post(f"/v1/drafts/{d}/mark-sent", json={"url": "https://x.example/hoshizora_support/1"})
    assert res.status_code == 200
    assert res.json()["status"] == "sent"
    assert agent.post(f"/v1/drafts/{d}/mark-sent", json={}).status_code == 409


def _webhook_runtime(kb_runtime: Runtime, settings: Settings) -> Runtime:
    return Runtime(
        settings.model_copy(
            update={
                "delivery": "webhook",
                "webhook_url": "http://hooks.test/reply",
                "webhook_secret": SecretStr("s3cret"),
                "delivery_max_attempts": 2,
            }
        ),
        db=kb_runtime.db,
    )


def test_webhook_delivery_is_signed_and_once_after_a_crash(kb_runtime: Runtime, settings: Settings) -> None:
    from review.schemas import ApproveRequest
    from review.service import approve

    rt = _webhook_runtime(kb_runtime, settings)
    d = _draft(rt)
    approve(rt, d, ApproveRequest(acknowledge_warnings=True), actor="hana")
    # The process "crashed" here: approval committed, nothing delivered. A new worker picks it up.
    received: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200, json={"id": "posted-1"})

    with respx.mock(assert_all_called=True) as mock:
        mock.post("http://hooks.test/reply").mock(side_effect=hook)
        asyncio.run(Worker(rt, concurrency=2).drain())
        asyncio.run(Worker(rt, concurrency=2).drain())  # a second worker finds nothing more to send
    assert len(received) == 1
    req = received[0]
    expected = (
        "sha256="
        + hmac.new(
            b"s3cret", req.headers["x-kizuki-timestamp"].encode() + b"." + req.content, hashlib.sha256
        ).hexdigest()
    )
    assert req.headers["x-kizuki-signature"] == expected
    assert req.headers["idempotency-key"] == f"kizuki-draft-{d}-g1"
    assert json.loads(req.content)["draft_id"] == d
    with rt.db.session() as s:
        row = s.get(Draft, d)
        assert row is not None
        assert row.status == "sent"
        assert row.delivery_status == "sent"


def test_webhook_failure_retries_then_records_the_reason(kb_runtime: Runtime, settings: Settings) -> None:
    from kizuki.core import jobs
    from review.schemas import ApproveRequest
    from review.service import approve

    rt = _webhook_runtime(kb_runtime, settings)
    d = _draft(rt)
    approve(rt, d, ApproveRequest(acknowledge_warnings=True), actor="hana")
    with respx.mock() as mock:
        route = mock.post("http://hooks.test/reply").mock(return_value=httpx.Response(503, text="busy"))
        asyncio.run(Worker(rt).drain())
        with rt.db.session() as s:
            row = s.get(Draft, d)
            assert row is not None
            assert row.delivery_status == "retrying"
            assert "503" in (row.delivery_error or "")
            s.execute(update(jobs.Job).values(run_after=utcnow()))
        asyncio.run(Worker(rt).drain())
        assert route.call_count == 2
    with rt.db.session() as s:
        row = s.get(Draft, d)
        assert row is not None
        assert row.status == "delivery_failed"  # not "failed", which means the model failed to draft
        assert row.delivery_status == "failed"


def test_audit_verify_detects_tampering(kb_runtime: Runtime) -> None:
    _draft(kb_runtime)
    with kb_runtime.db.session() as s:
        assert audit.verify(s) == []
        switch_off_append_only(s)  # someone with write access to the database (the triggers refuse others)
        entry = s.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "draft.create")).one()
        entry.after = {**(entry.after or {}), "text": "a quietly changed reply"}
    with kb_runtime.db.session() as s:
        problems = audit.verify(s)
        assert [p.problem for p in problems] == ["content changed after it was written"]
        switch_off_append_only(s)
        victim = s.scalars(select(audit.AuditEntry).order_by(audit.AuditEntry.id).limit(1)).one()
        s.delete(victim)
    with kb_runtime.db.session() as s:
        assert any("link broken" in p.problem for p in audit.verify(s))
