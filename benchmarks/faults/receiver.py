"""A fake webhook receiver on localhost that records every request it gets.

For each request it records the idempotency key, the draft, when the request arrived and when it ended:
when the answer was written, or when the sender closed the connection first (it timed out, or its process
died or was stopped). Two requests with one key whose [arrived, ended] overlap were in flight at once.
It can be told to answer some requests slowly (longer than the sender's timeout) and others after a short
random delay, so that a worker is often in the middle of a send when it is killed.
"""

from __future__ import annotations

import json
import random
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SlowRule = Callable[[str, int], bool]
"""(idempotency key, how many requests with that key came before) -> answer this one slowly?"""


@dataclass
class Request:
    key: str
    draft_id: int | None
    arrived: float  # time.monotonic()
    slow: bool
    ended: float | None = None
    outcome: str = "open"  # "answered" | "gone" (the sender closed the connection before the answer)

    def overlaps(self, other: Request) -> bool:
        end_a = self.ended if self.ended is not None else float("inf")
        end_b = other.ended if other.ended is not None else float("inf")
        return self.arrived < end_b and other.arrived < end_a


class Receiver:
    """`with Receiver(...) as r:` serves on `r.url` until the block ends; `r.requests` lists what came in."""

    def __init__(
        self,
        *,
        slow: SlowRule | None = None,
        slow_s: float = 5.0,
        delay_s: tuple[float, float] = (0.0, 0.0),
        seed: int = 7,
    ) -> None:
        self.slow = slow or (lambda key, nth: False)
        self.slow_s = slow_s
        self.delay_s = delay_s
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/reply"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def snapshot(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def in_flight(self) -> int:
        with self._lock:
            return sum(r.ended is None for r in self.requests)

    def concurrent_pairs(self) -> list[tuple[Request, Request]]:
        """Pairs of requests with one key that were in flight at the same time (must be none)."""
        by_key: dict[str, list[Request]] = {}
        for r in self.snapshot():
            by_key.setdefault(r.key, []).append(r)
        pairs: list[tuple[Request, Request]] = []
        for reqs in by_key.values():
            for i, a in enumerate(reqs):
                pairs.extend((a, b) for b in reqs[i + 1 :] if a.overlaps(b))
        return pairs

    def _begin(self, key: str, draft_id: int | None) -> tuple[Request, float]:
        with self._lock:
            nth = sum(r.key == key for r in self.requests)
            slow = self.slow(key, nth)
            req = Request(key=key, draft_id=draft_id, arrived=time.monotonic(), slow=slow)
            self.requests.append(req)
            wait = self.slow_s if slow else self._rng.uniform(*self.delay_s)
        return req, wait

    def _end(self, req: Request, outcome: str) -> None:
        with self._lock:
            req.ended = time.monotonic()
            req.outcome = outcome

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                key = self.headers.get("idempotency-key") or ""
                try:
                    draft_id = int(json.loads(body).get("draft_id"))
                except (ValueError, TypeError, AttributeError):
                    draft_id = None
                req, wait = receiver._begin(key, draft_id)
                if self._sender_left_within(wait):
                    receiver._end(req, "gone")
                    self.close_connection = True
                    return
                payload = json.dumps({"id": f"posted-{key}"}).encode()
                try:
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                except OSError:
                    receiver._end(req, "gone")
                    return
                receiver._end(req, "answered")

            def _sender_left_within(self, seconds: float) -> bool:
                """Wait, watching the connection: True as soon as the sender closes it."""
                conn: socket.socket = self.connection
                deadline = time.monotonic() + seconds
                # poll, not select: in a long test session descriptors pass select()'s limit of 1024
                poller = select.poll()
                poller.register(conn, select.POLLIN | select.POLLHUP | select.POLLERR)
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    if poller.poll(max(1, int(min(0.005, left) * 1000))):
                        try:
                            if conn.recv(1, socket.MSG_PEEK) == b"":
                                return True
                        except OSError:
                            return True
                        time.sleep(0.005)  # bytes we do not expect: keep waiting, without spinning

        return Handler
