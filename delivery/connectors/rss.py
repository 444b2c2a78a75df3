"""RSS and Atom feeds (news sites, blogs, bulletin boards): read only; drafts from them are for internal follow-up.

Fetched with httpx (conditional GET: ETag and Last-Modified) and parsed with feedparser, which reads every feed
dialect (RSS 0.9x, 1.0, 2.0, Atom 0.3 and 1.0) and their date formats. Feed entries have no order we can trust,
so the cursor keeps, per feed, the ids of the entries already taken (the newest few hundred): an entry is new when
its id is not among them. Nothing is ever replied to: `summoned` is always False, so delivery is by hand.
"""

from __future__ import annotations

import calendar
import hashlib
import unicodedata
from datetime import UTC, datetime
from typing import Any

import feedparser  # type: ignore[import-untyped]
import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.schemas import MAX_POST_CHARS, PostIn
from delivery.connectors.base import (
    Capabilities,
    Connector,
    Cursor,
    FetchResult,
    LengthRule,
    RateLimit,
    connector_post,
)
from delivery.connectors.text import html_to_text

SEEN_KEPT = 500
"""Entry ids remembered per feed: more than any feed lists at once."""


class RssOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feeds: list[str] = Field(min_length=1, description="Feed URLs (RSS or Atom)")
    filter_terms: bool = Field(
        default=True, description="Take only entries that name one of the terms (the watch rules decide after)"
    )

    @field_validator("feeds")
    @classmethod
    def _feeds(cls, v: list[str]) -> list[str]:
        for url in v:
            parsed = httpx.URL(url)
            if parsed.scheme not in ("http", "https") or not parsed.host:
                raise ValueError(f"feed {url!r} is not an http(s) URL")
            if parsed.userinfo:
                raise ValueError("feed URLs must not carry credentials")
        return v


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _entry_id(entry: Any) -> str | None:
    raw = entry.get("id") or entry.get("link") or None
    if raw is None and entry.get("title"):
        raw = "title:" + str(entry.get("title"))
    if raw is None:
        return None
    raw = str(raw).strip()
    return raw if len(raw) <= 128 else "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


def _when(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)


class RssConnector(Connector):
    kind = "rss"
    Options = RssOptions
    capabilities = Capabilities(fetch=True, reply=False, like=False, dm=False)
    length_rule = LengthRule(limit=None)
    rate_limit = RateLimit(requests=1, per_s=60, note="be polite: one request per feed per interval")
    secret_names = ()

    options: RssOptions

    async def fetch(self, cursor: Cursor, *, terms: list[str], limit: int) -> FetchResult:
        new_cursor = dict(cursor)
        result = FetchResult(posts=[], cursor=new_cursor)
        folded = [_fold(t) for t in terms if t.strip()] if self.options.filter_terms else []
        for url in self.options.feeds:
            if result.reads >= limit:
                break
            state = dict(cursor.get(url) or {})
            headers = {"accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"}
            if state.get("etag"):
                headers["if-none-match"] = str(state["etag"])
            if state.get("modified"):
                headers["if-modified-since"] = str(state["modified"])
            res = await self.request("GET", url, headers=headers)
            if res.status_code == 304:
                continue
            parsed = feedparser.parse(res.content, response_headers={"content-location": url})
            if parsed.get("bozo") and not parsed.entries:
                result.skipped.append("feed not readable")
                continue
            seen: list[str] = list(state.get("seen") or [])
            known = set(seen)
            fresh = [(e, _entry_id(e)) for e in parsed.entries]
            fresh = [(e, i) for e, i in fresh if i is None or i not in known]
            fresh.sort(key=lambda pair: _when(pair[0]) or datetime.min.replace(tzinfo=UTC))
            feed_title = str(parsed.feed.get("title") or httpx.URL(url).host)
            taken = fresh[: max(0, limit - result.reads)]
            for entry, entry_id in taken:
                result.reads += 1
                if entry_id is None:
                    result.skipped.append("entry without id, link or title")
                    continue
                seen.append(entry_id)
                post = self._post(entry, entry_id, url, feed_title, parsed.feed, folded, result.skipped)
                if post is not None:
                    result.posts.append(post)
            state["seen"] = seen[-SEEN_KEPT:]
            if len(taken) == len(fresh):  # all read: the validators may skip the next GET's body
                state["etag"] = res.headers.get("etag")
                state["modified"] = res.headers.get("last-modified")
            else:  # the rest is for the next run: do not let a 304 hide it
                state.pop("etag", None)
                state.pop("modified", None)
            new_cursor[url] = state
        return result

    def _post(
        self,
        entry: Any,
        entry_id: str,
        feed_url: str,
        feed_title: str,
        feed: Any,
        terms: list[str],
        skipped: list[str],
    ) -> PostIn | None:
        title = html_to_text(str(entry.get("title") or ""))
        summary = ""
        if entry.get("content"):
            summary = html_to_text(str(entry["content"][0].get("value") or ""))
        if not summary:
            summary = html_to_text(str(entry.get("summary") or ""))
        text = "\n\n".join(part for part in (title, summary) if part)[:MAX_POST_CHARS]
        if not text.strip():
            skipped.append("entry without text")
            return None
        if terms and not any(t in _fold(text) for t in terms):
            skipped.append("names none of the terms")
            return None
        site = str(feed.get("link") or feed_url)
        host = httpx.URL(site).host or httpx.URL(feed_url).host
        try:
            return connector_post(
                self,
                external_id=entry_id,
                author={
                    "handle": host[:100],
                    "name": (str(entry.get("author") or feed_title))[:200] or None,
                    "url": site,
                },
                text=text,
                url=entry.get("link"),
                created_at=_when(entry),
                ref={"feed": feed_url},
            )
        except ValidationError as exc:
            skipped.append(f"malformed entry ({exc.error_count()} problem(s))")
            return None

    def summoned(self, post: PostIn) -> bool:
        return False  # a feed has no reply button: drafts from it are for internal follow-up
