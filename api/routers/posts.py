"""Posts in: one or a list, stored and triaged at once, drafted by the worker; posts out: a filtered list, paged,
or exported as CSV or JSONL (streamed), with personal data redacted unless the caller is an admin."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from agent.pipeline import IngestOutcome
from agent.posts.repository import get_post
from agent.posts.schemas import PostPublic, post_public
from agent.schemas import PostIn
from api.deps import Actor, IdPath, Offset, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from api.routers.reports import Filter, checked, redactor_for
from kizuki.core.errors import NotFound
from kizuki.core.orm import utcnow
from reports.explore import MAX_PAGE, PostPage, RowContext, export_lines, iter_rows, page

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


_EXPORT_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


@router.get(
    "",
    response_model=PostPage,
    summary="Posts with filters, newest first, paged; `format=csv|jsonl` streams every match as a file",
    description="Filters: time window (`since`, `until`; at most 400 days, default the last 30), `source`, `lang`, "
    "`sentiment`, `intent`, `product`, `topic`, `competitor`, `department`, `kept`, `has_draft`, `draft_status`. "
    "Authors' handles, names, URLs and personal data in texts are redacted unless the caller is an admin.",
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def list_posts(
    rt: RuntimeDep,
    actor: Annotated[Actor, requires("agent")],
    flt: Filter,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Offset = 0,
    format_: Annotated[Literal["json", "csv", "jsonl"], Query(alias="format")] = "json",
) -> PostPage | StreamingResponse:
    profile, dialect = checked(rt, flt)  # a bad filter is a 422 before the first byte of an export
    ctx = RowContext(profile, redactor_for(rt, actor))
    now = utcnow()
    if format_ == "json":
        with rt.db.reading() as s:
            return page(s, flt, ctx, dialect=dialect, limit=limit, offset=offset, now=now)
    since, until = flt.window(now)
    name = f"posts-{since:%Y%m%d%H%M}-{until:%Y%m%d%H%M}.{format_}"
    return StreamingResponse(
        export_lines(iter_rows(rt.db, flt, ctx, now=now), format_),
        media_type=_EXPORT_MEDIA[format_],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{post_id}", response_model=PostPublic, summary="A post with its watch decision and triage")
def get(rt: RuntimeDep, actor: Annotated[Actor, requires("agent")], post_id: IdPath) -> PostPublic:
    with rt.db.reading() as s:
        post = get_post(s, post_id)
        if post is None:
            raise PostNotFound(f"no post with id {post_id}")
        return post_public(post)
