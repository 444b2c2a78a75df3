"""X (API v2): recent search in; reply and like out, only where X's automation rules allow; reads metered.

Documented API (https://docs.x.com/x-api): `GET /2/tweets/search/recent` (the last 7 days; `since_id`, `until_id`,
`next_token` paging, newest first; `max_results` 10-100) with the author and the quoted/replied-to posts' authors
expanded; `POST /2/tweets` with `reply.in_reply_to_tweet_id`; `POST /2/users/:id/likes`. Reads take the app's bearer
token (secret `token`); writes act as our account, with OAuth 1.0a user context (secrets `consumer_key`,
`consumer_secret`, `access_token`, `access_token_secret`) or an OAuth 2.0 user access token (secret `user_token`).

X bills per post read and written (pay-per-use, 2026): `fetch` reads at most the `limit` the month's budget allows
(never a page it cannot pay for, as a page is at least 10 posts), and the listen service meters every post read.
X lets an app reply by automation only where the post's author summoned the account (mentioned or quoted it);
posts found by keyword search alone are answered by a person (`summoned` False, and `reply` refuses).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets as random_source
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.schemas import PostIn
from delivery.connectors.base import (
    Capabilities,
    Connector,
    ConnectorConfig,
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

PAGE_MIN, PAGE_MAX = 10, 100  # max_results bounds of recent search
MAX_PAGES = 10  # per query and run
WEB = "https://x.com"
EXPANSIONS = "author_id,referenced_tweets.id,referenced_tweets.id.author_id"
TWEET_FIELDS = "created_at,lang,public_metrics,conversation_id,entities,referenced_tweets,author_id,note_tweet"
USER_FIELDS = "username,name,public_metrics"
SEARCH_WINDOW = timedelta(days=7)  # recent search reaches back this far; older since_id/until_id are refused
TWITTER_EPOCH_MS = 1288834974657
_GONE = re.compile(r"deleted or not visible|has been deleted", re.IGNORECASE)
_NOT_SUMMONED = re.compile(
    r"not (been )?mentioned|not allowed to reply|reply to this conversation is not allowed", re.I
)


class XOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str | None = Field(
        default=None, description="Our account's username; without it no post counts as summoned (all by hand)"
    )
    user_id: str | None = Field(default=None, description="Our account's numeric id (for likes; else asked once)")
    query: str | None = Field(default=None, max_length=4096, description="A full search query instead of the terms")
    lang: str | None = Field(default=None, max_length=8, description="Only posts in this language (lang:ja)")
    max_query_chars: int = Field(default=512, ge=64, le=4096, description="The plan's query length limit")
    read_usd: float | None = Field(default=None, ge=0, description="Price of a post read (default: X's 2026 price)")
    write_usd: float | None = Field(default=None, ge=0)
    write_with_link_usd: float | None = Field(default=None, ge=0)

    @field_validator("account")
    @classmethod
    def _account(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().lstrip("@")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,15}", v):
            raise ValueError("account is an X username: 1-15 letters, digits or _")
        return v

    @field_validator("user_id")
    @classmethod
    def _user_id(cls, v: str | None) -> str | None:
        if v is not None and not v.isdigit():
            raise ValueError("user_id is the account's numeric id")
        return v


def id_time(post_id: str) -> datetime:
    """When an X id was made (ids are snowflakes: milliseconds since X's epoch in the bits above the 22nd)."""
    return datetime.fromtimestamp(((int(post_id) >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pct(value: str) -> str:
    return quote(value, safe="")


def oauth1_header(
    method: str,
    url: str,
    params: dict[str, str],
    *,
    consumer_key: str,
    consumer_secret: str,
    token: str,
    token_secret: str,
    nonce: str | None = None,
    timestamp: int | None = None,
) -> str:
    """An OAuth 1.0a (HMAC-SHA1) Authorization header; `params` are the query (and form) parameters; a JSON body
    is not signed (https://docs.x.com/resources/fundamentals/authentication/oauth-1-0a/creating-a-signature)."""
    oauth = {
        "oauth_consumer_key": consumer_key,
        "oauth_nonce": nonce or random_source.token_hex(16),
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "oauth_token": token,
        "oauth_version": "1.0",
    }
    pairs = sorted((_pct(k), _pct(v)) for k, v in {**params, **oauth}.items())
    base = "&".join([method.upper(), _pct(url.split("?", 1)[0]), _pct("&".join(f"{k}={v}" for k, v in pairs))])
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}"
    oauth["oauth_signature"] = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()
    return "OAuth " + ", ".join(f'{_pct(k)}="{_pct(v)}"' for k, v in sorted(oauth.items()))


def build_queries(terms: list[str], *, lang: str | None, max_chars: int) -> list[str]:
    """`("a" OR "b c") -is:retweet [lang:xx]`, split into several queries when one would pass the plan's limit."""
    suffix = " -is:retweet" + (f" lang:{lang}" if lang else "")
    quoted = [f'"{t.replace(chr(34), " ").strip()}"' for t in dict.fromkeys(terms) if t.replace('"', " ").strip()]
    queries: list[str] = []
    group: list[str] = []

    def render(items: list[str]) -> str:
        inner = " OR ".join(items)
        return f"({inner}){suffix}" if len(items) > 1 else f"{inner}{suffix}"

    for term in quoted:
        if len(render([term])) > max_chars:
            raise ConnectorError(f"a search term is longer than the query limit ({max_chars})")
        if group and len(render([*group, term])) > max_chars:
            queries.append(render(group))
            group = []
        group.append(term)
    if group:
        queries.append(render(group))
    return queries


class XConnector(Connector):
    kind = "x"
    Options = XOptions
    capabilities = Capabilities(fetch=True, reply=True, like=True, dm=False)
    length_rule = LengthRule(limit=280, counting="x_weighted")
    rate_limit = RateLimit(requests=450, per_s=900, note="recent search, app auth (per 15 minutes)")
    prices = Prices(read_usd=0.005, write_usd=0.015, write_with_link_usd=0.20)
    default_base_url = "https://api.x.com"
    secret_names = ("token",)

    options: XOptions

    @classmethod
    def prices_for(cls, config: ConnectorConfig) -> Prices:
        """The prices of one configured connector: X's published ones unless its options say otherwise."""
        opts = XOptions.model_validate(config.options)
        return Prices(
            read_usd=cls.prices.read_usd if opts.read_usd is None else opts.read_usd,
            write_usd=cls.prices.write_usd if opts.write_usd is None else opts.write_usd,
            write_with_link_usd=(
                cls.prices.write_with_link_usd if opts.write_with_link_usd is None else opts.write_with_link_usd
            ),
        )

    # -- auth -------------------------------------------------------------------------------------------------
    def _read_headers(self) -> dict[str, str]:
        token = self.secrets.get("token") or self.secrets.get("user_token")
        if token is None or not token.get_secret_value():
            self.secret("token")  # raises NotAllowed naming the variable
        assert token is not None
        return {"authorization": f"Bearer {token.get_secret_value()}", "accept": "application/json"}

    def _write_headers(self, method: str, url: str, params: dict[str, str] | None = None) -> dict[str, str]:
        """User-context auth for writes: OAuth 2.0 user token if set, else OAuth 1.0a; `NotAllowed` when neither."""
        user = self.secrets.get("user_token")
        if user is not None and user.get_secret_value():
            return {"authorization": f"Bearer {user.get_secret_value()}"}
        names = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
        if not all(self.secrets.get(n) is not None and self.secrets[n].get_secret_value() for n in names):
            raise NotAllowed(
                f"connector {self.name}: writing needs user-context credentials (secret user_token, or consumer_key, "
                "consumer_secret, access_token and access_token_secret)"
            )
        header = oauth1_header(
            method,
            url,
            params or {},
            consumer_key=self.secret("consumer_key"),
            consumer_secret=self.secret("consumer_secret"),
            token=self.secret("access_token"),
            token_secret=self.secret("access_token_secret"),
        )
        return {"authorization": header}

    # -- fetch ------------------------------------------------------------------------------------------------
    async def fetch(self, cursor: Cursor, *, terms: list[str], limit: int) -> FetchResult:
        if self.options.query:
            queries = [self.options.query]
        else:
            queries = build_queries(terms, lang=self.options.lang, max_chars=self.options.max_query_chars)
        result = FetchResult(posts=[], cursor={})
        seen: dict[str, PostIn] = {}
        for query in queries:
            key = f"q:{query}"
            state = cursor.get(key) if isinstance(cursor.get(key), dict) else {}
            if limit - result.reads < PAGE_MIN:
                if state:
                    result.cursor[key] = state  # budget spent: this query keeps its place
                continue
            result.cursor[key] = await self._query(query, dict(state or {}), limit, seen, result)
        result.posts = sorted(seen.values(), key=lambda p: int(p.external_id))
        return result

    async def _query(
        self, query: str, state: dict[str, Any], limit: int, seen: dict[str, PostIn], out: FetchResult
    ) -> dict[str, Any]:
        """One query newer than `since_id`, newest first; a run cut short keeps a gap (`until_id`) to finish first."""
        since = state.get("since_id")
        gap = state.get("gap") if isinstance(state.get("gap"), dict) else None
        oldest = datetime.now(UTC) - SEARCH_WINDOW + timedelta(minutes=5)
        if gap and id_time(str(gap["until_id"])) < oldest:
            since, gap = str(gap["top"]), None  # the rest of the gap left the search window: it cannot be read
        start_time: str | None = None
        if since and id_time(str(since)) < oldest:
            # idle for longer than the window (paused, or the budget ran out): read all the window still holds
            start_time = oldest.strftime("%Y-%m-%dT%H:%M:%SZ")
        params: dict[str, Any] = {
            "query": query,
            "expansions": EXPANSIONS,
            "tweet.fields": TWEET_FIELDS,
            "user.fields": USER_FIELDS,
        }
        if start_time:
            params["start_time"] = start_time
        elif since:
            params["since_id"] = since
        if gap:
            params["until_id"] = gap["until_id"]
        top: int | None = int(gap["top"]) if gap else None
        low: int | None = None
        next_token: str | None = None
        finished = False
        url = f"{self.base_url}/2/tweets/search/recent"
        for _ in range(MAX_PAGES):
            room = limit - out.reads
            if room < PAGE_MIN:
                break  # a page is at least 10 posts: never read what the budget cannot pay for
            page = {**params, "max_results": min(PAGE_MAX, room)}
            if next_token:
                page["pagination_token"] = next_token
            res = await self.request("GET", url, params=page, headers=self._read_headers())
            try:
                body = res.json()
            except ValueError as exc:
                raise ConnectorError(f"{self.name}: recent search answered with something that is not JSON") from exc
            if not isinstance(body, dict):
                raise ConnectorError(f"{self.name}: recent search answered with an unexpected shape")
            items = body.get("data") or []
            includes = _obj(body.get("includes"))
            users = {str(u.get("id")): u for u in includes.get("users") or [] if isinstance(u, dict)}
            tweets = {str(t.get("id")): t for t in includes.get("tweets") or [] if isinstance(t, dict)}
            if not isinstance(items, list):
                raise ConnectorError(f"{self.name}: recent search answered with an unexpected shape")
            out.reads += len(items)  # billed, whatever they hold
            for item in items:
                tid = item.get("id") if isinstance(item, dict) else None
                if isinstance(tid, str) and tid.isdigit():
                    top = max(top or 0, int(tid))
                    low = int(tid) if low is None else min(low, int(tid))
                post = self._post(item, users, tweets, out.skipped)
                if post is not None:
                    seen.setdefault(post.external_id, post)
            meta = _obj(body.get("meta"))
            next_token = meta.get("next_token") if isinstance(meta.get("next_token"), str) else None
            if not items or not next_token or not since:
                finished = True  # down to the last run's newest (or the first run's one page)
                break
        if not finished and low is None:
            return state
        if finished or low is None:
            return {"since_id": str(top)} if top is not None else ({"since_id": since} if since else {})
        return {"since_id": since, "gap": {"until_id": str(low), "top": str(top)}}

    def _post(self, item: Any, users: dict[str, Any], tweets: dict[str, Any], skipped: list[str]) -> PostIn | None:
        try:
            if not isinstance(item, dict):
                raise TypeError("not an object")
            tweet_id = str(item["id"])
            if not tweet_id.isdigit():
                raise ValueError("id")
            author = users[str(item["author_id"])]
            username = str(author["username"])
            ours = self.options.account
            if ours and username.lower() == ours.lower():
                skipped.append("our own post")
                return None
            summoned = self._summoned_by(item, users, tweets)
            note = _obj(item.get("note_tweet")).get("text")  # a long post's whole text (`text` is cut at 280)
            text = html.unescape(str(note if isinstance(note, str) and note else item.get("text") or ""))
            if not text.strip():
                skipped.append("no text")
                return None
            metrics = item.get("public_metrics") or {}
            followers = (author.get("public_metrics") or {}).get("followers_count") or 0
            return connector_post(
                self,
                external_id=tweet_id,
                author={
                    "handle": username,
                    "name": author.get("name") or None,
                    "followers": max(0, int(followers)),
                    "url": f"{WEB}/{username}",
                },
                text=text,
                url=f"{WEB}/{username}/status/{tweet_id}",
                created_at=item.get("created_at"),
                lang=item.get("lang") if item.get("lang") not in (None, "und", "zxx") else None,
                metrics={
                    "likes": max(0, int(metrics.get("like_count") or 0)),
                    "reposts": max(0, int(metrics.get("retweet_count") or 0) + int(metrics.get("quote_count") or 0)),
                    "replies": max(0, int(metrics.get("reply_count") or 0)),
                },
                ref={
                    "id": tweet_id,
                    "conversation_id": str(item.get("conversation_id") or tweet_id),
                    "summoned": summoned is not None,
                    "summoned_by": summoned,
                },
                channel="x",
            )
        except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
            skipped.append(f"malformed post ({type(exc).__name__})")
            return None

    def _summoned_by(self, item: dict[str, Any], users: dict[str, Any], tweets: dict[str, Any]) -> str | None:
        """How the author summoned our account (`mention` or `quote`), or None: then no automated reply."""
        ours = (self.options.account or "").lower()
        if not ours:
            return None
        mentions = ((item.get("entities") or {}).get("mentions")) or []
        if any(isinstance(m, dict) and str(m.get("username", "")).lower() == ours for m in mentions):
            return "mention"
        if re.search(rf"(?<![A-Za-z0-9_])@{re.escape(ours)}(?![A-Za-z0-9_])", str(item.get("text") or ""), re.I):
            return "mention"
        for ref in item.get("referenced_tweets") or []:
            if not isinstance(ref, dict) or ref.get("type") != "quoted":
                continue
            target = tweets.get(str(ref.get("id"))) or {}
            author = users.get(str(target.get("author_id"))) or {}
            if str(author.get("username", "")).lower() == ours:
                return "quote"
        return None

    def summoned(self, post: PostIn) -> bool:
        meta = (post.model_extra or {}).get("connector") or {}
        ref = meta.get("ref") if isinstance(meta, dict) else None
        return isinstance(ref, dict) and ref.get("summoned") is True

    # -- out --------------------------------------------------------------------------------------------------
    async def _write(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            res = await self.request("POST", url, json=body, headers=self._write_headers("POST", url))
        except ConnectorError as exc:
            if isinstance(exc, PostGone) or exc.retryable:
                raise
            if _GONE.search(str(exc)):
                raise PostGone(f"{self.name}: the post is deleted or not visible") from None
            if _NOT_SUMMONED.search(str(exc)):
                raise NotAllowed(f"{self.name}: X allows no automated reply here ({exc})") from None
            raise
        data = res.json().get("data")
        if not isinstance(data, dict):
            raise ConnectorError(f"{self.name}: {url.rsplit('/', 1)[-1]} answered without data")
        return data

    async def reply(self, post: PostRef, text: str, *, idempotency_key: str) -> SentRef:
        if post.ref.get("summoned") is not True:
            raise NotAllowed(
                f"{self.name}: the author did not mention or quote our account; X allows no automated reply "
                "(post it by hand, then mark it sent)"
            )
        if not self.length_rule.fits(text):
            raise NotAllowed(
                f"{self.name}: the reply weighs {self.length_rule.length(text)}; X allows {self.length_rule.limit}"
            )
        tweet_id = str(post.ref.get("id") or post.external_id)
        # X refuses a duplicate text, so a retry after a lost answer cannot post twice
        data = await self._write(
            f"{self.base_url}/2/tweets", {"text": text, "reply": {"in_reply_to_tweet_id": tweet_id}}
        )
        new_id = str(data["id"])
        who = self.options.account or "i/web"
        return SentRef(action="reply", id=new_id, url=f"{WEB}/{who}/status/{new_id}")

    async def like(self, post: PostRef, *, idempotency_key: str) -> SentRef:
        tweet_id = str(post.ref.get("id") or post.external_id)
        user_id = await self._user_id()
        data = await self._write(f"{self.base_url}/2/users/{user_id}/likes", {"tweet_id": tweet_id})
        if data.get("liked") is not True:
            raise ConnectorError(f"{self.name}: the like was not recorded")
        return SentRef(action="like", id=tweet_id, url=post.url)

    async def _user_id(self) -> str:
        if self.options.user_id:
            return self.options.user_id
        url = f"{self.base_url}/2/users/me"
        res = await self.request("GET", url, headers=self._write_headers("GET", url))
        data = res.json().get("data") or {}
        if not str(data.get("id", "")).isdigit():
            raise ConnectorError(f"{self.name}: /2/users/me answered without an id")
        return str(data["id"])
