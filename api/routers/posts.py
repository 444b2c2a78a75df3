"""Posts in: one or a list, stored and triaged at once, drafted by the worker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, Field

from agent.pipeline import IngestOutcome
from agent.posts.repository import get_post
from agent.posts.schemas import PostPublic, post_public
from agent.schemas import PostIn
from api.deps import Actor, IdPath, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from kizuki.core.errors import NotFound

router = APIRouter(prefix="/v1/posts", tags=["posts"], responses=ERROR_RESPONSES)
MAX_BATCH = 500


class PostNotFound(NotFound):
    pass


class IngestResponse(BaseModel):
    items: list[IngestOutcome] = Field(description="One per post, in order")


@router.post(
    "",
    response_model=IngestResponse,
    status_code=status.HTTP_202_ACCEPTED,
    summary=f"Receive one post or a list (at most {MAX_BATCH}); idempotent on (source, external_id)",
)
def receive(
    rt: RuntimeDep,
    actor: Annotated[Actor, requires("agent")],
    body: Annotated[PostIn | Annotated[list[PostIn], Field(min_length=1, max_length=MAX_BATCH)], Body()],
) -> IngestResponse:
    posts = body if isinstance(body, list) else [body]
    return IngestResponse(items=[rt.pipeline.intake(p, actor=actor.name) for p in posts])


@router.get("/{post_id}", response_model=PostPublic, summary="A post with its watch decision and triage")
def get(rt: RuntimeDep, actor: Annotated[Actor, requires("agent")], post_id: IdPath) -> PostPublic:
    with rt.db.reading() as s:
        post = get_post(s, post_id)
        if post is None:
            raise PostNotFound(f"no post with id {post_id}")
        return post_public(post)
