"""Delivery through connectors: an approved draft goes back as a reply (or like, or DM) exactly once; posts the
network's rules keep from automation wait for a person; a deleted post fails for good."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx
import pytest
import respx
from sqlalchemy import select

from agent.posts.models import Draft, Post
from delivery.connectors import service
from delivery.connectors.models import ConnectorSent
from kizuki.core import jobs
from kizuki.core.audit import AuditEntry
from kizuki.core.worker import Worker
from kizuki.runtime import Runtime
from review.schemas import ApproveRequest, MarkSentRequest
from review.service import approve, mark_sent
from tests.connectors.conftest import set_connectors
from tests.connectors.test_mastodon import BASE, status

MASTODON = {"name": "masto", "kind": "mastodon", "base_url": BASE, "options": {"hashtags": ["kamado"], "search": []}}
FEED = "https://news.example/feed.xml"
RSS_BODY = """<?xml version="1.0"?><rss version="2.0"><channel><title>News</title><link>https://news.example/</link>
<item><guid isPermaLink="false">n-1</guid><title>KAMADOでE03が出て炊けないとの声</title>
<link>https://news.example/1</link><description>KAMADO K-3 の故障</description></item></channel></rss>"""


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUKI_CONNECTOR_MASTO_TOKEN", "tok-1")


async def _drain(rt: Runtime, *kinds: str) -> None:
    await Worker(rt, kinds=kinds, handlers=rt.job_handlers()).drain()


async def _approved_from_mastodon(rt: Runtime, text: str = "KAMADOでE03が出て炊けない", **change: Any) -> int:
    set_connectors(rt, [MASTODON])
    respx.get(f"{BASE}/api/v1/timelines/tag/kamado").respond(json=[status(77, f"<p>{text}</p>")])
    (report,) = await service.listen_once(rt)
    assert report.ingested == 1, report
    await _drain(rt, jobs.JobKind.DRAFT)
    with rt.db.session() as s:
        draft = s.scalars(select(Draft).join(Post).where(Post.external_id == "77")).one()
        for field, value in change.items():
            setattr(draft, field, value)
        draft_id = draft.id
    approve(rt, draft_id, ApproveRequest(acknowledge_warnings=True), actor="hana")
    return draft_id


def _draft(rt: Runtime, draft_id: int) -> Draft:
    with rt.db.reading() as s:
        draft = s.get(Draft, draft_id)
        assert draft is not None
        s.expunge(draft)
        return draft


@respx.mock
async def test_an_approved_reply_goes_back_as_a_reply_to_the_status_once(kb_runtime: Runtime) -> None:
    draft_id = await _approved_from_mastodon(kb_runtime)
    assert _draft(kb_runtime, draft_id).delivery_status == "queued"  # at approval, even with KIZUKI_DELIVERY=manual
    posted = respx.post(f"{BASE}/api/v1/statuses").respond(json={"id": "900", "url": f"{BASE}/@acme/900"})
    assert service.queue_deliveries(kb_runtime.db, kb_runtime.settings) == 0  # queued by the approval already
    await _drain(kb_runtime, jobs.JobKind.DELIVER)
    await _drain(kb_runtime, jobs.JobKind.DELIVER)
    assert posted.call_count == 1
    request = posted.calls.last.request
    body = json.loads(request.content)
    assert body["in_reply_to_id"] == "77" and body["status"].startswith("@taro ")
    assert body["status"].removeprefix("@taro ") == _draft(kb_runtime, draft_id).text
    assert request.headers["idempotency-key"] == f"kizuki-draft-{draft_id}-g1:reply"
    draft = _draft(kb_runtime, draft_id)
    assert (draft.status, draft.delivery_status) == ("sent", "sent")
    with kb_runtime.db.reading() as s:
        (sent,) = service.sent_for(s, draft_id)
        assert (sent.connector, sent.action, sent.id, sent.url) == ("masto", "reply", "900", f"{BASE}/@acme/900")
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.subject == f"draft:{draft_id}", AuditEntry.action == "draft.sent")
        ).one()
        assert entry.after["receipt"]["sent"][0]["url"] == f"{BASE}/@acme/900"


@respx.mock
async def test_a_retry_after_a_crash_mid_delivery_does_not_send_the_stored_action_again(kb_runtime: Runtime) -> None:
    draft_id = await _approved_from_mastodon(kb_runtime, needs_dm=True)
    statuses = respx.post(f"{BASE}/api/v1/statuses")
    # the reply goes out; the DM fails twice with 503, then the job is retried and the DM goes out
    statuses.side_effect = [
        httpx.Response(200, json={"id": "901", "url": f"{BASE}/@acme/901"}),
        *[httpx.Response(503)] * 4,
        httpx.Response(200, json={"id": "902", "url": f"{BASE}/@acme/902"}),
    ]
    service.queue_deliveries(kb_runtime.db, kb_runtime.settings)
    router = _router(kb_runtime)
    from delivery.service import deliver

    with pytest.raises(Exception, match="503"):
        await deliver(kb_runtime.db, router, draft_id, final=False)
    assert _draft(kb_runtime, draft_id).delivery_status == "retrying"
    await deliver(kb_runtime.db, router, draft_id, final=False)
    bodies = [json.loads(c.request.content) for c in statuses.calls]
    assert [b.get("visibility") for b in bodies] == ["public"] + ["direct"] * 5  # the reply was never repeated
    with kb_runtime.db.reading() as s:
        assert [r.action for r in s.scalars(select(ConnectorSent).order_by(ConnectorSent.id))] == ["reply", "dm"]
    assert _draft(kb_runtime, draft_id).status == "sent"


def _router(rt: Runtime) -> service.ConnectorRouter:
    async def no_sleep(_: float) -> None:
        return None

    from delivery.connectors.registry import connector_class

    def build(config: Any, secrets: Any) -> Any:
        return connector_class(config.kind)(config, secrets, sleep=no_sleep)

    return service.ConnectorRouter(rt.db, rt.settings, rt.channel, build=build)


@respx.mock
async def test_a_like_only_draft_is_a_favourite(kb_runtime: Runtime) -> None:
    draft_id = await _approved_from_mastodon(kb_runtime, action="like_only")
    fav = respx.post(f"{BASE}/api/v1/statuses/77/favourite").respond(json={"id": "77"})
    posted = respx.post(f"{BASE}/api/v1/statuses").respond(json={"id": "1"})
    service.queue_deliveries(kb_runtime.db, kb_runtime.settings)
    await _drain(kb_runtime, jobs.JobKind.DELIVER)
    assert fav.call_count == 1 and posted.call_count == 0
    assert _draft(kb_runtime, draft_id).status == "sent"


@respx.mock
async def test_a_deleted_status_fails_the_delivery_for_good_at_once(kb_runtime: Runtime) -> None:
    draft_id = await _approved_from_mastodon(kb_runtime)
    gone = respx.post(f"{BASE}/api/v1/statuses").respond(404, json={"error": "Record not found"})
    service.queue_deliveries(kb_runtime.db, kb_runtime.settings)
    await _drain(kb_runtime, jobs.JobKind.DELIVER)
    draft = _draft(kb_runtime, draft_id)
    assert (draft.status, draft.delivery_status) == ("delivery_failed", "failed")
    assert "gone" in (draft.delivery_error or "")
    assert gone.call_count == 1  # no retries against a deleted post


@respx.mock
async def test_feed_posts_are_delivered_by_hand_with_their_link(kb_runtime: Runtime) -> None:
    set_connectors(kb_runtime, [{"name": "news", "kind": "rss", "options": {"feeds": [FEED]}}])
    respx.get(FEED).respond(text=RSS_BODY)
    (report,) = await service.listen_once(kb_runtime)
    assert report.ingested == 1
    await _drain(kb_runtime, jobs.JobKind.DRAFT)
    with kb_runtime.db.reading() as s:
        draft_id = s.scalars(select(Draft.id)).one()
    approve(kb_runtime, draft_id, ApproveRequest(acknowledge_warnings=True), actor="hana")
    assert service.queue_deliveries(kb_runtime.db, kb_runtime.settings) == 0  # nothing to automate
    # even with the webhook outbox, the job leaves it to a person
    from delivery.service import deliver

    await deliver(kb_runtime.db, _router(kb_runtime), draft_id, final=False)
    draft = _draft(kb_runtime, draft_id)
    assert (draft.status, draft.delivery_status) == ("approved", "awaiting_manual")
    with kb_runtime.db.reading() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "draft.delivery_manual")).one()
        assert entry.after == {"connector": "news", "url": "https://news.example/1"}
    mark_sent(kb_runtime, draft_id, MarkSentRequest(), actor="hana")
    assert _draft(kb_runtime, draft_id).status == "sent"


async def test_replies_to_other_posts_still_go_through_the_configured_channel(kb_runtime: Runtime) -> None:
    from delivery.channels.base import Channel, OutboundReply

    class Recorder(Channel):
        name = "recorder"
        sent: ClassVar[list[OutboundReply]] = []

        @property
        def deadline_s(self) -> float | None:
            return 4.0

        async def send(self, reply: OutboundReply) -> Any:
            self.sent.append(reply)
            return {"ok": True}

    router = service.ConnectorRouter(kb_runtime.db, kb_runtime.settings, Recorder())
    reply = OutboundReply(
        idempotency_key="k",
        draft_id=1,
        channel="x",
        text="t",
        needs_dm=False,
        action="reply",
        in_reply_to={"source": "x", "external_id": "1", "url": None, "author": "a"},
        approved_by=["hana"],
    )
    assert await router.send(reply) == {"ok": True} and Recorder.sent == [reply]
    assert router.deadline_for(reply) == 4.0
    connector_reply = reply.model_copy(update={"in_reply_to": {**reply.in_reply_to, "connector": {"name": "m"}}})
    assert router.deadline_for(connector_reply) == service.CONNECTOR_DEADLINE_S


@respx.mock
async def test_with_the_webhook_outbox_connector_posts_still_go_to_their_network(kb_runtime: Runtime) -> None:
    from pydantic import SecretStr

    settings = kb_runtime.settings.model_copy(
        update={"delivery": "webhook", "webhook_url": "https://hooks.example/kizuki", "webhook_secret": SecretStr("s")}
    )
    rt = Runtime(settings, db=kb_runtime.db)
    hook = respx.post("https://hooks.example/kizuki").respond(json={"ok": True})
    posted = respx.post(f"{BASE}/api/v1/statuses").respond(json={"id": "905", "url": f"{BASE}/@acme/905"})
    draft_id = await _approved_from_mastodon(rt)
    assert _draft(rt, draft_id).delivery_status == "queued"  # approval queued the job itself
    await _drain(rt, jobs.JobKind.DELIVER)
    assert posted.call_count == 1 and hook.call_count == 0
    assert _draft(rt, draft_id).status == "sent"
