"""The Mastodon connector's wire format against recorded-shape responses (respx): paging, cursors, 429, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from delivery.connectors.base import ConnectorConfig, PostGone, PostRef, RateLimited
from delivery.connectors.mastodon import MastodonConnector
from delivery.connectors.text import html_to_text

BASE = "https://masto.example"


def status(sid: int, content: str, acct: str = "taro", **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(sid),
        "uri": f"{BASE}/users/{acct}/statuses/{sid}",
        "url": f"{BASE}/@{acct}/{sid}",
        "created_at": "2026-11-20T01:00:00.000Z",
        "content": content,
        "language": "ja",
        "visibility": "public",
        "spoiler_text": "",
        "reblog": None,
        "favourites_count": 2,
        "reblogs_count": 0,
        "replies_count": 1,
        "account": {
            "id": "9",
            "acct": acct,
            "username": acct.split("@")[0],
            "display_name": "たろう",
            "url": f"{BASE}/@{acct}",
            "followers_count": 12,
        },
    }
    data.update(kw)
    return data


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def connector(sleep: Sleeps | None = None, **options: Any) -> MastodonConnector:
    config = ConnectorConfig(name="masto", kind="mastodon", base_url=BASE, options={"hashtags": ["kamado"], **options})
    return MastodonConnector(
        config, {"token": SecretStr("tok-123")}, client=httpx.AsyncClient(), sleep=sleep or Sleeps()
    )


def test_html_to_text_keeps_lines_and_drops_tags() -> None:
    content = (
        '<p>KAMADOが<br>壊れた &amp; 困る</p><p><span class="h-card"><a href="x">@<span>support</span></a></span> '
        'see <a href="https://ex.am/ple"><span class="invisible">https://</span><span>ex.am/ple</span></a></p>'
    )
    assert html_to_text(content) == "KAMADOが\n壊れた & 困る\n\n@support see ex.am/ple"


@respx.mock
async def test_first_run_reads_one_page_and_sets_the_cursor() -> None:
    route = respx.get(f"{BASE}/api/v1/timelines/tag/kamado").respond(
        json=[status(12, "<p>KAMADO broke</p>"), status(11, "<p>KAMADOが壊れた</p>", acct="hana@other.example")]
    )
    c = connector(search=[])
    result = await c.fetch({}, terms=["KAMADO"], limit=100)
    assert [p.external_id for p in result.posts] == ["11", "12"]  # oldest first
    assert result.cursor == {"tag:kamado": "12"}
    assert result.reads == 2
    first = result.posts[0]
    assert first.source == "masto"
    assert first.text == "KAMADOが壊れた"
    assert first.url == f"{BASE}/@hana@other.example/11"
    assert first.author.handle == "hana@other.example"
    assert first.model_extra is not None and first.model_extra["connector"]["ref"]["id"] == "11"
    assert result.posts[1].author.handle == "taro@masto.example"  # local accounts get the instance's domain
    assert (first.author.model_extra or {})["url"] == f"{BASE}/@hana@other.example"
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer tok-123"
    assert "min_id" not in request.url.params


@respx.mock
async def test_pages_forward_from_the_cursor_through_link_headers() -> None:
    page1 = [status(i, f"<p>KAMADO {i}</p>") for i in range(140, 100, -1)]  # 40, newest first
    prev = f"{BASE}/api/v1/timelines/tag/kamado?min_id=140"
    route = respx.get(f"{BASE}/api/v1/timelines/tag/kamado")
    route.side_effect = [
        httpx.Response(200, json=page1, headers={"link": f'<{prev}>; rel="prev"'}),
        httpx.Response(200, json=[status(142, "<p>KAMADO 142</p>"), status(141, "<p>KAMADO 141</p>")]),
    ]
    c = connector(search=[])
    result = await c.fetch({"tag:kamado": "100"}, terms=[], limit=500)
    assert [p.external_id for p in result.posts] == [str(i) for i in range(101, 143)]
    assert result.cursor["tag:kamado"] == "142"
    assert route.calls[0].request.url.params["min_id"] == "100"
    assert route.calls[1].request.url.params["min_id"] == "140"


@respx.mock
async def test_a_budget_smaller_than_the_page_keeps_the_oldest_so_nothing_is_skipped() -> None:
    respx.get(f"{BASE}/api/v1/timelines/tag/kamado").respond(
        json=[status(i, f"<p>KAMADO {i}</p>") for i in range(105, 100, -1)]
    )
    c = connector(search=[])
    result = await c.fetch({"tag:kamado": "100"}, terms=[], limit=3)
    assert [p.external_id for p in result.posts] == ["101", "102", "103"]
    assert result.cursor["tag:kamado"] == "103"


@respx.mock
async def test_search_uses_the_watch_terms_and_v2_search() -> None:
    route = respx.get(f"{BASE}/api/v2/search").respond(
        json={"accounts": [], "hashtags": [], "statuses": [status(7, "<p>Acme Cooker is great</p>")]}
    )
    c = connector(hashtags=[])
    result = await c.fetch({"search:Acme": "5"}, terms=["Acme"], limit=50)
    assert [p.external_id for p in result.posts] == ["7"]
    params = route.calls.last.request.url.params
    assert params["q"] == "Acme" and params["type"] == "statuses" and params["min_id"] == "5"
    assert result.cursor == {"search:Acme": "7"}


@respx.mock
async def test_malformed_items_boosts_and_our_own_posts_are_skipped_but_covered_by_the_cursor() -> None:
    respx.get(f"{BASE}/api/v1/timelines/tag/kamado").respond(
        json=[
            {"id": "30", "content": "<p>no account</p>"},
            status(29, "<p>boost</p>", reblog=status(3, "<p>x</p>")),
            status(28, "<p>our own</p>", acct="acme_support"),
            status(27, ""),
            "not an object",
            status(26, "<p>KAMADO ok</p>"),
        ]
    )
    c = connector(search=[], account="@acme_support")
    result = await c.fetch({"tag:kamado": "20"}, terms=[], limit=100)
    assert [p.external_id for p in result.posts] == ["26"]
    assert result.cursor["tag:kamado"] == "30"
    assert sorted(result.skipped) == sorted(
        ["malformed status (KeyError)", "boost", "our own post", "no text", "malformed status (TypeError)"]
    )


@respx.mock
async def test_429_waits_what_retry_after_says_then_succeeds() -> None:
    route = respx.get(f"{BASE}/api/v1/timelines/tag/kamado")
    route.side_effect = [
        httpx.Response(429, headers={"retry-after": "7"}),
        httpx.Response(503),
        httpx.Response(200, json=[status(50, "<p>KAMADO</p>")]),
    ]
    sleeps = Sleeps()
    c = connector(sleeps, search=[])
    result = await c.fetch({}, terms=[], limit=10)
    assert [p.external_id for p in result.posts] == ["50"]
    assert sleeps.waits[0] == 7.0
    assert len(sleeps.waits) == 2 and sleeps.waits[1] > 0


@respx.mock
async def test_a_long_rate_limit_reset_ends_the_run_with_rate_limited() -> None:
    respx.get(f"{BASE}/api/v1/timelines/tag/kamado").respond(
        429, headers={"x-ratelimit-reset": "2999-01-01T00:00:00.000Z"}
    )
    sleeps = Sleeps()
    with pytest.raises(RateLimited) as caught:
        await connector(sleeps, search=[]).fetch({}, terms=[], limit=10)
    assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 3600
    assert sleeps.waits == []  # no sleeping through a wait that long


@respx.mock
async def test_reply_mentions_the_author_and_names_the_status_with_the_idempotency_key() -> None:
    route = respx.post(f"{BASE}/api/v1/statuses").respond(json={"id": "900", "url": f"{BASE}/@acme/900"})
    c = connector()
    ref = PostRef(external_id="11", author="hana@other.example", ref={"id": "11", "acct": "hana@other.example"})
    sent = await c.reply(ref, "ご不便をおかけしています。", idempotency_key="kizuki-draft-1-g1")
    assert sent.id == "900" and sent.url == f"{BASE}/@acme/900" and sent.action == "reply"
    request = route.calls.last.request
    assert request.headers["idempotency-key"] == "kizuki-draft-1-g1"
    import json

    body = json.loads(request.content)
    assert body == {
        "status": "@hana@other.example ご不便をおかけしています。",
        "in_reply_to_id": "11",
        "visibility": "public",
    }


@respx.mock
async def test_reply_to_a_deleted_status_is_post_gone_without_retries() -> None:
    route = respx.post(f"{BASE}/api/v1/statuses").respond(404, json={"error": "Record not found"})
    sleeps = Sleeps()
    c = connector(sleeps)
    with pytest.raises(PostGone):
        await c.reply(PostRef(external_id="11", author="taro", ref={"id": "11"}), "hi", idempotency_key="k")
    assert route.call_count == 1 and sleeps.waits == []


@respx.mock
async def test_favourite_and_direct_message() -> None:
    fav = respx.post(f"{BASE}/api/v1/statuses/11/favourite").respond(json={"id": "11", "url": f"{BASE}/@taro/11"})
    dm = respx.post(f"{BASE}/api/v1/statuses").respond(json={"id": "901", "url": f"{BASE}/@acme/901"})
    c = connector()
    ref = PostRef(external_id="11", author="taro@masto.example", ref={"id": "11", "acct": "taro"})
    liked = await c.like(ref, idempotency_key="k1")
    assert liked.action == "like" and fav.called
    sent = await c.dm(ref, "Please send your order number here.", idempotency_key="k2")
    assert sent.action == "dm"
    import json

    body = json.loads(dm.calls.last.request.content)
    assert body == {"status": "@taro Please send your order number here.", "visibility": "direct"}


def test_length_rule_counts_links_as_23_and_follows_the_instance_limit() -> None:
    c = connector(max_characters=30)
    assert c.length_rule.length("see https://example.com/a/very/long/path/indeed") == 4 + 23
    assert c.length_rule.fits("a" * 30) and not c.length_rule.fits("あ" * 31)


@respx.mock
async def test_a_link_to_another_host_is_not_followed_with_our_token() -> None:
    page1 = [status(i, f"<p>KAMADO {i}</p>") for i in range(140, 100, -1)]
    route = respx.get(f"{BASE}/api/v1/timelines/tag/kamado")
    route.side_effect = [
        httpx.Response(200, json=page1, headers={"link": '<https://evil.example/steal?min_id=140>; rel="prev"'}),
        httpx.Response(200, json=[]),
    ]
    result = await connector(search=[]).fetch({"tag:kamado": "100"}, terms=[], limit=500)
    assert len(result.posts) == 40
    assert route.calls[1].request.url.host == "masto.example"
    assert route.calls[1].request.url.params["min_id"] == "140"
