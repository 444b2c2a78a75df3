"""The review service: approve (with edits re-checked), reject, regenerate, mark sent; two-person rule.

Every decision is one transaction holding the draft row (FOR UPDATE on PostgreSQL; SQLite transactions
take the write lock up front), so of many reviewers deciding the same draft at once exactly one wins
and the rest get 409. The status changes themselves are the draft's lifecycle (`agent.posts.lifecycle`).
"""

from __future__ import annotations

import difflib
from typing import Any, Protocol

from sqlalchemy.orm import Session

from agent.checks import Checker
from agent.org.schemas import OrgProfile
from agent.org.service import ProfileInForce
from agent.posts import lifecycle
from agent.posts.lifecycle import REGENERABLE, DraftStatus
from agent.posts.models import Draft
from agent.posts.repository import get_draft
from agent.posts.schemas import DraftPublic, draft_public
from kizuki.core import audit, jobs
from kizuki.core.db import Database
from kizuki.core.jobs import JobKind
from kizuki.core.orm import utcnow
from kizuki.core.settings import Settings
from review.errors import (
    DraftAlreadyDecided,
    DraftNotReviewable,
    ReplyBlocked,
    SecondApproverRequired,
    StaleVersion,
    WarningsNotAcknowledged,
)
from review.schemas import ApproveRequest, MarkSentRequest, RegenerateRequest, RegenerateResponse, RejectRequest


class ReviewHost(Protocol):
    """What review decisions need from the process (the composition root provides it)."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def org(self) -> ProfileInForce: ...

    def checker_for(self, org: OrgProfile | None) -> Checker: ...


def _load_pending(s: Session, draft_id: int, version: int | None) -> Draft:
    draft = get_draft(s, draft_id, for_update=True)
    if draft.status != DraftStatus.PENDING:
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


def approve(rt: ReviewHost, draft_id: int, req: ApproveRequest, *, actor: str) -> DraftPublic:
    with rt.db.session() as s:
        draft = _load_pending(s, draft_id, req.version)
        text = req.text if req.text is not None else draft.text
        if not text.strip():
            raise DraftNotReviewable(f"draft {draft_id} has no text to approve; edit it or regenerate it")
        _, org = rt.org.current(s)  # our own contacts in the profile are not personal data
        result = rt.checker_for(org).check(text, post_text=draft.post.text, channel=draft.channel)
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
        if needs_two and len(approvals) < 2:
            action = "draft.approve_first"
            lifecycle.approve_first(draft, approvals, now)
        else:
            action = "draft.approve"
            manual = rt.settings.delivery == "manual"
            lifecycle.approve(draft, approvals, actor, req.note, manual, now)
            if not manual:
                jobs.enqueue(
                    s,
                    JobKind.DELIVER,
                    {"draft_id": draft.id},
                    dedupe_key=f"deliver:{draft.id}",
                    max_attempts=rt.settings.delivery_max_attempts,
                )
        after: dict[str, Any] = {
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


def reject(rt: ReviewHost, draft_id: int, req: RejectRequest, *, actor: str) -> DraftPublic:
    with rt.db.session() as s:
        draft = _load_pending(s, draft_id, req.version)
        before = {"status": draft.status, "version": draft.version}
        lifecycle.reject(draft, actor, req.reason, req.note, utcnow())
        audit.record(
            s,
            actor=actor,
            action="draft.reject",
            subject=f"draft:{draft.id}",
            before=before,
            after={"status": DraftStatus.REJECTED, "reason": req.reason, "version": draft.version},
            note=req.note,
        )
        s.flush()
        return draft_public(draft)


def regenerate(rt: ReviewHost, draft_id: int, req: RegenerateRequest, *, actor: str) -> RegenerateResponse:
    with rt.db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        if draft.status not in REGENERABLE:
            raise DraftAlreadyDecided(
                f"draft {draft_id} is {draft.status}; only pending, failed, rejected or delivery_failed drafts can be "
                "regenerated",
                extra={"status": draft.status},
            )
        _check_version(draft, req.version)
        latest = max(d.generation for d in draft.post.drafts)
        if draft.generation != latest:
            raise DraftAlreadyDecided(f"draft {draft_id} was regenerated already (generation {latest} is newer)")
        before = {"status": draft.status, "version": draft.version}
        lifecycle.supersede(draft, utcnow())
        generation = draft.generation + 1
        job = jobs.enqueue(
            s,
            JobKind.DRAFT,
            {"post_id": draft.post_id, "generation": generation, "instructions": req.instructions},
            dedupe_key=f"draft:{draft.post_id}:{generation}",
        )
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


def mark_sent(rt: ReviewHost, draft_id: int, req: MarkSentRequest, *, actor: str) -> DraftPublic:
    """The manual channel: a person posted the approved reply by hand and says so."""
    with rt.db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        if draft.status == DraftStatus.SENT:
            raise DraftAlreadyDecided(f"draft {draft_id} is marked sent already")
        if draft.status != DraftStatus.APPROVED:
            raise DraftNotReviewable(f"draft {draft_id} is {draft.status}; only approved drafts can be marked sent")
        lifecycle.sent(draft, utcnow())
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
