"""Bluesky: post search in (`app.bsky.feed.searchPosts`, which needs a signed-in session); reply and like out.

AT Protocol over XRPC with httpx (https://docs.bsky.app/docs/category/http-reference). A session comes from
`com.atproto.server.createSession` (handle or e-mail + an app password, from the connector secrets) and is kept in
this process (module cache), since an account may only create 30 sessions in 5 minutes and 300 a day; an expired
access token is renewed with `com.atproto.server.refreshSession`, or by signing in again. Search runs one query per
term, `sort=latest`, newest first: a run pages with `cursor` down to the last run's newest `sortAt` (`since`,
inclusive); a run cut short by its read limit stores where it stopped (`until`) and finishes that gap first next
time, so nothing is skipped. A reply is an `app.bsky.feed.post` record with `reply.root`/`reply.parent` (uri + cid),
a like an `app.bsky.feed.like` record, both through `com.atproto.repo.createRecord`; the post is looked up first
(`app.bsky.feed.getPosts`), since the repository would accept a reply to a deleted post.
"""

from __future__ import annotations

import re
import secrets as random_source
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.schemas import PostIn
from delivery.connectors.base import (
    Capabilities,
    Connector,
    ConnectorError,
    Cursor,
    FetchResult,
    LengthRule,
    NotAllowed,
    PostGone,
    PostRef,
    Prices,
    RateLimit,
    SentRef,
    connector_post,
)

PAGE = 100  # searchPosts' largest page
MAX_PAGES = 10  # per query and run: the rest waits for the next run (the cursor keeps the place)
APP_URL = "https://bsky.app"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_EXPIRED = re.compile(r"answered 40[01]: (ExpiredToken|InvalidToken)\b")


class BlueskyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    search: list[str] | None = Field(
        default=None, description="Search queries; default the watch rules' brand terms (one query each)"
    )
    lang: str | None = Field(default=None, max_length=8, description="Only posts in this language (e.g. ja)")
    auto_reply: bool = Field(default=True, description="False: every reply is posted by a person (mark-sent)")


@dataclass
class _Session:
    access: str
    refresh: str
    did: str
    handle: str


_SESSIONS: dict[tuple[str, str], _Session] = {}
"""Signed-in sessions by (server, identifier), shared by the connector instances of this process (never stored)."""


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def tid(now_us: int | None = None) -> str:
    """A record key in the TID form (53 bits of microseconds, 10 random bits of clock id, base32-sortable)."""
    micros = time.time_ns() // 1000 if now_us is None else now_us
    value = (micros << 10) | random_source.randbelow(1024)
    out = ""
    for _ in range(13):
        out = _TID_ALPHABET[value & 31] + out
        value >>= 5
    return out


def link_facets(text: str) -> list[dict[str, Any]]:
    """Rich-text facets that make the links in a post clickable (offsets in UTF-8 bytes, as the protocol counts)."""
    facets = []
    for m in re.finditer(r"https?://[^\s\u3000-\u30ff\u4e00-\u9fff（）「」、。]+", text):
        uri = m.group(0).rstrip(".,;:!?)")
        start = len(text[: m.start()].encode("utf-8"))
        facets.append(
            {
                "index": {"byteStart": start, "byteEnd": start + len(uri.encode("utf-8"))},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
            }
        )
    return facets


def post_url(handle_or_did: str, uri: str) -> str:
    """The bsky.app link of a post (`at://did/app.bsky.feed.post/rkey`)."""
    return f"{APP_URL}/profile/{handle_or_did}/post/{uri.rsplit('/', 1)[-1]}"


class BlueskyConnector(Connector):
    kind = "bluesky"
    Options = BlueskyOptions
    capabilities = Capabilities(fetch=True, reply=True, like=True, dm=False)
    length_rule = LengthRule(limit=300, counting="graphemes")
    rate_limit = RateLimit(requests=3000, per_s=300, note="per IP on the PDS; createSession 30 per 5 min, 300 a day")
    prices = Prices()
    default_base_url = "https://bsky.social"
    secret_names = ("identifier", "app_password")

    options: BlueskyOptions

    # -- session ----------------------------------------------------------------------------------------------
    @property
    def _session_key(self) -> tuple[str, str]:
        return self.base_url, self.secret("identifier").lower()

    async def _session(self, *, renew: bool = False) -> _Session:
        key = self._session_key
        current = _SESSIONS.get(key)
        if current is not None and not renew:
            return current
        if current is not None:
            try:
                res = await self.request(
                    "POST",
                    f"{self.base_url}/xrpc/com.atproto.server.refreshSession",
                    headers={"authorization": f"Bearer {current.refresh}"},
                )
                return self._keep(key, res.json())
            except ConnectorError as exc:
                if exc.retryable:
                    raise
                _SESSIONS.pop(key, None)  # the refresh token expired too: sign in again
        try:
            res = await self.request(
                "POST",
                f"{self.base_url}/xrpc/com.atproto.server.createSession",
                json={"identifier": self.secret("identifier"), "password": self.secret("app_password")},
            )
        except ConnectorError as exc:
            if exc.retryable:
                raise
            raise NotAllowed(
                f"connector {self.name}: Bluesky refused the sign-in ({exc}); check the identifier and app password"
            ) from None
        return self._keep(key, res.json())

    def _keep(self, key: tuple[str, str], body: Any) -> _Session:
        try:
            session = _Session(
                access=str(body["accessJwt"]),
                refresh=str(body["refreshJwt"]),
                did=str(body["did"]),
                handle=str(body["handle"]),
            )
        except (KeyError, TypeError) as exc:
            raise ConnectorError(f"{self.name}: the session answer has no {exc}") from None
        _SESSIONS[key] = session
        return session

    async def _xrpc(self, method: str, nsid: str, **kw: Any) -> Any:
        """One authenticated XRPC call; an expired access token is renewed once."""
        for attempt in (1, 2):
            session = await self._session(renew=attempt == 2)
            headers = {"authorization": f"Bearer {session.access}", "accept": "application/json"}
            try:
                res = await self.request(method, f"{self.base_url}/xrpc/{nsid}", headers=headers, **kw)
            except ConnectorError as exc:
                if attempt == 1 and _EXPIRED.search(str(exc)):
                    continue
                raise
            try:
                return res.json()
            except ValueError as exc:
                raise ConnectorError(f"{self.name}: {nsid} answered with something that is not JSON") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- fetch ------------------------------------------------------------------------------------------------
    async def fetch(self, cursor: Cursor, *, terms: list[str], limit: int) -> FetchResult:
        queries = self.options.search if self.options.search is not None else terms
        result = FetchResult(posts=[], cursor={})
        seen: dict[str, tuple[datetime, PostIn]] = {}
        for query in dict.fromkeys(q.strip() for q in queries if q.strip()):
            key = f"q:{query}"
            state = cursor.get(key)
            if result.reads >= limit:
                if isinstance(state, dict):
                    result.cursor[key] = state  # not read this run: its place is kept
                continue
            result.cursor[key] = await self._query(query, state if isinstance(state, dict) else {}, limit, seen, result)
        result.posts = [post for _, post in sorted(seen.values(), key=lambda pair: (pair[0], pair[1].external_id))]
        return result

    async def _query(
        self,
        query: str,
        state: dict[str, Any],
        limit: int,
        seen: dict[str, tuple[datetime, PostIn]],
        out: FetchResult,
    ) -> dict[str, Any]:
        """Read one query newer than its state, newest first; returns the state to store."""
        since = _parse_time(state.get("since"))
        skip = set(state.get("seen") or [])  # posts at exactly `since`, read last time
        gap = state.get("gap") if isinstance(state.get("gap"), dict) else None
        params: dict[str, Any] = {"q": _quoted(query), "sort": "latest"}
        if self.options.lang:
            params["lang"] = self.options.lang
        if since is not None:
            params["since"] = _iso(since)
        until = _parse_time(gap.get("until")) if gap else None
        if until is not None:  # finish the gap a cut-short run left: `until` is exclusive, so 1 ms past it
            params["until"] = _iso(until + timedelta(milliseconds=1))
            skip |= set(gap.get("until_seen") or []) if gap else set()
        top = _parse_time(gap.get("top")) if gap else None
        top_seen: set[str] = set(gap.get("top_seen") or []) if gap else set()
        low: datetime | None = None
        low_seen: set[str] = set()
        page_cursor: str | None = None
        finished = False
        for _ in range(MAX_PAGES):
            asked = min(PAGE, limit - out.reads)
            if asked <= 0:
                break
            body = await self._xrpc(
                "GET",
                "app.bsky.feed.searchPosts",
                params={**params, "limit": asked, **({"cursor": page_cursor} if page_cursor else {})},
            )
            items = body.get("posts") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise ConnectorError(f"{self.name}: searchPosts answered with an unexpected shape")
            items = items[:asked]
            out.reads += len(items)
            for item in items:
                uri = item.get("uri") if isinstance(item, dict) else None
                sort_at = _sort_at(item)
                if isinstance(uri, str) and sort_at is not None:
                    if top is None or sort_at > top:
                        top, top_seen = sort_at, {uri}
                    elif sort_at == top:
                        top_seen.add(uri)
                    if low is None or sort_at < low:
                        low, low_seen = sort_at, {uri}
                    elif sort_at == low:
                        low_seen.add(uri)
                if isinstance(uri, str) and uri in skip:
                    continue  # read in the last run (same instant as its newest)
                post = self._post(item, out.skipped)
                if post is not None and sort_at is not None:
                    seen.setdefault(post.external_id, (sort_at, post))
            page_cursor = body.get("cursor") if isinstance(body.get("cursor"), str) else None
            if not items or not page_cursor or since is None:
                finished = True  # read down to the last run's newest (or the first run's one page)
                break
        if not finished and low is None:
            return dict(state)  # nothing read: the same place next time
        if finished or low is None:
            if top is None:
                return {k: v for k, v in state.items() if k in ("since", "seen")}
            if since is not None and top == since:
                top_seen |= set(state.get("seen") or [])
            return {"since": _iso(top), "seen": sorted(top_seen)}
        # cut short: the next run reads what lies between the last newest and where this one stopped
        kept = {k: v for k, v in state.items() if k in ("since", "seen")}
        assert top is not None
        return {
            **kept,
            "gap": {"until": _iso(low), "until_seen": sorted(low_seen), "top": _iso(top), "top_seen": sorted(top_seen)},
        }

    def _post(self, item: Any, skipped: list[str]) -> PostIn | None:
        try:
            if not isinstance(item, dict):
                raise TypeError("not an object")
            uri = str(item["uri"])
            author = item["author"]
            record = item["record"]
            handle = str(author["handle"])
            session = _SESSIONS.get(self._session_key)
            if session is not None and author.get("did") == session.did:
                skipped.append("our own post")
                return None
            text = str(record.get("text") or "").strip()
            if not text:
                skipped.append("no text")
                return None
            reply = record.get("reply") if isinstance(record.get("reply"), dict) else None
            root = reply["root"] if reply else {"uri": uri, "cid": item["cid"]}
            langs = record.get("langs")
            return connector_post(
                self,
                external_id=uri,
                author={
                    "handle": handle,
                    "name": author.get("displayName") or None,
                    "url": f"{APP_URL}/profile/{handle}",
                },
                text=text,
                url=post_url(handle, uri),
                created_at=record.get("createdAt") or item.get("indexedAt"),
                lang=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
                metrics={
                    "likes": max(0, int(item.get("likeCount") or 0)),
                    "reposts": max(0, int(item.get("repostCount") or 0)),
                    "replies": max(0, int(item.get("replyCount") or 0)),
                },
                ref={"uri": uri, "cid": str(item["cid"]), "root_uri": str(root["uri"]), "root_cid": str(root["cid"])},
            )
        except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
            skipped.append(f"malformed post ({type(exc).__name__})")
            return None

    def summoned(self, post: PostIn) -> bool:
        return self.options.auto_reply

    # -- out --------------------------------------------------------------------------------------------------
    async def _live(self, post: PostRef) -> dict[str, Any]:
        """The post as the network shows it now; `PostGone` when deleted, `NotAllowed` when replies are closed."""
        uri = str(post.ref.get("uri") or post.external_id)
        body = await self._xrpc("GET", "app.bsky.feed.getPosts", params={"uris": [uri]})
        found = [p for p in body.get("posts") or [] if isinstance(p, dict) and p.get("uri") == uri]
        if not found:
            raise PostGone(f"{self.name}: the post no longer exists")
        return found[0]

    async def _create(self, collection: str, record: dict[str, Any]) -> tuple[str, str]:
        """createRecord with a record key chosen here, so a retry after a lost answer finds the first one."""
        session = await self._session()
        rkey = tid()
        payload = {"repo": session.did, "collection": collection, "rkey": rkey, "record": record}
        try:
            body = await self._xrpc("POST", "com.atproto.repo.createRecord", json=payload)
        except ConnectorError as exc:
            if isinstance(exc, PostGone):
                raise
            try:  # an attempt may have been stored before its answer was lost: then the record is there
                body = await self._xrpc(
                    "GET",
                    "com.atproto.repo.getRecord",
                    params={"repo": session.did, "collection": collection, "rkey": rkey},
                )
            except ConnectorError:
                raise exc from None
        return str(body["uri"]), str(body["cid"])

    async def reply(self, post: PostRef, text: str, *, idempotency_key: str) -> SentRef:
        if not self.length_rule.fits(text):
            raise NotAllowed(
                f"{self.name}: the reply is {self.length_rule.length(text)} graphemes; Bluesky allows "
                f"{self.length_rule.limit}"
            )
        live = await self._live(post)
        if (live.get("viewer") or {}).get("replyDisabled"):
            raise NotAllowed(f"{self.name}: the author closed replies to this post")
        parent = {"uri": str(live["uri"]), "cid": str(live.get("cid") or post.ref.get("cid"))}
        root = {
            "uri": str(post.ref.get("root_uri") or parent["uri"]),
            "cid": str(post.ref.get("root_cid") or parent["cid"]),
        }
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": _iso(datetime.now(UTC)),
            "reply": {"root": root, "parent": parent},
        }
        facets = link_facets(text)
        if facets:
            record["facets"] = facets
        uri, _ = await self._create("app.bsky.feed.post", record)
        session = await self._session()
        return SentRef(action="reply", id=uri, url=post_url(session.handle, uri))

    async def like(self, post: PostRef, *, idempotency_key: str) -> SentRef:
        live = await self._live(post)
        subject = {"uri": str(live["uri"]), "cid": str(live.get("cid") or post.ref.get("cid"))}
        record = {"$type": "app.bsky.feed.like", "subject": subject, "createdAt": _iso(datetime.now(UTC))}
        uri, _ = await self._create("app.bsky.feed.like", record)
        return SentRef(action="like", id=uri, url=post.url)


def _sort_at(item: Any) -> datetime | None:
    """The search index's `sortAt`: the earlier of the record's `createdAt` and `indexedAt` (a post dated in the
    future sorts by when it was indexed)."""
    if not isinstance(item, dict):
        return None
    indexed = _parse_time(item.get("indexedAt"))
    record = item.get("record")
    created = _parse_time(record.get("createdAt")) if isinstance(record, dict) else None
    moments = [m for m in (indexed, created) if m is not None]
    return min(moments) if moments else None


def _quoted(term: str) -> str:
    """A term with spaces as one phrase."""
    term = term.replace('"', " ").strip()
    return f'"{term}"' if any(c.isspace() for c in term) else term
