"""What a reading of the connectors found: a pushed post naming a connector, a bad base URL, an endless budget,
and network post ids in exports for people who may not see authors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.posts.models import Post
from delivery.channels.base import OutboundReply
from delivery.connectors.service import DeliveryRefused
from kizuki.runtime import Runtime


def _push(client: TestClient, external_id: str, extra: dict[str, object]) -> None:
    body = {
        "source": "api-push",
        "external_id": external_id,
        "author": {"handle": "someone", "followers": 10},
        "text": "KAMADOが動きません",
        **extra,
    }
    assert client.post("/v1/posts", json=body).status_code == 202


def test_a_pushed_post_cannot_say_which_connector_answers_it(runtime: Runtime, client: TestClient) -> None:
    fake = {"name": "masto", "delivery": "auto", "ref": {"id": "31337", "summoned": True}}
    _push(client, "p-1", {"connector": fake, "note": "kept"})
    with runtime.db.reading() as s:
        raw = s.scalars(select(Post.raw).where(Post.external_id == "p-1")).one()
    assert "connector" not in raw and raw.get("note") == "kept"  # other extra fields stay


async def test_a_connector_answers_only_posts_it_read(runtime: Runtime) -> None:
    from delivery.connectors.service import ConnectorRouter

    router = ConnectorRouter(runtime.db, runtime.settings, runtime.channel)
    reply = OutboundReply(
        idempotency_key="k-1",
        draft_id=1,
        channel="x",
        text="確認いたします。",
        needs_dm=False,
        action="reply",
        approved_by=["hana"],
        in_reply_to={
            "source": "api-push",
            "external_id": "31337",
            "connector": {"name": "masto", "delivery": "auto", "ref": {"id": "31337"}},
        },
    )
    with pytest.raises(DeliveryRefused, match="did not come from this connector"):
        await router.send(reply)


def test_a_bad_base_url_or_an_endless_budget_is_a_422(client: TestClient) -> None:
    bad_url = {"name": "masto", "kind": "mastodon", "base_url": "http://[::1", "options": {"hashtags": ["k"]}}
    res = client.put("/v1/connectors", json={"connectors": [bad_url], "version": 0})
    assert res.status_code == 422 and "base_url" in res.text
    endless = {"name": "xacct", "kind": "x", "budget": {"monthly_usd": "Infinity"}, "options": {"account": "acme"}}
    res = client.put("/v1/connectors", json={"connectors": [endless], "version": 0})
    assert res.status_code == 422
    assert client.get("/v1/connectors/status").status_code == 200


def test_exports_hide_the_networks_post_id_from_people_who_may_not_see_authors(
    runtime: Runtime, client: TestClient, client_as: Callable[..., TestClient]
) -> None:
    _push(client, "at://did:plc:taro/app.bsky.feed.post/3ka", {})
    agent_page = client_as("agent").get("/v1/posts")
    assert agent_page.status_code == 200, agent_page.text
    agent_rows = agent_page.json()["items"]
    admin_rows = client.get("/v1/posts").json()["items"]
    assert [r["external_id"] for r in agent_rows] == [None]
    assert [r["external_id"] for r in admin_rows] == ["at://did:plc:taro/app.bsky.feed.post/3ka"]
