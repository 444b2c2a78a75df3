"""The Bluesky connector against recorded-shape XRPC responses (respx): the session, search paging and cursors,
429 and 5xx, malformed items, replies (root/parent, link facets), likes, deleted posts and closed replies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from delivery.connectors import bluesky
from delivery.connectors.base import ConnectorConfig, NotAllowed, PostGone, PostRef, RateLimited
from delivery.connectors.bluesky import BlueskyConnector, link_facets, tid
from kizuki.runtime import Runtime

BASE = "https://pds.test"
X = f"{BASE}/xrpc"
SEARCH = f"{X}/app.bsky.feed.searchPosts"
OUR_DID = "did:plc:acme"


@pytest.fixture(autouse=True)
def _no_sessions() -> Iterator[None]:
    bluesky._SESSIONS.clear()
    yield
    bluesky._SESSIONS.clear()


def post(rkey: str, text: str, when: str, handle: str = "taro.bsky.social", **record: Any) -> dict[str, Any]:
    did = f"did:plc:{handle.split('.')[0]}"
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": f"bafy{rkey}",
        "author": {"did": did, "handle": handle, "displayName": "たろう"},
        "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": when, "langs": ["ja"], **record},
        "replyCount": 1,
        "repostCount": 0,
        "likeCount": 4,
        "indexedAt": when,
    }


def session_route(access: str = "acc-1") -> respx.Route:
    return respx.post(f"{X}/com.atproto.server.createSession").respond(
        json={"did": OUR_DID, "handle": "acme.bsky.social", "accessJwt": access, "refreshJwt": "ref-1"}
    )


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def connector(sleep: Sleeps | None = None, **options: Any) -> BlueskyConnector:
    config = ConnectorConfig(name="acme-bsky", kind="bluesky", base_url=BASE, options=options)
    secrets = {"identifier": SecretStr("acme.bsky.social"), "app_password": SecretStr("abcd-efgh-ijkl-mnop")}
    return BlueskyConnector(config, secrets, client=httpx.AsyncClient(), sleep=sleep or Sleeps())


def test_tids_and_link_facets() -> None:
    a, b = tid(1_700_000_000_000_000), tid(1_700_000_000_000_001)
    assert len(a) == 13 and a < b and a[0] in "234567abcdefghij"
    text = "詳しくは https://example.com/help をご覧ください。"
    (facet,) = link_facets(text)
    start = len("詳しくは ".encode())
    assert facet["index"] == {"byteStart": start, "byteEnd": start + len(b"https://example.com/help")}
    assert facet["features"][0]["uri"] == "https://example.com/help"
    assert link_facets("no links here") == []


@respx.mock
async def test_first_run_signs_in_once_reads_one_page_and_sets_the_cursor() -> None:
    login = session_route()
    route = respx.get(SEARCH).respond(
        json={
            "cursor": "25",
            "posts": [
                post("3kb", "KAMADO stopped with E03", "2026-11-20T01:00:02.000Z", handle="ken.example.com"),
                post(
                    "3ka",
                    "KAMADOが壊れた、困った",
                    "2026-11-20T01:00:01.000Z",
                    reply={
                        "root": {"uri": "at://did:plc:hana/app.bsky.feed.post/3k0", "cid": "bafyroot"},
                        "parent": {"uri": "at://did:plc:hana/app.bsky.feed.post/3k1", "cid": "bafyparent"},
                    },
                ),
            ],
        }
    )
    c = connector()
    result = await c.fetch({}, terms=["KAMADO"], limit=100)
    assert [p.text for p in result.posts] == ["KAMADOが壊れた、困った", "KAMADO stopped with E03"]  # oldest first
    assert result.reads == 2 and route.call_count == 1  # first run: one page only
    assert result.cursor == {
        "q:KAMADO": {"since": "2026-11-20T01:00:02.000Z", "seen": ["at://did:plc:ken/app.bsky.feed.post/3kb"]}
    }
    ja = result.posts[0]
    assert ja.source == "acme-bsky" and ja.external_id == "at://did:plc:taro/app.bsky.feed.post/3ka"
    assert ja.url == "https://bsky.app/profile/taro.bsky.social/post/3ka"
    assert ja.author.handle == "taro.bsky.social" and ja.lang == "ja" and ja.metrics.likes == 4
    assert ja.model_extra is not None and ja.model_extra["connector"]["ref"] == {
        "uri": "at://did:plc:taro/app.bsky.feed.post/3ka",
        "cid": "bafy3ka",
        "root_uri": "at://did:plc:hana/app.bsky.feed.post/3k0",
        "root_cid": "bafyroot",
    }
    assert ja.model_extra["connector"]["author_url"] == "https://bsky.app/profile/taro.bsky.social"
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer acc-1"
    assert request.url.params["sort"] == "latest" and request.url.params["q"] == "KAMADO"
    assert "since" not in request.url.params
    assert json.loads(login.calls.last.request.content) == {
        "identifier": "acme.bsky.social",
        "password": "abcd-efgh-ijkl-mnop",
    }
    # another instance in this process (the next run) reuses the session: no second sign-in
    respx.get(SEARCH).respond(json={"posts": []})
    await connector().fetch(result.cursor, terms=["KAMADO"], limit=100)
    assert login.call_count == 1


@respx.mock
async def test_pages_down_to_since_and_skips_what_the_last_run_read_at_that_instant() -> None:
    session_route()
    route = respx.get(SEARCH)
    route.side_effect = [
        httpx.Response(
            200,
            json={
                "cursor": "c2",
                "posts": [
                    post("3k9", "KAMADO 9", "2026-11-21T00:00:09.000Z"),
                    post("3k8", "KAMADO 8", "2026-11-21T00:00:08.000Z"),
                ],
            },
        ),
        httpx.Response(
            200,
            json={
                "posts": [
                    post("3k7", "KAMADO 7", "2026-11-21T00:00:05.000Z"),
                    post("3k5", "KAMADO 5, read last time", "2026-11-21T00:00:05.000Z"),
                ]
            },
        ),
    ]
    cursor = {"q:KAMADO": {"since": "2026-11-21T00:00:05.000Z", "seen": ["at://did:plc:taro/app.bsky.feed.post/3k5"]}}
    result = await connector().fetch(cursor, terms=["KAMADO"], limit=100)
    assert [p.text for p in result.posts] == ["KAMADO 7", "KAMADO 8", "KAMADO 9"]
    assert result.reads == 4
    assert route.calls[0].request.url.params["since"] == "2026-11-21T00:00:05.000Z"
    assert route.calls[1].request.url.params["cursor"] == "c2"
    assert result.cursor["q:KAMADO"] == {
        "since": "2026-11-21T00:00:09.000Z",
        "seen": ["at://did:plc:taro/app.bsky.feed.post/3k9"],
    }


@respx.mock
async def test_a_run_cut_short_leaves_a_gap_that_the_next_run_reads_first() -> None:
    session_route()
    route = respx.get(SEARCH)
    route.side_effect = [
        httpx.Response(
            200,
            json={
                "cursor": "c2",
                "posts": [post(f"3k{i}", f"KAMADO {i}", f"2026-11-21T00:00:0{i}.000Z") for i in (9, 8, 7)],
            },
        ),
        httpx.Response(
            200, json={"posts": [post(f"3k{i}", f"KAMADO {i}", f"2026-11-21T00:00:0{i}.000Z") for i in (7, 6, 5)]}
        ),
    ]
    cursor = {"q:KAMADO": {"since": "2026-11-21T00:00:04.000Z", "seen": []}}
    c = connector()
    first = await c.fetch(cursor, terms=["KAMADO"], limit=3)
    assert first.reads == 3 and route.call_count == 1
    assert route.calls[0].request.url.params["limit"] == "3"
    gap = first.cursor["q:KAMADO"]["gap"]
    assert gap["until"] == "2026-11-21T00:00:07.000Z" and gap["top"] == "2026-11-21T00:00:09.000Z"
    assert first.cursor["q:KAMADO"]["since"] == "2026-11-21T00:00:04.000Z"
    second = await c.fetch(first.cursor, terms=["KAMADO"], limit=100)
    params = route.calls[1].request.url.params
    assert params["since"] == "2026-11-21T00:00:04.000Z" and params["until"] == "2026-11-21T00:00:07.001Z"
    assert [p.text for p in second.posts] == ["KAMADO 5", "KAMADO 6"]  # 7 was read in the first run
    assert second.cursor["q:KAMADO"]["since"] == "2026-11-21T00:00:09.000Z"
    assert "gap" not in second.cursor["q:KAMADO"]


@respx.mock
async def test_an_expired_access_token_is_refreshed_and_the_call_repeated() -> None:
    session_route()
    refresh = respx.post(f"{X}/com.atproto.server.refreshSession").respond(
        json={"did": OUR_DID, "handle": "acme.bsky.social", "accessJwt": "acc-2", "refreshJwt": "ref-2"}
    )
    route = respx.get(SEARCH)
    route.side_effect = [
        httpx.Response(400, json={"error": "ExpiredToken", "message": "Token has expired"}),
        httpx.Response(200, json={"posts": [post("3k1", "KAMADO", "2026-11-21T00:00:01.000Z")]}),
    ]
    result = await connector().fetch({}, terms=["KAMADO"], limit=10)
    assert len(result.posts) == 1
    assert refresh.calls.last.request.headers["authorization"] == "Bearer ref-1"
    assert route.calls[1].request.headers["authorization"] == "Bearer acc-2"


@respx.mock
async def test_a_refused_sign_in_says_what_to_check() -> None:
    respx.post(f"{X}/com.atproto.server.createSession").respond(
        401, json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
    )
    with pytest.raises(NotAllowed, match="app password"):
        await connector().fetch({}, terms=["KAMADO"], limit=10)


@respx.mock
async def test_429_and_5xx_are_retried_as_the_server_asks() -> None:
    import time

    session_route()
    route = respx.get(SEARCH)
    route.side_effect = [
        httpx.Response(429, headers={"ratelimit-reset": str(int(time.time()) + 4)}),
        httpx.Response(502),
        httpx.Response(200, json={"posts": [post("3k1", "KAMADO", "2026-11-21T00:00:01.000Z")]}),
    ]
    sleeps = Sleeps()
    result = await connector(sleeps).fetch({}, terms=["KAMADO"], limit=10)
    assert len(result.posts) == 1 and 2 <= sleeps.waits[0] <= 5 and len(sleeps.waits) == 2


@respx.mock
async def test_a_long_rate_limit_ends_the_run() -> None:
    session_route()
    respx.get(SEARCH).respond(429, headers={"retry-after": "3600"})
    with pytest.raises(RateLimited):
        await connector().fetch({}, terms=["KAMADO"], limit=10)


@respx.mock
async def test_malformed_and_own_posts_are_skipped_and_one_query_runs_per_term() -> None:
    session_route()
    own = post("3k4", "our KAMADO post", "2026-11-21T00:00:04.000Z", handle="acme.bsky.social")
    own["author"]["did"] = OUR_DID
    route = respx.get(SEARCH)
    route.side_effect = [
        httpx.Response(
            200,
            json={
                "posts": [
                    {"uri": "at://did:plc:x/app.bsky.feed.post/3k9", "cid": "b", "indexedAt": "2026-11-21T00:00:09Z"},
                    "not an object",
                    own,
                    post("3k3", "", "2026-11-21T00:00:03.000Z"),
                    post("3k2", "KAMADO ok", "2026-11-21T00:00:02.000Z"),
                ]
            },
        ),
        httpx.Response(200, json={"posts": [post("3k2", "KAMADO ok", "2026-11-21T00:00:02.000Z")]}),
    ]
    result = await connector().fetch({}, terms=["KAMADO", "星空 電機"], limit=100)
    assert [p.text for p in result.posts] == ["KAMADO ok"]  # found by both queries, kept once
    assert sorted(result.skipped) == sorted(
        ["malformed post (KeyError)", "malformed post (TypeError)", "our own post", "no text"]
    )
    assert [c.request.url.params["q"] for c in route.calls] == ["KAMADO", '"星空 電機"']
    assert result.cursor["q:KAMADO"]["since"] == "2026-11-21T00:00:09.000Z"


REF = PostRef(
    external_id="at://did:plc:taro/app.bsky.feed.post/3ka",
    url="https://bsky.app/profile/taro.bsky.social/post/3ka",
    author="taro.bsky.social",
    ref={
        "uri": "at://did:plc:taro/app.bsky.feed.post/3ka",
        "cid": "bafy3ka",
        "root_uri": "at://did:plc:hana/app.bsky.feed.post/3k0",
        "root_cid": "bafyroot",
    },
)


def live(viewer: dict[str, Any] | None = None) -> dict[str, Any]:
    found = post("3ka", "KAMADOが壊れた", "2026-11-20T01:00:01.000Z")
    found["viewer"] = viewer or {}
    return {"posts": [found]}


@respx.mock
async def test_reply_names_root_and_parent_and_makes_links_clickable() -> None:
    session_route()
    respx.get(f"{X}/app.bsky.feed.getPosts").respond(json=live())
    create = respx.post(f"{X}/com.atproto.repo.createRecord").respond(
        json={"uri": f"at://{OUR_DID}/app.bsky.feed.post/3kz", "cid": "bafyz"}
    )
    text = "ご不便をおかけしています。手順は https://example.com/e03 にあります。"
    sent = await connector().reply(REF, text, idempotency_key="k1")
    assert (sent.action, sent.id) == ("reply", f"at://{OUR_DID}/app.bsky.feed.post/3kz")
    assert sent.url == "https://bsky.app/profile/acme.bsky.social/post/3kz"
    body = json.loads(create.calls.last.request.content)
    assert body["repo"] == OUR_DID and body["collection"] == "app.bsky.feed.post" and len(body["rkey"]) == 13
    record = body["record"]
    assert record["text"] == text and record["$type"] == "app.bsky.feed.post"
    assert record["reply"] == {
        "root": {"uri": "at://did:plc:hana/app.bsky.feed.post/3k0", "cid": "bafyroot"},
        "parent": {"uri": "at://did:plc:taro/app.bsky.feed.post/3ka", "cid": "bafy3ka"},
    }
    (facet,) = record["facets"]
    start = facet["index"]["byteStart"]
    assert text.encode()[start : facet["index"]["byteEnd"]] == b"https://example.com/e03"


@respx.mock
async def test_reply_to_a_deleted_post_is_post_gone_and_nothing_is_written() -> None:
    session_route()
    respx.get(f"{X}/app.bsky.feed.getPosts").respond(json={"posts": []})
    create = respx.post(f"{X}/com.atproto.repo.createRecord").respond(json={"uri": "x", "cid": "y"})
    with pytest.raises(PostGone):
        await connector().reply(REF, "Sorry about that.", idempotency_key="k")
    with pytest.raises(PostGone):
        await connector().like(REF, idempotency_key="k2")
    assert not create.called


@respx.mock
async def test_closed_replies_and_over_long_replies_are_not_allowed() -> None:
    session_route()
    respx.get(f"{X}/app.bsky.feed.getPosts").respond(json=live({"replyDisabled": True}))
    create = respx.post(f"{X}/com.atproto.repo.createRecord").respond(json={"uri": "x", "cid": "y"})
    c = connector()
    with pytest.raises(NotAllowed, match="closed"):
        await c.reply(REF, "Thanks!", idempotency_key="k")
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme
    assert c.length_rule.fits("あ" * 299 + family) and not c.length_rule.fits("あ" * 301)
    with pytest.raises(NotAllowed, match="301 graphemes"):
        await c.reply(REF, "a" * 301, idempotency_key="k")
    assert not create.called


@respx.mock
async def test_a_lost_answer_is_recovered_from_the_record_key_not_posted_twice() -> None:
    session_route()
    respx.get(f"{X}/app.bsky.feed.getPosts").respond(json=live())
    create = respx.post(f"{X}/com.atproto.repo.createRecord").respond(503)
    got = respx.get(f"{X}/com.atproto.repo.getRecord").respond(
        json={"uri": f"at://{OUR_DID}/app.bsky.feed.post/3kq", "cid": "bafyq", "value": {}}
    )
    sent = await connector().reply(REF, "ありがとうございます", idempotency_key="k")
    assert sent.id == f"at://{OUR_DID}/app.bsky.feed.post/3kq"
    rkeys = {json.loads(call.request.content)["rkey"] for call in create.calls}
    assert len(rkeys) == 1 and got.calls.last.request.url.params["rkey"] in rkeys  # every attempt, one key


@respx.mock
async def test_like_is_a_like_record_of_the_post() -> None:
    session_route()
    respx.get(f"{X}/app.bsky.feed.getPosts").respond(json=live())
    create = respx.post(f"{X}/com.atproto.repo.createRecord").respond(
        json={"uri": f"at://{OUR_DID}/app.bsky.feed.like/3kl", "cid": "bafyl"}
    )
    sent = await connector().like(REF, idempotency_key="k")
    assert sent.action == "like" and sent.id == f"at://{OUR_DID}/app.bsky.feed.like/3kl"
    body = json.loads(create.calls.last.request.content)
    assert body["collection"] == "app.bsky.feed.like"
    assert body["record"]["subject"] == {"uri": "at://did:plc:taro/app.bsky.feed.post/3ka", "cid": "bafy3ka"}


@respx.mock
async def test_listen_draft_approve_and_the_reply_lands_on_the_original_once(
    kb_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select

    from agent.posts.models import Draft, Post
    from delivery.connectors import service
    from kizuki.core import jobs
    from kizuki.core.worker import Worker
    from review.schemas import ApproveRequest
    from review.service import approve
    from tests.connectors.conftest import set_connectors

    monkeypatch.setenv("KIZUKI_CONNECTOR_ACME_BSKY_IDENTIFIER", "acme.bsky.social")
    monkeypatch.setenv("KIZUKI_CONNECTOR_ACME_BSKY_APP_PASSWORD", "abcd-efgh-ijkl-mnop")
    set_connectors(kb_runtime, [{"name": "acme-bsky", "kind": "bluesky", "base_url": BASE, "options": {}}])
    session_route()
    respx.get(SEARCH).respond(json={"posts": [post("3ka", "KAMADOでE03が出て炊けない", "2026-11-20T01:00:01.000Z")]})
    (report,) = await service.listen_once(kb_runtime)
    assert (report.status, report.ingested) == ("ok", 1), report
    await Worker(kb_runtime, kinds=(jobs.JobKind.DRAFT,), handlers=kb_runtime.job_handlers()).drain()
    with kb_runtime.db.reading() as s:
        draft_id = s.scalars(select(Draft.id).join(Post).where(Post.source == "acme-bsky")).one()
    approve(kb_runtime, draft_id, ApproveRequest(acknowledge_warnings=True), actor="hana")
    respx.get(f"{X}/app.bsky.feed.getPosts").respond(json=live())
    create = respx.post(f"{X}/com.atproto.repo.createRecord").respond(
        json={"uri": f"at://{OUR_DID}/app.bsky.feed.post/3kz", "cid": "bafyz"}
    )
    service.queue_deliveries(kb_runtime.db, kb_runtime.settings)  # (approval may have queued it already)
    for _ in range(2):
        await Worker(kb_runtime, kinds=(jobs.JobKind.DELIVER,), handlers=kb_runtime.job_handlers()).drain()
    assert create.call_count == 1
    record = json.loads(create.calls.last.request.content)["record"]
    assert record["reply"]["parent"] == {"uri": "at://did:plc:taro/app.bsky.feed.post/3ka", "cid": "bafy3ka"}
    with kb_runtime.db.reading() as s:
        draft = s.get(Draft, draft_id)
        assert draft is not None and draft.status == "sent" and record["text"] == draft.text
        (sent,) = service.sent_for(s, draft_id)
    assert sent.url == "https://bsky.app/profile/acme.bsky.social/post/3kz"


def test_a_post_whose_record_is_not_an_object_is_skipped_not_a_crash() -> None:
    """One odd item must not stop the run (and, with the cursor unmoved, every run after it)."""
    odd = post("3k1", "KAMADO", "2026-11-21T00:00:01.000Z")
    odd["record"] = ["not", "an", "object"]
    skipped: list[str] = []
    assert connector()._post(odd, skipped) is None
    assert skipped == ["malformed post (AttributeError)"]
