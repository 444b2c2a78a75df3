"""The RSS/Atom connector's wire format (respx): new entries only, conditional GET, malformed feeds, no replies."""

from __future__ import annotations

import httpx
import pytest
import respx

from delivery.connectors.base import ConnectorConfig, NotAllowed, PostRef
from delivery.connectors.rss import RssConnector

FEED = "https://news.example/feed.xml"
ATOM = "https://blog.example/atom.xml"

RSS_BODY = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>ニュース</title><link>https://news.example/</link>
<item><guid isPermaLink="false">n-2</guid><title>KAMADOの新モデル</title><link>https://news.example/2</link>
<description>&lt;p&gt;KAMADO が &lt;b&gt;発売&lt;/b&gt;&lt;/p&gt;</description>
<pubDate>Fri, 20 Nov 2026 10:00:00 +0900</pubDate></item>
<item><guid isPermaLink="false">n-1</guid><title>Weather</title><link>https://news.example/1</link>
<description>Sunny</description><pubDate>Thu, 19 Nov 2026 10:00:00 +0900</pubDate></item>
<item><guid isPermaLink="false">n-0</guid><title>Kamado recall?</title><link>https://news.example/0</link>
<description>Readers ask about the KAMADO cooker</description><pubDate>Wed, 18 Nov 2026 10:00:00 +0900</pubDate></item>
</channel></rss>"""

ATOM_BODY = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><link href="https://blog.example/"/>
<id>urn:blog</id><updated>2026-11-20T00:00:00Z</updated>
<entry><id>urn:e1</id><title>Our KAMADO review</title><link href="https://blog.example/e1"/>
<updated>2026-11-20T00:00:00Z</updated><author><name>Ken</name></author>
<content type="html">&lt;p&gt;The KAMADO works&lt;br/&gt;well.&lt;/p&gt;</content></entry>
</feed>"""


def connector(**options: object) -> RssConnector:
    config = ConnectorConfig(name="news", kind="rss", options={"feeds": [FEED], **options})
    return RssConnector(config, {}, client=httpx.AsyncClient())


@respx.mock
async def test_rss_entries_naming_a_term_become_posts_oldest_first_linking_back() -> None:
    respx.get(FEED).respond(text=RSS_BODY, headers={"etag": '"v1"'})
    result = await connector().fetch({}, terms=["kamado"], limit=50)
    assert [p.external_id for p in result.posts] == ["n-0", "n-2"]
    post = result.posts[1]
    assert post.text == "KAMADOの新モデル\n\nKAMADO が 発売"
    assert post.url == "https://news.example/2"
    assert post.source == "news" and post.author.handle == "news.example"
    assert post.created_at is not None and post.created_at.isoformat() == "2026-11-20T01:00:00+00:00"
    assert result.skipped == ["names none of the terms"]
    assert result.cursor[FEED]["seen"] == ["n-0", "n-1", "n-2"]
    assert result.cursor[FEED]["etag"] == '"v1"'


@respx.mock
async def test_the_second_run_sends_the_validators_and_takes_only_new_entries() -> None:
    route = respx.get(FEED)
    route.side_effect = [httpx.Response(304), httpx.Response(200, text=RSS_BODY)]
    c = connector()
    cursor = {FEED: {"seen": ["n-0", "n-1"], "etag": '"v1"'}}
    unchanged = await c.fetch(cursor, terms=["kamado"], limit=50)
    assert unchanged.posts == [] and route.calls[0].request.headers["if-none-match"] == '"v1"'
    changed = await c.fetch(cursor, terms=["kamado"], limit=50)
    assert [p.external_id for p in changed.posts] == ["n-2"]


@respx.mock
async def test_a_small_budget_leaves_the_rest_for_the_next_run() -> None:
    respx.get(FEED).respond(text=RSS_BODY, headers={"etag": '"v1"'})
    c = connector(filter_terms=False)
    first = await c.fetch({}, terms=[], limit=2)
    assert [p.external_id for p in first.posts] == ["n-0", "n-1"]
    assert "etag" not in first.cursor[FEED]  # a 304 must not hide the entry still unread
    second = await c.fetch(first.cursor, terms=[], limit=2)
    assert [p.external_id for p in second.posts] == ["n-2"]


@respx.mock
async def test_atom_feeds_and_html_content() -> None:
    respx.get(ATOM).respond(text=ATOM_BODY)
    config = ConnectorConfig(name="blogs", kind="rss", options={"feeds": [ATOM]})
    result = await RssConnector(config, {}, client=httpx.AsyncClient()).fetch({}, terms=["KAMADO"], limit=10)
    (post,) = result.posts
    assert post.text == "Our KAMADO review\n\nThe KAMADO works\nwell."
    assert post.author.name == "Ken" and post.url == "https://blog.example/e1"


@respx.mock
async def test_a_feed_that_is_not_a_feed_is_skipped_with_a_reason() -> None:
    respx.get(FEED).respond(text="<html><body>maintenance</body")
    result = await connector().fetch({}, terms=["kamado"], limit=10)
    assert result.posts == [] and result.skipped == ["feed not readable"]


async def test_feeds_are_never_replied_to() -> None:
    c = connector()
    with pytest.raises(NotAllowed):
        await c.reply(PostRef(external_id="n-2", author="news.example"), "thanks", idempotency_key="k")
    post = connector_post_for(c)
    assert c.summoned(post) is False


def connector_post_for(c: RssConnector):  # type: ignore[no-untyped-def]
    from delivery.connectors.base import connector_post

    return connector_post(
        c, external_id="n", author={"handle": "news.example"}, text="x", url=None, created_at=None, ref={}
    )
