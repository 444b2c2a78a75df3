"""The outbox: approved replies delivered to the configured channel, once, with retries.

Approval enqueues one `deliver` job per draft in the same transaction (a crash after approval
leaves the job queued, so it is delivered after restart). The webhook carries an idempotency key
derived from the draft, so a retry after a crash mid-request cannot post twice at a receiver that
honours it, and an already-sent draft is never sent again by us.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from agent.drafts import get_draft
from kizuki import audit, jobs
from kizuki.models import utcnow
from kizuki.runtime import Runtime


class DeliveryError(Exception):
    pass


def idempotency_key(draft_id: int, generation: int) -> str:
    return f"kizuki-draft-{draft_id}-g{generation}"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """`X-Kizuki-Signature`: HMAC-SHA256 over `<timestamp>.<body>`, hex, prefixed `sha256=`."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _prepare(rt: Runtime, draft_id: int) -> dict[str, Any] | None:
    with rt.db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        if draft.status != "approved" or draft.delivery_status == "sent":
            return None  # sent already, or no longer deliverable: nothing to do
        draft.delivery_status = "sending"
        post = draft.post
        return {
            "idempotency_key": idempotency_key(draft.id, draft.generation),
            "draft_id": draft.id,
            "channel": draft.channel,
            "text": draft.text,
            "needs_dm": draft.needs_dm,
            "action": draft.action,
            "in_reply_to": {
                "source": post.source,
                "external_id": post.external_id,
                "url": post.url,
                "author": post.author_handle,
            },
            "approved_by": [a["by"] for a in draft.approvals or []],
        }


def _record(rt: Runtime, draft_id: int, *, ok: bool, error: str | None, final: bool, receipt: Any = None) -> None:
    with rt.db.session() as s:
        draft = get_draft(s, draft_id, for_update=True)
        now = utcnow()
        if ok:
            draft.status = "sent"
            draft.delivery_status = "sent"
            draft.delivered_at = now
            draft.delivery_error = None
            draft.version += 1
            audit.record(
                s,
                actor="outbox",
                action="draft.sent",
                subject=f"draft:{draft_id}",
                after={"channel": draft.channel, "receipt": receipt},
            )
        else:
            draft.delivery_error = error
            draft.delivery_status = "failed" if final else "retrying"
            if final:
                draft.status = "failed"
                draft.version += 1
            audit.record(
                s,
                actor="outbox",
                action="draft.delivery_failed" if final else "draft.delivery_retry",
                subject=f"draft:{draft_id}",
                after={"error": error},
            )
        draft.updated_at = now


async def send_webhook(rt: Runtime, message: dict[str, Any]) -> Any:
    settings = rt.settings
    if not settings.webhook_url or settings.webhook_secret is None:
        raise DeliveryError("KIZUKI_WEBHOOK_URL and KIZUKI_WEBHOOK_SECRET must be set for webhook delivery")
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    ts = str(int(time.time()))
    headers = {
        "content-type": "application/json",
        "idempotency-key": message["idempotency_key"],
        "x-kizuki-timestamp": ts,
        "x-kizuki-signature": sign(settings.webhook_secret.get_secret_value().encode(), ts, body),
    }
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_s) as client:
        try:
            res = await client.post(settings.webhook_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}: {exc}") from exc
    if res.status_code >= 300:
        raise DeliveryError(f"webhook answered {res.status_code}: {res.text[:300]}")
    try:
        return res.json()
    except ValueError:
        return {"status": res.status_code}


def delivery_handler(rt: Runtime) -> Callable[[dict[str, Any], bool, jobs.Lease], Awaitable[None]]:
    async def _deliver(payload: dict[str, Any], final: bool, lease: jobs.Lease) -> None:  # the worker ends the job
        draft_id = int(payload["draft_id"])
        message = await asyncio.to_thread(_prepare, rt, draft_id)
        if message is None:
            return
        try:
            receipt = await send_webhook(rt, message)
        except DeliveryError as exc:
            await asyncio.to_thread(_record, rt, draft_id, ok=False, error=str(exc), final=final)
            raise
        await asyncio.to_thread(_record, rt, draft_id, ok=True, error=None, final=final, receipt=receipt)

    return _deliver
