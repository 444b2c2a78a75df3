"""Review races: decisions only on the version a reviewer saw; regenerations never drop instructions;
a draft whose delivery gave up can be delivered again (same idempotency key for the receiver)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, update

from agent.posts.models import Draft
from kizuki.core import audit, jobs
from kizuki.core.worker import Worker
from kizuki.runtime import Runtime
from tests.pipeline.conftest import make_post

JA_POST = "KAMADOでE03が出て炊けない"
EN_POST = "My KAMADO K-3 shows E03 and will not cook, what do I do?"


def _draft(rt: Runtime, text: str = JA_POST) -> int:
    (out,) = rt.pipeline.ingest([make_post(text)])
    assert out.draft is not None, out.reason
    return out.draft.id


def _set(rt: Runtime, draft_id: int, **values: Any) -> None:
    with rt.db.session() as s:
        s.execute(update(Draft).where(Draft.id == draft_id).values(**values))


def _row(rt: Runtime, draft_id: int) -> Draft:
    with rt.db.session() as s:
        row = s.get(Draft, draft_id)
        assert row is not None
        s.expunge(row)
        return row


def _drain(rt: Runtime) -> None:
    asyncio.run(Worker(rt, concurrency=1).drain())


# -- a decision needs the version the reviewer saw -------------------------------------------------------------


@pytest.mark.parametrize(
    ("post", "edit"),
    [
        (JA_POST, "E03はふたのセンサーの表示です。ふたを閉め直してからもう一度お試しください。"),
        (EN_POST, "E03 means the lid sensor. Please close the lid firmly and try again."),
    ],
)
def test_an_edit_without_the_version_is_refused(
    kb_runtime: Runtime, client_as: Callable[..., TestClient], post: str, edit: str
) -> None:
    d = _draft(kb_runtime, post)
    agent = client_as("agent", "hana")
    res = agent.post(f"/v1/drafts/{d}/approve", json={"text": edit, "acknowledge_warnings": True})
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["error"] == "VersionRequired"
    assert "version" in body["detail"]
    assert body["current_version"] == 1
    assert _row(kb_runtime, d).status == "pending"  # nothing changed
    ok = agent.post(f"/v1/drafts/{d}/approve", json={"text": edit, "version": 1, "acknowledge_warnings": True})
    assert ok.status_code == 200, ok.text
    assert ok.json()["text"] == edit


def test_an_unedited_approve_of_an_untouched_draft_needs_no_version(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    d = _draft(kb_runtime)
    same_text = _row(kb_runtime, d).text
    # Sending the text unchanged is not an edit: scripts that echo the text back keep working.
    res = client_as("agent").post(f"/v1/drafts/{d}/approve", json={"text": same_text, "acknowledge_warnings": True})
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "approved"


@pytest.mark.parametrize(
    ("post", "refund_edit"),
    [
        (JA_POST, "ご不便をおかけしました。商品代金を全額返金いたします。"),
        (EN_POST, "We are sorry. We will refund the full price of your KAMADO."),
    ],
)
def test_approve_without_version_does_not_approve_another_reviewers_edit(
    kb_runtime: Runtime, client_as: Callable[..., TestClient], post: str, refund_edit: str
) -> None:
    """The issue: hana edits a refund into a high-risk draft (first of two approvals); ken, who listed the
    draft before, approves without a version and would have approved a refund he never saw."""
    d = _draft(kb_runtime, post)
    _set(kb_runtime, d, flame_risk=90)
    hana, ken = client_as("agent", "hana"), client_as("agent", "ken")
    listed = ken.get("/v1/drafts").json()["items"]
    assert any(i["id"] == d and i["version"] == 1 for i in listed)
    first = hana.post(f"/v1/drafts/{d}/approve", json={"text": refund_edit, "version": 1, "acknowledge_warnings": True})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "pending" and first.json()["version"] == 2

    blind = ken.post(f"/v1/drafts/{d}/approve", json={"acknowledge_warnings": True})
    assert blind.status_code == 409, blind.text
    body = blind.json()
    assert body["error"] == "StaleVersion"
    assert body["current_version"] == 2
    assert body["text"] == refund_edit  # what the client must show before anyone approves it
    assert [a["by"] for a in body["approvals"]] == ["hana"]
    stale = ken.post(f"/v1/drafts/{d}/approve", json={"version": 1, "acknowledge_warnings": True})
    assert stale.status_code == 409 and stale.json()["text"] == refund_edit
    assert _row(kb_runtime, d).status == "pending"

    seen = ken.post(f"/v1/drafts/{d}/approve", json={"version": 2, "acknowledge_warnings": True})
    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] == "approved"
    assert [a["by"] for a in seen.json()["approvals"]] == ["hana", "ken"]


def test_reject_and_regenerate_of_a_changed_draft_need_the_version(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    d = _draft(kb_runtime)
    _set(kb_runtime, d, flame_risk=90)
    hana, ken = client_as("agent", "hana"), client_as("agent", "ken")
    assert hana.post(f"/v1/drafts/{d}/approve", json={"acknowledge_warnings": True}).status_code == 200  # v1 → v2
    for action, body in (("reject", {"reason": "tone"}), ("regenerate", {"instructions": "もっと丁寧に"})):
        res = ken.post(f"/v1/drafts/{d}/{action}", json=body)
        assert res.status_code == 409, (action, res.text)
        assert res.json()["error"] == "StaleVersion"
        assert res.json()["current_version"] == 2
    assert _row(kb_runtime, d).status == "pending"
    ok = ken.post(f"/v1/drafts/{d}/reject", json={"reason": "tone", "version": 2})
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "rejected"


# -- regenerations never drop instructions ---------------------------------------------------------------------


def test_reject_then_two_regenerates_the_second_is_refused_naming_the_queued_one(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    """The issue's reproduction: reject → regenerate → regenerate; the second used to answer 202 and its
    instructions were lost (the job of generation 2 existed already)."""
    d = _draft(kb_runtime, "Hoshizoraアプリにログインできない")
    agent = client_as("agent")
    rejected = agent.post(f"/v1/drafts/{d}/reject", json={"reason": "wrong_facts", "version": 1})
    assert rejected.status_code == 200
    v = rejected.json()["version"]
    first = agent.post(
        f"/v1/drafts/{d}/regenerate", json={"instructions": "二段階認証にも触れてください", "version": v}
    )
    assert first.status_code == 202, first.text
    job_id = first.json()["job_id"]
    current = agent.get(f"/v1/drafts/{d}").json()["version"]
    for body in (
        {"instructions": "Mention the password reset too", "version": current},
        {"instructions": "Mention the password reset too"},
    ):
        second = agent.post(f"/v1/drafts/{d}/regenerate", json=body)
        assert second.status_code == 409, second.text
        err = second.json()
        assert err["error"] == "RegenerationPending"
        assert err["job_id"] == job_id
        assert err["generation"] == 2
        assert err["instructions"] == "二段階認証にも触れてください"
        assert err["job_status"] == "queued"
    _drain(kb_runtime)
    with kb_runtime.db.session() as s:
        rows = s.scalars(select(Draft).where(Draft.post_id == rejected.json()["post_id"]).order_by(Draft.generation))
        newest = list(rows)[-1]
        assert newest.generation == 2
        assert newest.instructions == "二段階認証にも触れてください"
        new_id, new_version = newest.id, newest.version
    # The instructions that were refused are given again, to the new draft: they take effect.
    again = agent.post(
        f"/v1/drafts/{new_id}/regenerate",
        json={"instructions": "Mention the password reset too", "version": new_version},
    )
    assert again.status_code == 202, again.text
    assert again.json()["generation"] == 3


def test_regenerating_a_superseded_draft_names_the_queued_regeneration(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    d = _draft(kb_runtime)
    agent = client_as("agent")
    first = agent.post(f"/v1/drafts/{d}/regenerate", json={"instructions": "もっと短く", "version": 1})
    assert first.status_code == 202
    assert first.json()["superseded"]["status"] == "superseded"
    second = agent.post(f"/v1/drafts/{d}/regenerate", json={"instructions": "shorter"})
    assert second.status_code == 409
    assert second.json()["error"] == "RegenerationPending"
    assert second.json()["instructions"] == "もっと短く"
    assert second.json()["job_id"] == first.json()["job_id"]


def test_a_regeneration_that_gave_up_without_a_draft_can_be_asked_again(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    """A draft job that failed for good before storing anything must not leave the post stuck behind a 409:
    asking again runs the same job again, with the new instructions."""
    d = _draft(kb_runtime)
    agent = client_as("agent")
    first = agent.post(f"/v1/drafts/{d}/regenerate", json={"instructions": "もっと短く", "version": 1})
    assert first.status_code == 202
    job_id = first.json()["job_id"]
    with kb_runtime.db.session() as s:
        s.execute(
            update(jobs.Job)
            .where(jobs.Job.id == job_id)
            .values(status=jobs.JobStatus.FAILED, attempts=5, last_error="OperationalError: the database went away")
        )
    version = agent.get(f"/v1/drafts/{d}").json()["version"]
    again = agent.post(f"/v1/drafts/{d}/regenerate", json={"instructions": "Keep it short", "version": version})
    assert again.status_code == 202, again.text
    assert again.json()["job_id"] == job_id and again.json()["generation"] == 2
    with kb_runtime.db.session() as s:
        job = s.get(jobs.Job, job_id)
        assert job is not None
        assert (job.status, job.attempts, job.payload["instructions"]) == ("queued", 0, "Keep it short")
    _drain(kb_runtime)
    with kb_runtime.db.session() as s:
        newest = s.scalars(select(Draft).where(Draft.generation == 2)).one()
        assert newest.instructions == "Keep it short"


def test_two_regenerates_at_once_exactly_one_is_queued(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    d = _draft(kb_runtime)
    rejected = client_as("agent").post(f"/v1/drafts/{d}/reject", json={"reason": "tone", "version": 1})
    v = rejected.json()["version"]
    clients = [client_as("agent", f"reviewer-{i}") for i in range(6)]
    barrier = threading.Barrier(len(clients))
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def regen(i: int, c: TestClient) -> None:
        barrier.wait()
        res = c.post(f"/v1/drafts/{d}/regenerate", json={"instructions": f"指示 {i}", "version": v})
        with lock:
            answers.append((res.status_code, res.json().get("error", "")))

    threads = [threading.Thread(target=regen, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(code for code, _ in answers) == [202] + [409] * 5
    with kb_runtime.db.session() as s:
        queued = s.scalars(select(jobs.Job).where(jobs.Job.kind == "draft", jobs.Job.status == "queued")).all()
        assert len(queued) == 1
        regenerations = s.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "draft.regenerate")).all()
        assert len(regenerations) == 1
        assert (regenerations[0].after or {})["instructions"] == queued[0].payload["instructions"]


# -- re-delivery -----------------------------------------------------------------------------------------------


def _webhook(rt: Runtime, max_attempts: int = 1) -> None:
    rt.settings.delivery = "webhook"
    rt.settings.webhook_url = "http://hooks.test/reply"
    rt.settings.webhook_secret = SecretStr("s3cret")
    rt.settings.delivery_max_attempts = max_attempts


def _approve_and_give_up_delivery(rt: Runtime, agent: TestClient, draft_id: int) -> None:
    """Approve the untouched draft; its one delivery attempt meets a 503 and gives up (`delivery_failed`)."""
    agent.post(f"/v1/drafts/{draft_id}/approve", json={"version": 1, "acknowledge_warnings": True})
    with respx.mock() as mock:
        mock.post("http://hooks.test/reply").mock(return_value=httpx.Response(503))
        _drain(rt)


def test_redeliver_a_draft_whose_delivery_gave_up(kb_runtime: Runtime, client_as: Callable[..., TestClient]) -> None:
    _webhook(kb_runtime)
    d = _draft(kb_runtime)
    other = _draft(kb_runtime, EN_POST)
    agent = client_as("agent", "hana")
    assert agent.post(f"/v1/drafts/{d}/approve", json={"version": 1, "acknowledge_warnings": True}).status_code == 200
    assert agent.post(f"/v1/drafts/{d}/redeliver").status_code == 409  # approved, not given up
    keys: list[str] = []

    def answer(code: int) -> Callable[[httpx.Request], httpx.Response]:
        def hook(request: httpx.Request) -> httpx.Response:
            keys.append(request.headers["idempotency-key"])
            return httpx.Response(code, json={"id": "posted-1"})

        return hook

    for round_ in (1, 2):  # it gives up twice; each re-delivery is a fresh job
        with respx.mock() as mock:
            mock.post("http://hooks.test/reply").mock(side_effect=answer(503))
            _drain(kb_runtime)
        assert _row(kb_runtime, d).status == "delivery_failed"
        version = _row(kb_runtime, d).version
        res = agent.post(f"/v1/drafts/{d}/redeliver", json={"note": f"receiver back up ({round_})"})
        assert res.status_code == 200, res.text
        assert res.json()["status"] == "approved"
        assert res.json()["delivery_status"] == "queued"
        assert res.json()["version"] == version + 1
        again = agent.post(f"/v1/drafts/{d}/redeliver")
        assert again.status_code == 409  # re-delivery is under way already
    with respx.mock() as mock:
        mock.post("http://hooks.test/reply").mock(side_effect=answer(200))
        _drain(kb_runtime)
    assert _row(kb_runtime, d).status == "sent"
    assert keys == [f"kizuki-draft-{d}-g1"] * 3  # the receiver sees the same key every time
    assert agent.post(f"/v1/drafts/{d}/redeliver").status_code == 409  # sent: never twice
    assert agent.post(f"/v1/drafts/{other}/redeliver").status_code == 409  # pending
    assert agent.post("/v1/drafts/999999/redeliver").status_code == 404
    with kb_runtime.db.session() as s:
        deliver_keys = s.scalars(select(jobs.Job.dedupe_key).where(jobs.Job.kind == "deliver")).all()
        assert sorted(k or "" for k in deliver_keys) == [f"deliver:{d}", f"deliver:{d}:r1", f"deliver:{d}:r2"]
        entries = s.scalars(
            select(audit.AuditEntry)
            .where(audit.AuditEntry.action == "draft.redeliver", audit.AuditEntry.subject == f"draft:{d}")
            .order_by(audit.AuditEntry.id)
        ).all()
        assert [(e.actor, (e.before or {})["status"], (e.after or {})["status"]) for e in entries] == [
            ("hana", "delivery_failed", "approved")
        ] * 2
        assert entries[0].note == "receiver back up (1)"
        assert "503" in ((entries[0].before or {})["delivery_error"] or "")
        assert audit.verify(s) == []


def test_redeliver_with_the_manual_channel_waits_for_a_person(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    _webhook(kb_runtime)
    d = _draft(kb_runtime)
    agent = client_as("agent")
    _approve_and_give_up_delivery(kb_runtime, agent, d)
    kb_runtime.settings.delivery = "manual"  # the operator gave up on the webhook
    res = agent.post(f"/v1/drafts/{d}/redeliver")
    assert res.status_code == 200, res.text
    assert res.json()["delivery_status"] == "awaiting_manual"
    with kb_runtime.db.session() as s:
        assert s.scalars(select(jobs.Job).where(jobs.Job.dedupe_key.like(f"deliver:{d}:%"))).all() == []
    sent = agent.post(f"/v1/drafts/{d}/mark-sent", json={"url": "https://x.example/support/2"})
    assert sent.status_code == 200
    assert sent.json()["status"] == "sent"


def test_redeliver_is_refused_once_the_draft_is_being_regenerated(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    _webhook(kb_runtime)
    d = _draft(kb_runtime)
    agent = client_as("agent")
    _approve_and_give_up_delivery(kb_runtime, agent, d)
    version = _row(kb_runtime, d).version
    regen = agent.post(f"/v1/drafts/{d}/regenerate", json={"instructions": "言い換えて", "version": version})
    assert regen.status_code == 202, regen.text
    res = agent.post(f"/v1/drafts/{d}/redeliver")
    assert res.status_code == 409
    assert res.json()["error"] == "RegenerationPending"
    _drain(kb_runtime)  # generation 2 is drafted: the old reply is replaced for good
    res = agent.post(f"/v1/drafts/{d}/redeliver")
    assert res.status_code == 409
    assert "generation 2" in res.json()["detail"]
    assert _row(kb_runtime, d).status == "delivery_failed"


def test_redeliver_from_the_cli(
    kb_runtime: Runtime, client_as: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from kizuki.cli import CLI_ACTOR, app
    from kizuki.core.settings import get_settings

    _webhook(kb_runtime)
    d = _draft(kb_runtime)
    pending = _draft(kb_runtime, EN_POST)
    _approve_and_give_up_delivery(kb_runtime, client_as("agent"), d)
    for name, value in {
        "DATABASE_URL": kb_runtime.db.url,
        "DELIVERY": "webhook",
        "WEBHOOK_URL": "http://hooks.test/reply",
        "WEBHOOK_SECRET": "s3cret",
    }.items():
        monkeypatch.setenv(f"KIZUKI_{name}", value)
    get_settings.cache_clear()
    runner = CliRunner()
    res = runner.invoke(app, ["drafts", "redeliver", str(d), "--note", "受信側が復旧"])
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "approved, delivery queued" in res.stdout
    refused = runner.invoke(app, ["drafts", "redeliver", str(pending)])
    assert refused.exit_code == 2
    assert "only a delivery_failed draft" in refused.stderr
    with respx.mock() as mock:
        route = mock.post("http://hooks.test/reply").mock(return_value=httpx.Response(200, json={"id": "ok"}))
        _drain(kb_runtime)
        assert route.call_count == 1
    assert _row(kb_runtime, d).status == "sent"
    with kb_runtime.db.session() as s:
        entry = s.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "draft.redeliver")).one()
        assert entry.actor == CLI_ACTOR
        assert entry.note == "受信側が復旧"


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("reject", {"reason": "tone", "note": "トーン\x00が強い"}),
        ("regenerate", {"instructions": "shorter\x00please"}),
        ("regenerate", {"instructions": "\ud800"}),
        ("approve", {"note": "ok\x07", "acknowledge_warnings": True}),
        ("redeliver", {"note": "again\x00"}),
        ("mark-sent", {"url": "https://x.example/\x00"}),
    ],
)
def test_unstorable_notes_and_instructions_are_422_not_500(
    kb_runtime: Runtime, client_as: Callable[..., TestClient], action: str, body: dict[str, Any]
) -> None:
    d = _draft(kb_runtime)
    res = client_as("agent").post(
        f"/v1/drafts/{d}/{action}",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    assert res.status_code == 422, res.text
    assert res.json()["error"] == "ValidationError"
    assert _row(kb_runtime, d).status == "pending"
