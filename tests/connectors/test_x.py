"""The X API v2 connector against recorded-shape responses (respx): search paging and cursors, the read budget,
429, malformed items, the "summoned" rule, replies, likes and deleted posts; budget and status in the database."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr
from sqlalchemy import select

from agent.posts.models import Post
from delivery.connectors import service
from delivery.connectors.base import ConnectorConfig, NotAllowed, PostGone, PostRef, RateLimited
from delivery.connectors.x import XConnector, build_queries, oauth1_header
from kizuki.runtime import Runtime
from tests.connectors.conftest import set_connectors

BASE = "https://api.x.test"
SEARCH = f"{BASE}/2/tweets/search/recent"
USER_SECRETS = {
    "token": "app-bearer",
    "consumer_key": "ck",
    "consumer_secret": "cs",
    "access_token": "at",
    "access_token_secret": "ats",
}


NOW_ID = (int(time.time() * 1000) - 1288834974657 - 3_600_000) << 22
"""An X id made an hour ago (ids are snowflakes: recent search refuses since_id/until_id older than 7 days)."""


def sid(n: int) -> str:
    """The n-th test post id, n counting up in time order."""
    return str(NOW_ID + n)


def tweet(tid: int, text: str, author: str = "1", **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": sid(tid),
        "text": text,
        "author_id": author,
        "created_at": "2026-11-20T01:00:00.000Z",
        "conversation_id": sid(tid),
        "lang": "ja",
        "public_metrics": {"retweet_count": 1, "reply_count": 2, "like_count": 3, "quote_count": 1},
    }
    data.update(kw)
    return data


USERS = [
    {"id": "1", "username": "taro_123", "name": "たろう", "public_metrics": {"followers_count": 1200}},
    {"id": "2", "username": "ken_en", "name": "Ken", "public_metrics": {"followers_count": 5}},
    {"id": "99", "username": "Acme_Support", "name": "Acme Support", "public_metrics": {"followers_count": 9000}},
]


def page(items: list[dict[str, Any]], next_token: str | None = None, tweets: list[Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"result_count": len(items)}
    if items:
        meta |= {"newest_id": items[0]["id"], "oldest_id": items[-1]["id"]}
    if next_token:
        meta["next_token"] = next_token
    body: dict[str, Any] = {"meta": meta}
    if items:
        body["data"] = items
        body["includes"] = {"users": USERS, "tweets": tweets or []}
    return body


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def connector(sleep: Sleeps | None = None, secrets: dict[str, str] | None = None, **options: Any) -> XConnector:
    config = ConnectorConfig(
        name="acme-x",
        kind="x",
        base_url=BASE,
        budget={"monthly_reads": 1000},
        options={"account": "acme_support", **options},
    )
    given = USER_SECRETS if secrets is None else secrets
    return XConnector(
        config,
        {k: SecretStr(v) for k, v in given.items()},
        client=httpx.AsyncClient(),
        sleep=sleep or Sleeps(),
    )


def test_oauth1_signature_matches_the_documented_example() -> None:
    # the worked example of X's "Creating a signature" page (OAuth 1.0a, HMAC-SHA1)
    header = oauth1_header(
        "POST",
        "https://api.twitter.com/1.1/statuses/update.json",
        {"status": "Hello Ladies + Gentlemen, a signed OAuth request!", "include_entities": "true"},
        consumer_key="xvz1evFS4wEEPTGEFPHBog",
        consumer_secret="kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        token_secret="LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        timestamp=1318622958,
    )
    assert 'oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"' in header
    assert header.startswith("OAuth ") and 'oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"' in header


def test_queries_quote_terms_join_them_with_or_and_split_at_the_plan_limit() -> None:
    assert build_queries(["KAMADO", "星空電機", "KAMADO K-3"], lang=None, max_chars=512) == [
        '("KAMADO" OR "星空電機" OR "KAMADO K-3") -is:retweet'
    ]
    assert build_queries(['say "hi"'], lang="ja", max_chars=512) == ['"say  hi" -is:retweet lang:ja']
    split = build_queries([f"term{i:02d}" for i in range(20)], lang=None, max_chars=100)
    assert len(split) > 1 and all(len(q) <= 100 for q in split)
    joined = " ".join(split)
    assert all(f'"term{i:02d}"' in joined for i in range(20))


@respx.mock
async def test_first_run_reads_one_page_with_the_expansions_and_sets_since_id() -> None:
    route = respx.get(SEARCH).respond(
        json=page([tweet(1790, "KAMADO stopped with E03", author="2"), tweet(1789, "KAMADOが壊れた、困った")])
    )
    result = await connector().fetch({}, terms=["KAMADO"], limit=100)
    assert [p.external_id for p in result.posts] == [sid(1789), sid(1790)]
    assert result.reads == 2
    key = 'q:"KAMADO" -is:retweet'
    assert result.cursor == {key: {"since_id": sid(1790)}}
    ja = result.posts[0]
    assert ja.source == "acme-x" and ja.channel == "x" and ja.text == "KAMADOが壊れた、困った"
    assert ja.url == f"https://x.com/taro_123/status/{sid(1789)}"
    assert ja.author.handle == "taro_123" and ja.author.followers == 1200
    assert (ja.metrics.likes, ja.metrics.reposts, ja.metrics.replies) == (3, 2, 2)
    assert ja.model_extra is not None
    assert ja.model_extra["connector"]["ref"] == {
        "id": sid(1789),
        "conversation_id": sid(1789),
        "summoned": False,
        "summoned_by": None,
    }
    assert ja.model_extra["connector"]["author_url"] == "https://x.com/taro_123"
    params = route.calls.last.request.url.params
    assert params["query"] == '"KAMADO" -is:retweet' and "since_id" not in params
    assert params["max_results"] == "100"
    assert "author_id" in params["expansions"] and "public_metrics" in params["user.fields"]
    assert route.calls.last.request.headers["authorization"] == "Bearer app-bearer"


@respx.mock
async def test_pages_with_next_token_down_to_since_id_and_the_next_run_reads_only_newer() -> None:
    route = respx.get(SEARCH)
    route.side_effect = [
        httpx.Response(200, json=page([tweet(i, f"KAMADO {i}") for i in (130, 129, 128)], next_token="t2")),
        httpx.Response(200, json=page([tweet(i, f"KAMADO {i}") for i in (127, 126)])),
        httpx.Response(200, json=page([tweet(131, "KAMADO 131")])),
    ]
    c = connector()
    key = 'q:"KAMADO" -is:retweet'
    first = await c.fetch({key: {"since_id": sid(125)}}, terms=["KAMADO"], limit=100)
    assert [p.external_id for p in first.posts] == [sid(126), sid(127), sid(128), sid(129), sid(130)]
    assert first.cursor == {key: {"since_id": sid(130)}}
    assert route.calls[0].request.url.params["since_id"] == sid(125)
    assert route.calls[1].request.url.params["pagination_token"] == "t2"
    second = await c.fetch(first.cursor, terms=["KAMADO"], limit=100)
    assert [p.external_id for p in second.posts] == [sid(131)]
    assert route.calls[2].request.url.params["since_id"] == sid(130)
    assert "pagination_token" not in route.calls[2].request.url.params


@respx.mock
async def test_a_run_cut_short_by_the_budget_keeps_a_gap_and_finishes_it_next_time() -> None:
    route = respx.get(SEARCH)
    route.side_effect = [
        httpx.Response(200, json=page([tweet(i, f"KAMADO {i}") for i in range(250, 238, -1)], next_token="t2")),
        httpx.Response(200, json=page([tweet(i, f"KAMADO {i}") for i in range(238, 230, -1)])),
    ]
    c = connector()
    key = 'q:"KAMADO" -is:retweet'
    first = await c.fetch({key: {"since_id": sid(230)}}, terms=["KAMADO"], limit=15)
    assert first.reads == 12 and route.call_count == 1  # 3 left < a page of 10: no second request
    assert route.calls[0].request.url.params["max_results"] == "15"
    assert first.cursor == {key: {"since_id": sid(230), "gap": {"until_id": sid(239), "top": sid(250)}}}
    second = await c.fetch(first.cursor, terms=["KAMADO"], limit=100)
    params = route.calls[1].request.url.params
    assert (params["since_id"], params["until_id"]) == (sid(230), sid(239))
    assert [p.external_id for p in second.posts] == [sid(i) for i in range(231, 239)]
    assert second.cursor == {key: {"since_id": sid(250)}}  # the gap is read: the next run starts above 250


@respx.mock
async def test_less_budget_than_one_page_reads_nothing_and_keeps_the_cursor() -> None:
    route = respx.get(SEARCH).respond(json=page([tweet(1, "KAMADO")]))
    key = 'q:"KAMADO" -is:retweet'
    result = await connector().fetch({key: {"since_id": sid(7)}}, terms=["KAMADO"], limit=9)
    assert result.reads == 0 and result.posts == [] and not route.called
    assert result.cursor == {key: {"since_id": sid(7)}}


@respx.mock
async def test_429_waits_until_the_rate_limit_reset_then_succeeds() -> None:
    import time

    route = respx.get(SEARCH)
    route.side_effect = [
        httpx.Response(429, headers={"x-rate-limit-reset": str(int(time.time()) + 5)}),
        httpx.Response(503),
        httpx.Response(200, json=page([tweet(5, "KAMADO")])),
    ]
    sleeps = Sleeps()
    result = await connector(sleeps).fetch({}, terms=["KAMADO"], limit=50)
    assert [p.external_id for p in result.posts] == [sid(5)]
    assert 3 <= sleeps.waits[0] <= 6 and len(sleeps.waits) == 2


@respx.mock
async def test_a_reset_far_away_ends_the_run_with_rate_limited_without_sleeping() -> None:
    import time

    respx.get(SEARCH).respond(429, headers={"x-rate-limit-reset": str(int(time.time()) + 900)})
    sleeps = Sleeps()
    with pytest.raises(RateLimited) as caught:
        await connector(sleeps).fetch({}, terms=["KAMADO"], limit=50)
    assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 800
    assert sleeps.waits == []


@respx.mock
async def test_malformed_items_are_skipped_counted_and_covered_by_the_cursor() -> None:
    respx.get(SEARCH).respond(
        json=page(
            [
                {"id": sid(60), "text": "KAMADO no author"},
                tweet(59, "KAMADO unknown author", author="404"),
                "not an object",  # type: ignore[list-item]
                tweet(58, "my own KAMADO post", author="99"),
                tweet(57, "KAMADO fine"),
            ]
        )
    )
    result = await connector().fetch({}, terms=["KAMADO"], limit=100)
    assert [p.external_id for p in result.posts] == [sid(57)]
    assert result.reads == 5
    assert sorted(result.skipped) == sorted(
        ["malformed post (KeyError)", "malformed post (KeyError)", "malformed post (TypeError)", "our own post"]
    )
    assert result.cursor['q:"KAMADO" -is:retweet'] == {"since_id": sid(60)}


@respx.mock
async def test_only_posts_that_mention_or_quote_our_account_are_summoned() -> None:
    quoted = {"id": "500", "text": "our announcement", "author_id": "99"}
    mention_entity = tweet(
        104,
        "@Acme_Support KAMADOが動きません",
        entities={"mentions": [{"start": 0, "end": 13, "username": "Acme_Support"}]},
    )
    respx.get(SEARCH).respond(
        json=page(
            [
                mention_entity,
                tweet(103, "KAMADO help please @acme_support", author="2"),
                tweet(102, "KAMADO ね、これ", referenced_tweets=[{"type": "quoted", "id": "500"}]),
                tweet(101, "KAMADO broke again, contact @acme_supportX?", author="2"),
                tweet(100, "KAMADOが壊れた"),
            ],
            tweets=[quoted],
        )
    )
    c = connector()
    result = await c.fetch({}, terms=["KAMADO"], limit=100)
    verdict = {p.external_id: c.summoned(p) for p in result.posts}
    assert verdict == {sid(100): False, sid(101): False, sid(102): True, sid(103): True, sid(104): True}
    how = {p.external_id: (p.model_extra or {})["connector"]["ref"]["summoned_by"] for p in result.posts}
    assert how == {sid(100): None, sid(101): None, sid(102): "quote", sid(103): "mention", sid(104): "mention"}
    # without our account configured nothing is summoned: every reply is by hand
    respx.get(SEARCH).respond(json=page([mention_entity]))
    bare = connector(account=None)
    (post,) = (await bare.fetch({}, terms=["KAMADO"], limit=100)).posts
    assert bare.summoned(post) is False


@respx.mock
async def test_reply_goes_to_the_original_with_user_context_auth() -> None:
    route = respx.post(f"{BASE}/2/tweets").respond(201, json={"data": {"id": "1800", "text": "..."}})
    ref = PostRef(
        external_id="1790", author="taro_123", ref={"id": "1790", "conversation_id": "1790", "summoned": True}
    )
    sent = await connector().reply(ref, "ご不便をおかけしています。DMでお知らせください。", idempotency_key="k1")
    assert (sent.action, sent.id, sent.url) == ("reply", "1800", "https://x.com/acme_support/status/1800")
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "text": "ご不便をおかけしています。DMでお知らせください。",
        "reply": {"in_reply_to_tweet_id": "1790"},
    }
    auth = request.headers["authorization"]
    assert auth.startswith("OAuth ") and 'oauth_consumer_key="ck"' in auth and 'oauth_token="at"' in auth


@respx.mock
async def test_an_oauth2_user_token_is_used_as_bearer_when_given() -> None:
    route = respx.post(f"{BASE}/2/tweets").respond(201, json={"data": {"id": "1801"}})
    c = connector(secrets={"token": "app", "user_token": "user-tok"})
    await c.reply(
        PostRef(external_id="1", author="a", ref={"id": "1", "summoned": True}), "Thanks!", idempotency_key="k"
    )
    assert route.calls.last.request.headers["authorization"] == "Bearer user-tok"


@respx.mock
async def test_a_keyword_hit_is_never_answered_by_automation_and_nothing_is_sent() -> None:
    route = respx.post(f"{BASE}/2/tweets").respond(201, json={"data": {"id": "1"}})
    with pytest.raises(NotAllowed, match="by hand"):
        await connector().reply(
            PostRef(external_id="9", author="taro_123", ref={"id": "9", "summoned": False}), "hi", idempotency_key="k"
        )
    with pytest.raises(NotAllowed):
        await connector().reply(PostRef(external_id="9", author="taro_123", ref={"id": "9"}), "hi", idempotency_key="k")
    assert not route.called


@respx.mock
async def test_replies_over_the_weighted_limit_or_without_user_credentials_are_refused() -> None:
    route = respx.post(f"{BASE}/2/tweets").respond(201, json={"data": {"id": "1"}})
    ref = PostRef(external_id="9", author="t", ref={"id": "9", "summoned": True})
    c = connector()
    assert c.length_rule.fits("あ" * 140) and not c.length_rule.fits("あ" * 141)
    assert c.length_rule.length("see https://example.com/" + "a" * 80) == 4 + 23
    with pytest.raises(NotAllowed, match="281"):
        await c.reply(ref, "あ" * 140 + "a", idempotency_key="k")
    with pytest.raises(NotAllowed, match="user-context"):
        await connector(secrets={"token": "app"}).reply(ref, "Thanks", idempotency_key="k")
    assert not route.called


@respx.mock
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, {"detail": "You attempted to reply to a Tweet that is deleted or not visible to you.", "status": 403}),
        (404, {"title": "Not Found Error", "detail": "Could not find tweet"}),
    ],
)
async def test_reply_to_a_deleted_post_is_post_gone_without_retries(status: int, body: dict[str, Any]) -> None:
    route = respx.post(f"{BASE}/2/tweets").respond(status, json=body)
    sleeps = Sleeps()
    with pytest.raises(PostGone):
        await connector(sleeps).reply(
            PostRef(external_id="9", author="t", ref={"id": "9", "summoned": True}), "hi", idempotency_key="k"
        )
    assert route.call_count == 1 and sleeps.waits == []


@respx.mock
async def test_like_finds_our_user_id_once_and_likes_the_post() -> None:
    me = respx.get(f"{BASE}/2/users/me").respond(json={"data": {"id": "99", "username": "acme_support"}})
    likes = respx.post(f"{BASE}/2/users/99/likes").respond(json={"data": {"liked": True}})
    ref = PostRef(external_id="1790", url="https://x.com/taro_123/status/1790", author="taro_123", ref={"id": "1790"})
    sent = await connector().like(ref, idempotency_key="k")
    assert (sent.action, sent.id, sent.url) == ("like", "1790", "https://x.com/taro_123/status/1790")
    assert json.loads(likes.calls.last.request.content) == {"tweet_id": "1790"}
    assert me.call_count == 1
    await connector(user_id="99").like(ref, idempotency_key="k2")
    assert me.call_count == 1  # a configured user_id needs no lookup


def test_prices_follow_the_options_when_given() -> None:
    config = ConnectorConfig(
        name="acme-x", kind="x", budget={"monthly_usd": 5}, options={"read_usd": 0.01, "write_with_link_usd": 0.3}
    )
    prices = XConnector.prices_for(config)
    assert (prices.read_usd, prices.write_usd, prices.write_with_link_usd) == (0.01, 0.015, 0.3)
    assert prices.write_cost("see https://example.com") == 0.3 and prices.write_cost("thanks") == 0.015


def test_price_options_reach_the_budget() -> None:
    """The budget's reads left follow the configured read price, not X's published one."""
    from delivery.connectors.service import budget_status

    cheap = ConnectorConfig(name="acme-x", kind="x", budget={"monthly_usd": 1}, options={"read_usd": 0.01})
    published = ConnectorConfig(name="acme-x", kind="x", budget={"monthly_usd": 1})
    assert budget_status(cheap, None, "2026-12").reads_left == 100
    assert budget_status(published, None, "2026-12").reads_left == 200


# -- with the database: the budget cap and the summoned rule through listening ----------------------------------
X_ENTRY = {
    "name": "acme-x",
    "kind": "x",
    "base_url": BASE,
    "budget": {"monthly_usd": 0.075},  # 15 posts at $0.005
    "options": {"account": "acme_support", "query": "KAMADO -is:retweet"},
}


@respx.mock
async def test_listening_meters_reads_stops_at_the_budget_and_stores_the_delivery_rule(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIZUKI_CONNECTOR_ACME_X_TOKEN", "app-bearer")
    set_connectors(runtime, [X_ENTRY])
    items = [tweet(i, f"KAMADOが壊れた、困った {i}") for i in range(215, 202, -1)]
    items.insert(0, tweet(216, "@acme_support KAMADO stopped with E03, help", author="2"))
    items.insert(0, tweet(217, "KAMADOのE03、どうすれば @acme_support"))
    route = respx.get(SEARCH).respond(json=page(items, next_token="more"))
    (first,) = await service.listen_once(runtime)
    assert route.calls[0].request.url.params["max_results"] == "15"
    assert (first.status, first.fetched, first.reads_left) == ("ok", 15, 0)
    (second,) = await service.listen_once(runtime)
    assert second.status == "budget_exhausted" and route.call_count == 1  # spent: no more reads this month
    with runtime.db.reading() as s:
        (status,) = service.statuses(s)
        delivery = {
            p.external_id: p.raw["connector"]["delivery"]
            for p in s.scalars(select(Post).where(Post.source == "acme-x"))
        }
    assert (status.budget.reads, status.budget.reads_left, status.budget.usd_left) == (15, 0, 0.0)
    assert status.budget.usd == pytest.approx(0.075)
    assert delivery[sid(216)] == "auto" and delivery[sid(217)] == "auto"
    assert {delivery[sid(i)] for i in range(203, 216)} == {"manual"}


@respx.mock
async def test_a_summoned_post_is_answered_in_place_and_a_keyword_hit_waits_for_a_person(
    kb_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.posts.models import Draft
    from kizuki.core import jobs
    from kizuki.core.worker import Worker
    from review.schemas import ApproveRequest
    from review.service import approve

    monkeypatch.setenv("KIZUKI_CONNECTOR_ACME_X_TOKEN", "app-bearer")
    monkeypatch.setenv("KIZUKI_CONNECTOR_ACME_X_USER_TOKEN", "user-tok")
    set_connectors(kb_runtime, [{**X_ENTRY, "budget": {"monthly_usd": 5}}])
    respx.get(SEARCH).respond(
        json=page(
            [
                tweet(302, "@acme_support KAMADOでE03が出て炊けない"),
                tweet(301, "KAMADOでE03が出て炊けない", author="2"),
            ]
        )
    )
    (report,) = await service.listen_once(kb_runtime)
    assert report.ingested == 2, report
    await Worker(kb_runtime, kinds=(jobs.JobKind.DRAFT,), handlers=kb_runtime.job_handlers()).drain()
    with kb_runtime.db.reading() as s:
        drafts = {p.external_id: d.id for d, p in s.execute(select(Draft, Post).join(Post)).all()}
    for draft_id in drafts.values():
        approve(kb_runtime, draft_id, ApproveRequest(acknowledge_warnings=True), actor="hana")
    posted = respx.post(f"{BASE}/2/tweets").respond(201, json={"data": {"id": "1900"}})
    service.queue_deliveries(kb_runtime.db, kb_runtime.settings)  # (approval may have queued it already)
    await Worker(kb_runtime, kinds=(jobs.JobKind.DELIVER,), handlers=kb_runtime.job_handlers()).drain()
    assert posted.call_count == 1
    assert json.loads(posted.calls.last.request.content)["reply"] == {"in_reply_to_tweet_id": sid(302)}
    with kb_runtime.db.reading() as s:
        summoned, keyword = s.get(Draft, drafts[sid(302)]), s.get(Draft, drafts[sid(301)])
        assert summoned is not None and keyword is not None
        assert (summoned.status, summoned.delivery_status) == ("sent", "sent")
        assert (keyword.status, keyword.delivery_status) == ("approved", "awaiting_manual")
        (sent,) = service.sent_for(s, drafts[sid(302)])
        assert sent.url == "https://x.com/acme_support/status/1900"
        (st,) = service.statuses(s)
    assert st.budget.writes == 1 and st.budget.usd == pytest.approx(2 * 0.005 + 0.015)


@respx.mock
async def test_a_cursor_older_than_the_search_window_reads_what_the_window_holds() -> None:
    from datetime import UTC, datetime, timedelta

    from delivery.connectors.x import id_time

    old = str(int(sid(0)) - ((9 * 86_400_000) << 22))  # nine days before the test posts
    assert datetime.now(UTC) - id_time(old) > timedelta(days=9)
    route = respx.get(SEARCH).respond(json=page([tweet(3, "KAMADO &amp; rice &lt;3"), tweet(2, "KAMADO")]))
    key = 'q:"KAMADO" -is:retweet'
    result = await connector().fetch({key: {"since_id": old}}, terms=["KAMADO"], limit=100)
    params = route.calls.last.request.url.params
    assert "since_id" not in params
    start = datetime.fromisoformat(params["start_time"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < datetime.now(UTC) - start < timedelta(days=7)
    assert result.cursor == {key: {"since_id": sid(3)}}
    assert [p.text for p in result.posts] == ["KAMADO", "KAMADO & rice <3"]  # X escapes &, < and > in text
    # a gap whose lower end left the window is given up: the next run starts above its top
    gap_state = {key: {"since_id": old, "gap": {"until_id": old, "top": sid(3)}}}
    await connector().fetch(gap_state, terms=["KAMADO"], limit=100)
    params = route.calls.last.request.url.params
    assert params["since_id"] == sid(3) and "until_id" not in params and "start_time" not in params


@respx.mock
async def test_a_long_post_keeps_its_whole_text() -> None:
    long_text = "KAMADOの内釜について。" + "とても長い説明です。" * 30
    respx.get(SEARCH).respond(json=page([tweet(1, long_text[:140] + "…", note_tweet={"text": long_text})]))
    (post,) = (await connector().fetch({}, terms=["KAMADO"], limit=100)).posts
    assert post.text == long_text
