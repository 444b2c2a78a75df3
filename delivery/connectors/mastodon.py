"""Mastodon: hashtag timelines and status search in; reply, favourite and direct message out (httpx, REST API).

Documented API (https://docs.joinmastodon.org/methods/): `GET /api/v1/timelines/tag/:hashtag` and
`GET /api/v2/search?type=statuses` with `min_id` paging (the page right after the cursor; `Link: rel="prev"` names
the next newer page), `POST /api/v1/statuses` with `in_reply_to_id` (and `Idempotency-Key`, which Mastodon honours),
`POST /api/v1/statuses/:id/favourite`, and a direct message as a status with `visibility=direct` that mentions the
author. Status search finds only posts the instance indexes for search (Mastodon 4.2+: those whose authors opted
in, plus posts the account interacted with): hashtags are the reliable feed.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.schemas import PostIn
from delivery.connectors.base import (
    Capabilities,
    Connector,
    ConnectorError,
    Cursor,
    FetchResult,
    LengthRule,
    PostRef,
    Prices,
    RateLimit,
    SentRef,
    connector_post,
)
from delivery.connectors.text import html_to_text

PAGE = 40  # the API's largest page
MAX_PAGES = 10  # per stream and run: the rest waits for the next run (the cursor keeps the place)


class MastodonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hashtags: list[str] = Field(default_factory=list, description="Without #; each a public tag timeline")
    search: list[str] | None = Field(
        default=None, description="Status search queries; default the watch rules' brand terms; [] for none"
    )
    account: str | None = Field(default=None, description="Our account (acct), whose own posts are skipped")
    auto_reply: bool = Field(default=True, description="False: every reply is posted by a person (mark-sent)")
    visibility: Literal["public", "unlisted"] = "public"
    max_characters: int = Field(default=500, ge=1, description="The instance's status limit")

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        tags = [t.strip().lstrip("#") for t in v]
        if any(not t or any(c.isspace() for c in t) for t in tags):
            raise ValueError("hashtags are single words without spaces")
        return tags


def _id_key(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings: compare by length, then text (no int overflow, no lexical traps)."""
    return len(status_id), status_id


class MastodonConnector(Connector):
    kind = "mastodon"
    Options = MastodonOptions
    capabilities = Capabilities(fetch=True, reply=True, like=True, dm=True)
    length_rule = LengthRule(limit=500, counting="chars", url_weight=23)
    rate_limit = RateLimit(requests=300, per_s=300, note="per account, default server configuration")
    prices = Prices()
    needs_base_url = True  # every instance is its own server
    secret_names = ("token",)

    options: MastodonOptions

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        if not self.base_url:
            raise ConnectorError(f"connector {self.name}: a Mastodon connector needs base_url (the instance)")
        self.length_rule = LengthRule(limit=self.options.max_characters, counting="chars", url_weight=23)
        self.host = httpx.URL(self.base_url).host

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self.secret('token')}", "accept": "application/json"}
        if idempotency_key:
            headers["idempotency-key"] = idempotency_key
        return headers

    # -- fetch ------------------------------------------------------------------------------------------------
    async def fetch(self, cursor: Cursor, *, terms: list[str], limit: int) -> FetchResult:
        queries = self.options.search if self.options.search is not None else terms
        streams: list[tuple[str, str, str | None]] = [
            (f"tag:{t.lower()}", f"/api/v1/timelines/tag/{quote(t)}", None) for t in self.options.hashtags
        ]
        streams += [(f"search:{q}", "/api/v2/search", q) for q in queries]
        new_cursor = dict(cursor)
        seen: dict[str, PostIn] = {}
        result = FetchResult(posts=[], cursor=new_cursor)
        for key, path, query in streams:
            if result.reads >= limit:
                break
            top = await self._stream(path, query, cursor.get(key), limit - result.reads, seen, result)
            if top is not None:
                new_cursor[key] = top
        result.posts = sorted(seen.values(), key=lambda p: _id_key(p.external_id))
        return result

    async def _stream(
        self, path: str, query: str | None, since: str | None, budget: int, seen: dict[str, PostIn], out: FetchResult
    ) -> str | None:
        """Read one stream newer than `since`, page by page (oldest page first); returns its newest id read."""
        top = since
        url = self.base_url + path
        params: dict[str, Any] = {}
        if query is not None:
            params.update(q=query, type="statuses", resolve="false")
        if since is not None:
            params["min_id"] = since
        for _ in range(MAX_PAGES):
            if budget <= 0:
                break
            asked = min(PAGE, budget)
            res = await self.request("GET", url, params={**params, "limit": asked}, headers=self._headers())
            try:
                body = res.json()
            except ValueError as exc:
                raise ConnectorError(f"{self.name}: {path} answered with something that is not JSON") from exc
            items = body.get("statuses") if isinstance(body, dict) else body
            if not isinstance(items, list):
                raise ConnectorError(f"{self.name}: {path} answered with an unexpected shape")
            # a page is newest first: keep its oldest `asked` so nothing between the cursor and them is skipped
            items.sort(key=lambda i: _id_key(str(i.get("id"))) if isinstance(i, dict) else (0, ""))
            items = items[:asked]
            budget -= len(items)
            out.reads += len(items)
            for item in items:
                sid = item.get("id") if isinstance(item, dict) else None
                if isinstance(sid, str) and sid.isdigit() and (top is None or _id_key(sid) > _id_key(top)):
                    top = sid
                post = self._post(item, out.skipped)
                if post is not None:
                    seen.setdefault(post.external_id, post)
            if since is None or len(items) < asked or top is None:
                break  # first run: one page of the newest; or the stream is read up to now
            # the next newer page: the Link header's rel="prev" when given, else right after the newest read
            prev = res.links.get("prev", {}).get("url")
            if prev and httpx.URL(prev).host != self.host:
                prev = None  # never send our token to another host
            if prev:  # its query replaces ours (httpx would drop it for `params`), with our page size after
                link = httpx.URL(prev)
                url, params = str(link.copy_with(query=None)), dict(link.params)
                params.pop("limit", None)
            else:
                params = {**params, "min_id": top}
        return top

    def _post(self, item: Any, skipped: list[str]) -> PostIn | None:
        try:
            if not isinstance(item, dict):
                raise TypeError("not an object")
            if item.get("reblog"):
                skipped.append("boost")
                return None
            account = item["account"]
            acct = str(account["acct"])
            if self.options.account and acct.lower() == self.options.account.lower().lstrip("@"):
                skipped.append("our own post")
                return None
            handle = acct if "@" in acct else f"{acct}@{self.host}"
            text = html_to_text(str(item.get("content") or ""))
            if item.get("spoiler_text"):
                text = f"{item['spoiler_text']}\n\n{text}".strip()
            if not text:
                skipped.append("no text")
                return None
            return connector_post(
                self,
                external_id=str(item["id"]),
                author={
                    "handle": handle,
                    "name": account.get("display_name") or None,
                    "followers": max(0, int(account.get("followers_count") or 0)),
                    "url": account.get("url"),
                },
                text=text,
                url=item.get("url") or item.get("uri"),
                created_at=item.get("created_at"),
                lang=item.get("language"),
                metrics={
                    "likes": max(0, int(item.get("favourites_count") or 0)),
                    "reposts": max(0, int(item.get("reblogs_count") or 0)),
                    "replies": max(0, int(item.get("replies_count") or 0)),
                },
                ref={"id": str(item["id"]), "acct": acct, "visibility": item.get("visibility")},
            )
        except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
            skipped.append(f"malformed status ({type(exc).__name__})")
            return None

    def summoned(self, post: PostIn) -> bool:
        return self.options.auto_reply

    # -- out --------------------------------------------------------------------------------------------------
    async def _status(self, body: dict[str, Any], idempotency_key: str, action: Literal["reply", "dm"]) -> SentRef:
        res = await self.request(
            "POST", f"{self.base_url}/api/v1/statuses", json=body, headers=self._headers(idempotency_key)
        )
        data = res.json()
        return SentRef(action=action, id=str(data["id"]), url=data.get("url") or data.get("uri"))

    async def reply(self, post: PostRef, text: str, *, idempotency_key: str) -> SentRef:
        acct = str(post.ref.get("acct") or post.author)
        mention = f"@{acct}"
        body_text = text if mention.lower() in text.lower() else f"{mention} {text}"
        self._fits(body_text)
        status_id = str(post.ref.get("id") or post.external_id)
        body = {"status": body_text, "in_reply_to_id": status_id, "visibility": self.options.visibility}
        return await self._status(body, idempotency_key, "reply")

    async def like(self, post: PostRef, *, idempotency_key: str) -> SentRef:
        status_id = str(post.ref.get("id") or post.external_id)
        res = await self.request(
            "POST", f"{self.base_url}/api/v1/statuses/{quote(status_id)}/favourite", headers=self._headers()
        )
        data = res.json()
        return SentRef(action="like", id=str(data.get("id") or status_id), url=data.get("url"))

    async def dm(self, post: PostRef, text: str, *, idempotency_key: str) -> SentRef:
        acct = str(post.ref.get("acct") or post.author)
        body_text = f"@{acct} {text}"
        self._fits(body_text)
        return await self._status({"status": body_text, "visibility": "direct"}, idempotency_key, "dm")

    def _fits(self, text: str) -> None:
        if not self.length_rule.fits(text):
            from delivery.connectors.base import NotAllowed

            raise NotAllowed(
                f"{self.name}: the reply is {self.length_rule.length(text)} characters; the instance allows "
                f"{self.length_rule.limit}"
            )
