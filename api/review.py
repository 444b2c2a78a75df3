"""The review service: approve (with edits re-checked), reject, regenerate, mark sent; two-person rule.

Every decision is one transaction holding the draft row (FOR UPDATE on PostgreSQL; SQLite transactions
take the write lock up front), so of many reviewers deciding the same draft at once exactly one wins
and the rest get 409.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from agent.drafts import DraftPublic, draft_public, get_draft
from agent.models import Draft
from agent.pipeline import DRAFT_JOB
from kizuki import audit, jobs
from kizuki.errors import Conflict, InvalidInput
from kizuki.models import utcnow
from kizuki.runtime import Runtime
from kizuki.text import check_storable

DELIVER_JOB = "deliver"
MAX_REPLY_CHARS = 5_000
RejectReason = Literal["wrong_facts", "tone", "privacy", "policy", "off_topic", "duplicate", "not_needed", "other"]


class DraftAlreadyDecided(Conflict):
    pass


class StaleVersion(Conflict):
    pass


class SecondApproverRequired(Conflict):
    pass


class DraftNotReviewable(Conflict):
    pass


class ReplyBlocked(InvalidInput):
    pass


class WarningsNotAcknowledged(InvalidInput):
    pass


class ApproveRequest(BaseModel):
    version: int | None = Field(default=None, ge=1, description="The draft version you reviewed; stale → 409")
    text: str | None = Field(default=None, min_length=1, max_length=MAX_REPLY_CHARS, description="Edited reply")
    note: str | None = Field(default=None, max_length=2000)
    acknowledge_warnings: bool = Field(default=False, description="Required when the final text has warn findings")

    @field_validator("text")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = check_storable(v, "text").strip()
        if not v:
            raise ValueError("text must not be blank")
        return v


class RejectRequest(BaseModel):
    reason: RejectReason
    note: str | None = Field(default=None, max_length=2000)
    version: int | None = Field(default=None, ge=1)


class RegenerateRequest(BaseModel):
    instructions: str | None = Field(default=None, max_length=2000, description="What the new draft should change")
    version: int | None = Field(default=None, ge=1)


class MarkSentRequest(BaseModel):
    url: str | None = Field(default=None, max_length=2000, description="Where the reply was posted")
    note: str | None = Field(default=None, max_length=2000)


class RegenerateResponse(BaseModel):
    superseded: DraftPublic
    post_id: int
    generation: int
    job_id: int


def _load_pending(s: Any, draft_id: int, version: int | None) -> Draft:
    draft = get_draft(s, draft_id, for_update=True)
    if draft.status != "pending":
        raise DraftAlreadyDecided(f"draft {draft_id} is {draft.status} already", extra={"status": draft.status})
    _check_version(draft, version)
    return draft


def _check_version(draft: Draft, version: int | None) -> None:
    if version is not None and version != draft.version:
        raise StaleVersion(
            f"draft {draft.id} is at version {draft.version}; you reviewed version {version}",
            extra={"current_version": draft.version},
        )


def _diff(before: str, after: str) -> str:
    return "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(), "draft", "approved", lineterm=""))


def approve(rt: Runtime, draft_id: int, req: ApproveRequest, *, actor: str) -> DraftPublic:
    with rt.db.session() as s:
        draft = _load_pending(s, draft_id, req.version)
        text = req.text if req.text is not None else draft.text
        if not text.strip():
            raise DraftNotReviewable(f"draft {draft_id} has no text to approve; edit it or regenerate it")
        result = rt.checker.check(text, post_text=draft.post.text, channel=draft.channel)
        findings = [f.model_dump() for f in result.findings]
        if result.verdict == "block":
            raise ReplyBlocked(
                f"the reply has {sum(f['severity'] == 'block' for f in findings)} blocking finding(s)",
                extra={"findings": findings},
            )
        if result.verdict == "warn" and not req.acknowledge_warnings:
            raise WarningsNotAcknowledged(
                "the reply has warnings; approve again with acknowledge_warnings: true if it is right",
                extra={"findings": findings},
            )
        now = utcnow()
        edited = text != draft.text
        before = {"text": draft.text, "status": draft.status, "version": draft.version, "approvals": draft.approvals}
        approvals = [] if edited else list(draft.approvals or [])
        if any(a["by"] == actor for a in approvals):
            raise SecondApproverRequired(f"you approved draft {draft_id} already; a different person must approve it")
        approvals.append({"by": actor, "at": now.isoformat(), "note": req.note})
        compensation = any(f["category"] == "compensation" for f in findings)
        needs_two = draft.flame_risk >= rt.settings.two_person_risk_threshold or compensation
        draft.text = text
        draft.checks = result.model_dump()
        draft.verdict = result.verdict
        draft.approvals = approvals
        draft.version += 1
        draft.updated_at = now
        if needs_two and len(approvals) < 2:
            action = "draft.approve_first"
        else:
            action = "draft.approve"
            draft.status = "approved"
            draft.decided_at = now
            draft.decided_by = actor
            draft.decision_note = req.note
            if rt.settings.delivery == "manual":
                draft.delivery_status = "awaiting_manual"
            else:
                draft.delivery_status = "queued"
                jobs.enqueue(
                    s,
                    DELIVER_JOB,
                    {"draft_id": draft.id},
                    dedupe_key=f"deliver:{draft.id}",
                    max_attempts=rt.settings.delivery_max_attempts,
                )
        after = {
            "text": draft.text,
            "status": draft.status,
            "version": draft.version,
            "approvals": approvals,
            "acknowledged_warnings": req.acknowledge_warnings and result.verdict == "warn",
        }
        if edited:
            after["diff"] = _diff(str(before["text"]), text)
        audit.record(
            s, actor=actor, action=action, subject=f"draft:{draft.id}", before=before, after=after, note=req.note
        )
        if edited:
            audit.record(
                s,
                actor=actor,
                action="draft.edit",
                subject=f"draft:{draft.id}",
                before={"text": before["text"]},
                after={"text": text, "diff": after["diff"]},
            )
        s.flush()
        return draft_public(draft)


def reject(rt: Runtime, draft_id: int, req: RejectRequest, *, actor: str) -> DraftPublic:
    with rt.db.session() as s:
        draft = _load_pending(s, draft_id, req.version)
        now = utcnow()
        before = {"status": draft.status, "version": draft.version}
        draft.status = "rejected"
        draft.decided_at = now
        draft.decided_by = actor
        draft.decision_reason = req.reason
        draft.decision_note = req.note
        draft.version += 1
        draft.updated_at = now
        audit.record(
            s,
            actor=actor,
            action="draft.reject",
            subject=f"draft:{draft.id}",
            before=before,
            after={"status": "rejected", "reason": req.reason, "version": draft.version},
            note=req.note,
        )
        s.flush()
        return draft_public(draft)


def regenerate(rt: Runtime, draft_id: int, req: RegenerateRequest, *, actor: str) -> RegenerateResponse:
    with rt.db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        if draft.status not in ("pending", "failed", "rejected"):
            raise DraftAlreadyDecided(
                f"draft {draft_id} is {draft.status}; only pending, failed or rejected drafts can be regenerated",
                extra={"status": draft.status},
            )
        _check_version(draft, req.version)
        latest = max(d.generation for d in draft.post.drafts)
        if draft.generation != latest:
            raise DraftAlreadyDecided(f"draft {draft_id} was regenerated already (generation {latest} is newer)")
        now = utcnow()
        before = {"status": draft.status, "version": draft.version}
        if draft.status in ("pending", "failed"):
            draft.status = "superseded"
        draft.version += 1
        draft.updated_at = now
        generation = draft.generation + 1
        job = jobs.enqueue(
            s,
            DRAFT_JOB,
            {"post_id": draft.post_id, "generation": generation, "instructions": req.instructions},
            dedupe_key=f"draft:{draft.post_id}:{generation}",
        )
        draft.post.status = "queued"
        audit.record(
            s,
            actor=actor,
            action="draft.regenerate",
            subject=f"draft:{draft.id}",
            before=before,
            after={"status": draft.status, "next_generation": generation, "instructions": req.instructions},
        )
        s.flush()
        return RegenerateResponse(
            superseded=draft_public(draft), post_id=draft.post_id, generation=generation, job_id=job.id
        )


def mark_sent(rt: Runtime, draft_id: int, req: MarkSentRequest, *, actor: str) -> DraftPublic:
    """The manual channel: a person posted the approved reply by hand and says so."""
    with rt.db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        if draft.status == "sent":
            raise DraftAlreadyDecided(f"draft {draft_id} is marked sent already")
        if draft.status != "approved":
            raise DraftNotReviewable(f"draft {draft_id} is {draft.status}; only approved drafts can be marked sent")
        now = utcnow()
        draft.status = "sent"
        draft.delivery_status = "sent"
        draft.delivered_at = now
        draft.version += 1
        draft.updated_at = now
        audit.record(
            s,
            actor=actor,
            action="draft.sent",
            subject=f"draft:{draft.id}",
            after={"channel": "manual", "url": req.url},
            note=req.note,
        )
        s.flush()
        return draft_public(draft)
