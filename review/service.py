"""The review service: approve (with edits re-checked), reject, regenerate, mark sent; two-person rule.

Every decision is one transaction holding the draft row (FOR UPDATE on PostgreSQL; SQLite transactions
take the write lock up front), so of many reviewers deciding the same draft at once exactly one wins
and the rest get 409. The status changes themselves are the draft's lifecycle (`agent.posts.lifecycle`).

A decision is on the text the reviewer saw: an edit needs the version it was made from, and a draft that
changed since it was drafted (version > 1) is decided only with its current version, so nobody approves
another reviewer's edit unseen. One regeneration of a post at a time: another, while one is queued or
running, is refused naming it (its instructions are never dropped). A draft whose delivery gave up can be
delivered again (`redeliver`): a new job, the same idempotency key for the receiver.
"""

from __future__ import annotations

import difflib
from typing import Any, Protocol

from sqlalchemy import func, select
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
    RegenerationPending,
    ReplyBlocked,
    SecondApproverRequired,
    StaleVersion,
    VersionRequired,
    WarningsNotAcknowledged,
)
from review.schemas import (
    ApproveRequest,
    MarkSentRequest,
    RedeliverRequest,
    RegenerateRequest,
    RegenerateResponse,
    RejectRequest,
)


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


def _current(draft: Draft) -> dict[str, Any]:
    """What a client shows when its view of the draft is out of date."""
    return {
        "current_version": draft.version,
        "status": draft.status,
        "text": draft.text,
        "approvals": list(draft.approvals or []),
    }


def _changes(draft: Draft) -> str:
    done = []
    if draft.approvals:
        done.append("approved by " + ", ".join(str(a.get("by")) for a in draft.approvals))
    if draft.text != draft.original_text:
        done.append("its text edited")
    if draft.status != DraftStatus.PENDING:
        done.append(str(draft.status))
    return "; ".join(done) or "changed"


def _check_version(draft: Draft, version: int | None, *, required_if_changed: bool = True) -> None:
    """The version the reviewer saw must be the current one. Left out, it is taken as 1 (the draft as drafted):
    a draft that changed since must be decided with its current version, after its current text was seen."""
    if version is None:
        if not required_if_changed or draft.version == 1:
            return
        raise StaleVersion(
            f"draft {draft.id} changed since it was drafted (now version {draft.version}: {_changes(draft)}); "
            "review its current text and send its version",
            extra=_current(draft),
        )
    if version != draft.version:
        raise StaleVersion(
            f"draft {draft.id} is at version {draft.version}; you reviewed version {version}", extra=_current(draft)
        )


def _pending_regeneration(s: Session, draft: Draft) -> jobs.Job | None:
    """The draft job of the post's next generation when it exists but its draft does not yet (queued, running,
    or given up before it stored anything)."""
    latest = max(d.generation for d in draft.post.drafts)
    key = f"draft:{draft.post_id}:{latest + 1}"
    return s.scalars(select(jobs.Job).where(jobs.Job.dedupe_key == key)).one_or_none()


_IN_FLIGHT = (jobs.JobStatus.QUEUED, jobs.JobStatus.RUNNING)


def _requeue_regeneration(
    s: Session, draft: Draft, job: jobs.Job, req: RegenerateRequest, *, actor: str
) -> RegenerateResponse:
    """The post's last regeneration ended (failed for good) without a draft: the same job runs again with these
    instructions, so the post is never stuck behind it."""
    latest = max(d.generation for d in draft.post.drafts)
    if draft.generation != latest:
        raise DraftAlreadyDecided(f"draft {draft.id} was regenerated already (generation {latest} is newer)")
    _check_version(draft, req.version)
    generation = int((job.payload or {}).get("generation") or draft.generation + 1)
    before = {
        "job_status": job.status,
        "last_error": job.last_error,
        "instructions": (job.payload or {}).get("instructions"),
    }
    jobs.requeue(s, job, {**(job.payload or {}), "instructions": req.instructions, "requested_by": actor})
    audit.record(
        s,
        actor=actor,
        action="draft.regenerate",
        subject=f"draft:{draft.id}",
        before=before,
        after={"next_generation": generation, "instructions": req.instructions, "job_id": job.id, "requeued": True},
    )
    s.flush()
    return RegenerateResponse(
        superseded=draft_public(draft), post_id=draft.post_id, generation=generation, job_id=job.id
    )


def _regeneration_pending(draft: Draft, job: jobs.Job) -> RegenerationPending:
    payload = job.payload or {}
    instructions = payload.get("instructions")
    by = payload.get("requested_by")
    said = f" with the instructions {instructions!r}" if instructions else " without instructions"
    if job.status in (jobs.JobStatus.QUEUED, jobs.JobStatus.RUNNING):
        state = f"is {job.status}"
        advice = "regenerate the new draft when it is there (its instructions are not merged into the queued job)"
    else:
        state = f"ended ({job.status}) without storing a draft"
        advice = "see the job's last error"
    return RegenerationPending(
        f"post {draft.post_id} is being regenerated already: job {job.id} (generation {payload.get('generation')})"
        f"{' asked by ' + str(by) if by else ''}{said} {state}; {advice}",
        extra={
            "job_id": job.id,
            "job_status": job.status,
            "generation": payload.get("generation"),
            "instructions": instructions,
            "requested_by": by,
        },
    )


def _answered_in_place(draft: Draft) -> bool:
    """The post came from a connector allowed to answer it by automation (decided at intake, kept with the post):
    its reply goes to the outbox at once, whatever KIZUKI_DELIVERY says, and the outbox sends it through the
    connector (posts a person must answer by hand stay with the setting: manual, or the outbox's hand-off)."""
    meta = (draft.post.raw or {}).get("connector")
    return isinstance(meta, dict) and meta.get("delivery") == "auto"


def _diff(before: str, after: str) -> str:
    return "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(), "draft", "approved", lineterm=""))


def approve(rt: ReviewHost, draft_id: int, req: ApproveRequest, *, actor: str) -> DraftPublic:
    with rt.db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        if draft.status != DraftStatus.PENDING:
            raise DraftAlreadyDecided(f"draft {draft_id} is {draft.status} already", extra={"status": draft.status})
        if req.text is not None and req.text != draft.text and req.version is None:
            raise VersionRequired(
                f"an edited text needs the version it was edited from: send the version you edited (draft {draft_id} "
                f"is at version {draft.version})",
                extra=_current(draft),
            )
        _check_version(draft, req.version)
        text = req.text if req.text is not None else draft.text
        if not text.strip() and draft.action != "like_only":  # a like_only draft is approved as a like: no text
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
            manual = rt.settings.delivery == "manual" and not _answered_in_place(draft)
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


def _refuse_redacted(draft: Draft, what: str) -> None:
    """Retention replaced the post's personal data by placeholders: no reply can be made or sent from it now."""
    redacted_at = draft.post.redacted_at
    if redacted_at is not None:
        raise DraftNotReviewable(
            f"post {draft.post_id} was redacted under the retention period on {redacted_at.date().isoformat()}; "
            f"its drafts can no longer be {what}",
            extra={"status": draft.status, "redacted_at": redacted_at.isoformat()},
        )


def regenerate(rt: ReviewHost, draft_id: int, req: RegenerateRequest, *, actor: str) -> RegenerateResponse:
    with rt.db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        _refuse_redacted(draft, "regenerated")
        pending = _pending_regeneration(s, draft)
        if pending is not None and pending.status in _IN_FLIGHT:
            raise _regeneration_pending(draft, pending)  # enqueueing again would return it: instructions lost
        if pending is not None:  # that regeneration gave up without storing a draft: run it again, as asked now
            return _requeue_regeneration(s, draft, pending, req, actor=actor)
        if draft.status not in REGENERABLE:
            raise DraftAlreadyDecided(
                f"draft {draft_id} is {draft.status}; only pending, failed, rejected or delivery_failed drafts can be "
                "regenerated",
                extra={"status": draft.status},
            )
        latest = max(d.generation for d in draft.post.drafts)
        if draft.generation != latest:
            raise DraftAlreadyDecided(f"draft {draft_id} was regenerated already (generation {latest} is newer)")
        _check_version(draft, req.version)
        before = {"status": draft.status, "version": draft.version}
        lifecycle.supersede(draft, utcnow())
        generation = draft.generation + 1
        job = jobs.enqueue(
            s,
            JobKind.DRAFT,
            {
                "post_id": draft.post_id,
                "generation": generation,
                "instructions": req.instructions,
                "requested_by": actor,
            },
            dedupe_key=f"draft:{draft.post_id}:{generation}",
        )
        audit.record(
            s,
            actor=actor,
            action="draft.regenerate",
            subject=f"draft:{draft.id}",
            before=before,
            after={
                "status": draft.status,
                "version": draft.version,
                "next_generation": generation,
                "instructions": req.instructions,
                "job_id": job.id,
            },
        )
        s.flush()
        return RegenerateResponse(
            superseded=draft_public(draft), post_id=draft.post_id, generation=generation, job_id=job.id
        )


def redeliver(rt: ReviewHost, draft_id: int, req: RedeliverRequest, *, actor: str) -> DraftPublic:
    """A draft whose delivery gave up is approved again and handed to the channel in force: with the outbox a
    new `deliver` job (its own dedupe key; the receiver gets the same idempotency key as before, derived from
    the draft and its generation, so a reply that did arrive is not posted twice); with the manual channel it
    waits for a person to post it and mark it sent."""
    with rt.db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        _refuse_redacted(draft, "delivered")
        pending = _pending_regeneration(s, draft)
        if pending is not None and pending.status in _IN_FLIGHT:
            raise _regeneration_pending(draft, pending)
        latest = max(d.generation for d in draft.post.drafts)
        if draft.generation != latest:
            raise DraftNotReviewable(
                f"draft {draft_id} was regenerated: generation {latest} replaces it; review that one",
                extra={"status": draft.status},
            )
        if draft.status != DraftStatus.DELIVERY_FAILED:
            raise DraftNotReviewable(
                f"draft {draft_id} is {draft.status}; only a delivery_failed draft can be delivered again",
                extra={"status": draft.status},
            )
        _check_version(draft, req.version, required_if_changed=False)  # the text is what was approved: unchanged
        before = {
            "status": draft.status,
            "delivery_status": draft.delivery_status,
            "delivery_error": draft.delivery_error,
            "version": draft.version,
        }
        manual = rt.settings.delivery == "manual" and not _answered_in_place(draft)
        lifecycle.redeliver(draft, manual, utcnow())
        job_id: int | None = None
        if not manual:
            earlier = s.scalar(
                select(func.count()).select_from(jobs.Job).where(jobs.Job.dedupe_key.like(f"deliver:{draft.id}:r%"))
            )
            job = jobs.enqueue(
                s,
                JobKind.DELIVER,
                {"draft_id": draft.id},
                dedupe_key=f"deliver:{draft.id}:r{int(earlier or 0) + 1}",
                max_attempts=rt.settings.delivery_max_attempts,
            )
            job_id = job.id
        audit.record(
            s,
            actor=actor,
            action="draft.redeliver",
            subject=f"draft:{draft.id}",
            before=before,
            after={
                "status": draft.status,
                "delivery_status": draft.delivery_status,
                "version": draft.version,
                "delivery": rt.settings.delivery,
                "job_id": job_id,
            },
            note=req.note,
        )
        s.flush()
        return draft_public(draft)


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
