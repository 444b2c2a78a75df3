"""The review queue: list by priority, open with provenance, approve, reject, regenerate, mark sent, redeliver."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from agent.posts.lifecycle import DraftStatus
from agent.posts.repository import get_draft
from agent.posts.schemas import DraftPublic, draft_public
from agent.schemas import Department
from api.deps import Actor, IdPath, Offset, RuntimeDep, requires
from api.errors import ERROR_RESPONSES
from review import service as review
from review.repository import queue
from review.schemas import (
    ApproveRequest,
    MarkSentRequest,
    RedeliverRequest,
    RegenerateRequest,
    RegenerateResponse,
    RejectRequest,
)

router = APIRouter(prefix="/v1/drafts", tags=["drafts"], responses=ERROR_RESPONSES)
Reviewer = Annotated[Actor, requires("agent")]


class DraftPage(BaseModel):
    items: list[DraftPublic]
    total: int
    limit: int
    offset: int


@router.get("", response_model=DraftPage, summary="The review queue, highest priority first")
def list_drafts(
    rt: RuntimeDep,
    actor: Reviewer,
    status_: Annotated[DraftStatus | None, Query(alias="status")] = DraftStatus.PENDING,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    min_risk: Annotated[int | None, Query(ge=0, le=100, description="Only drafts with flame risk ≥ this")] = None,
    department: Annotated[Department | None, Query(description="Only drafts escalated to this department")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> DraftPage:
    with rt.db.reading() as s:
        rows, total = queue(
            s,
            status=status_,
            channel=channel,
            language=language,
            min_risk=min_risk,
            department=department,
            limit=limit,
            offset=offset,
        )
        return DraftPage(items=[draft_public(d) for d in rows], total=total, limit=limit, offset=offset)


@router.get("/{draft_id}", response_model=DraftPublic, summary="A draft with everything it was made from")
def get(rt: RuntimeDep, actor: Reviewer, draft_id: IdPath) -> DraftPublic:
    with rt.db.reading() as s:
        return draft_public(get_draft(s, draft_id), detail=True, session=s)


@router.post(
    "/{draft_id}/approve",
    response_model=DraftPublic,
    summary="Approve, optionally with an edited text",
    description="Send the `version` you reviewed: required with an edited `text` (422 VersionRequired) and once the "
    "draft changed since it was drafted (version > 1: edited, approved once by someone else); a stale or missing "
    "version → 409 StaleVersion with the current `current_version`, `status`, `text` and `approvals`.",
)
def approve(rt: RuntimeDep, actor: Reviewer, draft_id: IdPath, body: ApproveRequest) -> DraftPublic:
    return review.approve(rt, draft_id, body, actor=actor.name)


@router.post(
    "/{draft_id}/reject",
    response_model=DraftPublic,
    summary="Reject with a reason code",
    description="`version` as for approve: required once the draft changed since it was drafted (409 StaleVersion).",
)
def reject(rt: RuntimeDep, actor: Reviewer, draft_id: IdPath, body: RejectRequest) -> DraftPublic:
    return review.reject(rt, draft_id, body, actor=actor.name)


@router.post(
    "/{draft_id}/regenerate",
    response_model=RegenerateResponse,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Draft again with instructions (the old draft is kept)",
    description="`version` as for approve. One regeneration of a post at a time: while one is queued or running, "
    "another (of any draft of the post) → 409 RegenerationPending with its `job_id`, `job_status`, `generation`, "
    "`instructions` and `requested_by`; the instructions are not merged, so give yours to the new draft.",
)
def regenerate(
    rt: RuntimeDep, actor: Reviewer, draft_id: IdPath, body: RegenerateRequest | None = None
) -> RegenerateResponse:
    return review.regenerate(rt, draft_id, body or RegenerateRequest(), actor=actor.name)


@router.post("/{draft_id}/mark-sent", response_model=DraftPublic, summary="Manual channel: the reply was posted")
def mark_sent(rt: RuntimeDep, actor: Reviewer, draft_id: IdPath, body: MarkSentRequest | None = None) -> DraftPublic:
    return review.mark_sent(rt, draft_id, body or MarkSentRequest(), actor=actor.name)


@router.post(
    "/{draft_id}/redeliver",
    response_model=DraftPublic,
    summary="Deliver again a draft whose delivery gave up",
    description="Only a `delivery_failed` draft (else 409), the newest of its post and with no regeneration queued: "
    "approved again, with the same text and approvals, and handed to the channel in force: the outbox (a new "
    "deliver job; the receiver gets the same `Idempotency-Key` as before) or, with `KIZUKI_DELIVERY=manual`, a "
    "person who posts it and marks it sent. Audited as `draft.redeliver`.",
)
def redeliver(rt: RuntimeDep, actor: Reviewer, draft_id: IdPath, body: RedeliverRequest | None = None) -> DraftPublic:
    return review.redeliver(rt, draft_id, body or RedeliverRequest(), actor=actor.name)
