"""Request dependencies: the runtime, and who is acting in which role (the auth seam)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPBearer

from kizuki.runtime import Runtime


@dataclass(frozen=True)
class Actor:
    name: str
    role: str


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

# Identifiers and offsets fit a 32-bit integer column on every database; larger is a 422, not a crash.
MAX_ID = 2_147_483_647
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


class _RecentTokens:
    """Tokens seen in the last few seconds, so a reviewer's burst of requests costs one lookup.

    Tokens cannot be changed, only created; a revoked one would stay usable for at most `ttl` seconds.
    """

    def __init__(self, ttl: float = 10.0, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._items: dict[tuple[str, str], tuple[float, Actor]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Actor | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] < time.monotonic():
                return None
            return hit[1]

    def put(self, key: tuple[str, str], actor: Actor) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.ttl, actor)


_recent = _RecentTokens()

# Declares the scheme in OpenAPI (the Authorize button in /docs); the header is checked in `requires`.
_bearer = HTTPBearer(auto_error=False, description="A token from `kizuki token create` or POST /v1/tokens")


def requires(*roles: str) -> object:
    """Declare the roles an endpoint accepts (admin always may); resolves to the acting `Actor`.

    The declared roles are kept on the dependency (`.roles`) so a test can walk the whole matrix.
    """
    from api.auth import authenticate, authorise

    def _actor(request: Request, _scheme: Annotated[object, Depends(_bearer)]) -> Actor:
        rt: Runtime = request.app.state.runtime
        header = request.headers.get("authorization")
        actor = _recent.get((rt.db.url, header or ""))
        if actor is None:
            with rt.db.reading() as s:
                token = authenticate(s, header)
                actor = Actor(name=token.name, role=token.role)
            _recent.put((rt.db.url, header or ""), actor)
        authorise(actor.role, roles)
        request.state.actor = actor
        return actor

    _actor.roles = roles  # type: ignore[attr-defined]
    _actor.__name__ = f"requires_{'_'.join(roles)}"
    return Depends(_actor)
