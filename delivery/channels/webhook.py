"""The webhook channel: a signed JSON POST to the URL in the settings.

The request carries an idempotency key derived from the draft (`Idempotency-Key`), so a retry after a
timeout or a crash mid-request cannot post twice at a receiver that honours it. The whole request, not
only each read, is limited to `KIZUKI_WEBHOOK_TIMEOUT_S` (the outbox's deadline, `deadline_s`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from delivery.channels.base import Channel, OutboundReply
from delivery.errors import DeliveryError
from kizuki.core.settings import Settings


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """`X-Kizuki-Signature`: HMAC-SHA256 over `<timestamp>.<body>`, hex, prefixed `sha256=`."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookChannel(Channel):
    name = "webhook"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def deadline_s(self) -> float | None:
        return self.settings.webhook_timeout_s

    async def send(self, reply: OutboundReply) -> Any:
        settings = self.settings
        if not settings.webhook_url or settings.webhook_secret is None:
            raise DeliveryError("KIZUKI_WEBHOOK_URL and KIZUKI_WEBHOOK_SECRET must be set for webhook delivery")
        body = json.dumps(reply.model_dump(), ensure_ascii=False, separators=(",", ":")).encode()
        ts = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            "idempotency-key": reply.idempotency_key,
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
