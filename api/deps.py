"""Request dependencies: the runtime, and who is acting in which role (the auth seam)."""

from __future__ import annotations

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


# Declares the scheme in OpenAPI (the Authorize button in /docs); the header is checked in `requires`.
_bearer = HTTPBearer(auto_error=False, description="A token from `kizuki token create` or POST /v1/tokens")


def requires(*roles: str) -> object:
    """Declare the roles an endpoint accepts (admin always may); resolves to the acting `Actor`.

    The declared roles are kept on the dependency (`.roles`) so a test can walk the whole matrix.
    """
    from api.auth import authenticate, authorise

    def _actor(request: Request, _scheme: Annotated[object, Depends(_bearer)]) -> Actor:
        rt: Runtime = request.app.state.runtime
        with rt.db.session() as s:
            token = authenticate(s, request.headers.get("authorization"))
            authorise(token.role, roles)
            actor = Actor(name=token.name, role=token.role)
        request.state.actor = actor
        return actor

    _actor.roles = roles  # type: ignore[attr-defined]
    _actor.__name__ = f"requires_{'_'.join(roles)}"
    return Depends(_actor)
