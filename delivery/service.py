"""The outbox: approved replies delivered through the configured channel, once, with retries.

Approval enqueues one `deliver` job per draft in the same transaction (a crash after approval leaves the
job queued, so it is delivered after restart). An already-sent draft is never sent again by us.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agent.posts import lifecycle
from agent.posts.lifecycle import DeliveryStatus, DraftStatus
from agent.posts.repository import get_draft
from delivery.channels import Channel, OutboundReply
from delivery.errors import DeliveryError
from kizuki.core import audit
from kizuki.core.db import Database
from kizuki.core.orm import utcnow


def idempotency_key(draft_id: int, generation: int) -> str:
    return f"kizuki-draft-{draft_id}-g{generation}"


def prepare(db: Database, draft_id: int) -> OutboundReply | None:
    """Mark the draft as sending and return what the channel gets; None when there is nothing to send."""
    with db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        if draft.status != DraftStatus.APPROVED or draft.delivery_status == DeliveryStatus.SENT:
            return None  # sent already, or no longer deliverable: nothing to do
        lifecycle.sending(draft)
        post = draft.post
        return OutboundReply(
            idempotency_key=idempotency_key(draft.id, draft.generation),
            draft_id=draft.id,
            channel=draft.channel,
            text=draft.text,
            needs_dm=draft.needs_dm,
            action=draft.action,
            in_reply_to={
                "source": post.source,
                "external_id": post.external_id,
                "url": post.url,
                "author": post.author_handle,
            },
            approved_by=[a["by"] for a in draft.approvals or []],
        )


def record(db: Database, draft_id: int, *, ok: bool, error: str | None, final: bool, receipt: Any = None) -> None:
    """Store the outcome of one delivery attempt, with its audit entry, in one transaction."""
    with db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        now = utcnow()
        if ok:
            lifecycle.sent(draft, now)
            audit.record(
                s,
                actor="outbox",
                action="draft.sent",
                subject=f"draft:{draft_id}",
                after={"channel": draft.channel, "receipt": receipt},
            )
        else:
            lifecycle.delivery_failed(draft, error or "", final=final, now=now)
            audit.record(
                s,
                actor="outbox",
                action="draft.delivery_failed" if final else "draft.delivery_retry",
                subject=f"draft:{draft_id}",
                after={"error": error},
            )


async def deliver(db: Database, channel: Channel, draft_id: int, *, final: bool) -> None:
    """One delivery attempt of one draft; raises `DeliveryError` (after recording it) so the job is retried."""
    reply = await asyncio.to_thread(prepare, db, draft_id)
    if reply is None:
        return
    try:
        receipt = await channel.send(reply)
    except DeliveryError as exc:
        await asyncio.to_thread(record, db, draft_id, ok=False, error=str(exc), final=final)
        raise
    await asyncio.to_thread(record, db, draft_id, ok=True, error=None, final=final, receipt=receipt)
