"""Protections on every response: security headers, and a limit on failed authentications per address.

Failed authentications are counted per client address, in the process that saw them: behind a load
balancer, or with several `uvicorn --workers`, each process counts on its own (an address gets up to
limit × processes tries a minute). The client address is the one the ASGI server reports; uvicorn takes it
from X-Forwarded-For only when the proxy's address is in its `--forwarded-allow-ips` (`FORWARDED_ALLOW_IPS`,
127.0.0.1 by default), so a proxy elsewhere must be named there, or every client counts as the proxy.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kizuki.core.errors import KizukiError


class TooManyRequests(KizukiError):
    status_code = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AuthFailureLimiter:
    """At most `limit` failed authentications per address in any `window` seconds; then 429 until the
    oldest failure leaves the window. Successful requests are neither counted nor limited, but while an
    address is over its budget every request presenting a token from it is refused before the token is
    looked at: otherwise a guesser would still learn which guess is right."""

    def __init__(
        self, limit: int, window: float = 60.0, max_addresses: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.window = window
        self.max_addresses = max_addresses
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def check(self, address: str) -> None:
        if self.limit <= 0:
            return
        now = self.clock()
        with self._lock:
            times = self._recent(address, now)
            if times is None or len(times) < self.limit:
                return
            retry_after = max(1, math.ceil(times[0] + self.window - now))
        raise TooManyRequests(
            f"too many failed authentications from this address ({self.limit} a minute); try again in {retry_after} s",
            retry_after=retry_after,
        )

    def failed(self, address: str) -> None:
        if self.limit <= 0:
            return
        now = self.clock()
        with self._lock:
            times = self._recent(address, now)
            if times is None:
                if len(self._failures) >= self.max_addresses:
                    self._prune(now)
                times = self._failures.setdefault(address, deque(maxlen=self.limit))
            times.append(now)

    def _prune(self, now: float) -> None:
        for address in list(self._failures):
            self._recent(address, now)
        if len(self._failures) >= self.max_addresses:  # a flood of addresses: forget the oldest half
            by_age = sorted(self._failures, key=lambda a: self._failures[a][-1])
            for address in by_age[: len(by_age) // 2]:
                del self._failures[address]


# The JSON API loads nothing and is framed by nobody.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The offline docs pages: their scripts, styles and fonts come from this server (fastapi_offline), the
# page's own inline script is allowed by its hash, and they fetch /openapi.json. Styles are inline
# (Swagger UI, ReDoc's styled-components); ReDoc runs its search in a blob: worker and compiles schemas
# with `new Function`, so its page (only) allows 'unsafe-eval'.
_HTML_CSP = (
    "default-src 'none'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
_EVAL_PAGES = ("/redoc",)
_BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = b"max-age=31536000"


def html_csp(body: bytes, *, allow_eval: bool = False) -> str:
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.finditer(body)
    ]
    scripts = "".join(" " + h for h in hashes) + (" 'unsafe-eval'" if allow_eval else "")
    return _HTML_CSP.format(scripts=scripts)


class SecurityHeaders:
    """Pure ASGI middleware: the headers above on every response, `Cache-Control: no-store` on every
    response to a request that carries credentials or asks the API, and HSTS when the request came
    over https."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        request_headers = dict(scope.get("headers") or [])
        private = b"authorization" in request_headers or path.startswith("/v1/")
        https = scope.get("scheme") == "https"
        held: dict[str, Any] = {}

        def finish_headers(message: Message, csp: str) -> Message:
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            extra = [h for h in _BASE_HEADERS if h[0] not in names]
            if b"content-security-policy" not in names:
                extra.append((b"content-security-policy", csp.encode()))
            if private and b"cache-control" not in names:
                extra.append((b"cache-control", b"no-store"))
            if https:
                extra.append((b"strict-transport-security", HSTS))
            return {**message, "headers": headers + extra}

        async def wrapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    held["start"], held["body"] = message, b""  # the CSP needs the page's inline scripts
                    return
                await send(finish_headers(message, API_CSP))
                return
            if message["type"] == "http.response.body" and "start" in held:
                held["body"] += message.get("body", b"")
                if message.get("more_body", False):
                    return
                body: bytes = held.pop("body")
                start = finish_headers(held.pop("start"), html_csp(body, allow_eval=path in _EVAL_PAGES))
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, wrapped_send)
