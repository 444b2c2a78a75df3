"""The interface every network connector implements: fetch posts by the watch rules' terms, reply, like, DM.

A connector is built for one configured account or instance (`ConnectorConfig`) with its secrets (from settings,
never from the database) and an httpx client. It declares what the network allows (`Capabilities`), how it counts
a reply's length (`LengthRule`), its documented rate limit (`RateLimit`), what reads and writes cost (`Prices`),
and, per post, whether an automated public reply is allowed (`summoned`). The listen service stores the cursor a
`fetch` returns only after every post of the batch is stored, so nothing is read twice or skipped.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from agent.schemas import PostIn

Kind = Literal["mastodon", "bluesky", "rss", "x"]
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,31}$")
Cursor = dict[str, Any]
"""A connector's own position (JSON-serialisable; opaque to the service). `{}` on the first run."""


class ConnectorError(Exception):
    """The network refused or failed a request; `retryable` says whether trying again later may help."""

    retryable: bool = True


class RateLimited(ConnectorError):
    """429 or 5xx after the retries, or a wait longer than the connector may sleep: try after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PostGone(ConnectorError):
    """The post to reply to or like no longer exists (deleted, or 404/410): never worth retrying."""

    retryable = False


class NotAllowed(ConnectorError):
    """The network (or its automation rules) does not allow this action for this post."""

    retryable = False


class Budget(BaseModel):
    """A monthly cap on pay-per-use networks: dollars, reads (posts read), or both (whichever runs out first)."""

    model_config = ConfigDict(extra="forbid")

    monthly_usd: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)
    monthly_reads: int | None = Field(default=None, ge=0, le=1_000_000_000)


class ConnectorConfig(BaseModel):
    """One entry of the connectors YAML (`kizuki connectors set FILE`, PUT /v1/connectors). No secrets here."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique; also the posts' `source` (a-z 0-9 _ . -, up to 32)")
    kind: Kind
    base_url: str | None = Field(default=None, max_length=500, description="Default: the network's public API")
    enabled: bool = True
    interval_s: int = Field(default=300, ge=10, le=86_400, description="Seconds between polls")
    budget: Budget | None = None
    options: dict[str, Any] = Field(default_factory=dict, description="Kind-specific; checked by the connector")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_PATTERN.match(v):
            raise ValueError("name must be 1-32 characters of a-z 0-9 _ . - (it becomes the posts' source)")
        return v

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            url = httpx.URL(v)
        except httpx.InvalidURL as exc:  # not a ValueError: without this a bad URL was a 500
            raise ValueError(f"base_url is not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("base_url must be an http(s) URL")
        if url.userinfo:
            raise ValueError("base_url must not carry credentials: put them in the connector secrets")
        return v.rstrip("/")


@dataclass(frozen=True)
class Capabilities:
    """What the connector can do on its network."""

    fetch: bool = True
    reply: bool = False
    like: bool = False
    dm: bool = False


@dataclass(frozen=True)
class LengthRule:
    """How the network counts a post's length: `chars` (code points), `x_weighted` (twitter-text: CJK counts 2,
    a URL 23) or `graphemes` (Bluesky: 300 grapheme clusters). None: no public reply, no limit."""

    limit: int | None
    counting: Literal["chars", "x_weighted", "graphemes"] = "chars"
    url_weight: int | None = None

    def length(self, text: str) -> int:
        # the checks' own counting, so a reply they passed is never refused here for its length
        from agent.checks.length import text_length

        return text_length(text, self.counting, url_weight=self.url_weight)

    def fits(self, text: str) -> bool:
        return self.limit is None or self.length(text) <= self.limit


@dataclass(frozen=True)
class RateLimit:
    """The network's documented limit for the calls this connector makes (for people and docs; the connector
    honours the live headers: Retry-After, X-RateLimit-Reset, x-rate-limit-reset, ratelimit-reset)."""

    requests: int
    per_s: int
    note: str = ""


@dataclass(frozen=True)
class Prices:
    """Pay-per-use prices in USD (0 for free networks): a post read, a post written, one written with a link."""

    read_usd: float = 0.0
    write_usd: float = 0.0
    write_with_link_usd: float = 0.0

    def write_cost(self, text: str) -> float:
        return self.write_with_link_usd if re.search(r"https?://", text) else self.write_usd


@dataclass
class FetchResult:
    """One `fetch`: the posts (oldest first), the cursor to store once they are stored, and what was read."""

    posts: list[PostIn]
    cursor: Cursor
    reads: int = 0
    """Items read from the network (billed on pay-per-use networks), including ones that were skipped."""
    skipped: list[str] = field(default_factory=list)
    """Why items were not turned into posts (malformed, deleted, empty): short reasons, no personal data."""


class PostRef(BaseModel):
    """The original post as delivery knows it: the stored post's source, id, link, author and `connector` extra."""

    model_config = ConfigDict(extra="allow")

    external_id: str
    url: str | None = None
    author: str
    ref: dict[str, Any] = Field(default_factory=dict, description="What the connector stored to reply later")


class SentRef(BaseModel):
    """What the network gave back for a reply, like or DM."""

    action: Literal["reply", "like", "dm"]
    id: str
    url: str | None = None


Sleep = Callable[[float], Awaitable[None]]


class Connector(ABC):
    """One configured account on one network. Subclasses set the class attributes and implement `fetch`."""

    kind: ClassVar[str]
    Options: ClassVar[type[BaseModel]]
    """The kind's `options:` (extra="forbid"); validated when the YAML is set."""
    capabilities: ClassVar[Capabilities]
    length_rule: LengthRule
    """Class default; an instance may set its own (a Mastodon instance's configured limit)."""
    rate_limit: ClassVar[RateLimit]
    prices: ClassVar[Prices] = Prices()
    default_base_url: ClassVar[str | None] = None
    needs_base_url: ClassVar[bool] = False
    """True where there is no default (each Mastodon instance is its own server): the YAML must give base_url."""
    secret_names: ClassVar[tuple[str, ...]] = ()
    """Secrets `fetch` needs (from KIZUKI_CONNECTOR_<NAME>_<SECRET> or the secrets file)."""
    max_wait_s: ClassVar[float] = 30.0
    """The longest the connector sleeps for a rate limit inside one run; longer: `RateLimited`, tried next run."""
    max_attempts: ClassVar[int] = 4

    @classmethod
    def prices_for(cls, config: ConnectorConfig) -> Prices:
        """The prices of one configured connector: the kind's, unless the kind lets its options override them."""
        return cls.prices

    def __init__(
        self,
        config: ConnectorConfig,
        secrets: Mapping[str, SecretStr],
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.config = config
        self.options: Any = self.Options.model_validate(config.options)
        self.secrets = dict(secrets)
        self.base_url = (config.base_url or self.default_base_url or "").rstrip("/")
        self._client = client
        self._own_client = client is None
        self._sleep: Sleep = sleep or asyncio.sleep

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(20.0), follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def secret(self, key: str) -> str:
        value = self.secrets.get(key)
        if value is None or not value.get_secret_value():
            env = f"KIZUKI_CONNECTOR_{env_name(self.name)}_{key.upper()}"
            raise NotAllowed(f"connector {self.name}: secret {key!r} is not set ({env} or the secrets file)")
        return value.get_secret_value()

    # -- what each network implements ----------------------------------------------------------
    @abstractmethod
    async def fetch(self, cursor: Cursor, *, terms: list[str], limit: int) -> FetchResult:
        """Posts newer than `cursor` matching `terms` (the watch rules' brand terms unless the options name their
        own), at most `limit` items read; the new cursor covers exactly what was returned or skipped."""

    def summoned(self, post: PostIn) -> bool:
        """Whether an automated public reply to this post is allowed (X: only when the author mentioned or quoted
        our account; RSS: never). Decided at intake and stored with the post."""
        return self.capabilities.reply

    async def reply(self, post: PostRef, text: str, *, idempotency_key: str) -> SentRef:
        raise NotAllowed(f"{self.kind} connectors cannot reply")

    async def like(self, post: PostRef, *, idempotency_key: str) -> SentRef:
        raise NotAllowed(f"{self.kind} connectors cannot like")

    async def dm(self, post: PostRef, text: str, *, idempotency_key: str) -> SentRef:
        raise NotAllowed(f"{self.kind} connectors cannot send direct messages")

    # -- HTTP with backoff ------------------------------------------------------------------------
    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """One HTTP call, retried on 429 and 5xx (and connection errors) after the wait the network asks for
        (Retry-After, or a rate-limit reset header), with exponential backoff otherwise; 404/410 → `PostGone`;
        other 4xx → `ConnectorError` (not retryable)."""
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        def wait(state: Any) -> float:
            exc = state.outcome.exception() if state.outcome else None
            asked = exc.retry_after_s if isinstance(exc, RateLimited) else None
            return float(asked) if asked is not None else min(8.0, 0.5 * 2 ** (state.attempt_number - 1))

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, RateLimited):
                return exc.retry_after_s is None or exc.retry_after_s <= self.max_wait_s
            return isinstance(exc, ConnectorError) and exc.retryable

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=retry_if_exception(retryable),
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(method, url, **kw)
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True always raises or returns

    async def _once(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            res = await self.client.request(method, url, **kw)
        except httpx.TimeoutException as exc:
            raise ConnectorError(f"{self.name}: no answer ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise ConnectorError(f"{self.name}: unreachable ({type(exc).__name__})") from exc
        if res.status_code == 429 or res.status_code >= 500:
            raise RateLimited(f"{self.name}: {method} {_path(url)} answered {res.status_code}", retry_after(res))
        if res.status_code in (404, 410):
            raise PostGone(f"{self.name}: {method} {_path(url)} answered {res.status_code}")
        if res.status_code >= 400:
            error = ConnectorError(f"{self.name}: {method} {_path(url)} answered {res.status_code}: {_reason(res)}")
            error.retryable = False
            raise error
        return res


def _path(url: str) -> str:
    """The URL's path only: queries can hold search terms, never worth logging."""
    return httpx.URL(url).path


def _reason(res: httpx.Response) -> str:
    try:
        body = res.json()
    except ValueError:
        return res.text[:200]
    if isinstance(body, dict):
        for key in ("error", "message", "detail", "title"):
            if isinstance(body.get(key), str):
                return str(body[key])[:200]
    return str(body)[:200]


def retry_after(res: httpx.Response, *, now: float | None = None) -> float | None:
    """Seconds to wait, from Retry-After (seconds or an HTTP date) or a rate-limit reset header (epoch seconds
    on X and Bluesky, an ISO 8601 time on Mastodon); None when the answer says nothing."""
    now = time.time() if now is None else now
    value = res.headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - now)
    for header in ("x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset"):
        value = res.headers.get(header)
        if not value:
            continue
        value = value.strip()
        try:
            number = float(value)
        except ValueError:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return max(0.0, moment.timestamp() - now)
        # epoch seconds (X, Bluesky); a small number is already "seconds from now"
        return max(0.0, number - now) if number > 1_000_000_000 else number
    return None


def env_name(name: str) -> str:
    """A connector name as it appears in environment variables: `acme-social` → `ACME_SOCIAL`."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def connector_post(
    connector: Connector,
    *,
    external_id: str,
    author: dict[str, Any],
    text: str,
    url: str | None,
    created_at: datetime | str | None,
    ref: dict[str, Any],
    lang: str | None = None,
    metrics: dict[str, int] | None = None,
    channel: str | None = None,
) -> PostIn:
    """A post as a connector hands it to intake: `source` is the connector's name (ingest is idempotent on it and
    `external_id`), `url` and `author.url` link back to the network, and the extra `connector` field keeps what
    delivery needs to answer in place (`ref`) and the author's page (`author_url`). Raises pydantic's
    ValidationError for an item that is not a post."""
    return PostIn.model_validate(
        {
            "source": connector.name,
            "external_id": external_id,
            "author": author,
            "text": text,
            "url": url,
            "created_at": created_at,
            "lang": lang,
            "metrics": metrics or {},
            "channel": channel,
            # kept with the post (its extras): the author's page too, since the post table keeps only the handle
            "connector": {"name": connector.name, "kind": connector.kind, "ref": ref, "author_url": author.get("url")},
        }
    )
