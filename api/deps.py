"""Request dependencies: the runtime, and who is acting in which role (the auth seam)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from kizuki.runtime import Runtime


@dataclass(frozen=True)
class Actor:
    name: str
    role: str


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def requires(role: str) -> object:
    """Declare the role an endpoint needs; resolves to the acting `Actor`.

    Tokens and roles arrive with the review-queue issue; until then every caller acts as the local
    operator. Endpoints already declare their role, so turning authentication on changes this
    function only.
    """

    def _actor(request: Request) -> Actor:
        actor = Actor(name="local", role="admin")
        request.state.actor = actor
        return actor

    _actor.__name__ = f"requires_{role}"
    return Depends(_actor)
