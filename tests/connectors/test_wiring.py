"""Connectors wired into drafts, checks and review: each connector's length rule is the checks' channel limit, an
approved reply to a post a connector may answer goes out at once (even with KIZUKI_DELIVERY=manual), and the
draft's REST shape shows where the reply goes, how a person posts it by hand, and the sent post's id and URL."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agent.checks import Checker, default_rules
from agent.checks.length import COUNTING, channel_name, check_channel, resolve_channel, text_length
from agent.posts.models import Draft, Post
from agent.schemas import PostIn
from delivery.connectors import service
from delivery.connectors.registry import connector_class
from kizuki.core import jobs
from kizuki.core.worker import Worker
from kizuki.runtime import Runtime
from review.errors import ReplyBlocked
from review.schemas import ApproveRequest, RedeliverRequest
from review.service import approve, redeliver
from tests.connectors.conftest import set_connectors
from tests.connectors.test_mastodon import BASE, status

MASTODON = {"name": "masto", "kind": "mastodon", "base_url": BASE, "options": {"hashtags": ["kamado"], "search": []}}
FEED = "https://news.example/feed.xml"
RSS_BODY = """<?xml version="1.0"?><rss version="2.0"><channel><title>News</title><link>https://news.example/</link>
<item><guid isPermaLink="false">n-1</guid><title>KAMADOでE03が出て炊けないとの声</title>
<link>https://news.example/1</link><description>KAMADO K-3 の故障</description></item></channel></rss>"""
LIMITS = default_rules().channel_limits


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUKI_CONNECTOR_MASTO_TOKEN", "tok-1")


async def _drain(rt: Runtime, *kinds: str) -> None:
    await Worker(rt, kinds=kinds, handlers=rt.job_handlers()).drain()


async def _mastodon_draft(rt: Runtime, text: str = "KAMADOでE03が出て炊けない", **options: Any) -> int:
    set_connectors(rt, [{**MASTODON, "options": {**MASTODON["options"], **options}}])
    with respx.mock:
        respx.get(f"{BASE}/api/v1/timelines/tag/kamado").respond(json=[status(77, f"<p>{text}</p>")])
        (report,) = await service.listen_once(rt)
    assert report.ingested == 1, report
    await _drain(rt, jobs.JobKind.DRAFT)
    with rt.db.reading() as s:
        return s.scalars(select(Draft.id).join(Post).where(Post.external_id == "77")).one()


def _draft(rt: Runtime, draft_id: int) -> Draft:
    with rt.db.reading() as s:
        draft = s.get(Draft, draft_id)
        assert draft is not None
        s.expunge(draft)
        return draft


def _deliver_jobs(rt: Runtime, draft_id: int) -> int:
    with rt.db.reading() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(jobs.Job)
                .where(jobs.Job.kind == jobs.JobKind.DELIVER, jobs.Job.dedupe_key.like(f"deliver:{draft_id}%"))
            )
            or 0
        )


# -- 2. length rules: the connector's rule is the checks' channel ----------------------------------------------------
@pytest.mark.parametrize(
    ("channel", "fits", "over"),
    [
        # Bluesky counts grapheme clusters: a family emoji (7 code points) or a flag is one
        ("bluesky:300", "👨‍👩‍👧" * 300, "👨‍👩‍👧" * 301),
        ("bluesky", "炊飯器" * 100, "炊飯器" * 100 + "。"),
        ("bluesky:300", "Sorry about the E03 error. " * 11, "Sorry about the E03 error. " * 11 + "x" * 4),
        # Mastodon: characters, a link counts 23 however long
        ("mastodon:500", "見て " + "https://support.example/" + "a" * 600, "あ" * 501),
        ("mastodon:1000", "あ" * 1000, "Please DM us. " * 72),
        # X: weighted, CJK counts 2
        ("x:280", "あ" * 140, "あ" * 141),
    ],
)
def test_a_connector_channel_counts_as_its_network(channel: str, fits: str, over: str) -> None:
    checker = Checker(default_rules())
    assert check_channel(fits, channel, LIMITS) is None
    length, limit, at = check_channel(over, channel, LIMITS) or (0, 0, 0)
    assert limit == int(channel.partition(":")[2] or LIMITS[channel] or 0) and length > limit
    assert 0 <= at < len(over)
    findings = [f for f in checker.check(over, channel=channel).findings if f.category == "length"]
    assert len(findings) == 1 and findings[0].severity == "block" and findings[0].start == at
    assert findings[0].rule == channel.partition(":")[0]  # severity keys stay per network
    assert not [f for f in checker.check(fits, channel=channel).findings if f.category == "length"]


def test_unknown_or_malformed_connector_channels_are_refused_by_name() -> None:
    for bad in ("tiktok:300", "bluesky:0", "bluesky:-1", "bluesky:３００", "mastodon:", ":300"):
        with pytest.raises(ValueError, match="unknown channel"):
            resolve_channel(bad, LIMITS)
    assert resolve_channel("mastodon:1000", LIMITS) == ("mastodon", 1000)
    assert channel_name("rss", None) is None and channel_name("bluesky", 300) == "bluesky:300"


@pytest.mark.parametrize("kind", ["mastodon", "bluesky", "x"])
def test_each_connector_counts_like_the_checks(kind: str) -> None:
    """The connector refuses at send time exactly what the checks flag before approval."""
    rule = connector_class(kind).length_rule
    assert rule.limit is not None
    assert (rule.counting, rule.url_weight if kind != "x" else 23) == COUNTING[kind]
    for text in ("KAMADOの件、ご不便をおかけしています", "Sorry! https://support.example/faq/e03 👨‍👩‍👧🇯🇵", "é" * 10):
        counting, url_weight = COUNTING[kind]
        assert rule.length(text) == text_length(text, counting, url_weight=url_weight)
    channel = channel_name(kind, rule.limit)
    assert channel is not None
    just_over = "a" * (rule.limit + 1)
    assert (check_channel(just_over, channel, LIMITS) is not None) == (not rule.fits(just_over))


async def test_drafting_on_a_connector_channel_feeds_its_limit_back_to_the_model() -> None:
    from agent.drafting import draft_reply
    from tests.drafting.conftest import MemoryRetriever, make_post, triage_for
    from tests.drafting.test_agent_loop import scripted

    post = make_post("KAMADOでE03が出て炊けない…ふたは閉めてるのに")
    too_long = "ご不便をおかけし申し訳ございません。" * 17  # 306 graphemes
    model, feedback = scripted([too_long])
    out = await draft_reply(post, triage_for(post), retriever=MemoryRetriever(), model=model, channel="bluesky:300")
    assert any("category=length" in f for f in feedback)  # the model was asked to shorten it, with the rule
    assert [f.rule for f in out.checks.findings if f.category == "length"] == ["bluesky"]
    assert out.checks.verdict == "block"
    fitting = "Sorry about the E03 error. " * 11
    model, feedback = scripted([fitting])
    out = await draft_reply(post, triage_for(post), retriever=MemoryRetriever(), model=model, channel="bluesky:300")
    assert "length" not in out.checks.categories and not any("category=length" in f for f in feedback)


async def test_a_mastodon_post_is_drafted_and_checked_with_the_instance_limit(kb_runtime: Runtime) -> None:
    draft_id = await _mastodon_draft(kb_runtime, max_characters=120)
    draft = _draft(kb_runtime, draft_id)
    assert draft.channel == "mastodon:120"
    assert text_length(draft.text, "chars", url_weight=23) <= 120, draft.text  # drafted to fit the instance
    assert not [f for f in draft.checks["findings"] if f["category"] == "length"]
    # the reviewer sees the limit before approving: an edit past it is refused with a length finding
    too_long = draft.text + " 詳しくはサポート窓口までご連絡ください。" * 5
    with pytest.raises(ReplyBlocked) as refused:
        approve(
            kb_runtime,
            draft_id,
            ApproveRequest(text=too_long, version=draft.version, acknowledge_warnings=True),
            actor="hana",
        )
    (length,) = [f for f in refused.value.extra["findings"] if f["category"] == "length"]
    assert "mastodon limit is 120" in length["message"]
    assert _draft(kb_runtime, draft_id).status == "pending"


async def test_a_default_mastodon_instance_is_500_characters(kb_runtime: Runtime) -> None:
    draft_id = await _mastodon_draft(kb_runtime, text="KAMADO broke again, E03 and no rice")
    assert _draft(kb_runtime, draft_id).channel == "mastodon:500"


async def test_a_bluesky_post_is_drafted_on_its_300_graphemes(kb_runtime: Runtime) -> None:
    rt = kb_runtime
    for i, (text, lang) in enumerate(
        (("KAMADOでE03が出て炊けない", "ja"), ("My KAMADO shows E03 and won't cook", "en"))
    ):
        post = PostIn.model_validate(
            {
                "source": "bsky",
                "external_id": f"at-{i}",
                "author": {"handle": f"user{i}.bsky.social"},
                "text": text,
                "lang": lang,
                "channel": channel_name("bluesky", connector_class("bluesky").length_rule.limit),
            }
        )
        assert rt.pipeline.intake(post).outcome == "queued"
    await _drain(rt, jobs.JobKind.DRAFT)
    with rt.db.reading() as s:
        drafts = list(s.scalars(select(Draft).order_by(Draft.id)))
        assert [d.channel for d in drafts] == ["bluesky:300", "bluesky:300"]
        for d in drafts:
            assert text_length(d.text, "graphemes") <= 300
        draft_id, version = drafts[0].id, drafts[0].version
    with pytest.raises(ReplyBlocked) as refused:
        approve(rt, draft_id, ApproveRequest(text="ご迷惑を" * 76, version=version), actor="hana")  # 304 graphemes
    assert [f["rule"] for f in refused.value.extra["findings"] if f["category"] == "length"] == ["bluesky"]


def test_a_post_naming_a_bogus_channel_is_drafted_on_generic(runtime: Runtime) -> None:
    for i, channel in enumerate(("tiktok:300", "bluesky:99999999", "bluesky:0", "x:" + "9" * 5000)):
        post = PostIn.model_validate(
            {
                "source": "api",
                "external_id": f"b{i}",
                "author": {"handle": "a"},
                "text": "KAMADO E03",
                "channel": channel,
            }
        )
        out = runtime.pipeline.intake(post)
        with runtime.db.reading() as s:
            stored = s.get(Post, out.post_id)
            assert stored is not None and stored.channel == "generic"


# -- 3. approval sends a connector's reply at once -------------------------------------------------------------------
async def test_approval_queues_the_connector_reply_at_once_with_manual_delivery(kb_runtime: Runtime) -> None:
    rt = kb_runtime
    assert rt.settings.delivery == "manual"
    draft_id = await _mastodon_draft(rt)
    approve(rt, draft_id, ApproveRequest(acknowledge_warnings=True), actor="hana")
    assert _draft(rt, draft_id).delivery_status == "queued"
    assert _deliver_jobs(rt, draft_id) == 1
    assert service.queue_deliveries(rt.db, rt.settings) == 0  # nothing left for the next listen run
    with respx.mock:
        posted = respx.post(f"{BASE}/api/v1/statuses").respond(json={"id": "900", "url": f"{BASE}/@acme/900"})
        await _drain(rt, jobs.JobKind.DELIVER)  # no listen run in between
        await _drain(rt, jobs.JobKind.DELIVER)
    assert posted.call_count == 1
    assert json.loads(posted.calls.last.request.content)["in_reply_to_id"] == "77"
    draft = _draft(rt, draft_id)
    assert (draft.status, draft.delivery_status) == ("sent", "sent")
    assert _deliver_jobs(rt, draft_id) == 1


async def test_other_posts_keep_waiting_for_a_person_with_manual_delivery(kb_runtime: Runtime) -> None:
    rt = kb_runtime
    set_connectors(rt, [{"name": "news", "kind": "rss", "options": {"feeds": [FEED]}}])
    with respx.mock:
        respx.get(FEED).respond(text=RSS_BODY)
        await service.listen_once(rt)
    pushed = PostIn.model_validate(
        {"source": "x", "external_id": "1790", "author": {"handle": "taro_123"}, "text": "KAMADO E03で炊けない"}
    )
    assert rt.pipeline.intake(pushed).outcome == "queued"
    await _drain(rt, jobs.JobKind.DRAFT)
    with rt.db.reading() as s:
        ids = list(s.scalars(select(Draft.id).order_by(Draft.id)))
    assert len(ids) == 2
    for draft_id in ids:
        approve(rt, draft_id, ApproveRequest(acknowledge_warnings=True), actor="hana")
        assert _draft(rt, draft_id).delivery_status == "awaiting_manual"
        assert _deliver_jobs(rt, draft_id) == 0


async def test_redelivery_of_a_connector_reply_is_queued_at_once_too(kb_runtime: Runtime) -> None:
    rt = kb_runtime
    draft_id = await _mastodon_draft(rt)
    approve(rt, draft_id, ApproveRequest(acknowledge_warnings=True), actor="hana")
    with respx.mock:
        respx.post(f"{BASE}/api/v1/statuses").respond(422, json={"error": "Validation failed"})
        await _drain(rt, jobs.JobKind.DELIVER)
    assert _draft(rt, draft_id).status == "delivery_failed"
    redeliver(rt, draft_id, RedeliverRequest(), actor="hana")
    assert _draft(rt, draft_id).delivery_status == "queued"
    assert _deliver_jobs(rt, draft_id) == 2
    with respx.mock:
        posted = respx.post(f"{BASE}/api/v1/statuses").respond(json={"id": "901", "url": f"{BASE}/@acme/901"})
        await _drain(rt, jobs.JobKind.DELIVER)
    assert posted.call_count == 1 and _draft(rt, draft_id).status == "sent"


# -- 1. the draft's REST shape: where it goes, how a person posts it, what was sent ----------------------------------
async def test_the_draft_shows_the_sent_reply_id_and_url(kb_runtime: Runtime, client: TestClient) -> None:
    rt = kb_runtime
    draft_id = await _mastodon_draft(rt)
    pending = client.get(f"/v1/drafts/{draft_id}").json()["delivery"]
    assert pending == {
        "channel": "mastodon:masto",
        "connector": "masto",
        "manual": False,
        "post_url": f"{BASE}/@taro/77",
        "copy_text": None,
        "mark_sent": None,
        "sent_id": None,
        "sent_url": None,
        "sent": [],
    }
    approve(rt, draft_id, ApproveRequest(acknowledge_warnings=True, note="返信します"), actor="hana")
    with respx.mock:
        respx.post(f"{BASE}/api/v1/statuses").respond(json={"id": "900", "url": f"{BASE}/@acme/900"})
        await _drain(rt, jobs.JobKind.DELIVER)
    body = client.get(f"/v1/drafts/{draft_id}").json()
    assert body["status"] == "sent"
    delivery = body["delivery"]
    assert (delivery["sent_id"], delivery["sent_url"]) == ("900", f"{BASE}/@acme/900")
    assert delivery["sent"] == [{"action": "reply", "id": "900", "url": f"{BASE}/@acme/900"}]
    assert delivery["manual"] is False and delivery["copy_text"] is None
    listed = client.get("/v1/drafts", params={"status": "sent"}).json()["items"]
    assert [d["delivery"]["sent_id"] for d in listed] == ["900"]


async def test_a_feed_draft_shows_what_to_copy_and_where_then_mark_sent_finishes_it(
    kb_runtime: Runtime, client_as: Callable[..., TestClient]
) -> None:
    rt = kb_runtime
    set_connectors(rt, [{"name": "news", "kind": "rss", "options": {"feeds": [FEED]}}])
    with respx.mock:
        respx.get(FEED).respond(text=RSS_BODY)
        await service.listen_once(rt)
    await _drain(rt, jobs.JobKind.DRAFT)
    with rt.db.reading() as s:
        draft_id = s.scalars(select(Draft.id)).one()
    agent = client_as("agent", "hana")
    res = agent.post(f"/v1/drafts/{draft_id}/approve", json={"acknowledge_warnings": True})
    assert res.status_code == 200, res.text
    delivery = res.json()["delivery"]
    assert delivery["channel"] == "rss:news" and delivery["manual"] is True
    assert delivery["copy_text"] == res.json()["text"] and delivery["copy_text"]
    assert delivery["post_url"] == "https://news.example/1"
    assert delivery["mark_sent"] == f"/v1/drafts/{draft_id}/mark-sent"
    assert client_as("agent", "hana").get(f"/v1/drafts/{draft_id}").json()["delivery"] == delivery
    done = agent.post(delivery["mark_sent"], json={"url": "https://bbs.example/t/1#r5", "note": "掲示板に投稿"})
    assert done.status_code == 200, done.text
    after = agent.get(f"/v1/drafts/{draft_id}").json()
    assert after["status"] == "sent"
    assert after["delivery"]["sent_url"] == "https://bbs.example/t/1#r5"
    assert after["delivery"]["copy_text"] is None and after["delivery"]["mark_sent"] is None


async def test_a_pushed_post_has_no_delivery_until_it_is_sent(runtime: Runtime, client: TestClient) -> None:
    res = client.post(
        "/v1/posts",
        json={"source": "x", "external_id": "9", "author": {"handle": "taro"}, "text": "KAMADO E03 help"},
    )
    assert res.status_code == 202, res.text
    await _drain(runtime, jobs.JobKind.DRAFT)
    with runtime.db.reading() as s:
        draft_id = s.scalars(select(Draft.id)).one()
    assert client.get(f"/v1/drafts/{draft_id}").json()["delivery"] is None
    client.post(f"/v1/drafts/{draft_id}/approve", json={"acknowledge_warnings": True})
    sent = client.post(f"/v1/drafts/{draft_id}/mark-sent", json={"url": "https://x.com/acme/status/1"})
    assert sent.status_code == 200, sent.text
    delivery = client.get(f"/v1/drafts/{draft_id}").json()["delivery"]
    assert (delivery["channel"], delivery["manual"], delivery["sent_url"]) == (
        "manual",
        True,
        "https://x.com/acme/status/1",
    )
