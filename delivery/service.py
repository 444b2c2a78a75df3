"""The outbox: approved replies delivered through the configured channel, with retries.

Approval enqueues one `deliver` job per draft in the same transaction (a crash after approval leaves the
job queued, so it is delivered after restart). An already-sent draft is never sent again by us.

What the receiver gets: every reply at least once, always under the same idempotency key
(`kizuki-draft-<id>-g<generation>`), and never two requests with one key at the same time. A reply is sent
again only when the previous attempt's outcome is unknown: the request timed out, or the worker died or was
stopped during it (the draft was left `sending`). The receiver must treat a key it has seen as already done.

Why never twice at once: the send starts only after `prepare` renewed the job's lease in the transaction
that marks the draft `sending` (`Lease.hold_in`, refused when another worker holds the job), and it is cut
off before that lease can run out; another worker can take the job only after it ran out. The outcome is
stored only while the lease is held (`record`), so a run that lost its job never writes over the result of
the worker that took it over.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agent.posts import lifecycle
from agent.posts.lifecycle import DeliveryStatus, DraftStatus
from agent.posts.repository import get_draft
from delivery.channels import Channel, OutboundReply
from delivery.errors import DeliveryError
from kizuki.core import audit, jobs
from kizuki.core.db import Database
from kizuki.core.orm import utcnow

SEND_SAFETY_S = 0.5
"""A send is cut off this long before the lease it started under can run out."""


def idempotency_key(draft_id: int, generation: int) -> str:
    return f"kizuki-draft-{draft_id}-g{generation}"


def prepare(db: Database, draft_id: int, lease: jobs.Lease | None = None) -> OutboundReply | None:
    """Mark the draft as sending and return what the channel gets; None when there is nothing to send.

    With the job's `lease`, the lease is renewed in the same transaction (`Lease.hold_in`), and `LeaseLost` is
    raised, with nothing changed, when another worker holds the job."""
    with db.session() as s:
        if lease is not None:
            lease.hold_in(s)  # locks the job: no other worker can take it until this commits
        draft = get_draft(s, draft_id, for_update=True)
        if draft.status != DraftStatus.APPROVED or draft.delivery_status == DeliveryStatus.SENT:
            return None  # sent already, or no longer deliverable: nothing to do
        key = idempotency_key(draft.id, draft.generation)
        if draft.delivery_status == DeliveryStatus.SENDING:
            # An attempt was cut short (its worker died or stopped mid-send): it may have reached the receiver,
            # so this one is a repeat, under the same key.
            audit.record(
                s,
                actor="outbox",
                action="draft.delivery_resumed",
                subject=f"draft:{draft_id}",
                after={"idempotency_key": key},
            )
        post = draft.post
        connector = (post.raw or {}).get("connector")
        if isinstance(connector, dict) and connector.get("delivery") == "manual":
            # a network whose rules forbid an automated answer here (RSS; X keyword-search posts): a person
            # posts it from the post's link and marks it sent
            draft.delivery_status = DeliveryStatus.AWAITING_MANUAL
            audit.record(
                s,
                actor="outbox",
                action="draft.delivery_manual",
                subject=f"draft:{draft_id}",
                after={"connector": connector.get("name"), "url": post.url},
            )
            return None
        lifecycle.sending(draft)
        in_reply_to: dict[str, Any] = {
            "source": post.source,
            "external_id": post.external_id,
            "url": post.url,
            "author": post.author_handle,
        }
        if isinstance(connector, dict):
            in_reply_to["connector"] = connector  # which connector answers it, and what it needs to (`ref`)
        return OutboundReply(
            idempotency_key=key,
            draft_id=draft.id,
            channel=draft.channel,
            text=draft.text,
            needs_dm=draft.needs_dm,
            action=draft.action,
            in_reply_to=in_reply_to,
            approved_by=[a["by"] for a in draft.approvals or []],
        )


def record(
    db: Database,
    draft_id: int,
    *,
    ok: bool,
    error: str | None,
    final: bool,
    receipt: Any = None,
    lease: jobs.Lease | None = None,
) -> bool:
    """Store the outcome of one delivery attempt, with its audit entry, in one transaction (a success also ends
    the job there). False, with nothing stored, when the job's `lease` is no longer held."""
    with db.session() as s:
        if lease is not None and not lease.held_in(s):
            return False
        draft = get_draft(s, draft_id, for_update=True)
        now = utcnow()
        if ok:
            if draft.status == DraftStatus.APPROVED:
                lifecycle.sent(draft, now)
                audit.record(
                    s,
                    actor="outbox",
                    action="draft.sent",
                    subject=f"draft:{draft_id}",
                    after={"channel": draft.channel, "receipt": receipt},
                )
            if lease is not None:
                lease.finish_in(s)
        elif draft.status == DraftStatus.APPROVED:  # not over a person's "marked sent" in the meantime
            lifecycle.delivery_failed(draft, error or "", final=final, now=now)
            audit.record(
                s,
                actor="outbox",
                action="draft.delivery_failed" if final else "draft.delivery_retry",
                subject=f"draft:{draft_id}",
                after={"error": error},
            )
        return True


def _send_budget(channel: Channel, lease: jobs.Lease | None, reply: OutboundReply | None = None) -> float | None:
    """How long this send may take: the channel's own limit, and always less than the lease has left."""
    budget = channel.deadline_s if reply is None else channel.deadline_for(reply)
    if lease is not None and lease.until is not None:
        left = (lease.until - utcnow()).total_seconds() - SEND_SAFETY_S
        budget = left if budget is None else min(budget, left)
    return budget


async def deliver(
    db: Database, channel: Channel, draft_id: int, *, final: bool, lease: jobs.Lease | None = None
) -> None:
    """One delivery attempt of one draft; raises `DeliveryError` (after recording it) so the job is retried.

    Under the job's `lease` (the worker's handler always passes it), the send starts only while the lease is
    held and ends before it can run out; `LeaseLost` is raised when another worker has the job."""
    reply = await asyncio.to_thread(prepare, db, draft_id, lease)
    if reply is None:
        return
    budget = _send_budget(channel, lease, reply)
    try:
        if budget is not None and budget <= 0:
            raise DeliveryError("the job's lease ran out before the send could start")
        try:
            async with asyncio.timeout(budget):
                receipt = await channel.send(reply)
        except TimeoutError as exc:
            raise DeliveryError(f"no answer within {budget:.1f} s") from exc
    except DeliveryError as exc:
        final = final or getattr(exc, "permanent", False)  # e.g. the post was deleted: no retry can help
        held = await asyncio.to_thread(record, db, draft_id, ok=False, error=str(exc), final=final, lease=lease)
        if not held:
            raise jobs.LeaseLost(f"draft {draft_id}: the job passed to another worker during the send") from exc
        raise
    held = await asyncio.to_thread(record, db, draft_id, ok=True, error=None, final=final, receipt=receipt, lease=lease)
    if not held:
        raise jobs.LeaseLost(f"draft {draft_id}: sent, but the job passed to another worker, which sends it again")
