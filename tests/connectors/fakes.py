"""Small fake servers on 127.0.0.1 for the connector integration tests: a Mastodon-compatible API and a feed."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Posted:
    path: str
    body: dict[str, Any]
    idempotency_key: str | None


@dataclass
class FakeMastodon:
    """Hashtag timelines (min_id paging, newest first, Link rel="prev"), v2 search, statuses and favourites.
    Honours Idempotency-Key on POST /api/v1/statuses the way Mastodon does (the same key: the same status)."""

    token: str
    statuses: list[dict[str, Any]] = field(default_factory=list)
    posted: list[Posted] = field(default_factory=list)
    favourited: list[str] = field(default_factory=list)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> FakeMastodon:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _send(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("authorization") != f"Bearer {fake.token}":
                    self._send(401, {"error": "The access token is invalid"})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                limit = int(query.get("limit", "20"))
                since = int(query["min_id"]) if "min_id" in query else None
                if parts.path.startswith("/api/v1/timelines/tag/"):
                    tag = parts.path.rsplit("/", 1)[1].lower()
                    with fake.lock:
                        found = [s for s in fake.statuses if tag in s["tags"]]
                    found.sort(key=lambda s: int(s["id"]))
                    # with min_id: the page right after it; without: the newest page
                    found = [s for s in found if int(s["id"]) > since][:limit] if since is not None else found[-limit:]
                    page = sorted(found, key=lambda s: int(s["id"]), reverse=True)
                    headers = {}
                    if page:
                        prev = f"{fake.url}{parts.path}?min_id={page[0]['id']}"
                        headers["link"] = f'<{prev}>; rel="prev"'
                    self._send(200, [{k: v for k, v in s.items() if k != "tags"} for s in page], headers)
                elif parts.path == "/api/v2/search":
                    self._send(200, {"accounts": [], "hashtags": [], "statuses": []})
                else:
                    self._send(404, {"error": "Record not found"})

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                body = json.loads(raw or b"{}")
                key = self.headers.get("idempotency-key")
                parts = urlsplit(self.path)
                with fake.lock:
                    if parts.path == "/api/v1/statuses":
                        fake.posted.append(Posted(parts.path, body, key))
                        target = body.get("in_reply_to_id")
                        if target is not None and not any(s["id"] == target for s in fake.statuses):
                            self._send(404, {"error": "Record not found"})
                            return
                        if key and key in fake.by_key:
                            self._send(200, fake.by_key[key])
                            return
                        new_id = str(9000 + len(fake.by_key))
                        status = {"id": new_id, "url": f"{fake.url}/@support/{new_id}", "uri": f"{fake.url}/s/{new_id}"}
                        if key:
                            fake.by_key[key] = status
                        self._send(200, status)
                    elif parts.path.endswith("/favourite"):
                        status_id = parts.path.split("/")[-2]
                        fake.favourited.append(status_id)
                        self._send(200, {"id": status_id, "favourited": True})
                    else:
                        self._send(404, {"error": "Record not found"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def add(self, status_id: int, text: str, acct: str, tags: list[str]) -> None:
        with self.lock:
            self.statuses.append(
                {
                    "id": str(status_id),
                    "uri": f"{self.url}/users/{acct}/statuses/{status_id}",
                    "url": f"{self.url}/@{acct}/{status_id}",
                    "created_at": "2026-11-20T01:00:00.000Z",
                    "content": f"<p>{text}</p>",
                    "language": None,
                    "visibility": "public",
                    "spoiler_text": "",
                    "reblog": None,
                    "favourites_count": 0,
                    "reblogs_count": 0,
                    "replies_count": 0,
                    "account": {
                        "id": "1",
                        "acct": acct,
                        "username": acct,
                        "display_name": acct,
                        "url": f"{self.url}/@{acct}",
                        "followers_count": 10,
                    },
                    "tags": tags,
                }
            )


class FeedServer:
    """Serves one RSS document at /feed.xml (with an ETag), counting the requests."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.requests = 0
        self.url = ""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FeedServer:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                feed.requests += 1
                etag = f'"{abs(hash(feed.body))}"'
                if self.headers.get("if-none-match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                data = feed.body.encode()
                self.send_response(200)
                self.send_header("content-type", "application/rss+xml; charset=utf-8")
                self.send_header("etag", etag)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/feed.xml"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
