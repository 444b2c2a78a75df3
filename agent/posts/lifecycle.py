"""The life of a post and of its drafts: every status, and every change of status, in one place.

A draft is born `pending` (or `failed` when the model failed), is decided by a person (`approved`,
`rejected`), replaced by a regeneration (`superseded`), and delivered (`sent`, or `delivery_failed` when
the outbox gave up; a person may then send it again: `approved` once more). Services decide *whether* a
change is allowed and say why in their own words; the functions here make the change, bump the draft's
version where a reviewer must notice, and refuse a change the lifecycle does not know (`IllegalTransition`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from agent.posts.errors import IllegalTransition
from agent.posts.models import Draft, Post


class PostStatus(StrEnum):
    DROPPED = "dropped"  # the watch rules did not keep it
    NO_ENGAGE = "no_engage"  # its author is on the do-not-engage list
    QUEUED = "queued"  # a draft job is waiting
    DRAFTED = "drafted"
    FAILED = "failed"  # the model failed on its newest draft


class DraftStatus(StrEnum):
    PENDING = "pending"  # waiting for a reviewer (or for the second approver)
    APPROVED = "approved"  # waiting for delivery
    REJECTED = "rejected"
    SENT = "sent"
    FAILED = "failed"  # drafting failed: the model gave no usable reply
    DELIVERY_FAILED = "delivery_failed"  # approved, but the outbox gave up sending it
    SUPERSEDED = "superseded"  # a regeneration replaced it


class DeliveryStatus(StrEnum):
    AWAITING_MANUAL = "awaiting_manual"  # the manual channel: a person posts it and marks it sent
    QUEUED = "queued"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"


# The statuses a reviewer may still regenerate from, and those that count as replies we gave or will give.
REGENERABLE = frozenset({DraftStatus.PENDING, DraftStatus.FAILED, DraftStatus.REJECTED, DraftStatus.DELIVERY_FAILED})
REPLIED = (DraftStatus.PENDING, DraftStatus.APPROVED, DraftStatus.SENT)

_ALLOWED: dict[str, frozenset[DraftStatus]] = {
    DraftStatus.PENDING: frozenset(
        {DraftStatus.PENDING, DraftStatus.APPROVED, DraftStatus.REJECTED, DraftStatus.SUPERSEDED}
    ),
    DraftStatus.FAILED: frozenset({DraftStatus.PENDING, DraftStatus.FAILED, DraftStatus.SUPERSEDED}),
    DraftStatus.APPROVED: frozenset({DraftStatus.SENT, DraftStatus.DELIVERY_FAILED}),
    DraftStatus.REJECTED: frozenset({DraftStatus.REJECTED}),
    DraftStatus.DELIVERY_FAILED: frozenset({DraftStatus.DELIVERY_FAILED, DraftStatus.APPROVED}),  # re-delivery
    DraftStatus.SENT: frozenset(),
    DraftStatus.SUPERSEDED: frozenset(),
}

URGENCY_RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}


def priority_of(urgency: str, flame_risk: int) -> int:
    """Higher first: urgency dominates, then flame risk (age breaks ties in the queue's order)."""
    return URGENCY_RANK.get(urgency, 1) * 1000 + max(0, min(100, flame_risk)) * 10


def _move(draft: Draft, to: DraftStatus, now: datetime) -> None:
    if draft.status is not None and to not in _ALLOWED.get(draft.status, frozenset()):
        raise IllegalTransition(f"draft {draft.id} cannot go from {draft.status} to {to}")
    draft.status = to
    draft.updated_at = now


def begin(post_id: int, generation: int, channel: str, now: datetime, **fields: Any) -> Draft:
    """A new draft row for (post, generation); its status is set by `drafted` or `drafting_failed`."""
    return Draft(post_id=post_id, generation=generation, channel=channel, created_at=now, **fields)


def drafted(draft: Draft, now: datetime, **fields: Any) -> None:
    """The model's reply is stored: the draft waits for a reviewer."""
    _move(draft, DraftStatus.PENDING, now)
    for name, value in fields.items():
        setattr(draft, name, value)
    draft.error = None


def drafting_failed(draft: Draft, post: Post, reason: str, instructions: str | None, now: datetime) -> None:
    """The model failed: the draft and its post say so, and the job will be retried."""
    _move(draft, DraftStatus.FAILED, now)
    draft.error = reason
    draft.instructions = instructions
    draft.attempts = (draft.attempts or 0) + 1
    post.status = PostStatus.FAILED


def approve_first(draft: Draft, approvals: list[dict[str, Any]], now: datetime) -> None:
    """One of two required approvals: the draft stays pending, at a new version."""
    _move(draft, DraftStatus.PENDING, now)
    draft.approvals = approvals
    draft.version += 1


def approve(
    draft: Draft, approvals: list[dict[str, Any]], actor: str, note: str | None, manual: bool, now: datetime
) -> None:
    """Approved: waiting for a person to post it (`manual`) or for the outbox."""
    _move(draft, DraftStatus.APPROVED, now)
    draft.approvals = approvals
    draft.version += 1
    draft.decided_at = now
    draft.decided_by = actor
    draft.decision_note = note
    draft.delivery_status = DeliveryStatus.AWAITING_MANUAL if manual else DeliveryStatus.QUEUED


def redeliver(draft: Draft, manual: bool, now: datetime) -> None:
    """Delivery gave up and a person asks for it again: approved once more, waiting for the outbox (or, with the
    manual channel, for a person to post it). The reply and its approvals are unchanged."""
    _move(draft, DraftStatus.APPROVED, now)
    draft.delivery_status = DeliveryStatus.AWAITING_MANUAL if manual else DeliveryStatus.QUEUED
    draft.delivery_error = None
    draft.version += 1


def reject(draft: Draft, actor: str, reason: str, note: str | None, now: datetime) -> None:
    _move(draft, DraftStatus.REJECTED, now)
    draft.decided_at = now
    draft.decided_by = actor
    draft.decision_reason = reason
    draft.decision_note = note
    draft.version += 1


def supersede(draft: Draft, now: datetime) -> None:
    """A regeneration was asked for: a pending or failed draft is replaced; a decided one keeps its status."""
    if draft.status in (DraftStatus.PENDING, DraftStatus.FAILED):
        _move(draft, DraftStatus.SUPERSEDED, now)
    draft.version += 1
    draft.updated_at = now
    draft.post.status = PostStatus.QUEUED


def sending(draft: Draft) -> None:
    draft.delivery_status = DeliveryStatus.SENDING


def sent(draft: Draft, now: datetime) -> None:
    """Delivered, by the outbox or by a person who posted it and said so."""
    _move(draft, DraftStatus.SENT, now)
    draft.delivery_status = DeliveryStatus.SENT
    draft.delivered_at = now
    draft.delivery_error = None
    draft.version += 1


def delivery_failed(draft: Draft, error: str, *, final: bool, now: datetime) -> None:
    """A delivery attempt failed: retried, or (`final`) given up, which a reviewer sees as its own status."""
    draft.delivery_error = error
    draft.updated_at = now
    if final:
        _move(draft, DraftStatus.DELIVERY_FAILED, now)
        draft.delivery_status = DeliveryStatus.FAILED
        draft.version += 1
    else:
        draft.delivery_status = DeliveryStatus.RETRYING
